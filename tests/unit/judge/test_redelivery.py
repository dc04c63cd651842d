"""Events read again (after a crash, a resend or a rewind) are applied to each state once.

The batch detector is driven as the worker drives it, with each event's
offset in the internal topic and its input coordinates, over plain dicts
standing in for the tables; the reference is the same events judged once.
"""

from __future__ import annotations

from typing import Any

from streams.detectors import Engine
from streams.judge.batch import BatchItem, ByteStates, Judge, ObjectStates, store_agencies
from streams.judge.progress_marks import split
from streams.policy import CertificateRegistry, Policy, load_policy
from streams.settings import DEFAULT_POLICY
from tests.unit.detectors.factories import HOUR, at, certify, make_event, per_user

PROHIBITED = "https://app.clearview.ai/search"


def _world(n: int = 80) -> list[Any]:
    """Two users of one agency, one of them searching a prohibited system now and then."""
    events = []
    for i in range(n):
        user = "mpd-0001" if i % 3 else "mpd-0002"
        fields = {"endpoint": PROHIBITED} if i % 7 == 0 else {}
        events.append(make_event(at(0, 8) + i * 0.05 * HOUR, user=user, **fields))
    return events


def _items(events: list[Any], start: int = 0) -> list[BatchItem[None]]:
    return [BatchItem(e, None, start + n, (0, 1000 + start + n)) for n, e in enumerate(events)]


def _run(
    batches: list[list[BatchItem[None]]], policy: Policy | None = None
) -> tuple[dict[str, bytes], dict[str, bytes], dict]:
    detector = Judge(Engine(policy or load_policy(DEFAULT_POLICY), CertificateRegistry()))
    users: dict[str, bytes] = {}
    agencies: dict[str, bytes] = {}
    alerts: dict[str, int] = {}
    for batch in batches:
        result = detector.run(batch, ByteStates(users, agencies))
        for alert in result.alerts:
            alerts[alert.alert_id] = max(alerts.get(alert.alert_id, 0), alert.event_count)
    return users, agencies, alerts


def _states(table: dict[str, bytes]) -> dict[str, bytes]:
    return {key: split(value)[1] for key, value in table.items()}


def test_a_long_stretch_read_again_counts_once() -> None:
    """Far more than the event-id ring holds (32 per user) is re-read after a crash."""
    items = _items(_world())
    once = _run([items[:40], items[40:]])
    again = _run([items[:40], items[40:], items[:60], items[60:]])
    assert _states(again[0]) == _states(once[0])
    assert _states(again[1]) == _states(once[1])
    assert again[2] == once[2] and once[2]


def test_second_copies_from_the_ingest_stage_count_once() -> None:
    """Copies carry new internal offsets but their input offsets are not new."""
    events = _world()
    items = _items(events)
    copies = [BatchItem(i.event, None, 200 + n, i.source) for n, i in enumerate(items[10:70])]
    once = _run([items])
    twice = _run([items, copies])
    assert _states(twice[0]) == _states(once[0]) and twice[2] == once[2]


def test_an_event_resent_out_of_order_is_applied() -> None:
    """A record Faust dropped, sent on later, has a lower input offset than its successors."""
    events = _world()
    items = _items(events)
    dropped = items[30]
    later = [i for n, i in enumerate(items) if n != 30]
    resent = BatchItem(dropped.event, None, 500, dropped.source, resent=True)
    users, _, _ = _run([later, [resent]])
    key = dropped.event.user_key
    reference, _, _ = _run([later])
    assert split(users[key])[1] != split(reference[key])[1], "the resent event was dropped"


def test_an_agency_stored_ahead_of_its_users_is_not_counted_twice() -> None:
    """A crash between the agency write and the user writes: the user catches up alone."""
    items = _items(_world())
    detector = Judge(Engine(load_policy(DEFAULT_POLICY), CertificateRegistry()))
    users: dict[str, bytes] = {}
    agencies: dict[str, bytes] = {}
    detector.run(items[:40], ByteStates(users, agencies))
    result = detector.judge(items[40:], ByteStates(users, agencies))
    store_agencies(result, agencies)  # ... and the worker dies here
    detector.run(items[40:], ByteStates(users, agencies))
    once = _run([items[:40], items[40:]])
    assert _states(users) == _states(once[0])
    assert _states(agencies) == _states(once[1])


def test_copies_skipped_by_an_agency_stored_ahead_are_not_applied_to_its_users() -> None:
    """Copies from a restarted ingest stage, then a crash between the agency write and
    the user writes: on the re-read the agency's position is past the copies (the new
    events after them advanced it), yet the users already have them."""
    events = _world(100)
    first = _items(events[:80])
    copies = [BatchItem(i.event, None, 200 + n, i.source) for n, i in enumerate(first[10:70])]
    fresh = [BatchItem(e, None, 260 + n, (0, 1080 + n)) for n, e in enumerate(events[80:])]
    detector = Judge(Engine(load_policy(DEFAULT_POLICY), CertificateRegistry()))
    users: dict[str, bytes] = {}
    agencies: dict[str, bytes] = {}
    detector.run(first, ByteStates(users, agencies))
    result = detector.judge(copies + fresh, ByteStates(users, agencies))
    assert result.duplicates == len(copies)
    store_agencies(result, agencies)  # ... and the worker dies here
    again = detector.run(copies + fresh, ByteStates(users, agencies))
    # The users take the batch's outcome from the agency's journal: nothing is judged again.
    assert again.adopted == 2 and again.duplicates == len(copies) + len(fresh)
    once = _run([_items(events[:80]), fresh])
    assert _states(users) == _states(once[0])
    assert _states(agencies) == _states(once[1])


def test_users_behind_an_agency_stored_ahead_are_not_judged_again() -> None:
    """A crash between the agency write and the user writes, in the batch where a user
    first searches a prohibited system and a colleague's earlier search of it arrives
    after: judged again, the user would meet an agency that knows of the earlier
    search, and raise an alert saying it was not the agency's first use. The users
    take the outcome the agency's record carries instead."""
    events = [make_event(at(0, 8) + i * 60.0, user="mpd-0001") for i in range(10)]
    events.insert(6, make_event(at(0, 8) + 330.0, user="mpd-0002", endpoint=PROHIBITED))
    events.insert(8, make_event(at(0, 8) + 200.0, user="mpd-0003", endpoint=PROHIBITED))
    items = _items(events)
    detector = Judge(Engine(load_policy(DEFAULT_POLICY), CertificateRegistry()))
    users: dict[str, bytes] = {}
    agencies: dict[str, bytes] = {}
    detector.run(items[:4], ByteStates(users, agencies))
    result = detector.judge(items[4:], ByteStates(users, agencies))
    sent = {alert.alert_id: alert.to_json() for alert in result.alerts}
    assert any(b'"first_time_for_agency":true' in alert for alert in sent.values())
    store_agencies(result, agencies)  # ... and the worker dies here
    again = detector.run(items[4:], ByteStates(users, agencies))
    for alert in again.alerts:
        assert sent.get(alert.alert_id) == alert.to_json(), "an alert judged differently"
    once = _run([items[:4], items[4:]])
    assert _states(users) == _states(once[0])
    assert _states(agencies) == _states(once[1])


def test_drivers_without_offsets_store_plain_states() -> None:
    users, _, _ = _run([[BatchItem(e, None) for e in _world()]])
    assert all(split(v)[0].position == -1 and v == split(v)[1] for v in users.values())


class _AlwaysAnomalous:
    """Stands in for the behaviour model: every row scores above the threshold."""

    threshold = 0.5
    version = "test-always-anomalous"

    def score(self, rows: Any) -> Any:
        import numpy as np

        return np.full(len(rows), 0.9)

    def explain(self, features: Any) -> list[str]:
        return ["unusual"]


def test_behaviour_alerts_do_not_depend_on_where_batches_end() -> None:
    """Scores are applied after their batch: an event processed later in the batch must not
    close the fold an earlier event's score still adds to (every fold of the policy's hour
    closes two hours after it, at the allowed lateness)."""
    events = [make_event(at(0, 8) + i * 0.3 * HOUR, user="mpd-0001") for i in range(40)]

    def alerts(batch: int) -> dict[str, int]:
        engine = Engine(load_policy(DEFAULT_POLICY), CertificateRegistry())
        detector = Judge(engine, _AlwaysAnomalous())  # type: ignore[arg-type]
        users: dict[str, bytes] = {}
        agencies: dict[str, bytes] = {}
        counts: dict[str, int] = {}
        for start in range(0, len(events), batch):
            items = [BatchItem(e, None) for e in events[start : start + batch]]
            for alert in detector.run(items, ByteStates(users, agencies)).alerts:
                if alert.detector == "behavior_anomaly":
                    counts[alert.alert_id] = max(counts.get(alert.alert_id, 0), alert.event_count)
        return counts

    one_at_a_time = alerts(1)
    assert one_at_a_time and max(one_at_a_time.values()) >= 2
    assert alerts(40) == one_at_a_time
    assert alerts(11) == one_at_a_time  # a batch spans 3.3 h: past a fold's horizon


def _days_world() -> list[Any]:
    """Four users over five days: prohibited searches with quiet days between, so alerts
    close on the agency's clock, some of them while their user is silent."""
    events = []
    for day in range(5):
        for i in range(12):
            user = f"mpd-000{1 + i % 4}"
            fields = {"endpoint": PROHIBITED} if (i % 4 == day % 3 and i < 8) else {}
            events.append(make_event(at(day, 8) + i * 0.4 * HOUR, user=user, **fields))
    return events


def _closed(alerts: list[Any]) -> set[tuple[str, int]]:
    return {(a.alert_id, a.event_count) for a in alerts if a.status == "closed"}


def _crash_after_each_agency_write(
    detector: Judge[None], items: list[BatchItem[None]], size: int
) -> tuple[dict[str, bytes], dict[str, bytes], list[Any]]:
    """Judge ``items`` in batches of ``size``, the worker dying after each batch's agency
    write (before its users'), then judging the batch again: nothing may be judged twice.
    Returns the user and agency tables and every alert published."""
    users: dict[str, bytes] = {}
    agencies: dict[str, bytes] = {}
    published: list[Any] = []
    for start in range(0, len(items), size):
        batch = items[start : start + size]
        result = detector.judge(batch, ByteStates(users, agencies))
        published += result.alerts
        store_agencies(result, agencies)  # ... and the worker dies here, every batch
        again = detector.run(batch, ByteStates(users, agencies))
        assert not again.alerts, "the batch was judged again"
    return users, agencies, published


def test_alerts_closed_by_another_users_event_survive_a_crash_between_writes() -> None:
    """Closing a silent user's alert changes that user's state as of a colleague's event:
    the agency's journal carries it, so a crash between the agency and the user writes
    neither loses the close nor closes the alert twice."""
    items = _items(_days_world())
    policy = per_user(load_policy(DEFAULT_POLICY))
    detector = Judge(Engine(policy, CertificateRegistry()))
    reference = detector.run(items, ByteStates({}, {}))
    assert _closed(reference.alerts), "the world closes no alert"
    users, agencies, published = _crash_after_each_agency_write(detector, items, 9)
    assert _closed(published) == _closed(reference.alerts)
    once = _run([items], policy)
    assert _states(users) == _states(once[0]) and _states(agencies) == _states(once[1])


def test_a_stretch_read_again_closes_nothing_twice() -> None:
    items = _items(_days_world())
    detector = Judge(Engine(per_user(load_policy(DEFAULT_POLICY)), CertificateRegistry()))
    users: dict[str, bytes] = {}
    agencies: dict[str, bytes] = {}
    published = []
    for batch in (items[:30], items[30:], items[10:50], items[50:]):
        published += detector.run(batch, ByteStates(users, agencies)).alerts
    reference = detector.run(items, ByteStates({}, {}))
    assert sorted((a.alert_id, a.event_count, a.status) for a in published) == sorted(
        (a.alert_id, a.event_count, a.status) for a in reference.alerts
    )
    assert _closed(published)


def test_a_full_close_index_closes_the_alerts_due_first(monkeypatch) -> None:
    """More members with open alerts than the agency's index holds: the member whose
    alerts would close first has them closed (published closed) at once."""
    import streams.judge.batch as batch

    monkeypatch.setattr(batch, "AGENCY_DUE_CAP", 3)
    events = [make_event(at(0, 8) + i * 600.0, user=f"mpd-000{1 + i}", endpoint=PROHIBITED)
              for i in range(5)]  # fmt: skip
    certified = certify(CertificateRegistry(), *(f"MPD/{e.user}" for e in events))
    detector = Judge(Engine(per_user(load_policy(DEFAULT_POLICY)), certified))
    states = ObjectStates()
    result = detector.run([BatchItem(e, None) for e in events], states)
    closed = [(a.user, a.event_count) for a in result.alerts if a.status == "closed"]
    assert closed == [("mpd-0001", 1), ("mpd-0002", 1)]
    assert sorted(states.agencies["MPD"].due) == ["mpd-0003", "mpd-0004", "mpd-0005"]


def _ring_world() -> list[Any]:
    """Three users on one prohibited host on days 0, 1 and 4, 5: two agency-wide alerts
    (the quiet days close the first), among ordinary searches that move the clock."""
    events = []
    for day in (0, 1, 2, 3, 4, 5):
        for i in range(9):
            user = f"mpd-000{1 + i % 3}"
            fields = {"endpoint": PROHIBITED} if day in (0, 1, 4, 5) and i < 6 else {}
            events.append(make_event(at(day, 8) + i * 0.5 * HOUR, user=user, **fields))
    return events


def test_agency_wide_alerts_survive_a_crash_between_writes() -> None:
    """Agency-wide alerts live in the agency's state, the batch's commit point: a crash
    after it is written judges nothing again, and the alerts' final counts and members
    are those of one uninterrupted run."""
    items = _items(_ring_world())
    detector = Judge(Engine(load_policy(DEFAULT_POLICY), CertificateRegistry()))
    reference = detector.run(items, ByteStates({}, {}))
    final = {(a.alert_id, a.event_count, tuple(a.details["users"]))
             for a in reference.alerts if a.status == "closed"}  # fmt: skip
    assert {count for _, count, _ in final} == {12}, final
    users, agencies, published = _crash_after_each_agency_write(detector, items, 7)
    assert {(a.alert_id, a.event_count, tuple(a.details["users"]))
            for a in published if a.status == "closed"} == final  # fmt: skip
    once = _run([items])
    assert _states(users) == _states(once[0]) and _states(agencies) == _states(once[1])
