"""The one judge with exceptions, at explicit event times: an exception silences exactly
its scope (user or agency, detector, subject) from its start until its expiry. Silenced
findings are alerts of their own that name the exception (``exception_id``)."""

from __future__ import annotations

from typing import Any

from streams.contract.alert import format_ts
from streams.detectors import Engine
from streams.exceptions import Exceptions, make_exception
from streams.judge.batch import BatchItem, Judge, ObjectStates
from streams.policy import CertificateRegistry, load_policy
from streams.settings import DEFAULT_POLICY
from tests.unit.detectors.factories import at, certify, make_event, per_user
from tests.unit.judge.test_redelivery import _AlwaysAnomalous

CLEARVIEW = "https://app.clearview.ai/search"
FACES = "https://search4faces.com/"


def exception(**changes):
    fields = dict(scope="user", agency="MPD", user="mpd-0001", detector="prohibited_endpoint",
                  subject="app.clearview.ai", valid_from=format_ts(at(1)),
                  until=format_ts(at(5)), reason="vendor evaluation")  # fmt: skip
    fields.update(changes)
    return make_exception(**fields)


def judge(events, *records, model=None):
    policy = per_user(load_policy(DEFAULT_POLICY))  # agency-wide: tests/unit/detectors
    registry = certify(CertificateRegistry(), *(f"MPD/mpd-{i:04d}" for i in range(1, 5)))
    engine = Engine(policy, registry, exceptions=Exceptions(records))
    return Judge(engine, model).run([BatchItem(e, i) for i, e in enumerate(events)],
                                    ObjectStates())  # fmt: skip


def subject(alert):
    return alert.details.get("host", "")


def loud(alerts):
    """The alerts no exception silences."""
    return [a for a in alerts if not a.silenced]


def test_an_exception_silences_exactly_its_scope_until_its_expiry():
    events = [
        make_event(at(0, 23), user="mpd-0001", endpoint=CLEARVIEW),  # before it starts
        make_event(at(1, 9), user="mpd-0001", endpoint=CLEARVIEW),  # covered
        make_event(at(1, 10), user="mpd-0001", endpoint=CLEARVIEW, case_number=...),  # covered
        make_event(at(1, 11), user="mpd-0001", endpoint=FACES),  # another subject
        make_event(at(1, 12), user="mpd-0002", endpoint=CLEARVIEW),  # another user
        make_event(at(2, 9), agency="SPD", user="mpd-0001", endpoint=CLEARVIEW),  # another agency
        make_event(at(4, 23, 59), user="mpd-0001", endpoint=CLEARVIEW),  # covered: last minute
        make_event(at(5), user="mpd-0001", endpoint=CLEARVIEW),  # expired
        make_event(at(9), user="mpd-0001", endpoint=CLEARVIEW),  # expired, a new session
    ]
    record = exception()
    result = judge(events, record)
    assert result.excepted == 3
    by_alert = {}
    for alert in loud(result.alerts):
        by_alert[alert.alert_id] = alert
    # The covered findings are silenced alerts that name the exception, sessions like
    # any other (day 1, then day 4 after a quiet gap).
    silenced: dict[str, Any] = {}
    for alert in result.alerts:
        if alert.silenced:
            silenced[alert.alert_id] = alert
    assert [(a.exception_id, a.event_count, a.user, subject(a)) for a in silenced.values()] == [
        (record.id, 2, "mpd-0001", "app.clearview.ai"),
        (record.id, 1, "mpd-0001", "app.clearview.ai"),
    ]
    assert {i for a in silenced.values() for i in a.event_ids} == {
        e.event_id for e in (events[1], events[2], events[6])
    }
    clearview = sorted(
        (a for a in by_alert.values()
         if (a.user, a.agency, a.detector) == ("mpd-0001", "MPD", "prohibited_endpoint")
         and subject(a) == "app.clearview.ai"),
        key=lambda a: a.first_seen,
    )  # fmt: skip
    # The alert open before the exception gets none of the covered evidence and closes
    # after its quiet gap; evidence after the expiry opens alerts again.
    assert [(a.first_seen, a.event_count) for a in clearview] == [
        (at(0, 23), 1),
        (at(5), 1),
        (at(9), 1),
    ]
    covered = {e.event_id for e in events[1:3]} | {events[6].event_id}
    assert not covered & {i for a in clearview for i in a.event_ids}
    # Everything outside the scope still alerts.
    seen = {(a.agency, a.user, a.detector, subject(a)) for a in by_alert.values()}
    assert ("MPD", "mpd-0001", "prohibited_endpoint", "search4faces.com") in seen
    assert ("MPD", "mpd-0002", "prohibited_endpoint", "app.clearview.ai") in seen
    assert ("SPD", "mpd-0001", "prohibited_endpoint", "app.clearview.ai") in seen
    # The same user's other detector still alerts for a covered event.
    missing = [a for a in by_alert.values()
               if a.detector == "missing_case_number" and a.user == "mpd-0001"]  # fmt: skip
    assert [a.event_ids[0] for a in missing] == [events[2].event_id]


def test_without_the_exception_the_same_events_alert():
    events = [make_event(at(1, 9 + i), user="mpd-0001", endpoint=CLEARVIEW) for i in range(3)]
    silenced, heard = judge(events, exception()), judge(events)
    assert silenced.excepted == 3 and loud(silenced.alerts) == []
    assert heard.excepted == 0 and loud(heard.alerts) == heard.alerts
    prohibited = [a for a in heard.alerts if a.detector == "prohibited_endpoint"]
    assert {a.alert_id for a in prohibited} == {prohibited[0].alert_id}
    assert [a.event_count for a in prohibited] == [1, 2]  # published at 1, 2, 4, ...
    # The same findings silenced: the same versions under another id, naming the exception.
    quiet = [a for a in silenced.alerts if a.detector == "prohibited_endpoint"]
    assert [a.event_count for a in quiet] == [1, 2]
    assert {a.alert_id for a in quiet}.isdisjoint({a.alert_id for a in prohibited})


def test_an_agency_exception_covers_every_user_and_any_subject():
    record = exception(scope="agency", user=None, subject="*")
    events = [
        make_event(at(2), user=f"mpd-000{i}", endpoint=endpoint)
        for i in (1, 2, 3)
        for endpoint in (CLEARVIEW, FACES)
    ]
    events.append(make_event(at(2, 1), agency="SPD", user="spd-0001", endpoint=CLEARVIEW))
    result = judge(events, record)
    assert result.excepted == 6
    assert {
        (a.agency, a.detector) for a in loud(result.alerts) if a.detector == "prohibited_endpoint"
    } == {("SPD", "prohibited_endpoint")}


def test_a_behaviour_exception_silences_its_scores():
    events = [make_event(at(1, 8) + i * 600, user="mpd-0001") for i in range(40)]
    record = exception(detector="behavior_anomaly", subject="*")
    loud_run = judge(events, model=_AlwaysAnomalous())
    quiet = judge(events, record, model=_AlwaysAnomalous())
    assert any(a.detector == "behavior_anomaly" for a in loud_run.alerts)
    # Every behaviour alert names the model version that scored it.
    assert {a.details["model_version"] for a in loud_run.alerts
            if a.detector == "behavior_anomaly"} == {"test-always-anomalous"}  # fmt: skip
    assert not any(a.detector == "behavior_anomaly" and not a.silenced for a in quiet.alerts)
    assert {a.exception_id for a in quiet.alerts if a.detector == "behavior_anomaly"} == {record.id}
    assert quiet.excepted == loud_run.scored > 0
