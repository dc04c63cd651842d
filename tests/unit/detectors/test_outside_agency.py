"""outside_agency: searching for another agency needs the pair in the policy."""

from __future__ import annotations

from tests.unit.detectors.factories import at, make_event


def test_own_agency_and_allowed_pair_are_silent(run):
    r = run()
    r.feed(
        [
            make_event(at(0, 10), on_behalf_of="MPD"),
            make_event(at(0, 10, 1), on_behalf_of="TPD"),  # MPD may search for TPD
            make_event(at(0, 10, 2), user="spd-0001", agency="SPD", on_behalf_of="CSO"),
        ]
    )
    assert not r.of("outside_agency")


def test_disallowed_pair_fires_with_requesting_agency_as_subject(run):
    r = run()
    r.feed(
        [
            make_event(at(0, 10), on_behalf_of="CSO"),
            make_event(at(0, 10, 5), on_behalf_of="CSO"),
            make_event(at(0, 10, 7), on_behalf_of="SPD"),
        ]
    )
    latest = r.latest("outside_agency")
    assert sorted((a.details["requesting_agency"], a.event_count) for a in latest.values()) == [
        ("CSO", 2),
        ("SPD", 1),
    ]
    alert = next(a for a in latest.values() if a.details["requesting_agency"] == "CSO")
    assert alert.details["may_search_for"] == ["TPD"]
    assert alert.severity == "high"
    assert alert.summary == (
        "MPD user mpd-0012 searched on behalf of CSO, an agency MPD may not search for "
        "(2 searches)."
    )


def test_the_pair_is_directional(run):
    r = run()
    r.feed([make_event(at(0, 10), user="tpd-0001", agency="TPD", on_behalf_of="MPD")])
    assert [a.details["requesting_agency"] for a in r.of("outside_agency")] == ["MPD"]


def test_unknown_requesting_agency_fires(run):
    r = run()
    r.feed([make_event(at(0, 10), on_behalf_of="FBI")])
    assert [a.details["requesting_agency"] for a in r.of("outside_agency")] == ["FBI"]
