"""Folding: an alert per (user, detector, subject) that lives as long as the behaviour.

Every time here is explicit. The judge (over plain objects, as a replay drives it)
is used wherever an alert must close: closing follows the agency's event-time clock,
which other users' events move too.
"""

from __future__ import annotations

import dataclasses
import math

import orjson
import pytest

from streams.contract import Alert, make_alert_id
from streams.contract.alert import supersedes
from streams.detectors import Engine
from streams.detectors.state import FOLD_CAP, FOLD_EVIDENCE_CAP, AgencyState, UserState
from streams.judge.batch import BatchItem, Judge, ObjectStates
from streams.policy import CertificateRegistry, Policy
from tests.unit.detectors.factories import (
    DAY,
    HOUR,
    at,
    certify,
    make_event,
    per_user,
    with_detector,
)

USER = "mpd-0012"
HOST = "app.clearview.ai"


def prohibited(ts, user=USER, host=HOST):
    return make_event(ts, user=user, endpoint=f"https://{host}/s")


def judged(policy: Policy, events, batch: int = 1, exceptions=None) -> list[Alert]:
    """Every version published when ``events`` (in event-time order) are judged in
    batches of ``batch`` (with ``exceptions``, if given)."""
    registry = certify(CertificateRegistry(), *(f"MPD/mpd-{i:04d}" for i in range(1, 80)),
                       *(f"SPD/spd-{i:04d}" for i in range(1, 9)))  # fmt: skip
    judge = Judge(Engine(policy, registry, exceptions=exceptions))
    states = ObjectStates()
    out: list[Alert] = []
    for start in range(0, len(events), batch):
        result = judge.run([BatchItem(e, None) for e in events[start : start + batch]], states)
        assert not result.failures
        out += result.alerts
    return out


def kept(alerts: list[Alert], detector: str = "prohibited_endpoint") -> dict[str, Alert]:
    """The version of each alert a consumer keeps (largest count, closed over open)."""
    out: dict[str, Alert] = {}
    for alert in alerts:
        if alert.detector == detector:
            old = out.get(alert.alert_id)
            if supersedes(alert.to_dict(), old.to_dict() if old else None):
                out[alert.alert_id] = alert
    return out


def later(ts):
    """An ordinary search by a colleague: moves the agency's clock, raises nothing."""
    return make_event(ts, user="mpd-0001")


@pytest.fixture
def policy(policy: Policy) -> Policy:
    """Alerts per user here (agency-wide alerts: test_agency_wide.py)."""
    return per_user(policy)


@pytest.fixture
def three_day_gap(policy: Policy) -> Policy:
    """Prohibited-endpoint alerts close after three quiet days (the per-detector setting)."""
    return with_detector(policy, "prohibited_endpoint", session_gap_s=3 * DAY)


# 10 days across three weeks, at most three days apart; 1 to 3 searches a day.
DAYS = [0, 2, 4, 6, 8, 10, 13, 15, 18, 20]


def ten_days() -> list:
    return [prohibited(at(day, 9 + n, 7 * n)) for day in DAYS for n in range(1 + day % 3)]


def test_ten_days_over_three_weeks_within_the_gap_are_one_alert(three_day_gap):
    searches = ten_days()
    alerts = judged(three_day_gap, [*searches, later(at(24, 10))])
    mine = [a for a in alerts if a.detector == "prohibited_endpoint"]
    assert len({a.alert_id for a in mine}) == 1
    final = mine[-1]
    assert (final.status, final.event_count) == ("closed", len(searches))
    assert [a.status for a in mine].count("closed") == 1
    assert (final.first_seen, final.last_seen) == (searches[0].ts, searches[-1].ts)
    assert final.alert_id == make_alert_id(
        "prohibited_endpoint", "MPD", USER, HOST, searches[0].ts, searches[0].event_id
    )
    assert final.event_ids == [e.event_id for e in searches[:FOLD_EVIDENCE_CAP]]
    assert f"({len(searches)} searches)" in final.summary
    # Published when it opened, at 2, 4, 8, 16 searches and on each later day of evidence,
    # and when it closed: never once per search.
    opened = [a for a in mine if a.status == "open"]
    assert len(opened) <= len(DAYS) + math.floor(math.log2(len(searches))) + 1
    assert len(mine) < len(searches)
    counts = [a.event_count for a in mine]
    assert counts == sorted(counts)


def test_a_gap_longer_than_the_session_gap_opens_a_second_alert(three_day_gap):
    first = [prohibited(at(0, 9)), prohibited(at(2, 9)), prohibited(at(4, 9))]
    second = [prohibited(at(7, 10)), prohibited(at(8, 10))]  # 3 days 1 hour after
    alerts = judged(three_day_gap, [*first, *second, later(at(12))])
    final = kept(alerts)
    assert len(final) == 2
    one, two = sorted(final.values(), key=lambda a: a.first_seen)
    assert (one.status, one.event_count, one.last_seen) == ("closed", 3, first[-1].ts)
    assert (two.status, two.event_count, two.first_seen) == ("closed", 2, second[0].ts)
    # The first closed before the second opened, and it was never published again.
    first_closed = next(i for i, a in enumerate(alerts) if a.alert_id == one.alert_id
                        and a.status == "closed")  # fmt: skip
    assert all(a.alert_id != one.alert_id for a in alerts[first_closed + 1 :])
    assert min(i for i, a in enumerate(alerts) if a.alert_id == two.alert_id) > first_closed


def test_exactly_the_gap_is_still_the_same_alert(three_day_gap):
    alerts = judged(three_day_gap, [prohibited(at(0, 9)), prohibited(at(3, 9)), later(at(9))])
    assert [(a.event_count, a.status) for a in kept(alerts).values()] == [(2, "closed")]


def test_the_closed_version_carries_the_final_count(policy):
    """Three searches: published at 1 and 2 while open, then closed at 3."""
    searches = [prohibited(at(0, 10, i)) for i in range(3)]
    alerts = judged(policy, [*searches, later(at(1, 10, 3))])
    assert [(a.event_count, a.status) for a in alerts] == [(1, "open"), (2, "open"), (3, "closed")]
    closed = alerts[-1]
    assert closed.summary.endswith("(3 searches).")
    assert closed.details == alerts[1].details
    assert orjson.loads(closed.to_json())["status"] == "closed"


def test_a_silent_users_alert_closes_on_the_agencys_clock(policy):
    """The user never searches again; colleagues' searches move the clock past the gap."""
    alerts = judged(policy, [prohibited(at(0, 10)), later(at(0, 12)), later(at(1, 10, 0, 1))])
    assert [(a.user, a.status, a.event_count) for a in alerts] == [
        (USER, "open", 1),
        (USER, "closed", 1),
    ]
    # Not a second earlier: the clock must be past last_seen + 24 h.
    alerts = judged(policy, [prohibited(at(0, 10)), later(at(1, 10))])
    assert [a.status for a in alerts] == ["open"]


def test_batches_close_alike(three_day_gap):
    events = [*ten_days(), *(later(at(21 + d, 8)) for d in range(5))]
    events.sort(key=lambda e: e.ts)
    one = sorted((a.alert_id, a.event_count, a.status) for a in judged(three_day_gap, events))
    for size in (7, 500):
        got = judged(three_day_gap, events, batch=size)
        assert sorted((a.alert_id, a.event_count, a.status) for a in got) == one


def test_users_and_subjects_are_separate_alerts(policy):
    alerts = judged(
        policy,
        [prohibited(at(0, 10)), prohibited(at(0, 10, 1), user="mpd-0013"),
         prohibited(at(0, 10, 2), host="pimeyes.com")],
    )  # fmt: skip
    assert len(kept(alerts)) == 3


def test_late_evidence_before_the_open_alert_joins_it(policy):
    """Behind the watermark, but within the gap of the open alert's first evidence: it
    joins the alert (first_seen moves back), which keeps its id."""
    opening = prohibited(at(1, 10))
    late = prohibited(at(0, 12))
    alerts = judged(policy, [opening, prohibited(at(1, 11)), late, prohibited(at(1, 12))])
    ids = {a.alert_id for a in alerts}
    assert ids == {make_alert_id("prohibited_endpoint", "MPD", USER, HOST, opening.ts,
                                 opening.event_id)}  # fmt: skip
    assert alerts[-1].first_seen == late.ts and alerts[-1].event_count == 4


def test_late_evidence_out_of_reach_goes_to_the_keys_late_alert(policy):
    """Older than the agency's clock minus the gap: where an alert would already have
    closed. It opens the key's *late* alert, and the open alert is untouched."""
    opening = prohibited(at(3, 10))
    stray = prohibited(at(1, 9))
    alerts = judged(policy, [opening, stray])
    assert [(a.event_count, a.status) for a in alerts] == [(1, "open"), (1, "open")]
    late = alerts[1]
    assert late.alert_id != alerts[0].alert_id and late.first_seen == stray.ts
    assert late.details["late_evidence"] is True and "late_evidence" not in alerts[0].details


def test_much_late_evidence_is_one_late_alert_that_closes_a_gap_after_the_last(policy):
    """A shipper sends a week of old searches after today's: they are one late alert (not
    one each), open while they keep coming, closed a gap (by the clock) after the last."""
    today = prohibited(at(8, 9))
    old = [prohibited(at(day, 10)) for day in range(7)]  # each out of reach of the rest
    alerts = judged(policy, [today, *old, later(at(8, 12)), later(at(9, 12, 1))])
    final = kept(alerts)
    late = [a for a in final.values() if a.details.get("late_evidence")]
    assert [(a.event_count, a.status) for a in late] == [(7, "closed")]
    assert (late[0].first_seen, late[0].last_seen) == (old[0].ts, old[-1].ts)
    assert sorted(a.event_count for a in final.values()) == [1, 7]
    # Open until the clock is a gap past the last late search's arrival, not its ts.
    opened = judged(policy, [today, *old, later(at(9, 8))])
    assert {a.status for a in opened if a.details.get("late_evidence")} == {"open"}


def test_a_closed_alert_is_never_reopened(policy):
    """Evidence late for a closed alert goes to a late alert: the closed id is never reused."""
    first = prohibited(at(0, 10))
    alerts = judged(policy, [first, later(at(2, 10)), prohibited(at(0, 11)), later(at(4, 10))])
    closed = [a for a in alerts if a.status == "closed"]
    assert len(closed) == 2 and closed[0].alert_id != closed[1].alert_id
    assert closed[1].details["late_evidence"] is True
    assert sum(1 for a in alerts if a.alert_id == closed[0].alert_id) == 2  # open, closed


def test_open_alerts_are_capped_and_the_one_closed_is_published(policy):
    events = [prohibited(at(0, 10, i), host=f"h{i}.clearview.ai") for i in range(FOLD_CAP + 3)]
    alerts = judged(policy, events)
    closed = [a for a in alerts if a.status == "closed"]
    assert [a.details["host"] for a in closed] == ["h0.clearview.ai", "h1.clearview.ai",
                                                   "h2.clearview.ai"]  # fmt: skip


def test_a_new_day_of_evidence_is_published(policy):
    """Counts 1, 2, 3 (new day), 4; never the same count twice while open."""
    events = [prohibited(at(0, 22)), prohibited(at(0, 23)), prohibited(at(1, 1)),
              prohibited(at(1, 2)), prohibited(at(1, 3))]  # fmt: skip
    alerts = judged(policy, events)
    assert [a.event_count for a in alerts] == [1, 2, 3, 4]


def test_folds_and_the_close_index_survive_a_round_trip(policy):
    engine = Engine(policy, certify(CertificateRegistry(), f"MPD/{USER}"))
    out = engine.process(None, None, prohibited(at(0, 10)))
    user = UserState.from_bytes(out.user_state.to_bytes())
    agency = AgencyState.from_bytes(out.agency_state.to_bytes())
    (fold,) = user.folds.values()
    original = next(iter(out.user_state.folds.values()))
    assert (fold.opened_ts, fold.opened_by, fold.summary, fold.details) == (
        original.opened_ts, original.opened_by, original.summary, original.details,
    )  # fmt: skip
    assert agency.clock == at(0, 10)
    assert agency.due == {USER: at(0, 10) + DAY} and agency.next_due == at(0, 10) + DAY
    assert user.to_bytes() == out.user_state.to_bytes()
    assert agency.to_bytes() == out.agency_state.to_bytes()


def test_version_1_states_are_read(policy):
    """Records written before alerts were sessions: folds become sessions."""
    old = orjson.loads(UserState().to_bytes())
    old[0] = 1
    old[13] = [[0, HOST, 1_772_445_600, 3, at(0, 10), at(0, 10, 30), ["a", "b", "c"]]]
    user = UserState.from_bytes(orjson.dumps(old))
    fold = user.folds[("prohibited_endpoint", HOST)]
    assert (fold.count, fold.opened_by, fold.opened_ts) == (3, "a", at(0, 10))
    agency = AgencyState.from_bytes(orjson.dumps([1, 300.0, None, 0, [0] * 12, [], []]))
    assert agency.clock == -math.inf and not agency.due


def test_the_session_gap_is_per_detector(policy):
    short = dataclasses.replace(policy, session_gap_s=HOUR)
    events = [
        prohibited(at(0, 10)),
        prohibited(at(0, 12)),
        make_event(at(0, 10, 1), user="mpd-9999"),
        make_event(at(0, 12, 1), user="mpd-9999"),
    ]
    events.sort(key=lambda e: e.ts)
    alerts = judged(with_detector(short, "prohibited_endpoint", session_gap_s=DAY), events)
    assert len(kept(alerts)) == 1
    assert len(kept(alerts, "uncertified_user")) == 2


def test_a_late_alert_survives_a_round_trip(policy):
    engine = Engine(policy, certify(CertificateRegistry(), f"MPD/{USER}"))
    out = engine.process(None, None, prohibited(at(3, 10)))
    out = engine.process(out.user_state, out.agency_state, prohibited(at(1, 9)))
    user = UserState.from_bytes(out.user_state.to_bytes())
    late = next(f for k, f in user.folds.items() if k[1].endswith("\x01late"))
    assert late.arrived == at(3, 10) and late.count == 1
    assert UserState.from_bytes(user.to_bytes()).to_bytes() == user.to_bytes()
