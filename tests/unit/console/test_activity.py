"""Recent activity and per-agency counts from the event topic stay bounded."""

from __future__ import annotations

from collections.abc import Callable

from streams.console.activity import OTHER_AGENCIES, ActivityStore
from streams.contract.event import SearchEvent

MakeEvent = Callable[..., SearchEvent]


def test_recent_activity_is_newest_first_capped_and_deduplicated(make_event: MakeEvent) -> None:
    store = ActivityStore(per_user=3)
    for i in range(5):
        store.add(make_event(event_id=f"e{i}", ts=f"2026-03-01T09:00:0{i}Z"))
    store.add(make_event(event_id="e4", ts="2026-03-01T09:00:04Z"))  # redelivered
    recent = store.recent("MPD", "u1")
    assert [a["event_id"] for a in recent] == ["e4", "e3", "e2"]
    assert recent[0]["endpoint"] == "https://frt.county.example.gov/search"
    assert recent[0]["host"] == "frt.county.example.gov"
    assert store.recent("MPD", "nobody") == []


def test_number_of_users_is_bounded(make_event: MakeEvent) -> None:
    store = ActivityStore(max_users=5)
    for i in range(50):
        store.add(make_event(event_id=f"e{i}", user=f"u{i}"))
    assert store.user_count() == 5
    assert store.recent("MPD", "u49") and not store.recent("MPD", "u0")


def test_long_strings_are_cut(make_event: MakeEvent) -> None:
    store = ActivityStore(field_limit=40)
    store.add(make_event(endpoint="https://frt.example.gov/" + "a" * 2000, purpose="p" * 200))
    item = store.recent("MPD", "u1")[0]
    assert len(item["endpoint"]) == 40 and item["endpoint"].endswith("\u2026")
    assert len(item["purpose"]) == 40


def test_counts_per_agency_in_bins(make_event: MakeEvent) -> None:
    store = ActivityStore(bucket_s=60)
    for i, agency in enumerate(["MPD", "MPD", "CSO", "MPD"]):
        store.add(make_event(event_id=f"e{i}", agency=agency, ts=f"2026-03-01T09:0{i}:30Z"))
    start = 1772355600.0  # 2026-03-01T09:00:00Z
    counts = store.counts(start, start + 300, 120)
    assert counts == {"MPD": [2, 1, 0], "CSO": [0, 1, 0]}


def test_agencies_beyond_the_bound_are_counted_together(make_event: MakeEvent) -> None:
    store = ActivityStore(max_agencies=3)
    for i in range(10):
        store.add(make_event(event_id=f"e{i}", agency=f"A{i}"))
    counts = store.counts(0, 2e9, 10**9)
    assert len(counts) == 4 and sum(counts[OTHER_AGENCIES]) == 7


def test_old_buckets_are_pruned_and_late_events_outside_retention_ignored(
    make_event: MakeEvent,
) -> None:
    store = ActivityStore(bucket_s=60, retention_s=3600)
    store.add(make_event(event_id="old", ts="2026-03-01T08:00:00Z"))
    store.add(make_event(event_id="new", ts="2026-03-01T10:00:00Z"))
    store.add(make_event(event_id="late", ts="2026-03-01T07:00:00Z"))
    buckets = store._counts["MPD"]
    assert len(buckets) == 1
    assert store.events_seen == 3  # still shown as recent activity
