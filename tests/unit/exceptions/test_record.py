"""An exception's fields, dates and id."""

from __future__ import annotations

import pytest

from streams.contract.event import parse_timestamp
from streams.exceptions.record import make_exception, record_from_dict


def user_exception(**changes):
    fields = dict(scope="user", agency="MPD", user="u1", detector="prohibited_endpoint",
                  subject="Trial.Vendor.Example", valid_from="2026-03-01", until="2026-03-31",
                  reason="vendor trial", author="lead")  # fmt: skip
    fields.update(changes)
    return make_exception(**fields)


def test_dates_are_utc_days_and_until_includes_its_day():
    record = user_exception()
    assert record.valid_from == parse_timestamp("2026-03-01T00:00:00Z")
    assert record.until == parse_timestamp("2026-04-01T00:00:00Z")
    assert record.in_force(parse_timestamp("2026-03-31T23:59:59Z"))
    assert not record.in_force(parse_timestamp("2026-04-01T00:00:00Z"))
    assert not record.in_force(parse_timestamp("2026-02-28T23:59:59Z"))
    assert record.subject == "trial.vendor.example"  # hosts compare as the detector sees them


def test_timestamps_with_offsets():
    record = user_exception(valid_from="2026-03-01T10:00:00+01:00", until="2026-03-01T12:00:00Z")
    assert record.valid_from == parse_timestamp("2026-03-01T09:00:00Z")
    assert record.to_dict()["from"] == "2026-03-01T09:00:00Z"


def test_id_is_a_function_of_every_field():
    record = user_exception()
    assert record.id == user_exception().id
    assert record.id.startswith("exc-") and len(record.id) == 20
    # The same instant written another way is the same exception.
    assert user_exception(until="2026-04-01T00:00:00Z").id == record.id
    for change in (dict(user="u2"), dict(reason="other"), dict(until="2026-04-01"),
                   dict(subject="*"), dict(author="someone")):  # fmt: skip
        assert user_exception(**change).id != record.id, change


def test_topic_value_round_trips_and_its_id_is_checked():
    record = user_exception()
    assert record_from_dict(record.to_dict()) == record
    forged = record.to_dict() | {"reason": "something else"}
    with pytest.raises(ValueError, match="not the hash of its fields"):
        record_from_dict(forged)
    with pytest.raises(ValueError, match="unknown field"):
        record_from_dict(record.to_dict() | {"extra": 1})
    with pytest.raises(ValueError, match="JSON object"):
        record_from_dict([1])


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (dict(scope="team"), "scope must be one of user, agency"),
        (dict(user=None), "user is required"),
        (dict(scope="agency"), "names no user"),
        (dict(detector="nope"), "detector must be one of"),
        (dict(detector="burst"), "burst alerts have no subject"),
        (dict(reason="  "), "reason is required"),
        (dict(reason="x" * 501), "reason is longer than 500"),
        (dict(until="2026-02-01"), "until must be after from"),
        (dict(until="next week"), "is not a date"),
        (dict(valid_from="2026-02-30"), "is not a valid date"),
        (dict(valid_from="2026-03-01T10:00:00"), "is not a date"),
        (dict(agency="M\nPD"), "control characters"),
    ],
)
def test_bad_fields_say_what_is_wrong(changes, message):
    with pytest.raises(ValueError, match=message):
        user_exception(**changes)


def test_agency_scope_has_no_user():
    record = make_exception(scope="agency", agency="CSO", user=None, detector="burst",
                            subject=None, valid_from="2026-03-01", until="2026-03-02",
                            reason="load test")  # fmt: skip
    assert record.user is None and record.subject == "*" and record.author == ""
