"""The web layer without Kafka: sign-in, sessions, CSRF, headers, reads, live stream.

The stores are filled directly; triage writes need the Kafka log and are
covered by the browser tests against the real broker.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import orjson
import pytest
from aiohttp.test_utils import TestClient, TestServer

from streams.console.app import create_app
from streams.console.config import ConsoleConfig
from streams.console.passwords import hash_password
from streams.console.security import CONTENT_SECURITY_POLICY, SESSION_COOKIE
from streams.console.state import Console
from streams.console.users import Account
from streams.contract.alert import Alert

PASSWORD = "correct-horse"
XSS = "<img src=x onerror=alert(1)>"


def _console(**config: object) -> Console:
    digest = hash_password(PASSWORD, n=2**10)
    everywhere = frozenset({"*"})
    accounts = {
        "ana": Account("ana", "Ana <Lyst>", digest, role="lead", agencies=everywhere),
        "bo": Account("bo", "Bo", digest, role="analyst", agencies=everywhere),
        "gone": Account("gone", "Gone", digest, disabled=True, role="lead", agencies=everywhere),
    }
    return Console.build(ConsoleConfig(users_path=Path("unused"), **config), accounts)  # type: ignore[arg-type]


@pytest.fixture
async def console() -> Console:
    return _console()


@pytest.fixture
async def client(console: Console) -> AsyncIterator[TestClient]:
    async with TestClient(TestServer(create_app(console, with_kafka=False))) as test_client:
        yield test_client


def _token(html: str, name: str = "csrf_token") -> str:
    match = re.search(rf'name="{name}" (?:value|content)="([^"]+)"', html)
    assert match, html
    return match.group(1)


async def _login(client: TestClient, user: str = "ana", password: str = PASSWORD) -> int:
    page = await client.get("/login")
    token = _token(await page.text())
    response = await client.post(
        "/login",
        data={"csrf_token": token, "username": user, "password": password, "next": "/"},
        allow_redirects=False,
    )
    return response.status


async def _page_token(client: TestClient) -> str:
    return _token(await (await client.get("/")).text(), "csrf-token")


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/analytics",
        "/alerts/a1",
        "/api/alerts",
        "/api/stream",
        "/api/meta",
        "/api/stats",
        "/api/alerts/a1",
    ],
)
async def test_anonymous_requests_are_refused(client: TestClient, path: str) -> None:
    response = await client.get(path, allow_redirects=False)
    if path.startswith("/api/"):
        assert response.status == 401
    else:
        assert response.status == 302
        assert response.headers["Location"].startswith("/login?next=")


async def test_anonymous_post_is_refused(client: TestClient) -> None:
    response = await client.post("/api/alerts/a1/triage", json={"action": "acknowledge"})
    assert response.status == 401


async def test_security_headers_on_every_kind_of_response(client: TestClient) -> None:
    responses = [
        await client.get("/login"),
        await client.get("/", allow_redirects=False),
        await client.get("/api/alerts"),
        await client.get("/static/console.css"),
        await client.get("/static/nope.js"),
        await client.get("/healthz"),
    ]
    for response in responses:
        headers = response.headers
        assert headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
        assert "script-src 'self'" in CONTENT_SECURITY_POLICY
        assert "frame-ancestors 'none'" in CONTENT_SECURITY_POLICY
        assert "unsafe-inline" not in CONTENT_SECURITY_POLICY
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Cache-Control"] == "no-store"
        assert headers["X-Frame-Options"] == "DENY"
        assert "Strict-Transport-Security" not in headers  # plain http here


async def test_wrong_password_unknown_user_and_disabled_account_are_refused(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="frtwatch.console.audit")
    assert await _login(client, password="wrong") == 401
    assert await _login(client, user="nobody") == 401
    assert await _login(client, user="gone") == 401
    assert (await client.get("/api/alerts")).status == 401
    assert caplog.text.count('"event":"login_failed"') == 3


async def test_login_sets_a_locked_down_cookie_and_a_new_session_id(client: TestClient) -> None:
    page = await client.get("/login")
    anonymous_sid = page.cookies[SESSION_COOKIE].value
    token = _token(await page.text())
    response = await client.post(
        "/login",
        data={"csrf_token": token, "username": "ana", "password": PASSWORD, "next": "/analytics"},
        allow_redirects=False,
    )
    assert response.status == 303 and response.headers["Location"] == "/analytics"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # plain http; see the next test
    assert response.cookies[SESSION_COOKIE].value != anonymous_sid
    assert (await client.get("/api/alerts")).status == 200


async def test_secure_cookie_when_configured() -> None:
    async with TestClient(
        TestServer(create_app(_console(secure_cookies=True), with_kafka=False))
    ) as c:
        page = await c.get("/login")
        assert "Secure" in page.headers["Set-Cookie"]


async def test_login_without_the_form_token_is_refused(client: TestClient) -> None:
    await client.get("/login")
    response = await client.post(
        "/login", data={"csrf_token": "forged", "username": "ana", "password": PASSWORD},
        allow_redirects=False,
    )  # fmt: skip
    assert response.status == 303 and "error=expired" in response.headers["Location"]
    assert (await client.get("/api/alerts")).status == 401


async def test_login_is_throttled(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="frtwatch.console.audit")
    for _ in range(5):
        assert await _login(client, password="wrong") == 401
    assert await _login(client, password=PASSWORD) == 429  # even the right password waits
    assert '"event":"login_throttled"' in caplog.text


async def test_next_is_kept_local(client: TestClient) -> None:
    page = await client.get("/login?next=//evil.example/")
    assert 'name="next" value="/"' in await page.text()


async def test_the_login_page_escapes_what_it_echoes(client: TestClient) -> None:
    page = await client.get("/login")
    response = await client.post(
        "/login",
        data={"csrf_token": _token(await page.text()), "username": '"><script>x()</script>', "password": "p"},
    )  # fmt: skip
    body = await response.text()
    assert "<script>x()" not in body and "&lt;script&gt;" in body


async def test_state_changes_need_the_session_csrf_token(
    client: TestClient, make_alert: Callable[..., Alert], console: Console
) -> None:
    console.alerts.upsert(make_alert(), received_at=0)
    await _login(client)
    no_token = await client.post("/api/alerts/a1/triage", json={"action": "acknowledge"})
    assert no_token.status == 403
    wrong = await client.post(
        "/api/alerts/a1/triage", json={"action": "acknowledge"}, headers={"X-CSRF-Token": "x"}
    )
    assert wrong.status == 403
    token = await _page_token(client)
    cross = await client.post(
        "/api/alerts/a1/triage", json={"action": "acknowledge"},
        headers={"X-CSRF-Token": token, "Origin": "https://evil.example"},
    )  # fmt: skip
    assert cross.status == 403
    cross_site = await client.post(
        "/api/alerts/a1/triage", json={"action": "acknowledge"},
        headers={"X-CSRF-Token": token, "Sec-Fetch-Site": "cross-site"},
    )  # fmt: skip
    assert cross_site.status == 403
    ok = await client.post(
        "/api/alerts/a1/triage", json={"action": "acknowledge"}, headers={"X-CSRF-Token": token}
    )
    assert ok.status == 503  # passed every check; no Kafka log in this test


async def test_triage_input_is_validated_before_it_is_written(
    client: TestClient, make_alert: Callable[..., Alert], console: Console
) -> None:
    console.alerts.upsert(make_alert(), received_at=0)
    await _login(client)
    headers = {"X-CSRF-Token": await _page_token(client)}
    cases = [
        ("/api/alerts/nope/triage", {"action": "acknowledge"}, 404),
        ("/api/alerts/a1/triage", {"action": "delete"}, 400),
        ("/api/alerts/a1/triage", {"action": "assign", "assignee": "mallory"}, 400),
        ("/api/alerts/a1/triage", {"action": "comment", "note": ""}, 400),
        ("/api/alerts/a1/triage", {"action": "acknowledge", "note": 5}, 400),
        ("/api/alerts/a1/triage", {"action": "reopen"}, 409),
    ]
    for path, body, status in cases:
        response = await client.post(path, json=body, headers=headers)
        assert response.status == status, (body, await response.text())


async def test_get_never_changes_state(client: TestClient) -> None:
    await _login(client)
    response = await client.get("/logout", allow_redirects=False)
    assert response.status == 405
    assert (await client.get("/api/alerts")).status == 200


async def test_logout_ends_the_session(client: TestClient) -> None:
    await _login(client)
    token = await _page_token(client)
    response = await client.post("/logout", data={"csrf_token": token}, allow_redirects=False)
    assert response.status == 303
    assert (await client.get("/api/alerts")).status == 401


async def test_reads_return_filtered_alerts_with_triage(
    client: TestClient, console: Console, make_alert: Callable[..., Alert]
) -> None:
    console.alerts.upsert(make_alert(alert_id="a1", severity="critical"), received_at=0)
    console.alerts.upsert(make_alert(alert_id="a2", severity="low", agency=XSS), received_at=0)
    await _login(client)
    data = await (await client.get("/api/alerts?severity=low")).json()
    assert [a["alert_id"] for a in data["alerts"]] == ["a2"]
    assert data["alerts"][0]["agency"] == XSS  # data stays data; the browser writes it as text
    assert data["alerts"][0]["triage"]["status"] == "open"
    assert (await client.get("/api/alerts?severity=urgent")).status == 400
    detail = await (await client.get("/api/alerts/a1")).json()
    assert detail["alert"]["alert_id"] == "a1" and detail["history"] == []
    assert (await client.get("/api/alerts/zzz")).status == 404
    meta = await (await client.get("/api/meta")).json()
    assert [u["username"] for u in meta["users"]] == ["ana", "bo"]
    stats = await client.get("/api/stats?range=6h")
    assert stats.status == 200
    assert (await client.get("/api/stats?range=1y")).status == 400


async def test_pages_escape_the_alert_id_and_user_name(client: TestClient) -> None:
    await _login(client)
    page = await (await client.get("/alerts/%22%3E%3Cscript%3Ealert(1)%3C%2Fscript%3E")).text()
    assert "<script>alert(1)" not in page
    assert "&quot;&gt;&lt;script&gt;" in page
    assert "Ana &lt;Lyst&gt;" in page
    assert not re.search(r"<script(?![^>]*\bsrc=\"/static/)", page), "inline script in a page"


async def test_live_stream_pushes_matching_alerts(
    client: TestClient, console: Console, make_alert: Callable[..., Alert]
) -> None:
    await _login(client)
    response = await client.get("/api/stream?severity=critical")
    assert response.headers["Content-Type"].startswith("text/event-stream")
    assert response.headers["Cache-Control"] == "no-store"

    async def next_event() -> tuple[str, dict]:
        event = ""
        while True:
            line = (await asyncio.wait_for(response.content.readline(), 5)).decode()
            if line.startswith("event: "):
                event = line[7:].strip()
            elif line.startswith("data: ") and event:
                return event, orjson.loads(line[6:])

    assert (await next_event())[0] == "hello"
    for alert in (make_alert(alert_id="low", severity="low"), make_alert(alert_id="crit")):
        stored = console.alerts.upsert(alert, received_at=0)
        assert stored is not None
        console.alert_changed(stored)
    event, data = await next_event()
    assert event == "alert" and data["alert"]["alert_id"] == "crit" and data["matches"]
    response.close()
