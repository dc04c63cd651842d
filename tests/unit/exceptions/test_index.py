"""Which exception covers a finding at an event's own time."""

from __future__ import annotations

from streams.contract.event import parse_timestamp
from streams.exceptions import Exceptions, make_exception

T = parse_timestamp("2026-03-10T12:00:00Z")


def exception(**changes):
    fields = dict(scope="user", agency="MPD", user="u1", detector="prohibited_endpoint",
                  subject="pimeyes.com", valid_from="2026-03-01", until="2026-03-20",
                  reason="testing")  # fmt: skip
    fields.update(changes)
    return make_exception(**fields)


def test_a_user_exception_covers_exactly_its_scope():
    one = exception()
    exceptions = Exceptions([one])
    assert exceptions.match("MPD", "u1", "prohibited_endpoint", "pimeyes.com", T) is one
    assert exceptions.match("MPD", "u1", "prohibited_endpoint", "clearview.ai", T) is None
    assert exceptions.match("MPD", "u1", "unknown_endpoint", "pimeyes.com", T) is None
    assert exceptions.match("MPD", "u2", "prohibited_endpoint", "pimeyes.com", T) is None
    assert exceptions.match("CSO", "u1", "prohibited_endpoint", "pimeyes.com", T) is None
    after = parse_timestamp("2026-03-21T00:00:00Z")
    assert exceptions.match("MPD", "u1", "prohibited_endpoint", "pimeyes.com", after) is None


def test_agency_and_any_subject_exceptions():
    agency = exception(scope="agency", user=None, subject="*")
    exceptions = Exceptions([agency])
    assert exceptions.match("MPD", "anyone", "prohibited_endpoint", "clearview.ai", T) is agency
    assert exceptions.match("CSO", "anyone", "prohibited_endpoint", "clearview.ai", T) is None


def test_overlapping_exceptions_pick_the_smallest_id():
    a, b = exception(reason="one"), exception(reason="two", scope="agency", user=None)
    first = min(a, b, key=lambda r: r.id)
    for order in ([a, b], [b, a]):
        assert (
            Exceptions(order).match("MPD", "u1", "prohibited_endpoint", "pimeyes.com", T) is first
        )


def test_the_set_is_by_id():
    a = exception()
    exceptions = Exceptions([a, exception(), exception(reason="other")])
    assert len(exceptions) == 2 and exceptions.get(a.id) == a
    assert Exceptions([a]) == Exceptions([exception()])
    assert not Exceptions()
