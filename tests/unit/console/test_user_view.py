"""The user page's data over HTTP: every alert, the timeline, the certificate, the risk,
and the agency scope (a user of another agency is 404, exactly like an unknown one)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from urllib.parse import urlencode

import pytest
from aiohttp.test_utils import TestClient

from streams.console.risk import user_risks
from streams.console.state import Console
from streams.contract.alert import Alert
from streams.contract.event import SearchEvent
from streams.policy import CertificateRegistry
from tests.unit.console.console_client import account, client_for, login, make_console

MPD = frozenset({"MPD"})


def user_url(agency: str, user: str, base: str = "/api/user") -> str:
    return base + "?" + urlencode({"agency": agency, "user": user})


@pytest.fixture
def console(make_alert: Callable[..., Alert], make_event: Callable[..., SearchEvent]) -> Console:
    console = make_console(account("mpd-analyst", "analyst", MPD), account("lead", "lead"))
    registry = CertificateRegistry()
    registry.update("MPD/u1", {"certified_on": "2025-01-01", "expires_on": "2026-02-28"})
    console.certificates = registry
    alerts = [
        make_alert(alert_id="p1", detector="prohibited_endpoint", severity="critical",
                   event_ids=["e2"], first_seen="2026-03-01T09:02:00Z",
                   last_seen="2026-03-01T09:02:00Z"),
        make_alert(alert_id="c1", detector="uncertified_user", severity="medium",
                   event_ids=["e1", "e2", "e3"], event_count=3,
                   first_seen="2026-03-01T09:01:00Z", last_seen="2026-03-01T09:03:00Z",
                   details={"reason": "expired", "expires_on": "2026-02-28"}),
        make_alert(alert_id="other-user", user="u9", severity="low"),
        make_alert(alert_id="spd", agency="SPD", user="u1", severity="critical",
                   last_seen="2026-03-01T10:00:00Z"),
    ]  # fmt: skip
    for alert in alerts:
        console.alerts.upsert(alert, received_at=0)
    for i in range(5):
        console.activity.add(make_event(event_id=f"e{i}", ts=f"2026-03-01T09:0{i}:00Z"))
    console.activity.add(make_event(event_id="spd-hidden-search", agency="SPD", user="u1"))
    return console


@pytest.fixture
async def client(console: Console) -> AsyncIterator[TestClient]:
    async with client_for(console) as test_client:
        yield test_client


async def test_every_alert_the_timeline_and_the_certificate(
    client: TestClient, console: Console
) -> None:
    await login(client, "mpd-analyst")
    response = await client.get(user_url("MPD", "u1"))
    assert response.status == 200
    data = await response.json()
    assert (data["agency"], data["user"]) == ("MPD", "u1")
    # Every detector's alerts of this user, newest evidence first; nobody else's.
    assert [a["alert_id"] for a in data["alerts"]] == ["c1", "p1"]
    assert data["detectors"] == {"prohibited_endpoint": 1, "uncertified_user": 1}
    # Searches oldest first, each marked with the alerts that cite it.
    timeline = data["timeline"]
    assert [t["event_id"] for t in timeline] == ["e0", "e1", "e2", "e3", "e4"]
    cited = {t["event_id"]: t["alert_ids"] for t in timeline}
    assert cited == {"e0": [], "e1": ["c1"], "e2": ["c1", "p1"], "e3": ["c1"], "e4": []}
    assert [t["evidence"] for t in timeline] == [False, True, True, True, False]
    # The certificate at the user's newest event (09:04), as the registry and alert say.
    cert = data["certificate"]
    assert cert["state"] == "expired" and cert["expires_on"] == "2026-02-28"
    assert cert["as_of"] == "2026-03-01T09:04:00Z"
    assert cert["alert"]["alert_id"] == "c1" and cert["alert"]["reason"] == "expired"
    # Risk: over the analyst's scope (MPD only; SPD's newer alert is not the reference).
    in_scope = [s.alert for s in console.alerts.all() if s.alert.agency == "MPD"]
    assert data["risk"] == user_risks(in_scope)[("MPD", "u1")]
    assert data["risk_reference"] == "2026-03-01T09:05:00Z"
    assert data["risk"] == pytest.approx(sum(a["risk"] for a in data["alerts"]), abs=1e-3)


@pytest.mark.parametrize("base", ["/api/user", "/user"])
async def test_a_user_outside_the_scope_is_404_like_an_unknown_one(
    client: TestClient, base: str
) -> None:
    await login(client, "mpd-analyst")
    out_of_scope = await client.get(user_url("SPD", "u1", base))
    unknown = await client.get(user_url("MPD", "nobody", base))
    assert out_of_scope.status == unknown.status == 404
    if base == "/api/user":
        assert await out_of_scope.json() == await unknown.json() == {"error": "no such user"}
    assert "spd-hidden-search" not in await out_of_scope.text()
    held = await client.get(user_url("MPD", "u1", base))
    assert held.status == 200


async def test_a_regional_account_sees_the_other_agency(client: TestClient) -> None:
    await login(client, "lead")
    data = await (await client.get(user_url("SPD", "u1"))).json()
    assert [a["alert_id"] for a in data["alerts"]] == ["spd"]
    assert data["certificate"]["state"] == "none_on_file"


@pytest.mark.parametrize("query", ["", "?agency=MPD", "?user=u1", "?agency=MPD&user=" + "x" * 300])
async def test_the_user_must_be_named(client: TestClient, query: str) -> None:
    await login(client, "mpd-analyst")
    response = await client.get("/api/user" + query)
    assert response.status == 400
    assert "agency and user" in (await response.json())["error"]


async def test_signed_out_gets_nothing(client: TestClient) -> None:
    response = await client.get(user_url("MPD", "u1"))
    assert response.status == 401


async def test_the_feed_can_be_ordered_by_user_risk(client: TestClient) -> None:
    await login(client, "lead")
    newest = await (await client.get("/api/alerts")).json()
    assert newest["alerts"][0]["alert_id"] == "spd"
    risky = await (await client.get("/api/alerts?order=risk")).json()
    order = [(a["agency"], a["user"], a["user_risk"]) for a in risky["alerts"]]
    risks = [r for _, _, r in order]
    assert risks == sorted(risks, reverse=True)
    # MPD/u1 (critical + medium x3) outranks SPD/u1 (one critical), although older.
    assert order[0][:2] == ("MPD", "u1") and order[-1][:2] == ("MPD", "u9")
    assert {a["alert_id"] for a in risky["alerts"]} == {a["alert_id"] for a in newest["alerts"]}
    bad = await client.get("/api/alerts?order=worst")
    assert bad.status == 400 and "order must be one of" in (await bad.json())["error"]


async def test_an_agency_wide_alert_is_on_every_members_page(
    client: TestClient, console: Console, make_alert: Callable[..., Alert]
) -> None:
    ring = make_alert(alert_id="ring", detector="prohibited_endpoint", severity="critical",
                      user="u7", event_ids=["r1", "r2", "r3"], event_count=3,
                      details={"alert_per": "agency", "users": ["u7", "u8"],
                               "user_counts": {"u7": 1, "u8": 2}, "more_users": False})  # fmt: skip
    console.alerts.upsert(ring, received_at=0)
    await login(client, "mpd-analyst")
    for member in ("u7", "u8"):
        data = await (await client.get(user_url("MPD", member))).json()
        assert [a["alert_id"] for a in data["alerts"]] == ["ring"]
        # Each member's risk counts their own searches in it, not the ring's.
        in_scope = [s.alert for s in console.alerts.all() if s.alert.agency == "MPD"]
        assert data["risk"] == user_risks(in_scope)[("MPD", member)]
        assert data["risk"] == pytest.approx(data["alerts"][0]["risk"], abs=1e-3)
    u7, u8 = (user_risks(in_scope)[("MPD", u)] for u in ("u7", "u8"))
    assert u8 > u7 > 0
    # The feed's user filter finds it by any member, and ranks it by its riskiest.
    found = await (await client.get("/api/alerts?user=u8")).json()
    assert [a["alert_id"] for a in found["alerts"]] == ["ring"]
    assert found["alerts"][0]["user_risk"] == u8
