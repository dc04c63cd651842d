"""The detection engine: one event and the states it touches in, new states and alerts out.

Pure Python with no Kafka or Faust: the live worker and the replay command
both drive the same :class:`Engine`, so the same events give the same alerts
and the same ``alert_id``s. Everything is judged in event time.

Per event the engine

1. drops a redelivered duplicate (its id is in the user's dedupe ring): no
   state change, no alert;
2. counts the search in the user's and the agency's rates, unless it is
   *late* (older than the user's newest search minus the allowed lateness);
3. runs every enabled detector and folds its evidence into open alerts
   (:mod:`.folding`), emitting an alert when it opens and at 2, 4, 8, ...
   pieces of evidence;
4. updates the behaviour window and, when the behaviour detector is on and
   the user has enough history, asks for a model score (:class:`ScoreRequest`),
   which the driver scores in a batch and hands back to :meth:`Engine.apply_score`.

The states passed in are updated in place and returned in the outcome; a
driver must store them back (a Faust table only writes its changelog on
assignment).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from streams.contract import Alert, SearchEvent
from streams.detectors.behavior_anomaly import describe_score
from streams.detectors.detector import Detector, EventContext
from streams.detectors.folding import add_evidence, build_alert, expire_folds, period_start
from streams.detectors.rates import (
    RateGeometry,
    count_agency,
    count_user,
    move_member,
    window_count,
)
from streams.detectors.rules import EVENT_DETECTORS
from streams.detectors.state import RECENT_CAP, AgencyState, UserState, event_hash
from streams.policy import CertificateRegistry, Policy
from streams.policy.model import BurstSettings

BEHAVIOR_ANOMALY = "behavior_anomaly"


@dataclass(slots=True)
class ScoreRequest:
    """Features for the behaviour model, scored later in a batch."""

    agency: str
    user: str
    event_id: str
    ts: float
    features: list[float]  # in models.features.FEATURE_NAMES order
    newest: float = -math.inf
    """The user's newest counted event time when the request was made: the score closes
    the user's behaviour folds as of then, not as of the end of its batch."""


@dataclass(slots=True)
class Outcome:
    """What one event did. Store both states back; send each alert keyed by its ``alert_id``."""

    user_state: UserState
    agency_state: AgencyState
    alerts: list[Alert]
    duplicate: bool
    late: bool
    score_request: ScoreRequest | None


class Engine:
    """Judges events against one policy and certificate registry.

    ``certificates`` is public: drivers apply live registry updates to it
    (``engine.certificates.update(key, value)``) or replace it outright.
    """

    def __init__(
        self,
        policy: Policy,
        certificates: CertificateRegistry,
        *,
        allowed_lateness_s: float = 3600.0,
    ) -> None:
        if allowed_lateness_s < 0:
            raise ValueError("allowed_lateness_s must be >= 0")
        self.policy = policy
        self.certificates = certificates
        self.allowed_lateness_s = float(allowed_lateness_s)
        burst = policy.burst
        assert isinstance(burst, BurstSettings)
        self.geometry = RateGeometry.from_settings(burst.window_s, burst.baseline_s)
        self._geometry_key = self.geometry.key
        self.window_s = burst.window_s
        self.recent_from = max(1, burst.min_count // 2)
        self.fold_horizon_s = policy.suppression_s + self.allowed_lateness_s
        self.detectors: tuple[Detector, ...] = tuple(
            detector for detector in (cls(policy) for cls in EVENT_DETECTORS) if detector.enabled
        )
        # (detector, its bound check): the loop every event runs, kept lean.
        self._checks = tuple((detector, detector.check) for detector in self.detectors)
        self.scoring = policy.behavior_anomaly.enabled
        self._ctx = EventContext(certificates)

    def process(
        self,
        user_state: UserState | None,
        agency_state: AgencyState | None,
        event: SearchEvent,
    ) -> Outcome:
        """Judge one event against the user's and agency's state (both updated in place)."""
        user = user_state if user_state is not None else UserState()
        agency = agency_state if agency_state is not None else AgencyState()
        key = event_hash(event.event_id)
        if user.has_seen(key):
            return Outcome(user, agency, [], True, False, None)
        user.remember(key)

        ts = event.ts
        ctx = self._ctx
        ctx.certificates = self.certificates
        ctx.user_state = user
        ctx.agency_state = agency
        late = ts < user.newest - self.allowed_lateness_s
        if late:
            ctx.counted = False
        else:
            self._count(user, agency, ts)

        alerts: list[Alert] = []
        for detector, check in self._checks:
            subject = check(event, ctx)
            if subject is not None:
                self._fold(detector, subject, event, user, alerts)

        if not late and (user.recent or ctx.window_count >= self.recent_from):
            self._remember_recent(user, ctx.window_count, ts, event.event_id)
        if user.folds:
            # Behaviour folds are left to settle_folds: scores are applied after their
            # batch, and this event may be later than the events still to be scored.
            expire_folds(user.folds, user.newest, self.fold_horizon_s, keep=BEHAVIOR_ANOMALY)

        window = user.behavior
        window.update(event)
        request = None
        if self.scoring:
            features = window.features()
            if features is not None:
                request = ScoreRequest(
                    event.agency, event.user, event.event_id, ts, features, user.newest
                )
        return Outcome(user, agency, alerts, False, late, request)

    def _fold(
        self,
        detector: Detector,
        subject: str,
        event: SearchEvent,
        user: UserState,
        alerts: list[Alert],
    ) -> None:
        """Add ``event`` to the detector's alert for ``subject``; emit it if it is due."""
        ts = event.ts
        ctx = self._ctx
        fold_key = (detector.name, subject, period_start(ts, self.policy.suppression_s))
        prior = (
            detector.prior_evidence(event, ctx, fold_key[2]) if fold_key not in user.folds else ()
        )
        fold, emit = add_evidence(user.folds, fold_key, ts, event.event_id, prior)
        if emit:
            summary, details = detector.describe(event, ctx, fold)
            alerts.append(
                build_alert(
                    fold_key,
                    fold,
                    severity=detector.severity,
                    agency=event.agency,
                    user=event.user,
                    summary=summary,
                    details=details,
                )
            )

    def _count(self, user: UserState, agency: AgencyState, ts: float) -> None:
        """Count a search that is not late in the user's and the agency's rates."""
        geometry = self.geometry
        width = geometry.width
        if user.geometry != self._geometry_key:
            user.reset_rates(self._geometry_key)
        if agency.width != width:
            agency.reset_rates(width)
        bucket = int(ts // width)
        count_user(user, geometry, bucket)
        count_agency(agency, bucket, ts)
        count = window_count(user, bucket)
        newest = user.newest
        if ts > newest:
            old_bucket = int(newest // width) if newest != -math.inf else None
            move_member(agency, old_bucket, user.last_count, bucket, count)
            user.newest = ts
            user.last_count = count
        ctx = self._ctx
        ctx.counted = True
        ctx.bucket = bucket
        ctx.window_count = count

    def _remember_recent(self, user: UserState, count: int, ts: float, event_id: str) -> None:
        """Keep the last few searches once a burst is plausible, to open its alert with."""
        recent = user.recent
        if count >= self.recent_from:
            horizon = ts - self.window_s
            if recent and recent[0][0] <= horizon:
                recent[:] = [item for item in recent if item[0] > horizon]
            recent.append((ts, event_id))
            if len(recent) > RECENT_CAP:
                del recent[0]
        elif recent:
            recent.clear()

    def apply_score(
        self,
        user_state: UserState,
        request: ScoreRequest,
        score: float,
        threshold: float,
        reasons: list[str],
    ) -> tuple[UserState, list[Alert]]:
        """Fold a behaviour-model score (higher = more anomalous) into the user's state.

        Returns ``behavior_anomaly`` alerts when ``score >= threshold``, folded
        like any other detector's. Pass the user's *current* state (as stored
        now, not the one from the outcome that made the request), and call
        :meth:`settle_folds` once the batch's scores are all applied.
        """
        if not self.scoring or score < threshold:
            return user_state, []
        folds = user_state.folds
        if folds:
            # Close the behaviour folds a batch of one would have closed by now.
            expire_folds(folds, request.newest, self.fold_horizon_s, only=BEHAVIOR_ANOMALY)
        fold_key = (BEHAVIOR_ANOMALY, "", period_start(request.ts, self.policy.suppression_s))
        existing = user_state.folds.get(fold_key)
        if existing is not None and request.event_id in existing.event_ids:
            return user_state, []  # the same score applied twice (a redelivered batch)
        fold, emit = add_evidence(user_state.folds, fold_key, request.ts, request.event_id)
        alerts: list[Alert] = []
        if emit:
            summary, details = describe_score(
                request.agency, request.user, score, threshold, reasons, request.features
            )
            alerts.append(
                build_alert(
                    fold_key,
                    fold,
                    severity=self.policy.behavior_anomaly.severity,
                    agency=request.agency,
                    user=request.user,
                    summary=summary,
                    details=details,
                )
            )
        return user_state, alerts

    def settle_folds(self, user_state: UserState) -> None:
        """Drop the user's folds that are past the horizon, behaviour folds included
        (:meth:`process` leaves those open).

        Drivers call this once per user touched by a batch, after applying the
        batch's scores, not after each: a score applied late (its batch may span
        days) must see the folds its batch-mates left, as it would have with a
        batch of one, or an alert's count would depend on batch size. For the
        same reason :meth:`process` does not close behaviour folds: the events
        after a scored one in its batch are processed before its score is
        applied (seen in the takeover fault test: a behaviour alert restarted at
        one piece of evidence where one event at a time gave four).
        """
        if user_state.folds:
            expire_folds(user_state.folds, user_state.newest, self.fold_horizon_s)
