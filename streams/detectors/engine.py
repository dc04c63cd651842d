"""The detection engine: one event and the states it touches in, new states and alerts out.

Pure Python with no Kafka or Faust: the live worker and the replay command
both drive the same :class:`Engine`, so the same events give the same alerts
and the same ``alert_id``s. Everything is judged in event time.

Per event the engine

1. drops a redelivered duplicate (its id is in the user's dedupe ring): no
   state change, no alert;
2. counts the search in the user's and the agency's rates, unless it is
   *late* (older than the user's newest search minus the allowed lateness);
3. moves the agency's event-time clock, closes the user's alerts that have been
   quiet for longer than their session gap (published once more, ``closed``), runs
   every enabled detector and folds its evidence into open alerts (:mod:`.folding`),
   publishing an alert when it opens, at 2, 4, 8, ... pieces of evidence and on each
   new day of evidence;
   A finding an exception covers at the event's own time (:mod:`streams.exceptions`:
   the event's agency and user, the detector and the alert's subject) goes to a
   *silenced* alert of its own instead, one per exception, which carries the
   exception's id (``exception_id``); the id is also in :attr:`Outcome.excepted`;
4. updates the behaviour window and, when the behaviour detector is on and
   the user has enough history, asks for a model score (:class:`ScoreRequest`),
   which the driver scores in a batch and hands back to :meth:`Engine.apply_score`.

The states passed in are updated in place and returned in the outcome; a
driver must store them back (a Faust table only writes its changelog on
assignment). The alerts of *other* users that the agency's clock closes are the
driver's to close (:meth:`Engine.close_due`, :meth:`Engine.close_behavior`): the
judge (:mod:`streams.judge.batch`) does it, from the agency's close index.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from streams.contract import DETECTORS, Alert, SearchEvent
from streams.detectors.behavior_anomaly import describe_score
from streams.detectors.detector import Detector, EventContext
from streams.detectors.folding import (
    BEHAVIOR,
    add_evidence,
    build_alert,
    close_time,
    closing_alert,
    is_due,
    silenced_subject,
)
from streams.detectors.rates import (
    RateGeometry,
    count_agency,
    count_user,
    move_member,
    window_count,
)
from streams.detectors.rules import EVENT_DETECTORS
from streams.detectors.state import (
    AGENCY_FOLD_CAP,
    RECENT_CAP,
    AgencyState,
    Fold,
    FoldKey,
    UserState,
    event_hash,
)
from streams.exceptions import ExceptionRecord, Exceptions
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
    clock: float = -math.inf
    """The agency's event-time clock when the request was made: the score closes the
    user's behaviour alerts as of then, not as of the end of its batch."""


@dataclass(slots=True)
class Outcome:
    """What one event did. Store both states back; send each alert keyed by its ``alert_id``."""

    user_state: UserState
    agency_state: AgencyState
    alerts: list[Alert]
    duplicate: bool
    late: bool
    score_request: ScoreRequest | None
    excepted: list[str] = field(default_factory=list)
    """The ids of the exceptions that covered a finding of this event (one per finding)."""


class Engine:
    """Judges events against one policy and certificate registry.

    ``certificates`` is public: drivers apply live registry updates to it
    (``engine.certificates.update(key, value)``) or replace it outright.
    ``exceptions`` is public too, and immutable: drivers replace it when the exceptions
    change (by default the policy's exceptions file's).
    """

    def __init__(
        self,
        policy: Policy,
        certificates: CertificateRegistry,
        *,
        allowed_lateness_s: float = 3600.0,
        exceptions: Exceptions | None = None,
    ) -> None:
        if allowed_lateness_s < 0:
            raise ValueError("allowed_lateness_s must be >= 0")
        self.policy = policy
        self.certificates = certificates
        self.exceptions = (
            exceptions if exceptions is not None else Exceptions(policy.file_exceptions)
        )
        self.allowed_lateness_s = float(allowed_lateness_s)
        burst = policy.burst
        assert isinstance(burst, BurstSettings)
        self.geometry = RateGeometry.from_settings(burst.window_s, burst.baseline_s)
        self._geometry_key = self.geometry.key
        self.window_s = burst.window_s
        self.recent_from = max(1, burst.min_count // 2)
        self.gaps = {name: policy.session_gap(name) for name in DETECTORS}
        self.severities = {name: policy.detector(name).severity for name in DETECTORS}
        self.agency_wide = frozenset(
            name for name in DETECTORS if policy.detector(name).alert_per == "agency"
        )
        self.detectors: tuple[Detector, ...] = tuple(
            detector for detector in (cls(policy) for cls in EVENT_DETECTORS) if detector.enabled
        )
        # (detector, its bound check): the loop every event runs, kept lean.
        self._checks = tuple((detector, detector.check) for detector in self.detectors)
        self.scoring = policy.behavior_anomaly.enabled
        self.hours = policy.local_hours()
        self._ctx = EventContext(certificates)

    def process(
        self,
        user_state: UserState | None,
        agency_state: AgencyState | None,
        event: SearchEvent,
        *,
        score: bool = True,
    ) -> Outcome:
        """Judge one event against the user's and agency's state (both updated in place).

        ``score``: whether a model will score the event; False leaves out the
        :class:`ScoreRequest` (its feature row is not built; the behaviour window is
        updated all the same)."""
        user = user_state if user_state is not None else UserState()
        agency = agency_state if agency_state is not None else AgencyState()
        key = event_hash(event.event_id)
        if user.has_seen(key):
            return Outcome(user, agency, [], True, False, None)
        user.remember(key)

        ts = event.ts
        if ts > agency.clock:
            agency.clock = ts
        clock = agency.clock
        alerts: list[Alert] = []
        if agency.folds and clock > agency.folds_due:
            alerts += self._close_agency(agency, event.agency, clock)
        if user.folds:  # the judge closes them first; this is for drivers without an index
            closed = self._close(user, event.agency, event.user, clock, False)
            if closed:
                alerts += closed
                self._index(user, agency, event.user)
        ctx = self._ctx
        ctx.certificates = self.certificates
        ctx.user_state = user
        ctx.agency_state = agency
        late = ts < user.newest - self.allowed_lateness_s
        if late:
            ctx.counted = False
        else:
            self._count(user, agency, ts)

        folded = False
        exceptions = self.exceptions
        excepted: list[str] = []
        for detector, check in self._checks:
            subject = check(event, ctx)
            if subject is not None:
                if exceptions:
                    hit = exceptions.match(event.agency, event.user, detector.name, subject, ts)
                    if hit is not None:  # a silenced alert of its own, naming the exception
                        excepted.append(hit.id)
                        subject = silenced_subject(subject, hit.id)
                self._fold(detector, subject, event, user, agency, alerts)
                folded = True
        if folded:
            self._index(user, agency, event.user)

        if not late and (user.recent or ctx.window_count >= self.recent_from):
            self._remember_recent(user, ctx.window_count, ts, event.event_id)

        window = user.behavior
        window.update(event, self.hours)
        request = None
        if score and self.scoring:
            features = window.features()
            if features is not None:
                request = ScoreRequest(
                    event.agency, event.user, event.event_id, ts, features, clock
                )
        return Outcome(user, agency, alerts, False, late, request, excepted)

    def _fold(
        self,
        detector: Detector,
        subject: str,
        event: SearchEvent,
        user: UserState,
        agency: AgencyState,
        alerts: list[Alert],
    ) -> None:
        """Add ``event`` to the detector's alert for ``subject``; publish it if it is due."""
        ctx = self._ctx
        name = detector.name
        key = (name, subject)
        if name in self.agency_wide:
            folds, cap, member = agency.folds, AGENCY_FOLD_CAP, event.user
        else:
            folds, cap, member = user.folds, None, None
        prior: Sequence[tuple[float, str]] = ()
        opening = 0
        if key not in folds:
            prior = detector.prior_evidence(event, ctx, -math.inf)
            opening = detector.opening_count(ctx, prior)

        def describe(fold: Fold) -> tuple[str, dict[str, Any]]:
            return detector.describe(event, ctx, fold)

        self._add(folds, key, event.ts, event.event_id, agency.clock, prior, describe,
                  event.agency, event.user, alerts, cap=cap, member=member,
                  opening_count=opening)  # fmt: skip
        if member is not None:
            agency.folds_due = min(agency.folds_due, event.ts + self.gaps[name])  # a bound

    def _add(
        self,
        folds: dict[FoldKey, Fold],
        key: FoldKey,
        ts: float,
        event_id: str,
        clock: float,
        prior: Sequence[tuple[float, str]],
        describe: Callable[[Fold], tuple[str, dict[str, Any]]],
        agency_name: str,
        user_name: str,
        alerts: list[Alert],
        *,
        cap: int | None = None,
        member: str | None = None,
        opening_count: int = 0,
    ) -> None:
        """Fold evidence into an alert of ``folds`` (a user's, or with ``member``, the
        agency's) and publish what is due (see :func:`.add_evidence`)."""
        detector = key[0]
        severity = self.severities[detector]
        key, fold, emit, evicted = add_evidence(
            folds, key, ts, event_id, since_clock=clock, gap_s=self.gaps[detector],
            prior=prior, cap=cap, opening_count=opening_count,
        )  # fmt: skip
        if member is not None:
            fold.add_user(member)
        if evicted is not None:
            alerts.append(self._closing(*evicted, agency_name, user_name))
        if emit:
            summary, details = describe(fold)
            alerts.append(
                build_alert(key, fold, severity=severity, agency=agency_name, user=user_name,
                            summary=summary, details=details)
            )  # fmt: skip

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
        agency_state: AgencyState | None = None,
        *,
        model_version: str | None = None,
    ) -> tuple[UserState, list[Alert]]:
        """Fold a behaviour-model score (higher = more anomalous) into the user's state.

        Returns ``behavior_anomaly`` alerts when ``score >= threshold``, folded
        like any other detector's (with the closing versions of behaviour alerts the
        request's clock closes). Pass the user's *current* state (as stored now, not
        the one from the outcome that made the request) and its agency's (whose close
        index it updates), and call :meth:`close_behavior` for the agency's due users
        once the batch's scores are all applied. ``model_version`` names the model that
        scored it (the alert's ``details.model_version``).
        """
        if not self.scoring or score < threshold:
            return user_state, []
        hit = self.score_exception(request)
        key: FoldKey = (BEHAVIOR_ANOMALY, "" if hit is None else silenced_subject("", hit.id))
        existing = user_state.folds.get(key)
        if existing is not None and request.event_id in existing.event_ids:
            return user_state, []  # the same score applied twice (a redelivered batch)
        # Close the behaviour alerts a batch of one would have closed by now.
        alerts = self._close(user_state, request.agency, request.user, request.clock, True)

        def describe(fold: Fold) -> tuple[str, dict[str, Any]]:
            return describe_score(
                request.agency,
                request.user,
                score,
                threshold,
                reasons,
                request.features,
                model_version=model_version,
                earlier=fold.details,
            )

        self._add(user_state.folds, key, request.ts, request.event_id, request.clock, (),
                  describe, request.agency, request.user, alerts)  # fmt: skip
        if agency_state is not None:
            self._index(user_state, agency_state, request.user)
        return user_state, alerts

    def score_exception(self, request: ScoreRequest) -> ExceptionRecord | None:
        """The exception covering a behaviour score's finding at its event's time, if any."""
        exceptions = self.exceptions
        if not exceptions:
            return None
        return exceptions.match(request.agency, request.user, BEHAVIOR_ANOMALY, "", request.ts)

    def close_due(
        self, user_state: UserState, agency_state: AgencyState, agency: str, user: str
    ) -> list[Alert]:
        """Close ``user``'s rule alerts that the agency's clock has passed (their closing
        versions are returned) and update the agency's close index."""
        alerts = self._close(user_state, agency, user, agency_state.clock, False)
        self._index(user_state, agency_state, user)
        return alerts

    def close_behavior(
        self, user_state: UserState, agency_state: AgencyState, agency: str, user: str
    ) -> list[Alert]:
        """Close ``user``'s behaviour alerts that the agency's clock has passed.

        Drivers call this after applying a batch's scores, not during the batch: a
        score applied late (its batch may span days) must find the behaviour alert its
        batch-mates left open, as it would have with a batch of one, or an alert's
        count would depend on batch size (:meth:`apply_score` closes as of its own
        request's clock instead)."""
        alerts = self._close(user_state, agency, user, agency_state.clock, True)
        self._index(user_state, agency_state, user)
        return alerts

    def close_all(
        self, user_state: UserState, agency_state: AgencyState, agency: str, user: str
    ) -> list[Alert]:
        """Close every open alert of ``user`` now (the agency's close index is full)."""
        alerts = [
            self._closing(key, user_state.folds.pop(key), agency, user)
            for key in sorted(user_state.folds)
        ]
        agency_state.set_due(user, math.inf, math.inf)
        return alerts

    def _close(
        self, user: UserState, agency: str, user_name: str, clock: float, behaviour: bool
    ) -> list[Alert]:
        folds = user.folds
        gaps = self.gaps
        due = [
            key
            for key, fold in folds.items()
            if (key[0] == BEHAVIOR) == behaviour and is_due(fold, gaps[key[0]], clock)
        ]
        return [self._closing(key, folds.pop(key), agency, user_name) for key in sorted(due)]

    def _close_agency(self, agency: AgencyState, name: str, clock: float) -> list[Alert]:
        """Close the agency-wide alerts ``clock`` has passed; keep ``folds_due`` a lower
        bound of the rest's close times."""
        folds = agency.folds
        gaps = self.gaps
        due = sorted(key for key, fold in folds.items() if is_due(fold, gaps[key[0]], clock))
        alerts = [self._closing(key, folds.pop(key), name, "") for key in due]
        agency.folds_due = min(
            (close_time(fold, gaps[key[0]]) for key, fold in folds.items()), default=math.inf
        )
        return alerts

    def _closing(self, key: FoldKey, fold: Fold, agency: str, user: str) -> Alert:
        return closing_alert(key, fold, severity=self.severities[key[0]], agency=agency, user=user)

    def _index(self, user: UserState, agency: AgencyState, user_name: str) -> None:
        """Put the user's earliest close times in the agency's close index."""
        rules = behaviour = math.inf
        gaps = self.gaps
        for (detector, _), fold in user.folds.items():
            at = close_time(fold, gaps[detector])
            if detector == BEHAVIOR:
                behaviour = min(behaviour, at)
            else:
                rules = min(rules, at)
        agency.set_due(user_name, rules, behaviour)
