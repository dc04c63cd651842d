"""Agency-wide alerts (``alert_per: agency``): one alert per agency, detector and subject.

The shipped policy makes the endpoint detectors' alerts agency-wide, so a ring of
colleagues on one commercial service is one case that names them all. Every time here
is explicit; alerts close on the agency's event-time clock as per-user ones do.
"""

from __future__ import annotations

import pytest

from streams.contract import make_alert_id
from streams.detectors import Engine
from streams.detectors.folding import AGENCY_WIDE
from streams.detectors.state import AGENCY_FOLD_CAP, FOLD_USER_CAP, AgencyState
from streams.exceptions import Exceptions
from streams.exceptions.record import make_exception
from streams.policy import CertificateRegistry
from tests.unit.detectors.factories import at, certify, make_event, per_user, with_detector
from tests.unit.detectors.test_folding import judged, kept, later

HOST = "app.clearview.ai"
RING = ("mpd-0003", "mpd-0007", "mpd-0011")


def prohibited(ts: float, user: str, host: str = HOST, agency: str = "MPD"):
    return make_event(ts, user=user, agency=agency, endpoint=f"https://{host}/s")


def ring_days() -> list:
    """The ring on days 0-3, each member on some of them, 1-2 searches a time."""
    plan = {0: RING[:1], 1: RING[1:], 2: RING[:2], 3: RING}
    return [prohibited(at(day, 9 + n, 5 * k), user)
            for day, members in plan.items()
            for k, user in enumerate(members) for n in range(1 + k % 2)]  # fmt: skip


def test_a_ring_on_one_service_is_one_alert_naming_every_member(policy):
    searches = ring_days()
    alerts = judged(policy, [*searches, later(at(5, 10))])
    (final,) = kept(alerts).values()
    assert (final.status, final.event_count) == ("closed", len(searches))
    opening = searches[0]
    assert final.alert_id == make_alert_id(
        "prohibited_endpoint", "MPD", AGENCY_WIDE, HOST, opening.ts, opening.event_id
    )
    assert final.user == opening.user  # named for the member whose search opened it
    assert final.details["alert_per"] == "agency"
    assert final.details["users"] == [RING[0], RING[1], RING[2]]
    counts = {u: sum(e.user == u for e in searches) for u in RING}
    assert final.details["user_counts"] == counts
    assert sum(final.details["user_counts"].values()) == final.event_count
    assert final.details["more_users"] is False
    assert final.summary.startswith(f"3 MPD users ({RING[0]}, {RING[1]} and {RING[2]}) searched")
    assert final.summary.endswith(f"({len(searches)} searches).")


def test_the_same_ring_per_user_is_one_alert_each(policy):
    alerts = kept(judged(per_user(policy), [*ring_days(), later(at(5, 10))]))
    assert {a.user for a in alerts.values()} == set(RING) and len(alerts) >= len(RING)


def test_hosts_and_agencies_are_separate_alerts_and_a_quiet_gap_closes_one(policy):
    events = [
        prohibited(at(0, 9), RING[0]),
        prohibited(at(0, 9, 5), RING[1], host="pimeyes.com"),
        prohibited(at(0, 9, 10), "spd-0001", agency="SPD"),
        prohibited(at(2, 9), RING[2]),  # 48 h later: the first session has closed
        later(at(4, 9)),
        make_event(at(4, 9), user="spd-0002", agency="SPD"),
    ]
    final = sorted(kept(judged(policy, events)).values(), key=lambda a: a.first_seen)
    assert [(a.agency, a.details["host"], a.details["users"], a.status) for a in final] == [
        ("MPD", HOST, [RING[0]], "closed"),
        ("MPD", "pimeyes.com", [RING[1]], "closed"),
        ("SPD", HOST, ["spd-0001"], "closed"),
        ("MPD", HOST, [RING[2]], "closed"),
    ]
    assert final[0].summary.startswith(f"MPD user {RING[0]} searched")


def test_members_past_the_cap_are_counted_not_named(policy):
    members = [f"mpd-{i:04d}" for i in range(1, FOLD_USER_CAP + 6)]
    events = [prohibited(at(0, 8) + i * 60.0, user) for i, user in enumerate(members)]
    alerts = judged(policy, [*events, later(at(2, 9))])
    (final,) = kept(alerts).values()
    assert final.event_count == len(members)
    assert final.details["users"] == members[:FOLD_USER_CAP]
    assert final.details["more_users"] is True
    assert final.summary.startswith(f"{FOLD_USER_CAP}+ MPD users (mpd-0001, mpd-0002, mpd-0003 "
                                    "and others)")  # fmt: skip


def test_an_agencys_open_alerts_are_capped_and_the_one_closed_is_published(policy):
    events = [prohibited(at(0, 8) + i * 60.0, RING[0], host=f"h{i}.clearview.ai")
              for i in range(AGENCY_FOLD_CAP + 1)]  # fmt: skip
    alerts = judged(policy, events)
    closed = [a for a in alerts if a.status == "closed"]
    assert [a.details["host"] for a in closed] == ["h0.clearview.ai"]


def test_batch_sizes_give_the_same_alerts(policy):
    events = sorted([*ring_days(), *(later(at(d, 12)) for d in range(6))], key=lambda e: e.ts)
    one = sorted((a.alert_id, a.event_count, a.status) for a in judged(policy, events))
    for size in (4, 100):
        assert sorted((a.alert_id, a.event_count, a.status)
                      for a in judged(policy, events, batch=size)) == one  # fmt: skip


def test_a_members_exception_leaves_out_only_their_searches(policy):
    exempt = make_exception(scope="user", agency="MPD", user=RING[2], detector="prohibited_endpoint",
                            subject=HOST, valid_from="2026-03-01T00:00:00Z",
                            until="2026-04-01T00:00:00Z", reason="vendor trial")  # fmt: skip
    searches = ring_days()
    alerts = judged(policy, [*searches, later(at(5, 10))], exceptions=Exceptions([exempt]))
    (final,) = [a for a in kept(alerts).values() if not a.silenced]
    assert RING[2] not in final.details["users"]
    assert final.event_count == sum(e.user != RING[2] for e in searches)
    silenced = [a for a in kept(alerts).values() if a.silenced]
    assert {(a.exception_id, tuple(a.details["users"])) for a in silenced} == {
        (exempt.id, (RING[2],))
    }
    assert sum(a.event_count for a in silenced) == sum(e.user == RING[2] for e in searches)


def test_agency_wide_alerts_survive_a_state_round_trip(policy):
    engine = Engine(policy, certify(CertificateRegistry(), *(f"MPD/{u}" for u in RING)))
    agency = AgencyState()
    users: dict[str, object] = {}
    for event in ring_days()[:4]:
        out = engine.process(users.get(event.user), agency, event)  # type: ignore[arg-type]
        users[event.user] = out.user_state
        agency = AgencyState.from_bytes(out.agency_state.to_bytes())
    (fold,) = agency.folds.values()
    assert fold.users == {RING[0]: 1, RING[1]: 1, RING[2]: 2}
    assert AgencyState.from_bytes(agency.to_bytes()).to_bytes() == agency.to_bytes()


@pytest.mark.parametrize("detector", ["uncertified_user", "burst"])
def test_person_detectors_take_no_alert_per(tmp_path, detector):
    from streams.errors import ConfigError
    from streams.policy import load_policy

    path = tmp_path / "policy.yaml"
    path.write_text(f"detectors:\n  {detector}:\n    alert_per: agency\n")
    with pytest.raises(ConfigError, match=rf"policy.yaml:3.*{detector}"):
        load_policy(path)


def test_alert_per_must_be_user_or_agency(tmp_path):
    from streams.errors import ConfigError
    from streams.policy import load_policy

    path = tmp_path / "policy.yaml"
    path.write_text("detectors:\n  prohibited_endpoint:\n    alert_per: unit\n")
    with pytest.raises(ConfigError, match=r"policy.yaml:3.*alert_per.*user, agency"):
        load_policy(path)


def test_with_detector_keeps_agency_wide(policy):
    assert (
        with_detector(policy, "prohibited_endpoint", severity="high")
        .detector("prohibited_endpoint")
        .alert_per
        == "agency"
    )
