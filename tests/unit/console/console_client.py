"""A console over its real web app (no Kafka) and a signed-in test client, for HTTP tests."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import orjson
from aiohttp.test_utils import TestClient, TestServer

from streams.console.app import create_app
from streams.console.config import ConsoleConfig
from streams.console.passwords import hash_password
from streams.console.state import Console
from streams.console.users import Account

PASSWORD = "correct-horse"
_DIGEST = hash_password(PASSWORD, n=2**10)
EVERYWHERE = frozenset({"*"})


def account(username: str, role: str, agencies: frozenset[str] = EVERYWHERE, **kw: Any) -> Account:
    return Account(username, username.title(), kw.pop("digest", _DIGEST), role=role,
                   agencies=agencies, **kw)  # fmt: skip


def make_console(*accounts: Account, **config: Any) -> Console:
    from pathlib import Path

    return Console.build(
        ConsoleConfig(users_path=Path("unused"), **config), {a.username: a for a in accounts}
    )


def client_for(console: Console) -> TestClient:
    return TestClient(TestServer(create_app(console, with_kafka=False)))


def token_in(html: str, name: str = "csrf_token") -> str:
    match = re.search(rf'name="{name}" (?:value|content)="([^"]+)"', html)
    assert match, html
    return match.group(1)


async def login(
    client: TestClient, user: str, password: str = PASSWORD, headers: dict[str, str] | None = None
) -> int:
    page = await client.get("/login")
    response = await client.post(
        "/login",
        data={"csrf_token": token_in(await page.text()), "username": user, "password": password},
        headers=headers or {},
        allow_redirects=False,
    )
    return response.status


async def page_token(client: TestClient) -> str:
    return token_in(await (await client.get("/")).text(), "csrf-token")


async def next_event(response: Any, timeout: float = 5.0) -> tuple[str, dict[str, Any]]:
    """The next server-sent event of a stream response; ("eof", {}) when it ended."""
    event = ""
    while True:
        line = (await asyncio.wait_for(response.content.readline(), timeout)).decode()
        if not line:
            return "eof", {}
        if line.startswith("event: "):
            event = line[7:].strip()
        elif line.startswith("data: ") and event:
            return event, orjson.loads(line[6:])
