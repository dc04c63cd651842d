"""``burst``: far more searches in a sliding window than both the user's and their peers' normal.

Three tests must all pass for a search to be burst evidence (see
:mod:`.rates` for how each number is kept):

* at least ``min_count`` searches in the window (an absolute floor),
* more than ``own_factor`` times the user's own normal searches per active
  window over the baseline,
* more than ``peer_factor`` times the typical (median) active colleague's
  searches in the same window, the user left out (0 when nobody else is active).

So an occasional user who suddenly runs 25 searches in 45 minutes fires; an
analyst who always runs 30 an hour does not (own normal); and when a major
incident makes a whole agency search four times harder, nobody does (peers).

A user with fewer than :data:`MIN_BASELINE_WINDOWS` active windows on record
has no trusted normal yet and is judged as *new*: the own test is left out,
and only the floor and the peers apply. Right after the engine starts
watching an agency, though, every member looks new, the busiest analysts
included. So while the agency has been watched for less than half the
baseline period (a week by default, enough to see everyone who works weekly)
a new user must clear both bars raised ``extreme_factor`` times: at least
``extreme_factor * min_count`` searches in the window and more than
``extreme_factor * peer_factor`` times the typical active colleague. With the
defaults that is 45 searches in an hour and twelve times the typical
colleague: well above the busiest analyst's normal hour (about 30) and far
from anything an agency-wide surge does, yet a user who runs a hundred
searches in an hour is flagged from the first hour of a deployment. Once the
user has :data:`MIN_BASELINE_WINDOWS` active windows, the ordinary three
tests apply, own normal included; a user new to an agency that has been
watched long enough meets the ordinary floor and peers at once.

The watch's age is event time: the agency state's ``since`` (its earliest
counted search) against the event's ``ts``, so a verdict depends only on the
user's and agency's state and the event, never on the wall clock or on how
events were batched. Late events never count towards rates, so they are
never burst evidence.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from streams.contract import SearchEvent
from streams.detectors.detector import Detector, EventContext
from streams.detectors.phrasing import span, who
from streams.detectors.rates import PeerRate, RateGeometry, own_rate, peer_rate
from streams.detectors.state import Fold
from streams.policy import BurstSettings, Policy

BURST_KEY = ("burst", "")
"""A user's open burst alert (the burst detector has no subject)."""
MIN_BASELINE_WINDOWS = 3
"""Active windows on record before a user's own normal is trusted."""


@dataclass(slots=True)
class BurstFacts:
    """The numbers behind one burst verdict, kept for the alert's details."""

    count: int
    own: float
    own_windows: int
    new_user: bool
    peers: PeerRate
    young_watch: bool  # a new user while the agency's watch is young: raised bars


class Burst(Detector):
    name = "burst"

    def __init__(self, policy: Policy) -> None:
        super().__init__(policy)
        settings = policy.burst
        assert isinstance(settings, BurstSettings)
        self.burst = settings
        self.geometry = RateGeometry.from_settings(settings.window_s, settings.baseline_s)
        self.warm_up_s = settings.baseline_s / 2

    def judge(self, ctx: EventContext, ts: float) -> BurstFacts | None:
        """The facts when the window is a burst, else None. Cheap below the floor."""
        count = ctx.window_count
        s = self.burst
        if not ctx.counted or count < s.min_count:
            return None
        own, windows = own_rate(ctx.user_state, self.geometry, ctx.bucket)
        new_user = windows < MIN_BASELINE_WINDOWS
        young_watch = False
        raise_by = 1.0
        if new_user:
            own = 0.0
            if ts - ctx.agency_state.since < self.warm_up_s:
                # Everyone looks new while the agency's watch is young, the busiest
                # analysts included: only an extreme rate is judged.
                young_watch = True
                raise_by = s.extreme_factor
                if count < raise_by * s.min_count:
                    return None
        elif count <= s.own_factor * own:
            return None
        peers = peer_rate(ctx.agency_state, ctx.user_state, self.geometry.width, ctx.bucket)
        if count <= raise_by * s.peer_factor * peers.typical:
            return None
        return BurstFacts(count, own, windows, new_user, peers, young_watch)

    def check(self, event: SearchEvent, ctx: EventContext) -> str | None:
        facts = self.judge(ctx, event.ts)
        if facts is None and not self.continues(event, ctx):
            return None
        ctx.scratch = facts  # None: it carries a burst on (its facts only if described)
        return ""

    def continues(self, event: SearchEvent, ctx: EventContext) -> bool:
        """Whether ``event`` carries on an open burst: once a burst alert is open, each
        further search within a window of its latest evidence is evidence while the
        window holds at least ``min_count`` searches (the floor alone: the peer and own
        bars opened the alert; a colleague's search must not split one burst's count)."""
        if not ctx.counted or ctx.window_count < self.burst.min_count:
            return False
        fold = ctx.user_state.folds.get(BURST_KEY)
        return fold is not None and fold.last_ts <= event.ts <= fold.last_ts + self.burst.window_s

    def continued(self, ctx: EventContext) -> BurstFacts:
        """The facts of a search that carries on a burst, for its alert's details (worked
        out only when the alert is published with it)."""
        own, windows = own_rate(ctx.user_state, self.geometry, ctx.bucket)
        new_user = windows < MIN_BASELINE_WINDOWS
        peers = peer_rate(ctx.agency_state, ctx.user_state, self.geometry.width, ctx.bucket)
        return BurstFacts(ctx.window_count, 0.0 if new_user else own, windows, new_user, peers,
                          False)  # fmt: skip

    def prior_evidence(
        self, event: SearchEvent, ctx: EventContext, since: float
    ) -> Sequence[tuple[float, str]]:
        since = max(since, event.ts - self.burst.window_s)
        return [(ts, eid) for ts, eid in ctx.user_state.recent if since <= ts <= event.ts]

    def opening_count(self, ctx: EventContext, prior: Sequence[tuple[float, str]]) -> int:
        """Every search in the window: a burst alert counts the whole burst, though it
        keeps the ids of only the last few searches before it opened."""
        return max(len(prior) + 1, ctx.window_count)

    def describe(
        self, event: SearchEvent, ctx: EventContext, fold: Fold
    ) -> tuple[str, dict[str, Any]]:
        facts: BurstFacts = ctx.scratch if ctx.scratch is not None else self.continued(ctx)
        s = self.burst
        peers = facts.peers
        raise_by = s.extreme_factor if facts.young_watch else 1.0
        own_threshold = s.own_factor * facts.own
        floor = raise_by * s.min_count
        peer_threshold = raise_by * s.peer_factor * peers.typical
        compared = []
        if not facts.new_user:
            compared.append(f"their usual {facts.own:.1f}")
        if peers.members:
            compared.append(
                f"the {peers.typical:.0f} of a typical active colleague in {event.agency}"
            )
        searched = f"ran {facts.count} searches within {span(s.window_s)}"
        if not compared:
            summary = (
                f"{who(event)} {searched}, with little search history of their own "
                f"and no other colleague in {event.agency} active."
            )
        elif facts.new_user:
            summary = (
                f"{who(event)}, who has little search history yet, {searched}, "
                f"far more than {compared[0]}."
            )
        else:
            summary = f"{who(event)} {searched}, far more than {' and '.join(compared)}."
        return summary, {
            "window_s": s.window_s,
            "window_count": facts.count,
            "own_baseline": round(facts.own, 3),
            "own_baseline_windows": facts.own_windows,
            "new_user": facts.new_user,
            "own_threshold": round(own_threshold, 3),
            "baseline_s": s.baseline_s,
            "peer_rate": peers.typical,
            "peer_mean": round(peers.mean, 3),
            "peers_active": peers.members,
            "peer_threshold": round(peer_threshold, 3),
            "min_count": s.min_count,
            "young_watch": facts.young_watch,
            "extreme_factor": s.extreme_factor,
            "threshold": round(max(floor, own_threshold, peer_threshold), 3),
        }
