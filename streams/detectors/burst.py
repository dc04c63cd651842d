"""``burst``: far more searches in a sliding window than both the user's and their peers' normal.

Three tests must all pass for a search to be burst evidence (see
:mod:`.rates` for how each number is kept):

* at least ``min_count`` searches in the window (an absolute floor),
* more than ``own_factor`` times the user's own normal searches per active
  window over the baseline (0 for a user with no history),
* more than ``peer_factor`` times the searches per active colleague in the
  same window, the user left out (0 when nobody else is active).

So an occasional user who suddenly runs 25 searches in 45 minutes fires; an
analyst who always runs 30 an hour does not (own normal); and when a major
incident makes a whole agency search four times harder, nobody does (peers).
Late events never count towards rates, so they are never burst evidence.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from streams.contract import SearchEvent
from streams.detectors.detector import Detector, EventContext
from streams.detectors.phrasing import span, who
from streams.detectors.rates import RateGeometry, own_rate, peer_rate
from streams.detectors.state import Fold
from streams.policy import BurstSettings, Policy


@dataclass(slots=True)
class BurstFacts:
    """The numbers behind one burst verdict, kept for the alert's details."""

    count: int
    own: float
    peer: float
    peers_active: int


class Burst(Detector):
    name = "burst"

    def __init__(self, policy: Policy) -> None:
        super().__init__(policy)
        settings = policy.burst
        assert isinstance(settings, BurstSettings)
        self.burst = settings
        self.geometry = RateGeometry.from_settings(settings.window_s, settings.baseline_s)

    def judge(self, ctx: EventContext) -> BurstFacts | None:
        """The facts when the window is a burst, else None. Cheap below the floor."""
        count = ctx.window_count
        if not ctx.counted or count < self.burst.min_count:
            return None
        own = own_rate(ctx.user_state, self.geometry, ctx.bucket)
        if count <= self.burst.own_factor * own:
            return None
        peer, peers = peer_rate(
            ctx.agency_state, ctx.user_state, self.geometry.width, ctx.bucket, count
        )
        if count <= self.burst.peer_factor * peer:
            return None
        return BurstFacts(count, own, peer, peers)

    def check(self, event: SearchEvent, ctx: EventContext) -> str | None:
        facts = self.judge(ctx)
        if facts is None:
            return None
        ctx.scratch = facts
        return ""

    def prior_evidence(
        self, event: SearchEvent, ctx: EventContext, since: float
    ) -> Sequence[tuple[float, str]]:
        since = max(since, event.ts - self.burst.window_s)
        return [(ts, eid) for ts, eid in ctx.user_state.recent if since <= ts <= event.ts]

    def describe(
        self, event: SearchEvent, ctx: EventContext, fold: Fold
    ) -> tuple[str, dict[str, Any]]:
        facts: BurstFacts = ctx.scratch
        s = self.burst
        own_threshold = s.own_factor * facts.own
        peer_threshold = s.peer_factor * facts.peer
        own_words = (
            f"their own normal of {facts.own:.1f}" if facts.own else "no history of their own"
        )
        peer_words = (
            f"{facts.peer:.1f} per active colleague in {event.agency}"
            if facts.peers_active
            else f"no other active colleague in {event.agency}"
        )
        summary = (
            f"{who(event)} ran {facts.count} searches in {span(s.window_s)}, "
            f"against {own_words} and {peer_words}."
        )
        return summary, {
            "window_s": s.window_s,
            "window_count": facts.count,
            "own_baseline": round(facts.own, 3),
            "own_threshold": round(own_threshold, 3),
            "baseline_s": s.baseline_s,
            "peer_rate": round(facts.peer, 3),
            "peers_active": facts.peers_active,
            "peer_threshold": round(peer_threshold, 3),
            "min_count": s.min_count,
            "threshold": round(max(float(s.min_count), own_threshold, peer_threshold), 3),
        }
