"""Webhook delivery end to end: real broker, real HTTP receivers on loopback.

Alerts are produced with kafka-python as ``frt.alert.v1`` JSON built by
``streams.contract.Alert``; the dispatcher runs in this process against its
own consumer group; receivers are aiohttp servers started by each test; the
dead-letter topic is read back from Kafka.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest
from aiohttp import web
from aiokafka import AIOKafkaConsumer
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from prometheus_client import REGISTRY
from standardwebhooks.webhooks import Webhook

from streams.contract import Alert, make_alert_id
from streams.settings import Settings, TopicNames
from streams.webhooks.dispatcher import Dispatcher, DispatcherOptions
from streams.webhooks.routes import DeliverySettings, Route, WebhookConfig
from streams.webhooks.signing import new_secret

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]

T0 = 1_772_355_600.0  # 2026-03-01T09:00:00Z
FAST = DeliverySettings(
    timeout_s=3.0, max_attempts=5, backoff_initial_s=0.05, backoff_max_s=0.2, retry_after_max_s=5.0
)


# --- alerts on Kafka ------------------------------------------------------------------------


def alert(
    user: str = "u7",
    count: int = 1,
    *,
    detector: str = "prohibited_endpoint",
    severity: str = "critical",
    agency: str = "MPD",
    status: str = "open",
) -> Alert:
    """An alert; the same user/detector/agency always gives the same alert_id."""
    return Alert(
        alert_id=make_alert_id(detector, agency, user, "app.clearview.ai", T0, "e1"),
        detector=detector,
        severity=severity,
        agency=agency,
        user=user,
        first_seen=T0,
        last_seen=T0 + 10 * count,
        event_count=count,
        event_ids=[f"{user}-e{i}" for i in range(count)],
        summary=f"{user} searched app.clearview.ai, a prohibited FRT service ({count}x)",
        details={"endpoint": "https://app.clearview.ai/search", "host": "app.clearview.ai"},
        status=status,
    )


def wid(a: Alert) -> str:
    return f"frt_{a.alert_id}_{a.event_count}" + ("_closed" if a.status == "closed" else "")


async def produce(bootstrap: str, topic: str, messages: Iterable[Alert | bytes]) -> None:
    """Publish alerts (keyed by alert_id) or raw bytes, in order, with kafka-python."""

    def send() -> None:
        producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
        try:
            for message in messages:
                if isinstance(message, Alert):
                    producer.send(topic, message.to_json(), key=message.alert_id.encode())
                else:
                    producer.send(topic, message, key=b"junk")
            producer.flush()
        finally:
            producer.close()

    await asyncio.to_thread(send)


async def read_topic(
    bootstrap: str, topic: str, expected: int, timeout: float = 20.0
) -> list[dict[str, Any]]:
    """Every record of ``topic`` once ``expected`` are there (or whatever is there at timeout)."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest"
    )
    await consumer.start()
    out: list[dict[str, Any]] = []
    try:
        deadline = time.monotonic() + timeout
        while len(out) < expected and time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=200)
            for records in batches.values():
                out.extend(orjson.loads(r.value) for r in records)
        # One more short poll so a surplus record would be noticed too.
        for records in (await consumer.getmany(timeout_ms=300)).values():
            out.extend(orjson.loads(r.value) for r in records)
    finally:
        await consumer.stop()
    return out


def topic_size(bootstrap: str, topic: str) -> int:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap)
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        return sum(consumer.end_offsets(partitions).values())
    finally:
        consumer.close()


def committed_total(bootstrap: str, group: str, topic: str) -> int:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        offsets = admin.list_group_offsets({group: None}).get(group, {})
    finally:
        admin.close()
    return sum(meta.offset for tp, meta in offsets.items() if tp.topic == topic)


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


# --- receivers ------------------------------------------------------------------------------


@dataclass
class Seen:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float
    status: int

    @property
    def webhook_id(self) -> str:
        return self.headers.get("webhook-id", "")

    def json(self) -> Any:
        return orjson.loads(self.body)


Responder = Callable[[web.Request, list[Seen]], Awaitable[web.StreamResponse]]


async def ok(_: web.Request, __: list[Seen]) -> web.StreamResponse:
    return web.Response(status=200, text="ok")


@dataclass
class Receiver:
    """An aiohttp server on 127.0.0.1 that records every request and answers per script."""

    respond: Responder = ok
    port: int = 0
    seen: list[Seen] = field(default_factory=list)
    _runner: web.AppRunner | None = None
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def start(self) -> Receiver:
        app = web.Application()
        app.router.add_route("POST", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def url(self, path: str = "/hook", host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        entry = Seen(
            request.path,
            {k.lower(): v for k, v in request.headers.items()},
            body,
            time.monotonic(),
            0,
        )
        previous = list(self.seen)
        self.seen.append(entry)
        response = await self.respond(request, previous)
        entry.status = response.status
        async with self._changed:
            self._changed.notify_all()
        return response

    async def wait_for(
        self, predicate: Callable[[list[Seen]], bool], timeout: float = 20.0
    ) -> None:
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: predicate(self.seen)), timeout)

    def accepted(self) -> list[Seen]:
        return [s for s in self.seen if 200 <= s.status < 300]


@contextlib.asynccontextmanager
async def receiving(respond: Responder = ok, port: int = 0) -> AsyncIterator[Receiver]:
    receiver = await Receiver(respond=respond, port=port).start()
    try:
        yield receiver
    finally:
        await receiver.stop()


# --- the dispatcher -------------------------------------------------------------------------


@pytest.fixture
def topics(topic_names: TopicNames, create_topics: Callable[..., None]) -> TopicNames:
    create_topics([topic_names.alerts], partitions=2)
    create_topics([topic_names.webhook_dlq], partitions=1)
    return topic_names


@pytest.fixture
def settings(kafka_bootstrap: str, topics: TopicNames) -> Settings:
    return Settings(bootstrap=kafka_bootstrap, topics=topics)


@contextlib.asynccontextmanager
async def dispatching(
    settings: Settings, routes: list[Route], group: str
) -> AsyncIterator[Dispatcher]:
    config = WebhookConfig(source=settings.policy_path, routes=tuple(routes))
    options = DispatcherOptions(group_id=group, session_timeout_s=6.0, drain_timeout_s=5.0)
    dispatcher = Dispatcher(config, settings, options)
    stop = asyncio.Event()
    task = asyncio.create_task(dispatcher.run(stop))
    try:
        yield dispatcher
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=30)


def route(name: str, url: str, **kwargs: Any) -> Route:
    kwargs.setdefault("allow_private", True)
    kwargs.setdefault("delivery", FAST)
    return Route(name=name, url=url, **kwargs)


async def wait_committed(
    bootstrap: str, group: str, topic: str, total: int, timeout: float = 15.0
) -> None:
    deadline = time.monotonic() + timeout
    while True:
        done = await asyncio.to_thread(committed_total, bootstrap, group, topic)
        if done >= total or time.monotonic() > deadline:
            assert done == total, f"committed {done} of {total}"
            return
        await asyncio.sleep(0.2)  # polling the broker for a commit made by another task


# --- tests ----------------------------------------------------------------------------------


async def test_signed_native_delivery_in_order_with_offsets_committed(settings, unique_name):
    secret = new_secret()
    a1, b1, a2 = alert("u1", 1), alert("u2", 1), alert("u1", 2)
    group = f"g{unique_name}"
    before = metric("frtwatch_webhook_deliveries_total", route="native")
    async with receiving() as rx:
        await produce(settings.bootstrap, settings.topics.alerts, [a1, b1, a2])
        async with dispatching(settings, [route("native", rx.url(), secret=secret)], group):
            await rx.wait_for(lambda seen: len(seen) >= 3)
            await wait_committed(settings.bootstrap, group, settings.topics.alerts, 3)
    verifier = Webhook(secret)
    by_id = {}
    for seen in rx.seen:
        assert verifier.verify(seen.body, seen.headers) == orjson.loads(seen.body)
        assert seen.headers["content-type"] == "application/json"
        assert seen.headers["user-agent"].startswith("frtwatch-webhooks/")
        by_id[seen.webhook_id] = seen
    assert len(rx.seen) == 3 and set(by_id) == {wid(a1), wid(b1), wid(a2)}
    # native = the alert exactly as it was on the topic
    assert by_id[wid(a2)].body == a2.to_json()
    # the update of u1's alert arrived after its first message
    assert by_id[wid(a1)].at < by_id[wid(a2)].at
    assert metric("frtwatch_webhook_deliveries_total", route="native") - before == 3


async def test_flaky_receiver_gets_every_alert_once_per_webhook_id(settings, unique_name):
    """Refused connections, then 503, then 429 + Retry-After: 1 s, then 200."""
    secret = new_secret()
    alerts = [alert(f"u{i}") for i in range(5)]
    with socket.socket() as probe:  # a free port with nobody listening: connections refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    async def script(request: web.Request, previous: list[Seen]) -> web.StreamResponse:
        tries = sum(1 for s in previous if s.webhook_id == request.headers["webhook-id"])
        if tries == 0:
            return web.Response(status=503, text="maintenance")
        if tries == 1:
            return web.Response(status=429, headers={"Retry-After": "1"}, text="slow down")
        return web.Response(status=200)

    group = f"g{unique_name}"
    flaky = route("flaky", f"http://127.0.0.1:{port}/hook", secret=secret,
                  delivery=DeliverySettings(timeout_s=3.0, max_attempts=60, backoff_initial_s=0.05,
                                            backoff_max_s=0.2, retry_after_max_s=5.0))  # fmt: skip
    refused_before = metric("frtwatch_webhook_retries_total", route="flaky", cause="connection")
    await produce(settings.bootstrap, settings.topics.alerts, alerts)
    async with dispatching(settings, [flaky], group):
        deadline = time.monotonic() + 20
        while (
            metric("frtwatch_webhook_retries_total", route="flaky", cause="connection")
            < refused_before + 5
        ):
            assert time.monotonic() < deadline, "the dispatcher never tried the closed port"
            await asyncio.sleep(0.05)  # waiting for real connection attempts to a closed port
        async with receiving(script, port=port) as rx:
            await rx.wait_for(lambda seen: len([s for s in seen if s.status == 200]) >= 5)
            await wait_committed(settings.bootstrap, group, settings.topics.alerts, 5)
    accepted = [s.webhook_id for s in rx.accepted()]
    assert sorted(accepted) == sorted(wid(a) for a in alerts)  # every alert, one per webhook-id
    verifier = Webhook(secret)
    for a in alerts:
        attempts = [s for s in rx.seen if s.webhook_id == wid(a)]
        assert [s.status for s in attempts] == [503, 429, 200]
        # Retry-After: 1 was honoured although the backoff alone is 0.05-0.2 s
        assert attempts[2].at - attempts[1].at >= 0.95
        assert attempts[1].at - attempts[0].at < 0.9
        for s in attempts:
            verifier.verify(s.body, s.headers)
    assert await asyncio.to_thread(topic_size, settings.bootstrap, settings.topics.webhook_dlq) == 0


async def test_dead_letter_after_the_last_attempt(settings, unique_name):
    async def failing(_: web.Request, __: list[Seen]) -> web.StreamResponse:
        return web.Response(status=500, text="boom")

    a, b = alert("u1"), alert("u2", severity="high")
    retries = DeliverySettings(
        timeout_s=3.0, max_attempts=3, backoff_initial_s=0.05, backoff_max_s=0.1
    )
    group = f"g{unique_name}"
    async with receiving(failing) as rx:
        await produce(settings.bootstrap, settings.topics.alerts, [a, b])
        async with dispatching(
            settings, [route("siem", rx.url(), secret=new_secret(), delivery=retries)], group
        ):
            dead = await read_topic(settings.bootstrap, settings.topics.webhook_dlq, 2)
            await wait_committed(settings.bootstrap, group, settings.topics.alerts, 2)
    assert len(dead) == 2
    by_alert = {d["alert_id"]: d for d in dead}
    for original in (a, b):
        record = by_alert[original.alert_id]
        assert record["schema"] == "frt.webhook-dlq.v1"
        assert record["route"] == "siem" and record["target"] == f"http://127.0.0.1:{rx.port}"
        assert record["reason"] == "retries_exhausted" and record["attempts"] == 3
        assert record["last_status"] == 500 and "HTTP 500" in record["error"]
        assert record["webhook_id"] == wid(original)
        assert record["alert"] == original.to_dict()
        assert record["source"]["topic"] == settings.topics.alerts
        assert [s.webhook_id for s in rx.seen].count(wid(original)) == 3


async def test_gone_disables_the_route_and_the_rest_is_dead_lettered(settings, unique_name):
    async def gone(_: web.Request, __: list[Seen]) -> web.StreamResponse:
        return web.Response(status=410, text="this hook was deleted")

    alerts = [alert(f"u{i}") for i in range(3)]
    one_at_a_time = DeliverySettings(
        timeout_s=3.0, max_attempts=5, backoff_initial_s=0.05, concurrency=1
    )
    async with receiving(gone) as rx_gone, receiving() as rx_ok:
        await produce(settings.bootstrap, settings.topics.alerts, alerts)
        routes = [
            route("retired", rx_gone.url(), secret=new_secret(), delivery=one_at_a_time),
            route("healthy", rx_ok.url(), secret=new_secret()),
        ]
        async with dispatching(settings, routes, f"g{unique_name}"):
            dead = await read_topic(settings.bootstrap, settings.topics.webhook_dlq, 3)
            await rx_ok.wait_for(lambda seen: len(seen) >= 3)
            assert metric("frtwatch_webhook_route_enabled", route="retired") == 0.0
    assert len(rx_gone.seen) == 1  # after the 410 nothing else was sent there
    assert sorted(s.webhook_id for s in rx_ok.seen) == sorted(wid(a) for a in alerts)
    assert sorted(d["reason"] for d in dead) == ["gone", "route_disabled", "route_disabled"]
    assert {d["route"] for d in dead} == {"retired"}
    assert sorted(d["alert_id"] for d in dead) == sorted(a.alert_id for a in alerts)


async def test_redirects_are_not_followed(settings, unique_name):
    async def redirect(request: web.Request, _: list[Seen]) -> web.StreamResponse:
        if request.path == "/hook":
            return web.Response(status=307, headers={"Location": "/elsewhere"})
        return web.Response(status=200)

    a = alert()
    async with receiving(redirect) as rx:
        await produce(settings.bootstrap, settings.topics.alerts, [a])
        async with dispatching(
            settings, [route("moved", rx.url(), secret=new_secret())], f"g{unique_name}"
        ):
            (record,) = await read_topic(settings.bootstrap, settings.topics.webhook_dlq, 1)
    assert [s.path for s in rx.seen] == ["/hook"]
    assert record["reason"] == "redirect" and record["attempts"] == 1
    assert "307" in record["error"] and "/elsewhere" in record["error"]


async def test_private_targets_are_refused_unless_the_route_allows_them(settings, unique_name):
    a = alert()
    async with receiving() as rx:
        await produce(settings.bootstrap, settings.topics.alerts, [a])
        routes = [
            # a host *name* that resolves to loopback: refused at connect time
            route(
                "blocked",
                rx.url("/blocked", host="localhost"),
                secret=new_secret(),
                allow_private=False,
            ),
            route(
                "allowed",
                rx.url("/allowed", host="localhost"),
                secret=new_secret(),
                allow_private=True,
            ),
        ]
        async with dispatching(settings, routes, f"g{unique_name}"):
            (record,) = await read_topic(settings.bootstrap, settings.topics.webhook_dlq, 1)
            await rx.wait_for(lambda seen: len(seen) >= 1)
    assert [s.path for s in rx.seen] == ["/allowed"]
    assert record["route"] == "blocked" and record["reason"] == "refused_target"
    assert record["attempts"] == 1 and "loopback" in record["error"]


async def test_ocsf_slack_and_pagerduty_on_the_wire(settings, unique_name):
    a1, a2 = alert("u1", 1), alert("u1", 2)
    low = alert("u9", detector="missing_case_number", severity="low", agency="CSO")
    secret = new_secret()
    async with receiving() as siem, receiving() as slack, receiving() as pd:
        await produce(settings.bootstrap, settings.topics.alerts, [a1, low, a2])
        routes = [
            route("siem", siem.url(), format="ocsf", secret=secret),
            route("slack", slack.url(), format="slack"),  # default: first message only
            route("pd", pd.url(), format="pagerduty", routing_key="R0UT1NG", min_severity="high"),
        ]
        async with dispatching(settings, routes, f"g{unique_name}"):
            await siem.wait_for(lambda seen: len(seen) >= 3)
            await slack.wait_for(lambda seen: len(seen) >= 2)
            await pd.wait_for(lambda seen: len(seen) >= 2)
    findings = {s.webhook_id: Webhook(secret).verify(s.body, s.headers) for s in siem.seen}
    assert set(findings) == {wid(a1), wid(a2), wid(low)}
    for finding in findings.values():
        for name in ("class_uid", "category_uid", "activity_id", "type_uid", "time", "severity_id", "metadata", "finding_info"):  # fmt: skip
            assert name in finding
        assert finding["class_uid"] == 2004 and finding["category_uid"] == 2
        assert finding["type_uid"] == 200400 + finding["activity_id"]
        assert (
            finding["metadata"]["product"]["name"] == "frtwatch" and finding["metadata"]["version"]
        )
        assert finding["finding_info"]["uid"] and finding["finding_info"]["title"]
    assert findings[wid(a1)]["activity_id"] == 1 and findings[wid(a2)]["activity_id"] == 2
    assert findings[wid(a2)]["finding_info"]["uid"] == a1.alert_id
    assert findings[wid(low)]["severity_id"] == 2

    assert sorted(s.webhook_id for s in slack.seen) == sorted([wid(a1), wid(low)])
    for s in slack.seen:
        message = s.json()
        assert isinstance(message["text"], str) and message["blocks"][0]["type"] == "header"
        assert "webhook-signature" not in s.headers  # Slack authenticates by its secret URL

    events = [s.json() for s in pd.seen]
    assert [e["dedup_key"] for e in events] == [a1.alert_id, a1.alert_id]  # low was filtered
    for e in events:
        assert e["routing_key"] == "R0UT1NG" and e["event_action"] == "trigger"
        assert e["payload"]["severity"] == "critical" and e["payload"]["source"] == "frtwatch/MPD"


async def test_routes_get_the_phases_they_ask_for_and_pagerduty_resolves(settings, unique_name):
    """One alert's life on the topic: opened, two updates, closed at the last count."""
    life = [alert("u1", 1), alert("u1", 2), alert("u1", 4), alert("u1", 4, status="closed")]
    secret = new_secret()
    receivers = ("opens", "updates", "closes", "siem", "slack", "pd")
    async with contextlib.AsyncExitStack() as stack:
        rx = {name: await stack.enter_async_context(receiving()) for name in receivers}
        await produce(settings.bootstrap, settings.topics.alerts, life)
        routes = [
            route("opens", rx["opens"].url(), secret=secret, updates=frozenset({"open"})),
            route("updates", rx["updates"].url(), secret=secret, updates=frozenset({"update"})),
            route("closes", rx["closes"].url(), secret=secret, updates=frozenset({"close"})),
            route("siem", rx["siem"].url(), format="ocsf", secret=secret),  # every version
            route("slack", rx["slack"].url(), format="slack"),  # default: open and close
            route("pd", rx["pd"].url(), format="pagerduty", routing_key="R0UT1NG"),
        ]
        group = f"g{unique_name}"
        async with dispatching(settings, routes, group):
            await wait_committed(settings.bootstrap, group, settings.topics.alerts, len(life))
    got = {name: [s.webhook_id for s in rx[name].seen] for name in receivers}
    assert got["opens"] == [wid(life[0])]
    assert got["updates"] == [wid(life[1]), wid(life[2])]
    assert got["closes"] == [wid(life[3])]
    assert got["siem"] == [wid(a) for a in life] and len(set(got["siem"])) == 4
    assert got["slack"] == [wid(life[0]), wid(life[3])]
    assert [orjson.loads(s.body)["activity_id"] for s in rx["siem"].seen] == [1, 2, 2, 3]
    assert rx["slack"].seen[1].json()["blocks"][0]["text"]["text"].startswith("Closed (4 events)")
    events = [s.json() for s in rx["pd"].seen]
    assert [e["event_action"] for e in events] == ["trigger", "trigger", "trigger", "resolve"]
    assert {e["dedup_key"] for e in events} == {life[0].alert_id}


async def test_first_message_is_remembered_across_a_restart(settings, unique_name):
    a1, a2 = alert("u1", 1), alert("u1", 2)
    secret = new_secret()
    group = f"g{unique_name}"
    async with receiving() as siem, receiving() as slack:
        routes = [
            route("siem", siem.url(), format="ocsf", secret=secret),
            route("slack", slack.url(), format="slack"),
        ]
        await produce(settings.bootstrap, settings.topics.alerts, [a1])
        async with dispatching(settings, routes, group):
            await siem.wait_for(lambda seen: len(seen) >= 1)
            await wait_committed(settings.bootstrap, group, settings.topics.alerts, 1)
        await produce(settings.bootstrap, settings.topics.alerts, [a2])
        async with dispatching(settings, routes, group):
            await siem.wait_for(lambda seen: len(seen) >= 2)
            await wait_committed(settings.bootstrap, group, settings.topics.alerts, 2)
    activities = [orjson.loads(s.body)["activity_id"] for s in siem.seen]
    assert activities == [1, 2]  # the second run knew a2 is an update
    assert [s.webhook_id for s in slack.seen] == [wid(a1)]  # and did not post it to Slack again


async def test_invalid_messages_are_dead_lettered_and_delivery_goes_on(settings, unique_name):
    junk = b'{"schema":"frt.alert.v1","alert_id":"x"}'
    a = alert()
    async with receiving() as rx:
        await produce(settings.bootstrap, settings.topics.alerts, [junk, b"\xff not json", a])
        async with dispatching(
            settings, [route("siem", rx.url(), secret=new_secret())], f"g{unique_name}"
        ):
            dead = await read_topic(settings.bootstrap, settings.topics.webhook_dlq, 2)
            await rx.wait_for(lambda seen: len(seen) >= 1)
    assert [s.webhook_id for s in rx.seen] == [wid(a)]
    assert sorted(base64.b64decode(d["raw_base64"]) for d in dead) == sorted(
        [junk, b"\xff not json"]
    )
    assert {d["reason"] for d in dead} == {"invalid_alert"} and all(
        d["route"] is None for d in dead
    )


async def test_request_timeout_is_retried(settings, unique_name):
    release = asyncio.Event()

    async def stalls_once(request: web.Request, previous: list[Seen]) -> web.StreamResponse:
        if not any(s.webhook_id == request.headers["webhook-id"] for s in previous):
            await release.wait()  # the first attempt never gets an answer in time
        return web.Response(status=200)

    a = alert()
    quick = DeliverySettings(
        timeout_s=0.5, max_attempts=3, backoff_initial_s=0.05, backoff_max_s=0.1
    )
    before = metric("frtwatch_webhook_retries_total", route="stalled", cause="timeout")
    async with receiving(stalls_once) as rx:
        await produce(settings.bootstrap, settings.topics.alerts, [a])
        try:
            async with dispatching(
                settings,
                [route("stalled", rx.url(), secret=new_secret(), delivery=quick)],
                f"g{unique_name}",
            ):
                await rx.wait_for(lambda seen: any(s.status == 200 for s in seen))
        finally:
            release.set()
    assert [s.webhook_id for s in rx.seen] == [wid(a), wid(a)]
    assert rx.seen[1].at - rx.seen[0].at >= 0.5  # the dispatcher gave up on the first after 0.5 s
    assert metric("frtwatch_webhook_retries_total", route="stalled", cause="timeout") - before == 1


async def test_concurrency_per_route_is_bounded(settings, unique_name):
    active = 0
    peak = 0
    overlap = asyncio.Event()

    async def tracks_overlap(_: web.Request, __: list[Seen]) -> web.StreamResponse:
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        if active >= 2:
            overlap.set()
        # Hold each request until another overlaps it (or briefly), so an unbounded
        # dispatcher would pile up every alert here at once.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(overlap.wait(), timeout=0.3)
        await asyncio.sleep(0.05)  # stay busy a moment so a third request could overlap
        active -= 1
        return web.Response(status=200)

    alerts = [alert(f"u{i}") for i in range(8)]
    two = DeliverySettings(timeout_s=3.0, max_attempts=2, backoff_initial_s=0.05, concurrency=2)
    async with receiving(tracks_overlap) as rx:
        await produce(settings.bootstrap, settings.topics.alerts, alerts)
        async with dispatching(
            settings,
            [route("bounded", rx.url(), secret=new_secret(), delivery=two)],
            f"g{unique_name}",
        ):
            await rx.wait_for(lambda seen: len([s for s in seen if s.status == 200]) >= 8)
    assert peak == 2


async def test_an_oversized_invalid_alert_is_dead_lettered_cut_and_delivery_goes_on(
    settings, unique_name
):
    # ~800 KB is within the broker's 1 MiB limit, but a third larger once in base64.
    junk = b'{"schema":"frt.alert.v1","padding":"' + b"p" * 800_000 + b'"}'
    a = alert()
    async with receiving() as rx:
        await produce(settings.bootstrap, settings.topics.alerts, [junk, a])
        async with dispatching(
            settings, [route("siem", rx.url(), secret=new_secret())], f"g{unique_name}"
        ):
            dead = await read_topic(settings.bootstrap, settings.topics.webhook_dlq, 1)
            await rx.wait_for(lambda seen: len(seen) >= 1)
    assert [s.webhook_id for s in rx.seen] == [wid(a)]
    (letter,) = dead
    assert letter["reason"] == "invalid_alert" and letter["raw_bytes"] == len(junk)
    assert junk.startswith(base64.b64decode(letter["raw_base64"]))
    assert letter["truncated_from"] > 1024 * 1024
