"""Roles and agency scope over HTTP: what each account may read and do.

An alert outside an account's agencies does not exist for it (404 from the API
and the page, absent from lists, stats and live streams); a role that may not
take an action gets 403.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest
from aiohttp.test_utils import TestClient

from streams.console.access import ROLE_ACTIONS, Access
from streams.console.state import Console
from streams.contract.alert import Alert
from tests.unit.console.console_client import (
    account,
    client_for,
    login,
    make_console,
    next_event,
    page_token,
)

MPD = frozenset({"MPD"})
SPD = frozenset({"SPD"})


@pytest.fixture
async def console(make_alert: Callable[..., Alert]) -> Console:
    console = make_console(
        account("mpd-analyst", "analyst", MPD),
        account("lead", "lead"),
        account("spd-auditor", "auditor", SPD),
        account("admin", "admin"),
    )
    console.alerts.upsert(make_alert(alert_id="a-mpd", agency="MPD"), received_at=0)
    console.alerts.upsert(
        make_alert(alert_id="a-spd", agency="SPD", user="spd-hidden-user"), received_at=0
    )
    return console


@pytest.fixture
async def client(console: Console) -> AsyncIterator[TestClient]:
    async with client_for(console) as test_client:
        yield test_client


def test_roles_separate_duties():
    assert ROLE_ACTIONS["analyst"] == {"acknowledge", "comment"}
    assert {"assign", "resolve_true_positive", "resolve_false_positive", "reopen"} <= (
        ROLE_ACTIONS["lead"]
    )
    assert ROLE_ACTIONS["admin"] == ROLE_ACTIONS["lead"]
    assert ROLE_ACTIONS["auditor"] == frozenset()
    assert Access("lead", frozenset({"*"})).sees("ANY")


async def test_lists_hold_only_the_agencies_in_scope(client: TestClient) -> None:
    await login(client, "mpd-analyst")
    data = await (await client.get("/api/alerts")).json()
    assert [a["alert_id"] for a in data["alerts"]] == ["a-mpd"] and data["total"] == 1
    # Asking for another agency by filter does not widen the scope.
    other = await (await client.get("/api/alerts?agency=SPD")).json()
    assert other == {"alerts": [], "total": 0}


@pytest.mark.parametrize("path", ["/api/alerts/a-spd", "/alerts/a-spd"])
async def test_an_out_of_scope_alert_is_404_like_an_unknown_one(
    client: TestClient, path: str
) -> None:
    await login(client, "mpd-analyst")
    response = await client.get(path)
    assert response.status == 404
    assert "spd-hidden-user" not in await response.text()  # nothing of the alert leaks
    unknown = await client.get(path.replace("a-spd", "zzz"))
    assert unknown.status == 404


async def test_an_out_of_scope_alert_cannot_be_triaged(client: TestClient) -> None:
    await login(client, "mpd-analyst")
    headers = {"X-CSRF-Token": await page_token(client)}
    response = await client.post(
        "/api/alerts/a-spd/triage", json={"action": "acknowledge"}, headers=headers
    )
    assert response.status == 404


@pytest.mark.parametrize(
    ("user", "action", "status"),
    [
        ("mpd-analyst", "acknowledge", 503),  # allowed: fails only for want of Kafka
        ("mpd-analyst", "comment", 503),
        ("mpd-analyst", "resolve_true_positive", 403),
        ("mpd-analyst", "assign", 403),
        ("lead", "resolve_false_positive", 503),
        ("lead", "assign", 503),
        ("admin", "assign", 503),
        ("spd-auditor", "comment", 404),  # MPD's alert is not in the auditor's scope
    ],
)
async def test_roles_limit_triage(client: TestClient, user: str, action: str, status: int) -> None:
    await login(client, user)
    body = {"action": action, "note": "checked", "assignee": "lead"}
    response = await client.post(
        "/api/alerts/a-mpd/triage", json=body, headers={"X-CSRF-Token": await page_token(client)}
    )
    assert response.status == status, await response.text()


@pytest.mark.parametrize(
    ("assignee", "status"), [("lead", 503), ("spd-auditor", 400), ("mpd-analyst", 503)]
)
async def test_alerts_are_assigned_only_to_those_who_can_work_on_them(
    client: TestClient, assignee: str, status: int
) -> None:
    await login(client, "lead")
    response = await client.post(
        "/api/alerts/a-mpd/triage",
        json={"action": "assign", "assignee": assignee},
        headers={"X-CSRF-Token": await page_token(client)},
    )
    assert response.status == status, await response.text()


async def test_an_auditor_reads_but_changes_nothing(client: TestClient) -> None:
    await login(client, "spd-auditor")
    detail = await (await client.get("/api/alerts/a-spd")).json()
    assert detail["alert"]["alert_id"] == "a-spd" and detail["history"] == []
    response = await client.post(
        "/api/alerts/a-spd/triage",
        json={"action": "acknowledge"},
        headers={"X-CSRF-Token": await page_token(client)},
    )
    assert response.status == 403
    page = await (await client.get("/alerts/a-spd")).text()
    assert 'id="triage-panel" hidden' in page
    assert (await client.get("/analytics")).status == 200  # the reports


async def test_pages_offer_only_what_the_role_may_do(client: TestClient) -> None:
    await login(client, "mpd-analyst")
    page = await (await client.get("/alerts/a-mpd")).text()
    assert 'id="t-notes" >' in page and 'id="triage-panel" >' in page
    assert 'id="t-resolve" hidden' in page and 'id="t-assigning" hidden' in page


async def test_a_lead_is_offered_every_action(console: Console) -> None:
    async with client_for(console) as client:
        await login(client, "lead")
        page = await (await client.get("/alerts/a-spd")).text()
    assert 'id="t-resolve" >' in page and 'id="t-assigning" >' in page


async def test_meta_and_stats_stay_in_scope(
    client: TestClient, console: Console, make_event
) -> None:
    console.activity.add(make_event(agency="MPD", event_id="m1"))
    console.activity.add(make_event(agency="SPD", event_id="s1"))
    await login(client, "mpd-analyst")
    meta = await (await client.get("/api/meta")).json()
    assert meta["agencies"] == ["MPD"]
    assert meta["me"]["role"] == "analyst" and meta["me"]["actions"] == ["acknowledge", "comment"]
    assert meta["users"] == []  # the list of colleagues is for those who assign
    assert meta["actions"] == ["acknowledge", "comment"]
    stats = await (await client.get("/api/stats?range=24h")).json()
    assert set(stats["searches"]) <= {"MPD"} and set(stats["alerts"]) <= {"MPD"}
    assert {u["agency"] for u in stats["top_users"]} <= {"MPD"}


async def test_a_lead_sees_every_agency_and_whom_to_assign(client: TestClient) -> None:
    await login(client, "lead")
    data = await (await client.get("/api/alerts")).json()
    assert {a["alert_id"] for a in data["alerts"]} == {"a-mpd", "a-spd"}
    meta = await (await client.get("/api/meta")).json()
    assert [u["username"] for u in meta["users"]] == ["admin", "lead", "mpd-analyst"]


async def test_live_streams_carry_only_alerts_in_scope(
    client: TestClient, console: Console, make_alert: Callable[..., Alert]
) -> None:
    await login(client, "mpd-analyst")
    response = await client.get("/api/stream")
    assert (await next_event(response))[0] == "hello"
    spd = console.alerts.get("a-spd")
    assert spd is not None
    console.hub.alert_changed(spd)
    console.triage_changed("a-spd")  # a triage change is told to every feed, but not this
    stored = console.alerts.upsert(make_alert(alert_id="a-mpd2", agency="MPD"), received_at=0)
    assert stored is not None
    console.alert_changed(stored)
    event, data = await next_event(response)
    assert event == "alert" and data["alert"]["alert_id"] == "a-mpd2"
    response.close()
