"""A dispatcher killed mid-delivery loses nothing, and repeats only with the same webhook-id.

``frtwatch webhooks`` runs as a real subprocess. A slow receiver holds one
delivery open; the test waits until the group has committed everything
before it, SIGKILLs the process, restarts it, and checks that every alert
arrived, that only messages from the held one onwards were sent again, and
that a repeat carries the same webhook-id and body as the first try.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import re
import signal
import socket
import sys
import time
import urllib.request
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp import web
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from standardwebhooks.webhooks import Webhook

from streams.contract import Alert, make_alert_id
from streams.webhooks.signing import new_secret

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

FRTWATCH = Path(sys.executable).with_name("frtwatch")
T0 = 1_772_355_600.0


def make_alerts(n: int) -> list[Alert]:
    return [
        Alert(
            alert_id=make_alert_id(
                "prohibited_endpoint", "MPD", f"u{i}", "clearview.ai", T0, f"e{i}"
            ),
            detector="prohibited_endpoint",
            severity="critical",
            agency="MPD",
            user=f"u{i}",
            first_seen=T0 + i,
            last_seen=T0 + i,
            event_count=1,
            event_ids=[f"e{i}"],
            summary=f"u{i} searched clearview.ai, a prohibited FRT service",
        )
        for i in range(n)
    ]


def produce(bootstrap: str, topic: str, alerts: list[Alert]) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    try:
        for a in alerts:
            producer.send(topic, a.to_json(), key=a.alert_id.encode())
        producer.flush()
    finally:
        producer.close()


def committed(bootstrap: str, group: str, topic: str) -> int:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        offsets = admin.list_group_offsets({group: None}).get(group, {})
    finally:
        admin.close()
    return sum(meta.offset for tp, meta in offsets.items() if tp.topic == topic)


def topic_size(bootstrap: str, topic: str) -> int:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap)
    try:
        return sum(consumer.end_offsets([TopicPartition(topic, 0)]).values())
    finally:
        consumer.close()


def scrape(port: int) -> str:
    """The dispatcher's /metrics page (served on loopback)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        return response.read().decode()


class SlowReceiver:
    """Holds the delivery of one webhook-id open until ``release`` (or the sender dies)."""

    def __init__(self, hold: str) -> None:
        self.hold = hold
        self.holding = asyncio.Event()
        self.release = asyncio.Event()
        self.seen: list[tuple[str, bytes, dict[str, str], int]] = []
        self.changed = asyncio.Event()
        self.port = 0
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hook", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        headers = {k.lower(): v for k, v in request.headers.items()}
        webhook_id = headers["webhook-id"]
        if webhook_id == self.hold and not self.release.is_set():
            self.seen.append((webhook_id, body, headers, 0))  # 0: never answered
            self.holding.set()
            await self.release.wait()
        else:
            self.seen.append((webhook_id, body, headers, 204))
        self.changed.set()
        return web.Response(status=204)

    def accepted_ids(self) -> list[str]:
        return [wid for wid, _, _, status in self.seen if status == 204]


async def spawn(
    routes: Path, group: str, env: dict[str, str], log: Path, max_in_flight: int
) -> asyncio.subprocess.Process:
    """Start ``frtwatch webhooks`` with its output appended to ``log``."""
    with log.open("ab") as out:  # the child keeps its own copy of the descriptor
        return await asyncio.create_subprocess_exec(
            str(FRTWATCH), "webhooks", "--routes", str(routes), "--group", group,
            "--max-in-flight", str(max_in_flight), "--session-timeout", "6s",
            "--drain-timeout", "5s",
            env=env, stdout=out, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip


async def until(check: Callable[[], Awaitable[bool] | bool], timeout: float, what: str) -> None:
    """Poll ``check`` (sync or async) until it is true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.2)  # polling another process and the broker


@pytest.mark.parametrize("max_in_flight", [1, 64])
async def test_killed_dispatcher_loses_nothing(
    kafka_bootstrap, topic_names, create_topics, unique_name, tmp_path, max_in_flight
):
    create_topics([topic_names.alerts, topic_names.webhook_dlq], partitions=1)
    alerts = make_alerts(6)
    ids = [f"frt_{a.alert_id}_1" for a in alerts]
    held = 2
    receiver = SlowReceiver(hold=ids[held])
    await receiver.start()
    secret = new_secret()
    routes = tmp_path / "webhooks.yaml"
    routes.write_text(
        "version: 1\n"
        "routes:\n"
        "  - name: soc\n"
        f"    url: http://127.0.0.1:{receiver.port}/hook\n"
        "    secret_env: T_CRASH_SECRET\n"
        "    allow_private: true\n"
        "    delivery: {timeout: 60s, backoff_initial: 50ms, backoff_max: 200ms}\n"
    )
    env = dict(os.environ)
    env.update(
        FRTWATCH_BOOTSTRAP=kafka_bootstrap,
        FRTWATCH_TOPIC_ALERTS=topic_names.alerts,
        FRTWATCH_TOPIC_WEBHOOK_DLQ=topic_names.webhook_dlq,
        FRTWATCH_METRICS_PORT="0",
        T_CRASH_SECRET=secret,
    )
    group = f"g{unique_name}"
    log = tmp_path / "dispatcher.log"
    await asyncio.to_thread(produce, kafka_bootstrap, topic_names.alerts, alerts)
    first = await spawn(routes, group, env, log, max_in_flight)
    second = None
    try:
        await asyncio.wait_for(receiver.holding.wait(), timeout=60)

        async def before_held_committed() -> bool:
            return (
                await asyncio.to_thread(committed, kafka_bootstrap, group, topic_names.alerts)
                == held
            )

        await until(before_held_committed, 30, "the offsets before the held alert to be committed")
        if max_in_flight > 1:  # the others were delivered concurrently while one was held
            await until(lambda: len(receiver.accepted_ids()) == len(alerts) - 1, 30, "the others")
        first.send_signal(signal.SIGKILL)
        assert await first.wait() == -signal.SIGKILL
        receiver.release.set()

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            metrics_port = probe.getsockname()[1]
        env["FRTWATCH_METRICS_PORT"] = str(metrics_port)
        second = await spawn(routes, group, env, log, max_in_flight)

        async def all_committed() -> bool:
            done = await asyncio.to_thread(committed, kafka_bootstrap, group, topic_names.alerts)
            return done == len(alerts)

        await until(all_committed, 60, "every alert to be delivered and committed")
        lag_line = f'frtwatch_consumer_lag{{group="{group}",partition="0",topic="{topic_names.alerts}"}} 0.0'

        async def lag_is_zero() -> bool:
            return lag_line in await asyncio.to_thread(scrape, metrics_port)

        await until(lag_is_zero, 10, "the lag gauge to reach 0")
        text = await asyncio.to_thread(scrape, metrics_port)
        delivered = re.search(r'frtwatch_webhook_deliveries_total\{route="soc"\} (\S+)', text)
        assert delivered is not None and float(delivered.group(1)) >= len(alerts) - held
        second.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(second.wait(), timeout=30) == 0
    finally:
        for proc in (first, second):
            if proc is not None and proc.returncode is None:
                proc.kill()
                await proc.wait()
        await receiver.stop()

    accepted = receiver.accepted_ids()
    assert set(accepted) == set(ids), log.read_text()[-3000:]  # nothing lost
    # Only the held message and what came after it could be repeated ...
    repeated = {wid for wid in accepted if accepted.count(wid) > 1} | {ids[held]}
    assert repeated <= set(ids[held:])
    assert [wid for wid, *_ in receiver.seen].count(ids[held]) == 2
    if max_in_flight == 1:  # ... and with one in flight, only the held one was.
        assert sorted(wid for wid, *_ in receiver.seen) == sorted([*ids, ids[held]])
    # ... always with the same webhook-id and the same signed body.
    verifier = Webhook(secret)
    bodies: dict[str, bytes] = {}
    for wid, body, headers, _ in receiver.seen:
        assert verifier.verify(body, headers)["alert_id"] in {a.alert_id for a in alerts}
        assert bodies.setdefault(wid, body) == body
    assert await asyncio.to_thread(topic_size, kafka_bootstrap, topic_names.webhook_dlq) == 0
