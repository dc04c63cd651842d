"""The console asks the worker's /status whether behaviour detection is warming up."""

from __future__ import annotations

import socket

from streams.console.worker_status import WorkerStatus
from streams.health import Health, serve
from tests.unit.console.console_client import account, client_for, login, make_console

WARMUP = {"state": "warmup", "detail": "none yet: behaviour detection warming up"}


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _meta_behavior(url: str) -> dict[str, str]:
    console = make_console(account("ana", "analyst"), worker_status_url=url)
    async with client_for(console) as client:
        assert await login(client, "ana") == 303
        feed = await (await client.get("/")).text()
        assert 'id="behavior-warmup"' in feed and "warming up" in feed
        meta = await (await client.get("/api/meta")).json()
        return dict(meta["behavior"])


async def test_the_meta_api_carries_the_workers_behaviour_state() -> None:
    ops = serve("127.0.0.1", 0, Health(status={"behavior": dict(WARMUP)}))
    try:
        assert await _meta_behavior(f"{ops.url}/status") == WARMUP
    finally:
        ops.close()


async def test_without_a_url_or_an_answer_the_state_is_unknown() -> None:
    unset = await _meta_behavior("")
    assert unset["state"] == "unknown" and "--worker-status" in unset["detail"]
    url = f"http://127.0.0.1:{_closed_port()}/status"
    silent = await _meta_behavior(url)
    assert silent == {"state": "unknown", "detail": f"the worker's status at {url} does not answer"}


async def test_a_status_without_a_behaviour_state_is_unknown() -> None:
    ops = serve("127.0.0.1", 0, Health())  # e.g. the webhook dispatcher's
    try:
        behavior = await WorkerStatus(f"{ops.url}/status").behavior()
        assert behavior["state"] == "unknown"
        missing = await WorkerStatus(f"{ops.url}/nothing").behavior()
        assert missing["state"] == "unknown" and "answered 404" in missing["detail"]
    finally:
        ops.close()


async def test_the_answer_is_kept_for_a_while() -> None:
    health = Health(status={"behavior": dict(WARMUP)})
    ops = serve("127.0.0.1", 0, health)
    try:
        status = WorkerStatus(f"{ops.url}/status", max_age_s=60.0)
        assert (await status.behavior())["state"] == "warmup"
        health.status["behavior"] = {"state": "scoring", "detail": "m.skops"}
        assert (await status.behavior())["state"] == "warmup"  # cached
        fresh = WorkerStatus(f"{ops.url}/status", max_age_s=0.0)
        assert (await fresh.behavior())["state"] == "scoring"
    finally:
        ops.close()
