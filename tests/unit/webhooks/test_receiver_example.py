"""The receiver example in docs/WEBHOOKS.md works against what the dispatcher sends."""

from __future__ import annotations

import re
import types

import aiohttp
import pytest
from aiohttp import web

from streams.settings import PROJECT_ROOT
from streams.webhooks.signing import new_secret, signed_headers

DOC = PROJECT_ROOT / "docs" / "WEBHOOKS.md"


def load_example(secret: str, monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    text = DOC.read_text(encoding="utf-8")
    match = re.search(r"<!-- receiver-example -->\n```python\n(.*?)```", text, re.S)
    assert match, "docs/WEBHOOKS.md lost its receiver example"
    monkeypatch.setenv("FRT_WEBHOOK_SECRET", secret)
    module = types.ModuleType("receiver_example")
    exec(compile(match.group(1), str(DOC), "exec"), module.__dict__)
    return module


async def test_receiver_example_verifies_and_deduplicates(monkeypatch):
    secret = new_secret()
    example = load_example(secret, monkeypatch)
    runner = web.AppRunner(example.app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    url = f"http://127.0.0.1:{port}/hooks/frtwatch"
    body = b'{"alert_id":"a1","event_count":1}'
    try:
        async with aiohttp.ClientSession() as session:
            statuses = []
            for _ in range(2):  # the second is a redelivery with the same webhook-id
                async with session.post(
                    url, data=body, headers=signed_headers(secret, "frt_a1_1", body)
                ) as r:
                    statuses.append(r.status)
            forged = signed_headers(new_secret(), "frt_a1_2", body)
            async with session.post(url, data=body, headers=forged) as r:
                statuses.append(r.status)
    finally:
        await runner.cleanup()
    assert statuses == [204, 204, 401]
    assert example.HANDLED == [{"alert_id": "a1", "event_count": 1}]
