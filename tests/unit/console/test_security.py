"""Sign-in behind proxies, the Origin check behind TLS termination, and what keeps a
session alive, over HTTP against the console's web app."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp.test_utils import TestClient

from streams.console.passwords import hash_password
from streams.console.security import origin_of
from streams.console.sessions import SessionStore
from tests.unit.console.console_client import (
    PASSWORD,
    account,
    client_for,
    login,
    make_console,
    page_token,
    token_in,
)


async def test_concurrent_bad_logins_get_at_most_five_verdicts() -> None:
    # A realistic hash cost, so the verifications overlap as they do in production.
    slow = account("ana", "lead", digest=hash_password(PASSWORD))
    console = make_console(slow)
    async with client_for(console) as client:
        page = await client.get("/login")
        token = token_in(await page.text())

        async def attempt():
            response = await client.post(
                "/login",
                data={"csrf_token": token, "username": "ana", "password": "wrong"},
                allow_redirects=False,
            )
            return response.status

        statuses = await asyncio.gather(*(attempt() for _ in range(20)))
    assert statuses.count(401) <= 5, statuses
    assert statuses.count(429) == 20 - statuses.count(401)


async def test_behind_a_trusted_proxy_each_client_is_throttled_alone() -> None:
    console = make_console(account("ana", "lead"), trusted_proxies=("127.0.0.1/32",))
    async with client_for(console) as client:
        attacker = {"X-Forwarded-For": "203.0.113.7"}
        for i in range(5):
            assert await login(client, f"guess{i}", "wrong", headers=attacker) == 401
        assert await login(client, "guess9", "wrong", headers=attacker) == 429
        # Someone else behind the same proxy still signs in.
        assert await login(client, "ana", headers={"X-Forwarded-For": "198.51.100.9"}) == 303


async def test_forwarded_for_is_ignored_from_an_untrusted_peer() -> None:
    console = make_console(account("ana", "lead"))  # no trusted proxies
    async with client_for(console) as client:
        for i in range(5):
            spoofed = {"X-Forwarded-For": f"203.0.113.{i}"}
            assert await login(client, f"guess{i}", "wrong", headers=spoofed) == 401
        assert await login(client, "x", "wrong", headers={"X-Forwarded-For": "192.0.2.1"}) == 429


async def test_a_client_cannot_forge_its_way_past_the_proxy() -> None:
    console = make_console(account("ana", "lead"), trusted_proxies=("127.0.0.1/32",))
    async with client_for(console) as client:
        for i in range(5):
            # The client wrote the left entry; the proxy appended the real address.
            forged = {"X-Forwarded-For": f"10.9.9.{i}, 203.0.113.7"}
            assert await login(client, f"guess{i}", "wrong", headers=forged) == 401
        again = {"X-Forwarded-For": "10.9.9.99, 203.0.113.7"}
        assert await login(client, "guess", "wrong", headers=again) == 429


async def _triage_status(client: TestClient, origin: str) -> int:
    response = await client.post(
        "/api/alerts/a1/triage",
        json={"action": "acknowledge"},
        headers={"X-CSRF-Token": await page_token(client), "Origin": origin},
    )
    return response.status


async def test_the_origin_check_honours_the_external_url(make_alert) -> None:
    console = make_console(account("ana", "lead"), external_url="https://soc.example.org/")
    console.alerts.upsert(make_alert(), received_at=0)
    async with client_for(console) as client:
        # Behind a TLS-terminating proxy: the browser is on https, we see plain http.
        page = await client.get("/login")
        signed = await client.post(
            "/login",
            data={"csrf_token": token_in(await page.text()), "username": "ana",
                  "password": PASSWORD},
            headers={"Origin": "https://soc.example.org"},
            allow_redirects=False,
        )  # fmt: skip
        assert signed.status == 303
        assert await _triage_status(client, "https://soc.example.org") == 503  # passed the gate
        local = f"http://{client.server.host}:{client.server.port}"
        assert await _triage_status(client, local) == 403
        assert await _triage_status(client, "https://evil.example") == 403


def test_origin_of_drops_default_ports_and_paths():
    assert origin_of("https://soc.example.org:443/console") == "https://soc.example.org"
    assert origin_of("http://[::1]:8080/") == "http://[::1]:8080"


@pytest.fixture
def clock() -> list[float]:
    return [1000.0]


async def test_background_polls_do_not_keep_a_session_alive(make_alert, clock) -> None:
    console = make_console(account("ana", "lead"))
    console.sessions = SessionStore(idle_s=60, clock=lambda: clock[0])
    async with client_for(console) as client:
        assert await login(client, "ana") == 303
        for _ in range(3):  # an open tab polls every 30 s
            clock[0] += 30
            response = await client.get("/api/alerts")
            if response.status != 200:
                break
        assert response.status == 401  # 90 s without a person: signed out


async def test_user_actions_keep_a_session_alive(clock) -> None:
    console = make_console(account("ana", "lead"))
    console.sessions = SessionStore(idle_s=60, clock=lambda: clock[0])
    async with client_for(console) as client:
        assert await login(client, "ana") == 303
        for _ in range(4):
            clock[0] += 40
            acted = await client.get("/api/alerts", headers={"X-Frtwatch-Action": "1"})
            assert acted.status == 200
        clock[0] += 40
        assert (await client.get("/", allow_redirects=False)).status == 200  # a page load
        clock[0] += 40
        assert (await client.get("/api/stream")).status == 200
        clock[0] += 40  # the stream request did not count: 80 s since the page load
        assert (await client.get("/api/alerts")).status == 401
