"""Folding: one alert per (user, detector, subject, period), emitted at 1, 2, 4, 8, ..."""

from __future__ import annotations

import random

from streams.contract import make_alert_id
from streams.detectors.state import FOLD_CAP, FOLD_EVIDENCE_CAP
from tests.unit.detectors.factories import HOUR, at, make_event


def prohibited(ts, user="mpd-0012", host="app.clearview.ai"):
    return make_event(ts, user=user, endpoint=f"https://{host}/s")


def test_one_alert_per_period_emitted_at_powers_of_two(run):
    r = run()
    events = [prohibited(at(0, 10, 2 * i)) for i in range(20)]  # 10:00 .. 10:38
    r.feed(events)
    alerts = r.of("prohibited_endpoint")
    assert [a.event_count for a in alerts] == [1, 2, 4, 8, 16]
    assert len({a.alert_id for a in alerts}) == 1
    assert alerts[0].alert_id == make_alert_id(
        "prohibited_endpoint", "MPD", "mpd-0012", "app.clearview.ai", int(at(0, 10))
    )
    assert [a.last_seen for a in alerts] == [events[n - 1].ts for n in (1, 2, 4, 8, 16)]
    assert {a.first_seen for a in alerts} == {events[0].ts}
    last = alerts[-1]
    assert last.event_ids == [e.event_id for e in events[:FOLD_EVIDENCE_CAP]]
    assert len(last.to_dict()["event_ids"]) <= 100
    # The fold keeps counting after its last emission.
    assert (
        r.users["MPD/mpd-0012"]
        .folds[("prohibited_endpoint", "app.clearview.ai", int(at(0, 10)))]
        .count
        == 20
    )


def test_a_new_period_opens_a_new_alert(run):
    r = run()
    r.feed([prohibited(at(0, 10, 59)), prohibited(at(0, 11, 0)), prohibited(at(0, 11, 30))])
    latest = r.latest("prohibited_endpoint")
    assert sorted(a.event_count for a in latest.values()) == [1, 2]
    assert len(latest) == 2


def test_users_and_subjects_are_separate_alerts(run):
    r = run()
    r.feed(
        [
            prohibited(at(0, 10)),
            prohibited(at(0, 10, 1), user="mpd-0013"),
            prohibited(at(0, 10, 2), host="pimeyes.com"),
        ]
    )
    assert len(r.latest("prohibited_endpoint")) == 3


def scenario():
    """Three hours of mixed violations by two users."""
    events = []
    for i in range(60):
        ts = at(0, 9, 3 * i)
        user = "mpd-0012" if i % 2 else "mpd-0013"
        kind = i % 4
        if kind == 0:
            events.append(prohibited(ts, user=user))
        elif kind == 1:
            events.append(make_event(ts, user=user, on_behalf_of="CSO"))
        elif kind == 2:
            events.append(make_event(ts, user=user, case_number=None, purpose="test"))
        else:
            events.append(make_event(ts, user=user, endpoint="faces.example.org"))
    return events


def test_ids_are_identical_in_any_order(run):
    events = scenario()
    ordered = run()
    ordered.feed(events)
    for seed in (1, 2, 3):
        shuffled = list(events)
        random.Random(seed).shuffle(shuffled)
        other = run()
        other.feed(shuffled)
        assert set(other.latest()) == set(ordered.latest())


def test_counts_match_in_any_order_within_the_allowed_lateness(run):
    events = scenario()
    ordered = run(allowed_lateness_s=6 * HOUR)
    ordered.feed(events)
    shuffled = list(events)
    random.Random(7).shuffle(shuffled)
    other = run(allowed_lateness_s=6 * HOUR)
    other.feed(shuffled)

    def folds(r):
        return {
            (user, key): (fold.count, fold.first_ts, fold.last_ts)
            for user, state in r.users.items()
            for key, fold in state.folds.items()
        }

    def emitted(r):
        return {alert_id: a.event_count for alert_id, a in r.latest().items()}

    assert folds(other) == folds(ordered)
    assert emitted(other) == emitted(ordered)


def test_open_alerts_are_capped_and_expire(run):
    r = run()
    r.feed([prohibited(at(0, 10, i), host=f"h{i}.clearview.ai") for i in range(FOLD_CAP + 5)])
    user = r.users["MPD/mpd-0012"]
    assert len(user.folds) == FOLD_CAP
    # After the period plus the allowed lateness has passed, they close.
    r.feed([make_event(at(0, 12, 0, 1))])
    assert not user.folds


def test_a_very_late_event_reopens_with_the_same_id(run):
    r = run()
    r.feed([prohibited(at(0, 10)), make_event(at(0, 14))])
    assert not r.users["MPD/mpd-0012"].folds
    r.feed([prohibited(at(0, 10, 5))])
    first, again = r.of("prohibited_endpoint")
    assert first.alert_id == again.alert_id
    assert again.event_count == 1  # consumers keep the larger count they already have
