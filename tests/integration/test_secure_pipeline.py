"""The whole pipeline over SASL_SSL, each component as its own least-privileged principal.

The broker is the project's secured one (``frtwatch kafka up --secure``, started by the
``secure_broker`` fixture): TLS with a CA made for this session, SCRAM-SHA-512 users,
``StandardAuthorizer`` with no access unless an ACL grants it. The components run as
the real CLI in subprocesses, configured only through ``FRTWATCH_KAFKA_*`` variables
(passwords from files):

shipper ``frtwatch produce`` → worker → ``frt.alerts`` → dispatcher → an HTTP receiver
on loopback; console (its HTTP API shows the alert); replay of the range (same alerts).

And what must not work: the console writing alerts, the read-only replay principal
writing a triage record, a plaintext client on the secured port, a wrong password or an
untrusted CA (one line naming the setting).
"""

from __future__ import annotations

import asyncio
import http.server
import json
import os
import re
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping
from http.cookiejar import CookieJar
from pathlib import Path
from typing import Any

import orjson
import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import TopicAuthorizationFailedError

from streams import broker_tls
from streams import secure_broker as secured
from streams.kafka_acls import CONSOLE, DISPATCHER, REPLAY, SHIPPER, TRAINER, WORKER
from streams.kafka_client import KafkaSecurity
from streams.localbroker import BrokerConfig
from streams.settings import TopicNames
from streams.webhooks.signing import new_secret
from tests.browser.console_harness import PASSWORD, free_port, write_users_file
from tests.conftest import ROOT
from tests.integration.worker_harness import (
    FRTWATCH,
    dumps,
    policy_without_behavior,
    search,
    start_worker,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

TOPICS = TopicNames()  # the default names, which the broker's ACLs were made for
APP_ID = "frtwatch"


def env_as(cfg: BrokerConfig, principal: str, **extra: str) -> dict[str, str]:
    """A process environment that connects as ``principal`` and nothing else."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRTWATCH_")}
    env.update(secured.client_env(cfg, principal), PYTHONUNBUFFERED="1")
    env.update(extra)
    return env


def run(
    cfg: BrokerConfig, principal: str, *args: str, **extra: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(FRTWATCH), *args], env=env_as(cfg, principal, **extra),
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def read_all(cfg: BrokerConfig, topic: str, principal: str = "admin") -> list[Any]:
    """Every record of ``topic`` up to its current end, read as ``principal``."""
    security = secured.client_security(cfg, principal)
    consumer = KafkaConsumer(bootstrap_servers=cfg.bootstrap, **security.kafka_python())
    try:
        tps = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        ends = consumer.end_offsets(tps)
        records: list[Any] = []
        deadline = time.monotonic() + 30
        while any(consumer.position(tp) < end for tp, end in ends.items()):
            assert time.monotonic() < deadline, f"could not read {topic} to its end"
            for batch in consumer.poll(timeout_ms=300).values():
                records.extend(batch)
        return records
    finally:
        consumer.close()


def wait_for(what: str, check: Any, timeout: float = 60.0, every: float = 0.5) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(every)


def http_status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0


class Receiver:
    """A real HTTP server on loopback that records every webhook delivery."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        received = self.bodies

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                received.append(json.loads(self.rfile.read(length)))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Processes:
    """Background CLI processes, each logging to its own file; all stopped at the end."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.running: list[tuple[subprocess.Popen[bytes], Path]] = []

    def start(self, name: str, args: list[str], env: Mapping[str, str]) -> subprocess.Popen[bytes]:
        log = self.tmp / f"{name}.log"
        with log.open("ab") as out:
            proc = subprocess.Popen([str(FRTWATCH), *args], env=dict(env), stdout=out,
                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)  # fmt: skip
        self.running.append((proc, log))
        return proc

    def stop_all(self) -> None:
        for proc, _ in self.running:
            if proc.poll() is None:
                proc.terminate()
        for proc, _ in self.running:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Processes]:
    procs = Processes(tmp_path)
    yield procs
    procs.stop_all()


def console_session(base: str) -> urllib.request.OpenerDirector:
    """Log in to the console as an analyst (its form and CSRF token, as a browser does)."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
    page = opener.open(f"{base}/login", timeout=10).read().decode()
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token, page
    form = {"csrf_token": token.group(1), "username": "analyst", "password": PASSWORD, "next": "/"}
    opener.open(f"{base}/login", urllib.parse.urlencode(form).encode(), timeout=10).read()
    return opener


def test_the_pipeline_runs_over_sasl_ssl_with_each_component_least_privileged(
    secure_broker: BrokerConfig, tmp_path: Path, processes: Processes
) -> None:
    cfg = secure_broker
    events = [search("u-secure", "MPD", n, endpoint="https://app.clearview.ai/search")
              for n in range(1, 4)]  # fmt: skip
    events.append(search("u-other", "MPD", 5))
    events_file = tmp_path / "events.jsonl"
    events_file.write_bytes(b"\n".join(dumps(e) for e in events) + b"\n")

    # An agency's shipper produces the events.
    done = run(cfg, SHIPPER, "produce", str(events_file), "--no-progress")
    assert done.returncode == 0, done.stderr
    assert len(read_all(cfg, TOPICS.events)) == len(events)

    # The worker, as its own principal.
    policy = policy_without_behavior(ROOT / "config" / "policy.yaml", tmp_path / "policy.yaml")
    worker = start_worker(
        bootstrap=cfg.bootstrap, topics=TOPICS, app_id=APP_ID, data_dir=tmp_path / "worker-data",
        policy=policy, log_path=tmp_path / "worker.log",
        extra_env=secured.client_env(cfg, WORKER),
    )  # fmt: skip
    try:
        worker.wait_ready(timeout=90)
        alerts = wait_for(
            "the prohibited-endpoint alert on frt.alerts",
            lambda: [orjson.loads(r.value) for r in read_all(cfg, TOPICS.alerts)
                     if orjson.loads(r.value)["detector"] == "prohibited_endpoint"],
        )  # fmt: skip
    finally:
        worker.stop()
    alert_ids = {a["alert_id"] for a in alerts}
    assert {a["user"] for a in alerts} == {"u-secure"}

    # The webhook dispatcher delivers it to a real HTTP receiver.
    receiver = Receiver()
    try:
        routes = tmp_path / "routes.yaml"
        routes.write_text(
            "version: 1\nroutes:\n  - name: soc\n"
            f"    url: {receiver.url}\n    format: native\n    secret_env: FRT_TEST_SECRET\n"
            "    allow_private: true\n",
            encoding="utf-8",
        )
        processes.start(
            "webhooks", ["webhooks", "--routes", str(routes)],
            env_as(cfg, DISPATCHER, FRT_TEST_SECRET=new_secret(),
                   FRTWATCH_METRICS_PORT=str(ops_port := free_port())),
        )  # fmt: skip
        delivered = wait_for(
            "the webhook delivery",
            lambda: {body["alert_id"] for body in receiver.bodies} & alert_ids,
        )  # fmt: skip
        assert delivered == alert_ids
        # The dispatcher's health and metrics (what compose and Prometheus look at).
        ops = f"http://127.0.0.1:{ops_port}"
        wait_for("the dispatcher's readiness", lambda: http_status(f"{ops}/readyz") == 200)
        assert http_status(f"{ops}/livez") == 200
        with urllib.request.urlopen(f"{ops}/metrics", timeout=5) as response:
            scraped = response.read().decode()
        assert re.search(r'^frtwatch_webhook_deliveries_total\{route="soc"\} [1-9]', scraped, re.M)
    finally:
        receiver.close()

    # The console reads the alert (and the events) and shows it over HTTP.
    users = write_users_file(tmp_path / "users.yaml")
    port = free_port()
    processes.start(
        "console", ["console", "--port", str(port), "--users", str(users)], env_as(cfg, CONSOLE)
    )
    base = f"http://127.0.0.1:{port}"

    def console_ready() -> bool:
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=2) as response:
                return bool(json.loads(response.read()).get("ready"))
        except OSError:
            return False

    wait_for("the console to be ready", console_ready, timeout=60)
    session = console_session(base)
    listed = json.loads(session.open(f"{base}/api/alerts", timeout=10).read())
    assert alert_ids <= {a["alert_id"] for a in listed["alerts"]}
    # ...and writes triage, which its principal may: the record is on frt.triage.history.
    page = session.open(f"{base}/", timeout=10).read().decode()
    token = re.search(r'name="csrf-token" content="([^"]+)"', page)
    assert token, page
    target = sorted(alert_ids)[0]
    request = urllib.request.Request(
        f"{base}/api/alerts/{target}/triage", data=b'{"action": "acknowledge"}', method="POST",
        headers={"Content-Type": "application/json", "X-CSRF-Token": token.group(1)},
    )  # fmt: skip
    with session.open(request, timeout=15) as response:
        assert response.status == 200
    history = read_all(cfg, f"{TOPICS.triage}.history")
    assert any(orjson.loads(r.value).get("alert_id") == target for r in history)

    # Replay of the range, read-only, gives the same alerts.
    out = tmp_path / "replay"
    done = run(cfg, REPLAY, "replay", "--from", "2026-03-02", "--to", "2026-03-03",
               "--out", str(out), "--policy", str(policy), "--no-report", "--quiet")  # fmt: skip
    assert done.returncode == 0, done.stderr
    replayed = {orjson.loads(line)["alert_id"] for line in (out / "alerts.jsonl").read_bytes().splitlines()
                if orjson.loads(line)["detector"] == "prohibited_endpoint"}  # fmt: skip
    assert replayed == alert_ids


def _producer(cfg: BrokerConfig, principal: str) -> KafkaProducer:
    """A plain (not idempotent) producer: what decides its writes is the topic's ACL alone
    (an idempotent one without any Write grant is refused earlier, for the cluster)."""
    security = secured.client_security(cfg, principal)
    return KafkaProducer(bootstrap_servers=cfg.bootstrap, acks="all", max_block_ms=10_000, enable_idempotence=False,
                         **security.kafka_python())  # fmt: skip


@pytest.mark.parametrize(
    ("principal", "topic"),
    [
        (CONSOLE, TOPICS.alerts),
        (REPLAY, TOPICS.triage),
        (REPLAY, TOPICS.events),
        (DISPATCHER, TOPICS.alerts),
        (WORKER, TOPICS.models),  # only the trainer publishes model versions
        (REPLAY, TOPICS.models),
    ],
)
def test_a_principal_cannot_write_where_no_acl_lets_it(
    secure_broker: BrokerConfig, principal: str, topic: str
) -> None:
    producer = _producer(secure_broker, principal)
    try:
        with pytest.raises(TopicAuthorizationFailedError):
            producer.send(topic, b'{"forged": true}', key=b"forged").get(timeout=15)
    finally:
        producer.close(5)
    assert not [r for r in read_all(secure_broker, topic) if r.key == b"forged"]


def test_the_shipper_may_write_events(secure_broker: BrokerConfig) -> None:
    """The counterpart of the refusals: the same kind of write, allowed by an ACL."""
    producer = _producer(secure_broker, SHIPPER)
    try:
        metadata = producer.send(TOPICS.events, b"not json", key=b"probe").get(timeout=15)
    finally:
        producer.close(5)
    assert metadata.offset >= 0


def test_a_plaintext_connection_to_the_secured_port_is_refused(secure_broker: BrokerConfig) -> None:
    from aiokafka.conn import create_conn
    from aiokafka.errors import KafkaConnectionError
    from aiokafka.protocol.metadata import MetadataRequest

    async def metadata_in_plaintext() -> object:
        conn = await create_conn("127.0.0.1", secure_broker.port, request_timeout_ms=5000)
        try:
            return await conn.send(MetadataRequest[0]([]))
        finally:
            conn.close()

    with pytest.raises((KafkaConnectionError, OSError, asyncio.TimeoutError)):
        asyncio.run(asyncio.wait_for(metadata_in_plaintext(), 15))


def test_a_wrong_password_is_one_line_naming_the_setting(
    secure_broker: BrokerConfig, tmp_path: Path
) -> None:
    wrong = tmp_path / "wrong.password"
    wrong.write_text("not-the-password\n", encoding="utf-8")
    started = time.monotonic()
    done = run(secure_broker, REPLAY, "alerts", "summary",
               FRTWATCH_KAFKA_SASL_PASSWORD_FILE=str(wrong))  # fmt: skip
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "FRTWATCH_KAFKA_SASL_PASSWORD" in lines[0] and "frtwatch-replay" in lines[0]
    assert time.monotonic() - started < 30


def test_an_untrusted_broker_certificate_is_one_line_naming_the_ca_setting(
    secure_broker: BrokerConfig, tmp_path: Path
) -> None:
    other = broker_tls.generate(tmp_path / "other-ca")
    done = run(secure_broker, REPLAY, "alerts", "summary", FRTWATCH_KAFKA_SSL_CAFILE=str(other.ca))
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "not trusted" in lines[0] and "FRTWATCH_KAFKA_SSL_CAFILE" in lines[0]


def test_the_secured_broker_keeps_its_secrets_private(secure_broker: BrokerConfig) -> None:
    home = secure_broker.home
    for path in [
        home / "server.properties",
        *sorted((home / "secrets").iterdir()),
        home / "tls" / "server.pem",
    ]:
        assert path.stat().st_mode & 0o077 == 0, path
    security = KafkaSecurity.from_env(secured.client_env(secure_broker, WORKER))
    password = secured.password_file(secure_broker, WORKER).read_text(encoding="utf-8").strip()
    assert password not in repr(security) and password not in security.describe()


def test_the_shared_topics_were_created_with_their_retention(secure_broker: BrokerConfig) -> None:
    done = run(secure_broker, "admin", "kafka", "topics")
    assert done.returncode == 0, done.stderr
    assert f"{TOPICS.events}: delete, 1095d  ok" in done.stdout
    assert f"{TOPICS.dlq}: delete, 90d  ok" in done.stdout
    assert f"{TOPICS.certifications}: compact  ok" in done.stdout


def test_only_the_trainer_publishes_model_versions_and_workers_read_them(
    secure_broker: BrokerConfig, tmp_path: Path
) -> None:
    from models.dataset import EventBatch
    from models.train import train_to_file
    from tests.unit.models.synthetic_world import make_world

    artifact = tmp_path / "behavior.skops"
    world = make_world(seed=3, users=60)
    train_to_file(EventBatch(world.events, rejected=0, source="synthetic"), artifact, seed=3)
    publish = ("model", "publish", "--model", str(artifact), "--applies-from", "2026-03-10",
               "--version", "secured-v1")  # fmt: skip
    refused = run(secure_broker, WORKER, *publish)
    assert refused.returncode != 0
    assert "TopicAuthorizationFailed" in refused.stderr, refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1  # one line, no traceback
    done = run(secure_broker, TRAINER, *publish)
    assert done.returncode == 0, done.stderr
    for reader in (WORKER, REPLAY):
        listed = run(secure_broker, reader, "model", "versions", "--json")
        assert listed.returncode == 0, listed.stderr
        (version,) = [v for v in json.loads(listed.stdout) if v["version"] == "secured-v1"]
        assert version["loads"] and version["applies_from"] == "2026-03-10T00:00:00Z"
