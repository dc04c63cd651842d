"""prohibited_endpoint and unknown_endpoint: which host, for which agency, first use."""

from __future__ import annotations

from tests.unit.detectors.factories import at, make_event, per_user


def test_prohibited_suffix_fires_with_host_as_subject(run):
    r = run()
    r.feed([make_event(at(0, 10), endpoint="https://app.clearview.ai/search?x=1")])
    (alert,) = r.of("prohibited_endpoint")
    assert alert.severity == "critical"
    assert alert.details["host"] == "app.clearview.ai"
    assert alert.details["prohibited_suffix"] == "clearview.ai"
    assert alert.summary == (
        "MPD user mpd-0012 searched app.clearview.ai, a prohibited commercial FRT service "
        "(1 search)."
    )
    assert not r.of("unknown_endpoint"), "a prohibited host is not also unknown"


def test_lookalike_host_is_unknown_not_prohibited(run):
    r = run()
    r.feed([make_event(at(0, 10), endpoint="notclearview.ai")])
    assert not r.of("prohibited_endpoint")
    assert [a.details["host"] for a in r.of("unknown_endpoint")] == ["notclearview.ai"]


def test_each_prohibited_host_is_its_own_alert(run):
    r = run()
    r.feed(
        [
            make_event(at(0, 10), endpoint="https://app.clearview.ai/"),
            make_event(at(0, 10, 5), endpoint="https://pimeyes.com/en"),
            make_event(at(0, 10, 9), endpoint="https://app.clearview.ai/"),
        ]
    )
    latest = r.latest("prohibited_endpoint")
    assert sorted((a.details["host"], a.event_count) for a in latest.values()) == [
        ("app.clearview.ai", 2),
        ("pimeyes.com", 1),
    ]


def test_host_approved_for_another_agency_is_unknown_here(run):
    r = run()
    # faces.state.example.gov is approved for SPD and MPD only.
    r.feed(
        [
            make_event(at(0, 9), user="spd-0001", agency="SPD", endpoint="faces.state.example.gov"),
            make_event(
                at(0, 10), user="cso-0001", agency="CSO", endpoint="faces.state.example.gov"
            ),
        ]
    )
    (alert,) = r.of("unknown_endpoint")
    assert (alert.agency, alert.user) == ("CSO", "cso-0001")
    assert alert.details["approved_for"] == ["MPD", "SPD"]
    assert "approved only for MPD, SPD" in alert.summary


def test_first_use_of_a_host_in_the_agency_is_marked(run, policy):
    r = run(per_user(policy))
    host = "https://faces.example.net/api"
    r.feed([make_event(at(0, 9), user="mpd-0001", endpoint=host)])
    r.feed([make_event(at(0, 11), user="mpd-0002", endpoint=host)])
    r.feed([make_event(at(2, 11, 30), user="mpd-0001", agency="MPD", endpoint=host)])
    first, second, closed, again = r.of("unknown_endpoint")
    assert (closed.alert_id, closed.status) == (first.alert_id, "closed")
    assert first.details["first_time_for_agency"] is True
    assert "the first use of it in MPD" in first.summary
    assert first.details["approved_for"] == []
    assert second.user == "mpd-0002"
    assert second.details["first_time_for_agency"] is False
    assert second.details["agency_first_used"] == "2026-03-02T09:00:00Z"
    assert "first use" not in second.summary
    # mpd-0001 again, two days later: a new alert (the first closed), no longer a first use.
    assert again.user == "mpd-0001" and again.details["first_time_for_agency"] is False


def test_approved_host_for_own_agency_is_silent(run):
    r = run()
    r.feed([make_event(at(0, 10), endpoint="https://FRT.County.Example.gov:443/x")])
    assert not r.of("unknown_endpoint") and not r.of("prohibited_endpoint")


def test_endpoint_alerts_name_the_catalogue_vendor(run, policy):
    import dataclasses

    from streams.sources.catalogue import load_catalogue

    pol = dataclasses.replace(
        policy, catalogue=load_catalogue(), prohibited_kinds=frozenset({"commercial-open-web"})
    )
    r = run(pol)
    r.feed(
        [
            make_event(at(0, 10), endpoint="https://lenso.ai/en"),  # prohibited by its kind only
            make_event(at(0, 10, 1), endpoint="https://app.clearview.ai/"),
            make_event(
                at(0, 10, 2), agency="CSO", user="cso-0001", endpoint="faces.state.example.gov"
            ),
        ]
    )
    prohibited = {a.details["host"]: a for a in r.of("prohibited_endpoint")}
    assert prohibited["lenso.ai"].details["vendor"] == "Lenso.ai"
    assert prohibited["lenso.ai"].details["prohibited_suffix"] == "lenso.ai"
    assert "app.clearview.ai (Clearview AI), a prohibited" in prohibited["app.clearview.ai"].summary
    (unknown,) = r.of("unknown_endpoint")
    assert unknown.details["vendor"] == "State face search (example)"
    assert unknown.details["service_kind"] == "vendor-hosted"


def test_without_a_catalogue_the_vendor_is_null(run):
    r = run()
    r.feed([make_event(at(0, 10), endpoint="https://pimeyes.com/")])
    (alert,) = r.of("prohibited_endpoint")
    assert alert.details["vendor"] is None and "(" not in alert.summary.split(",")[0]
