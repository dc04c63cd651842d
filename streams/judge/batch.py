"""The judge: one batch of events through the engine, the behaviour model and the folds.

Every driver calls :class:`Judge`, the worker's detection stage and ``frtwatch
replay`` alike, and nothing else takes events through the engine. Per batch it
runs ``Engine.process`` per event (in the order given: the event-time order of
:mod:`streams.judge.watermark`), scores every behaviour row of the batch in ONE
model call, folds the scores back with ``Engine.apply_score``, and closes alerts.
What decides an alert is therefore the events, the policy, the model and the
order; batch boundaries are not (``tests/unit/judge/test_batch_sizes.py``). It
imports no Faust or Kafka.

Closing alerts. An alert closes when its agency's event-time clock (the newest
event time judged for the agency) passes its ``last_seen`` plus its session gap
(:mod:`streams.detectors.folding`). A user's state is only read for that user's
events, so the agency's state keeps an index of its members' open alerts by close
time; before each event the judge closes the rule alerts the event's time has
passed, for every member the index names (loading members without events in the
batch), and after the batch's scores are applied it closes the behaviour alerts
the agency's final clock has passed (``Engine.close_behavior`` says why not
before). The index holds at most ``AGENCY_DUE_CAP`` (4,096) members per agency;
when more have open alerts, the member whose alerts would close first has them
all closed at once.

The states come from a store: :class:`ByteStates` reads the worker's tables
(any mutable mapping of key to bytes, with progress marks and journals),
:class:`ObjectStates` keeps plain objects for a replay.

What happens when something raises is decided here, once: an exception in
the engine for one event is recorded in :attr:`BatchResult.failures` (the
worker dead-letters that event, a replay counts it in its manifest) and the
batch goes on with the other events; a failing model leaves the batch
unscored (the rule detectors still judge it); anything else fails the whole
batch's events. A stored state record that can no longer be read is logged
and replaced by a fresh state: one user's history is lost, but the stream
keeps running.

:meth:`Judge.judge` only computes; :func:`store_agencies` and
:func:`store_users` write the worker's new states. The live worker sends a batch's alerts, waits until the
broker has them, and only then stores the states: a state record that says
"this event was seen" (its id is in the user's dedupe ring) must never
reach the changelog before the alerts that event raised, or a crash in
between would lose those alerts for good (the replayed event would be a
duplicate). :meth:`Judge.run` does both at once.

States are stored agencies first, then users (each a record of its own).
An agency's record also carries the new states of the users the batch
changed (its *journal*, :mod:`streams.judge.progress_marks`): if a crash comes
between the agency write and the user writes, the next judge finds users
behind their agency's journal and takes the journal's states, rather than
judging their events again against an agency that has already absorbed
them. Drivers without offsets (``frtwatch replay``) write no journal.

``select(token)`` is called before every table write with the token of the
event concerned (the worker's tables use it to send a state's changelog
record to the partition of the event that wrote it: :mod:`streams.worker.detect.state_writes`).

>>> from streams.contract import parse_event
>>> from streams.detectors.engine import Engine
>>> from streams.policy import CertificateRegistry, load_policy
>>> from streams.settings import DEFAULT_POLICY
>>> class Flaky(Engine):  # a detector bug that hits one event
...     def process(self, user, agency, event, **options):
...         if event.event_id == "e2":
...             raise ValueError("a detector bug")
...         return super().process(user, agency, event, **options)
>>> def search(i):
...     return parse_event(b'{"event_id": "e%d", "ts": "2026-03-02T09:0%d:00Z", "agency": "MPD",'
...                        b' "user": "u1", "endpoint": "https://app.clearview.ai/"}' % (i, i))
>>> users, agencies = {}, {}
>>> engine = Flaky(load_policy(DEFAULT_POLICY), CertificateRegistry())
>>> items = [BatchItem(search(i), i) for i in (1, 2, 3)]
>>> result = Judge(engine).run(items, ByteStates(users, agencies))
>>> [(item.token, str(exc)) for item, exc in result.failures]
[(2, 'a detector bug')]
>>> result.processed, sorted(users), sorted(agencies)
(2, ['MPD/u1'], ['MPD'])
>>> sorted({alert.detector for alert in result.alerts})
['missing_case_number', 'prohibited_endpoint', 'uncertified_user']
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from streams.contract import Alert, SearchEvent
from streams.contract.keys import user_key
from streams.detectors.state import AGENCY_DUE_CAP, AgencyState, UserState
from streams.judge.progress_marks import Marks, join, split, split_journal

if TYPE_CHECKING:
    from models.scoring import BehaviorModel
    from models.versions import ModelTimeline, ModelVersion
    from streams.detectors.engine import Engine, ScoreRequest

log = logging.getLogger(__name__)

T = TypeVar("T")

JOURNAL_MAX_BYTES = 512 * 1024
"""An agency record's journal at most (Kafka's default largest record is 1 MiB). A
batch that changed more of one agency's users is stored without a journal: still
exact unless a crash comes between its agency and user writes."""


@dataclass(slots=True)
class BatchItem(Generic[T]):
    """A validated event and the driver's opaque handle for it.

    Drivers that read a partitioned log give ``position`` (where the event
    is in its partition, increasing along it) and ``source`` (input partition and offset it was first
    read at): states then carry :class:`~streams.judge.progress_marks.Marks` and an
    event read again is applied to each state exactly once. ``resent`` marks
    an event the ingest stage sent on out of input order (a retry after a
    failed send may land behind later records), which the source marks
    cannot judge.
    """

    event: SearchEvent
    token: T
    position: int | None = None
    source: tuple[int, int] | None = None
    resent: bool = False


@dataclass(slots=True)
class BatchResult(Generic[T]):
    """What one batch produced: alerts to send and events to dead-letter."""

    alerts: list[Alert] = field(default_factory=list)
    failures: list[tuple[BatchItem[T], BaseException]] = field(default_factory=list)
    users: dict[str, tuple[UserState, T]] = field(default_factory=dict)
    """New user states to store, with the token of the last event that touched each."""
    agencies: dict[str, tuple[AgencyState, T]] = field(default_factory=dict)
    marks: dict[str, Marks] = field(default_factory=dict)
    """Marks of every state above, by table key (a user key has one raw '/', an agency
    key none: :mod:`streams.contract.keys`)."""
    agency_of: dict[str, str] = field(default_factory=dict)
    """The agency of every user above."""
    adopted: int = 0
    """Users that took their state from their agency's journal (see the module doc)."""
    user_values: dict[str, bytes] = field(default_factory=dict)
    """The stored value of each state in ``users`` (written to the table and to the
    agency's journal)."""
    accepted: list[SearchEvent] = field(default_factory=list)
    """The events judged (not duplicates, not failed), in order."""
    scores: list[float] = field(default_factory=list)
    """Every behaviour score of the batch (higher = more anomalous)."""
    score_tokens: list[T] = field(default_factory=list)
    """The token of the event each of ``scores`` is for, in the same order."""
    processed: int = 0
    duplicates: int = 0
    late: int = 0
    scored: int = 0
    excepted: int = 0
    """Findings an exception covered (:mod:`streams.exceptions`): no alert opened or grew."""
    shadow: dict[str, ShadowTally] = field(default_factory=dict)
    """What each shadow version scored beside the active one, by version: no alerts."""


@dataclass(slots=True)
class ShadowTally:
    """A shadow version's scores in a batch: rows scored, and rows at or over its threshold
    (the searches it would have alerted on)."""

    rows: int = 0
    flagged: int = 0


def _noop(token: Any) -> None:
    return None


class States(Protocol):
    """Where the judge reads the states of the users and agencies a batch touches."""

    def load_agency(self, key: str) -> tuple[AgencyState | None, Marks, list[tuple[str, bytes]]]:
        """The agency's state, its marks and its journal."""
        ...

    def load_user(self, key: str) -> tuple[UserState | None, Marks]: ...

    def stored_user(self, key: str) -> bytes | None:
        """The user's stored value as bytes (only stores that keep journals have one)."""
        ...


class ByteStates:
    """The worker's tables: values are state bytes with progress marks (and journals)."""

    def __init__(
        self, users: MutableMapping[str, bytes], agencies: MutableMapping[str, bytes]
    ) -> None:
        self.users = users
        self.agencies = agencies

    def load_agency(self, key: str) -> tuple[AgencyState | None, Marks, list[tuple[str, bytes]]]:
        return _load(self.agencies, key, AgencyState)

    def load_user(self, key: str) -> tuple[UserState | None, Marks]:
        state, marks, _ = _load(self.users, key, UserState)
        return state, marks

    def stored_user(self, key: str) -> bytes | None:
        return self.users.get(key)

    def store(self, result: BatchResult[T], select: Callable[[T], None] = _noop) -> None:
        """Write each state the batch changed, once, as of the last event that touched it."""
        store_agencies(result, self.agencies, select)
        store_users(result, self.users, select)


class ObjectStates:
    """Plain objects, never serialised (a replay: nothing needs to survive the process)."""

    def __init__(self) -> None:
        self.users: dict[str, UserState] = {}
        self.agencies: dict[str, AgencyState] = {}

    def load_agency(self, key: str) -> tuple[AgencyState | None, Marks, list[tuple[str, bytes]]]:
        return self.agencies.get(key), Marks(), []

    def load_user(self, key: str) -> tuple[UserState | None, Marks]:
        return self.users.get(key), Marks()

    def stored_user(self, key: str) -> bytes | None:
        return None

    def store(self, result: BatchResult[Any], select: Callable[[Any], None] = _noop) -> None:
        for key, (user, _) in result.users.items():
            self.users[key] = user
        for key, (agency, _) in result.agencies.items():
            self.agencies[key] = agency


class Judge:
    """Runs batches through one :class:`Engine` and the behaviour model.

    ``model``: one model for all time, or a :class:`~models.versions.ModelTimeline`
    whose version in force at each event's time scores it (the versions' own
    ``applies_from``, never when a driver learnt of them). ``threshold`` overrides every
    version's own (``frtwatch replay --threshold``).
    """

    def __init__(
        self,
        engine: Engine,
        model: BehaviorModel | ModelTimeline | None = None,
        threshold: float | None = None,
    ) -> None:
        from models.versions import ModelTimeline

        self.engine = engine
        self.models = model if isinstance(model, ModelTimeline) else ModelTimeline.single(model)
        self.override = threshold
        versions = self.models.versions
        self.threshold = (
            threshold
            if threshold is not None
            else (versions[0].model.threshold if len(versions) == 1 else None)
        )
        """The threshold every score is judged by, when there is one (one version, or
        an override)."""

    def run(
        self,
        items: Sequence[BatchItem[T]],
        states: ByteStates | ObjectStates,
        select: Callable[[T], None] = _noop,
        *,
        warm: bool = False,
    ) -> BatchResult[T]:
        """Judge a batch and store its states (for drivers with nothing to send first)."""
        result = self.judge(items, states, warm=warm)
        states.store(result, select)
        return result

    def judge(
        self, items: Sequence[BatchItem[T]], states: States, *, warm: bool = False
    ) -> BatchResult[T]:
        """Run a batch through the engine and the model; read the states, write nothing.

        ``warm``: build state only (a replay's warm-up before its range): no
        alerts, no model scores.
        """
        try:
            return self._judge(items, states, warm)
        except Exception as batch_exc:
            log.exception("a batch of %d events failed", len(items))
            return BatchResult(failures=[(item, batch_exc) for item in items])

    def _judge(self, items: Sequence[BatchItem[T]], states: States, warm: bool) -> BatchResult[T]:
        result: BatchResult[T] = BatchResult()
        user_cache: dict[str, UserState | None] = {}
        agency_cache: dict[str, AgencyState | None] = {}
        marks = result.marks
        user_token: dict[str, T] = {}
        agency_token: dict[str, T] = {}
        requests: list[tuple[ScoreRequest, BatchItem[T]]] = []
        agency_item: dict[str, BatchItem[T]] = {}  # each agency's last event judged
        accepted = result.accepted
        process = self.engine.process
        # Feature rows only when a version could score them (a driver may add versions
        # between batches, never during one).
        score = not warm and bool(self.models)

        for item in items:
            event = item.event
            ukey, akey = event.user_key, event.agency_key
            try:
                if akey not in agency_cache:  # before its users: see _adopt
                    agency_cache[akey], marks[akey], journal = states.load_agency(akey)
                    if journal:
                        self._adopt(journal, akey, states, user_cache, user_token, item, result)
                if ukey not in user_cache:
                    user_cache[ukey], marks[ukey] = states.load_user(ukey)
                    result.agency_of[ukey] = akey
                user, agency = user_cache[ukey], agency_cache[akey]
                position = item.position
                agency_too = True
                if position is not None:
                    umarks, amarks = marks[ukey], marks[akey]
                    copy_of = None if item.resent else item.source
                    if umarks.has_event(position, copy_of):
                        result.duplicates += 1
                        continue
                    if amarks.has_event(position, copy_of):
                        # The agency has it: stored before a crash while the user's state
                        # was not, in a batch too large for a journal (or stored before
                        # journals existed). Apply it to the user alone, against the
                        # agency as it is now: the best there is.
                        agency_too = False
                        agency = AgencyState.from_bytes(agency.to_bytes()) if agency else None
                if agency is not None and agency_too and agency.next_due < event.ts:
                    agency.clock = max(agency.clock, event.ts)
                    self._close(False, akey, agency, item, states, user_cache, user_token,
                                result, warm)  # fmt: skip
                    user = user_cache[ukey]
                outcome = process(user, agency, event, score=score)
                grown = outcome.agency_state
                if agency_too and len(grown.due) + len(grown.due_behavior) > AGENCY_DUE_CAP:
                    self._make_room(akey, grown, item, states, user_cache,
                                    user_token, result, warm)  # fmt: skip
            except Exception as exc:
                log.exception("detection failed for event %r", event.event_id)
                result.failures.append((item, exc))
                continue
            result.processed += 1
            if outcome.duplicate:
                result.duplicates += 1
                continue
            if position is not None:
                umarks.advance(position, item.source)
                if agency_too:
                    amarks.advance(position, item.source)
            if outcome.late:
                result.late += 1
            accepted.append(event)
            user_cache[ukey], user_token[ukey] = outcome.user_state, item.token
            if agency_too:
                agency_cache[akey], agency_token[akey] = outcome.agency_state, item.token
                agency_item[akey] = item
            if warm:
                continue
            if outcome.alerts:
                result.alerts.extend(outcome.alerts)
            if outcome.excepted:
                result.excepted += len(outcome.excepted)
            if outcome.score_request is not None:
                requests.append((outcome.score_request, item))

        if requests and self.models:
            self._score(requests, user_cache, agency_cache, user_token, result)
        for akey, last in agency_item.items():  # see Engine.close_behavior
            agency = agency_cache[akey]
            if agency is not None and akey in agency_token:
                self._close(True, akey, agency, last, states, user_cache, user_token,
                            result, warm)  # fmt: skip
        result.users = {
            key: (state, user_token[key])
            for key, state in user_cache.items()
            if state is not None and key in user_token
        }
        result.agencies = {
            key: (state, agency_token[key])
            for key, state in agency_cache.items()
            if state is not None and key in agency_token
        }
        return result

    def _close(
        self,
        behaviour: bool,
        akey: str,
        agency: AgencyState,
        item: BatchItem[T],
        states: States,
        user_cache: dict[str, UserState | None],
        user_token: dict[str, T],
        result: BatchResult[T],
        warm: bool,
    ) -> None:
        """Close the alerts of the agency's members that its clock has passed: members
        without events in the batch too (the close index). Rule alerts (``behaviour``
        false) close before ``item`` is judged; behaviour alerts after the batch's scores,
        ``item`` then being the agency's last event of the batch."""
        inf = math.inf
        if behaviour:
            names, close = agency.due_behavior_users(agency.clock), self.engine.close_behavior
        else:
            names, close = agency.due_users(agency.clock), self.engine.close_due
        for name in names:
            user = self._closing_user(akey, name, item, states, user_cache, user_token, result)
            if user is None:  # nothing stored: drop it from this half of the index
                if behaviour:
                    agency.set_due(name, agency.due.get(name, inf), inf)
                else:
                    agency.set_due(name, inf, agency.due_behavior.get(name, inf))
                continue
            closed = close(user, agency, item.event.agency, name)
            if not warm:
                result.alerts.extend(closed)

    def _make_room(
        self,
        akey: str,
        agency: AgencyState,
        item: BatchItem[T],
        states: States,
        user_cache: dict[str, UserState | None],
        user_token: dict[str, T],
        result: BatchResult[T],
        warm: bool,
    ) -> None:
        """The agency's close index is over its cap: close every alert of the members whose
        alerts would close first, until it is not."""
        while agency.indexed > AGENCY_DUE_CAP:
            inf = math.inf
            name = min(
                agency.due.keys() | agency.due_behavior.keys(),
                key=lambda u: (min(agency.due.get(u, inf), agency.due_behavior.get(u, inf)), u),
            )
            user = self._closing_user(akey, name, item, states, user_cache, user_token, result)
            if user is None:
                agency.set_due(name, inf, inf)
                continue
            closed = self.engine.close_all(user, agency, item.event.agency, name)
            if not warm:
                result.alerts.extend(closed)

    @staticmethod
    def _closing_user(
        akey: str,
        name: str,
        item: BatchItem[T],
        states: States,
        user_cache: dict[str, UserState | None],
        user_token: dict[str, T],
        result: BatchResult[T],
    ) -> UserState | None:
        """The state of a member whose alerts ``item``'s time closes, marked as changed by
        ``item`` (its marks move to ``item``'s position: the closes are part of what the
        state has absorbed up to there, and a journal holding it must win)."""
        ukey = user_key(item.event.agency, name)  # the close index names members
        if ukey not in user_cache:
            user_cache[ukey], result.marks[ukey] = states.load_user(ukey)
            result.agency_of[ukey] = akey
        user = user_cache[ukey]
        if user is not None:
            user_token[ukey] = item.token
            if item.position is not None:
                result.marks[ukey].advance(item.position)
        return user

    @staticmethod
    def _adopt(
        journal: list[tuple[str, bytes]],
        agency: str,
        states: States,
        user_cache: dict[str, UserState | None],
        user_token: dict[str, T],
        item: BatchItem[T],
        result: BatchResult[T],
    ) -> None:
        """Take the journal's state for each user the table holds an older one of.

        The agency is loaded before any of its users in a batch, so none of
        them is in ``user_cache`` yet. An adopted user is stored again (as of
        ``item``, an event of the same agency: the same changelog partition).
        """
        for ukey, value in journal:
            if ukey in user_cache:
                continue
            stored = states.stored_user(ukey)
            if stored == value:  # the usual case: the users were stored after the agency
                continue
            try:
                jmarks, jstate = split(value)
                behind = stored is None or split(stored)[0].position < jmarks.position
                if not behind:
                    continue
                user_cache[ukey] = UserState.from_bytes(jstate)
            except Exception:
                log.exception("the journal of %r has an unreadable entry for %r", agency, ukey)
                continue
            result.marks[ukey] = jmarks
            result.agency_of[ukey] = agency
            user_token[ukey] = item.token
            result.adopted += 1

    def _score(
        self,
        requests: list[tuple[ScoreRequest, BatchItem[T]]],
        user_cache: dict[str, UserState | None],
        agency_cache: dict[str, AgencyState | None],
        user_token: dict[str, T],
        result: BatchResult[T],
    ) -> None:
        """Score each request with the version in force at its event's time (one model
        call per version in the batch), then apply the scores in event order; shadow
        versions score beside and only count."""
        import numpy as np

        timeline = self.models
        versions: list[ModelVersion | None] = [timeline.active_at(r.ts) for r, _ in requests]
        values: list[float | None] = [None] * len(requests)
        rows = np.asarray([r.features for r, _ in requests], dtype=np.float64)
        for group, index in _groups(versions).items():
            try:
                scores = group.model.score(rows[index])
            except Exception:
                # The model is not the events' fault: keep the rule detectors going.
                log.exception("behaviour model %s failed on %d rows", group.version, len(index))
                continue
            for i, value in zip(index, scores.tolist(), strict=True):
                values[i] = value
        if timeline.has_shadows:
            self._shadow_scores(requests, rows, result)
        apply = self.engine.apply_score
        for (request, item), value, version in zip(requests, values, versions, strict=True):
            if value is None or version is None:
                continue
            result.scores.append(value)
            result.score_tokens.append(item.token)
            result.scored += 1
            model = version.model
            threshold = self.override if self.override is not None else model.threshold
            if value < threshold:
                continue  # apply_score would change nothing
            if self.engine.score_exception(request) is not None:
                result.excepted += 1  # scored into a silenced alert
            ukey = user_key(request.agency, request.user)
            try:
                reasons = model.explain(request.features)
                current = user_cache[ukey]
                assert current is not None
                state, alerts = apply(current, request, value, threshold, reasons,
                                      agency_cache.get(request.agency),
                                      model_version=version.version)  # fmt: skip
            except Exception as exc:
                log.exception("behaviour scoring failed for event %r", request.event_id)
                result.failures.append((item, exc))
                continue
            user_cache[ukey], user_token[ukey] = state, item.token
            result.alerts.extend(alerts)

    def _shadow_scores(
        self, requests: list[tuple[ScoreRequest, BatchItem[T]]], rows: Any, result: BatchResult[T]
    ) -> None:
        shadows = [self.models.shadows_at(r.ts) for r, _ in requests]
        members: dict[ModelVersion, list[int]] = {}
        for i, found in enumerate(shadows):
            for version in found:
                members.setdefault(version, []).append(i)
        for version, index in members.items():
            try:
                scores = version.model.score(rows[index])
            except Exception:
                log.exception("shadow model %s failed on %d rows", version.version, len(index))
                continue
            tally = result.shadow.setdefault(version.version, ShadowTally())
            tally.rows += len(index)
            tally.flagged += int((scores >= version.model.threshold).sum())


def _groups(versions: Sequence[ModelVersion | None]) -> dict[ModelVersion, list[int]]:
    """The indexes of the requests each version scores (None: warm-up, not scored)."""
    groups: dict[ModelVersion, list[int]] = {}
    for i, version in enumerate(versions):
        if version is not None:
            groups.setdefault(version, []).append(i)
    return groups


def store_agencies(
    result: BatchResult[T],
    agencies: MutableMapping[str, bytes],
    select: Callable[[T], None] = _noop,
) -> None:
    """Write the agency states, each with its journal. Drivers store these first,
    and have them on the broker before they store the users' (see :class:`Judge`)."""
    values = _user_values(result)
    journals: dict[str, list[tuple[str, bytes]]] = {}
    for key, value in values.items():
        journals.setdefault(result.agency_of[key], []).append((key, value))
    for key, (state, token) in result.agencies.items():
        journal = journals.get(key, [])
        if sum(len(value) for _, value in journal) > JOURNAL_MAX_BYTES:
            log.info("%d users of %r changed in one batch: stored without a journal",
                     len(journal), key)  # fmt: skip
            journal = []
        select(token)
        agencies[key] = _dump(state.to_bytes(), result.marks.get(key), journal)


def store_users(
    result: BatchResult[T],
    users: MutableMapping[str, bytes],
    select: Callable[[T], None] = _noop,
) -> None:
    """Write the user states (after :func:`store_agencies`)."""
    values = _user_values(result)
    for key, (_, token) in result.users.items():
        select(token)
        users[key] = values[key]


def _user_values(result: BatchResult[Any]) -> dict[str, bytes]:
    """The stored value of each user state in ``result`` (made once: it goes to the table
    and to the agency's journal)."""
    if len(result.user_values) != len(result.users):
        result.user_values = {
            key: _dump(state.to_bytes(), result.marks.get(key))
            for key, (state, _) in result.users.items()
        }
    return result.user_values


S = TypeVar("S", UserState, AgencyState)


def _load(
    table: MutableMapping[str, bytes], key: str, kind: type[S]
) -> tuple[S | None, Marks, list[tuple[str, bytes]]]:
    """The stored state, its marks and its journal (agencies' only), read in one pass."""
    data = table.get(key)
    if data is None:
        return None, Marks(), []
    try:
        marks, journal, state = split_journal(data)
    except Exception:
        journal = []
        try:
            marks, state = split(data)
            log.exception("the journal stored with %r is unreadable; ignoring it", key)
        except Exception:
            log.exception("stored marks for %r are unreadable; applying every event again", key)
            marks, state = Marks(), data
    try:
        return kind.from_bytes(state), marks, journal
    except Exception:
        log.exception("stored %s for %r is unreadable; starting it afresh", kind.__name__, key)
        return None, marks, journal


def _dump(state: bytes, marks: Marks | None, journal: Sequence[tuple[str, bytes]] = ()) -> bytes:
    """The stored value: state bytes alone, or with marks (and a journal) when the driver
    has offsets."""
    if marks is None or (marks.position < 0 and not marks.sources):
        return state
    return join(marks, state, journal)
