"""The console's alert store: updates, validation, filters, bounds."""

from __future__ import annotations

from collections.abc import Callable

import orjson
import pytest

from streams.console.alert_store import AlertFilter, AlertFormatError, AlertStore, parse_alert
from streams.contract.alert import Alert

from .conftest import alert_json

MakeAlert = Callable[..., Alert]


def test_a_seen_alert_id_is_an_update_and_the_largest_event_count_wins(
    make_alert: MakeAlert,
) -> None:
    store = AlertStore()
    assert (
        store.upsert(make_alert(event_count=3, event_ids=["e1", "e2", "e3"]), received_at=1)
        is not None
    )
    # an older version redelivered or replayed: ignored
    assert store.upsert(make_alert(event_count=2), received_at=2) is None
    current = store.get("a1")
    assert current is not None and current.alert.event_count == 3
    newer = store.upsert(make_alert(event_count=5, last_seen="2026-03-01T09:30:00Z"), received_at=3)
    assert newer is not None and newer.updates == 2
    assert len(store) == 1 and newer.alert.event_count == 5 and store.get("a1") is newer
    assert store.stale_updates == 1


def test_identical_redelivery_changes_nothing_but_an_equal_count_with_new_facts_does(
    make_alert: MakeAlert,
) -> None:
    store = AlertStore()
    first = store.upsert(make_alert(), received_at=1)
    assert first is not None
    seq = first.seq
    assert store.upsert(make_alert(), received_at=2) is None
    changed = store.upsert(make_alert(summary="reworded"), received_at=3)
    assert changed is not None and changed.seq > seq


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"schema": "frt.alert.v2"}, "schema"),
        ({"severity": "urgent"}, "severity"),
        ({"event_count": -1}, "event_count"),
        ({"event_count": True}, "event_count"),
        ({"event_ids": "e1"}, "event_ids"),
        ({"event_ids": [1, 2]}, "event_ids"),
        ({"details": ["x"]}, "details"),
        ({"first_seen": "yesterday"}, "first_seen"),
        ({"alert_id": ""}, "alert_id"),
        ({"agency": 7}, "agency"),
    ],
)
def test_invalid_alerts_are_refused_with_a_reason(overrides: dict, reason: str) -> None:
    with pytest.raises(AlertFormatError, match=reason):
        parse_alert(orjson.dumps(alert_json(**overrides)))


@pytest.mark.parametrize("raw", [None, b"", b"not json", b"[1]", b"x" * 300_000])
def test_undecodable_messages_are_refused(raw: bytes | None) -> None:
    with pytest.raises(AlertFormatError):
        parse_alert(raw)


def test_evidence_ids_are_capped(make_alert: MakeAlert) -> None:
    alert = make_alert(event_count=500, event_ids=[f"e{i}" for i in range(500)])
    assert len(alert.event_ids) == 100


def _store(make_alert: MakeAlert) -> AlertStore:
    store = AlertStore()
    rows = [
        ("a1", "critical", "prohibited_endpoint", "MPD", "Officer.Jones", "09:00", "09:10"),
        ("a2", "high", "burst", "MPD", "smith", "10:00", "10:30"),
        ("a3", "medium", "missing_case_number", "CSO", "jones2", "11:00", "11:00"),
        ("a4", "low", "uncertified_user", "TPD", "ana", "08:00", "08:05"),
    ]
    for alert_id, severity, detector, agency, user, first, last in rows:
        store.upsert(
            make_alert(
                alert_id=alert_id,
                severity=severity,
                detector=detector,
                agency=agency,
                user=user,
                first_seen=f"2026-03-01T{first}:00Z",
                last_seen=f"2026-03-01T{last}:00Z",
            ),
            received_at=0,
        )
    return store


def _ids(
    store: AlertStore, query: dict[str, str], statuses: dict[str, str] | None = None
) -> list[str]:
    statuses = statuses or {}
    hits, total = store.query(AlertFilter.from_query(query), lambda i: statuses.get(i, "open"))
    assert total == len(hits)
    return [h.alert.alert_id for h in hits]


def test_newest_evidence_first(make_alert: MakeAlert) -> None:
    assert _ids(_store(make_alert), {}) == ["a3", "a2", "a1", "a4"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"severity": "critical"}, ["a1"]),
        ({"detector": "burst"}, ["a2"]),
        ({"agency": "MPD"}, ["a2", "a1"]),
        ({"agency": "mpd"}, []),  # agencies are codes: exact
        ({"user": "JONES"}, ["a3", "a1"]),  # users: case-insensitive substring
        ({"since": "2026-03-01T09:05"}, ["a3", "a2", "a1"]),  # overlaps the range
        ({"until": "2026-03-01T09:00:00Z"}, ["a1", "a4"]),
        ({"since": "2026-03-01T09:30", "until": "2026-03-01T10:15"}, ["a2"]),
        ({"agency": "MPD", "severity": "high", "user": "smi"}, ["a2"]),
        ({"alert_id": "a4"}, ["a4"]),
        ({"severity": "", "detector": " "}, ["a3", "a2", "a1", "a4"]),
    ],
)
def test_filters(make_alert: MakeAlert, query: dict[str, str], expected: list[str]) -> None:
    assert _ids(_store(make_alert), query) == expected


def test_status_filters_use_triage(make_alert: MakeAlert) -> None:
    store = _store(make_alert)
    statuses = {"a1": "resolved", "a2": "acknowledged"}
    assert _ids(store, {"status": "open"}, statuses) == ["a3", "a4"]
    assert _ids(store, {"status": "unresolved"}, statuses) == ["a3", "a2", "a4"]
    assert _ids(store, {"status": "resolved"}, statuses) == ["a1"]


@pytest.mark.parametrize(
    "query",
    [
        {"severity": "urgent"},
        {"status": "closed"},
        {"since": "last tuesday"},
        {"until": "2026-13-01"},
        {"silenced": "yes"},
    ],
)
def test_bad_filter_values_are_refused(query: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        AlertFilter.from_query(query)


def test_limit_reports_the_full_total(make_alert: MakeAlert) -> None:
    hits, total = _store(make_alert).query(AlertFilter(), lambda _: "open", limit=2)
    assert len(hits) == 2 and total == 4


def test_store_is_bounded_and_forgets_the_oldest_evidence(make_alert: MakeAlert) -> None:
    store = AlertStore(max_alerts=10)
    for i in range(25):
        minute = f"{i:02d}"
        store.upsert(
            make_alert(alert_id=f"a{i}", first_seen=f"2026-03-01T09:{minute}:00Z",
                       last_seen=f"2026-03-01T09:{minute}:00Z"),
            received_at=0,
        )  # fmt: skip
        assert len(store) <= 10
    assert store.get("a24") is not None
    assert store.get("a0") is None


def test_facets_list_agencies_and_detectors(make_alert: MakeAlert) -> None:
    facets = _store(make_alert).facets()
    assert facets["agencies"] == ["CSO", "MPD", "TPD"]
    assert "burst" in facets["detectors"]


def test_silenced_alerts_are_hidden_unless_asked_for(make_alert: MakeAlert) -> None:
    store = _store(make_alert)
    quiet = make_alert(alert_id="q1", first_seen="2026-03-01T12:00:00Z",
                       last_seen="2026-03-01T12:00:00Z", exception_id="exc-1")  # fmt: skip
    store.upsert(quiet, received_at=0)
    assert store.get("q1") is not None and store.get("q1").alert.exception_id == "exc-1"
    assert _ids(store, {}) == ["a3", "a2", "a1", "a4"]
    assert _ids(store, {"silenced": "include"}) == ["q1", "a3", "a2", "a1", "a4"]
    assert _ids(store, {"silenced": "only"}) == ["q1"]
    assert _ids(store, {"alert_id": "q1"}) == ["q1"]  # its own page shows it
