"""A single-node Apache Kafka broker for development, tests and the demo.

Apache Kafka publishes its broker jars on Maven Central. On first use they
are fetched with Maven into a cache outside the repository
(``$FRTWATCH_CACHE``, default ``~/.cache/frtwatch``); a KRaft storage
directory is formatted and ``kafka.Kafka`` is started on 127.0.0.1. The
broker's pid is recorded so that ``down`` stops only the broker ``up``
started.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from streams.errors import BrokerError
from streams.kafka_client import KafkaSecurity

DEFAULT_KAFKA_VERSION = "4.1.1"
LOG4J_VERSION = "2.24.3"
SLF4J_VERSION = "2.0.17"

_POM = """<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>frtwatch.local</groupId><artifactId>kafka-broker</artifactId>
  <version>1</version><packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId>
      <version>{kafka}</version></dependency>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka-tools</artifactId>
      <version>{kafka}</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-api</artifactId>
      <version>{slf4j}</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j2-impl</artifactId>
      <version>{log4j}</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-core</artifactId>
      <version>{log4j}</version></dependency>
  </dependencies>
</project>
"""

_LOG4J2 = """Configuration:
  status: warn
  Appenders:
    File:
      name: file
      fileName: "{log}"
      PatternLayout:
        pattern: "[%d] %p %m (%c)%n"
  Loggers:
    Root:
      level: info
      AppenderRef:
        ref: file
    Logger:
      - name: kafka.request.logger
        level: warn
      - name: org.apache.kafka.controller
        level: warn
      - name: kafka.log
        level: warn
"""


@dataclass(frozen=True, slots=True)
class BrokerConfig:
    """Where the local broker lives and listens."""

    host: str = "127.0.0.1"
    port: int = 9092
    kafka_version: str = DEFAULT_KAFKA_VERSION
    cache: Path = field(default_factory=lambda: Path("~/.cache/frtwatch").expanduser())
    heap: str = "768m"
    partitions: int = 4
    secure: bool = False
    """A SASL_SSL listener with SCRAM users and ACLs instead of plaintext
    (:mod:`streams.secure_broker`)."""

    @classmethod
    def from_env(cls, secure: bool = False, env: Mapping[str, str] | None = None) -> BrokerConfig:
        env = os.environ if env is None else env
        try:
            port = int(env.get("FRTWATCH_KAFKA_PORT", "9092"))
        except ValueError:
            raise BrokerError(
                f"FRTWATCH_KAFKA_PORT={env['FRTWATCH_KAFKA_PORT']!r} is not a port"
            ) from None
        return cls(
            port=port,
            kafka_version=env.get("FRTWATCH_KAFKA_VERSION", DEFAULT_KAFKA_VERSION),
            cache=Path(env.get("FRTWATCH_CACHE", "~/.cache/frtwatch")).expanduser(),
            heap=env.get("FRTWATCH_KAFKA_HEAP", "768m"),
            secure=secure,
        )

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def libs(self) -> Path:
        return self.cache / f"kafka-{self.kafka_version}" / "libs"

    @property
    def home(self) -> Path:
        return self.cache / (f"broker-{self.port}-secure" if self.secure else f"broker-{self.port}")

    @property
    def pid_file(self) -> Path:
        return self.home / "broker.pid"

    @property
    def log_file(self) -> Path:
        return self.home / "logs" / "server.log"


def _require(tool: str, install_hint: str) -> str:
    found = shutil.which(tool)
    if not found:
        raise BrokerError(f"{tool} is not installed: {install_hint}")
    return found


def fetch_jars(cfg: BrokerConfig, quiet: bool = False) -> Path:
    """Fetch Kafka's jars from Maven Central into the cache (once)."""
    marker = cfg.libs / ".complete"
    if marker.exists():
        return cfg.libs
    mvn = _require("mvn", "install Maven (e.g. apt-get install maven) to fetch Apache Kafka")
    _require("java", "install Java 17 or newer (e.g. apt-get install openjdk-17-jre-headless)")
    work = cfg.libs.parent
    work.mkdir(parents=True, exist_ok=True)
    (work / "pom.xml").write_text(
        _POM.format(kafka=cfg.kafka_version, log4j=LOG4J_VERSION, slf4j=SLF4J_VERSION)
    )
    if not quiet:
        print(f"fetching Apache Kafka {cfg.kafka_version} from Maven Central into {cfg.libs} ...")
    proc = subprocess.run(
        [mvn, "-q", "-B", "-f", str(work / "pom.xml"), "dependency:copy-dependencies",
         f"-DoutputDirectory={cfg.libs}", "-DincludeScope=runtime"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if proc.returncode != 0:
        tail = (proc.stdout + proc.stderr).strip().splitlines()[-3:]
        raise BrokerError(
            f"Maven could not fetch Apache Kafka {cfg.kafka_version}: {' / '.join(tail)}"
        )
    marker.write_text(cfg.kafka_version)
    return cfg.libs


def _properties(cfg: BrokerConfig) -> str:
    return "\n".join(
        [
            "process.roles=broker,controller",
            "node.id=1",
            f"controller.quorum.voters=1@{cfg.host}:{cfg.port + 1}",
            f"listeners=PLAINTEXT://{cfg.host}:{cfg.port},CONTROLLER://{cfg.host}:{cfg.port + 1}",
            f"advertised.listeners=PLAINTEXT://{cfg.host}:{cfg.port}",
            "controller.listener.names=CONTROLLER",
            "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "inter.broker.listener.name=PLAINTEXT",
            *single_node_properties(cfg, auto_create_topics=True),
            "",
        ]
    )


def single_node_properties(cfg: BrokerConfig, *, auto_create_topics: bool) -> list[str]:
    """What every local one-node broker sets, plaintext or secured: storage, one replica
    for the internal topics, no rebalance delay, data kept until the broker is removed."""
    return [
        f"log.dirs={cfg.home / 'data'}",
        f"num.partitions={cfg.partitions}",
        f"auto.create.topics.enable={str(auto_create_topics).lower()}",
        "offsets.topic.replication.factor=1",
        "offsets.topic.num.partitions=8",
        "transaction.state.log.replication.factor=1",
        "transaction.state.log.min.isr=1",
        "share.coordinator.state.topic.replication.factor=1",
        "share.coordinator.state.topic.min.isr=1",
        "group.initial.rebalance.delay.ms=0",
        "log.retention.hours=-1",
        "log.segment.bytes=268435456",
    ]


def _pid_alive(pid: int) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"kafka.Kafka" in cmdline


def running_pid(cfg: BrokerConfig) -> int | None:
    """The pid of the broker this command started, if it is still running."""
    try:
        pid = int(cfg.pid_file.read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if _pid_alive(pid) else None


def _port_open(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def wait_ready(
    bootstrap: str, timeout: float = 60.0, security: KafkaSecurity | None = None
) -> None:
    """Wait until the broker answers a metadata request (as ``security`` says, default
    plaintext)."""
    from kafka import KafkaAdminClient
    from kafka.errors import KafkaError

    auth = (security or KafkaSecurity()).kafka_python()

    deadline = time.monotonic() + timeout
    last: Exception | None = None
    # Until the listener is open, probe the port alone: a kafka-python client that fails to
    # bootstrap leaves its sockets to the garbage collector.
    hosts = [server.rpartition(":") for server in bootstrap.split(",")]
    while time.monotonic() < deadline and not any(
        _port_open(host, int(port)) for host, _, port in hosts if port.isdigit()
    ):
        time.sleep(0.3)
    while time.monotonic() < deadline:
        try:
            admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=3000, **auth)
            try:
                admin.list_topics()
                return
            finally:
                admin.close()
        except (KafkaError, OSError, ValueError) as exc:
            last = exc
            time.sleep(0.5)
    raise BrokerError(f"broker at {bootstrap} did not accept clients within {timeout:.0f}s: {last}")


def up(cfg: BrokerConfig, timeout: float = 90.0, quiet: bool = False) -> str:
    """Start the broker unless it already runs; return a one-line description."""
    pid = running_pid(cfg)
    if pid is not None:
        wait_ready(cfg.bootstrap, timeout, _admin_security(cfg))
        return f"broker already running on {cfg.bootstrap} (pid {pid})"
    if _port_open(cfg.host, cfg.port):
        raise BrokerError(
            f"port {cfg.port} on {cfg.host} is taken by another process; "
            "set FRTWATCH_KAFKA_PORT or stop it"
        )
    java = _require(
        "java", "install Java 17 or newer (e.g. apt-get install openjdk-17-jre-headless)"
    )
    libs = fetch_jars(cfg, quiet=quiet)
    cfg.home.mkdir(parents=True, exist_ok=True)
    (cfg.home / "logs").mkdir(exist_ok=True)
    props = cfg.home / "server.properties"
    props.unlink(missing_ok=True)
    if cfg.secure:
        from streams import secure_broker

        text = secure_broker.properties(cfg)  # new certificates and admin password
    else:
        text = _properties(cfg)
    props.touch(mode=0o600)
    props.write_text(text)
    log4j = cfg.home / "log4j2.yaml"
    log4j.write_text(_LOG4J2.format(log=cfg.log_file))
    classpath = f"{libs}/*"
    jvm = [java, f"-Xmx{cfg.heap}", f"-Xms{cfg.heap}", "-XX:+UseG1GC",
           f"-Dlog4j2.configurationFile={log4j}", f"-Dkafka.logs.dir={cfg.home / 'logs'}",
           "-cp", classpath]  # fmt: skip
    if not (cfg.home / "data" / "meta.properties").exists():
        cluster_id = uuid.uuid4().bytes
        import base64

        cid = base64.urlsafe_b64encode(cluster_id).decode().rstrip("=")
        fmt = subprocess.run(
            [*jvm, "kafka.tools.StorageTool", "format", f"--cluster-id={cid}", "-c", str(props)],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if fmt.returncode != 0:
            raise BrokerError(f"formatting KRaft storage failed: {fmt.stderr.strip()[-300:]}")
    with (cfg.home / "logs" / "stdout.log").open("ab") as out:
        proc = subprocess.Popen(
            [*jvm, "kafka.Kafka", str(props)],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
    cfg.pid_file.write_text(str(proc.pid))
    try:
        wait_ready(cfg.bootstrap, timeout, _admin_security(cfg))
    except BrokerError:
        if proc.poll() is not None:
            raise BrokerError(
                f"broker exited with status {proc.returncode}; see {cfg.log_file}"
            ) from None
        raise
    line = f"broker running on {cfg.bootstrap} (pid {proc.pid}, Kafka {cfg.kafka_version}, data {cfg.home})"
    if cfg.secure:
        from streams import secure_broker

        line += f"\nSASL_SSL with ACLs: {secure_broker.provision(cfg)}"
    return line


def _admin_security(cfg: BrokerConfig) -> KafkaSecurity | None:
    if not cfg.secure:
        return None
    from streams import secure_broker

    return secure_broker.client_security(cfg, secure_broker.ADMIN)


def down(cfg: BrokerConfig, timeout: float = 30.0) -> str:
    """Stop the broker ``up`` started (by its recorded pid), nothing else."""
    pid = running_pid(cfg)
    if pid is None:
        cfg.pid_file.unlink(missing_ok=True)
        return f"no broker started by frtwatch is running on port {cfg.port}"
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _pid_alive(pid):
        time.sleep(0.2)
    if _pid_alive(pid):
        os.kill(pid, signal.SIGKILL)
    cfg.pid_file.unlink(missing_ok=True)
    return f"broker on {cfg.bootstrap} stopped (pid {pid})"


def reset(cfg: BrokerConfig) -> str:
    """Stop the broker and delete its data (topics, offsets); the jar cache stays."""
    message = down(cfg)
    shutil.rmtree(cfg.home, ignore_errors=True)
    return f"{message}; data in {cfg.home} deleted"


def status(cfg: BrokerConfig) -> str:
    pid = running_pid(cfg)
    jars = "cached" if (cfg.libs / ".complete").exists() else "not fetched yet"
    if pid is not None:
        state = f"running on {cfg.bootstrap} (pid {pid})"
    elif _port_open(cfg.host, cfg.port):
        state = f"not started by frtwatch, but something listens on {cfg.bootstrap}"
    else:
        state = f"not running (would listen on {cfg.bootstrap})"
    return f"broker: {state}\nkafka {cfg.kafka_version} jars: {jars} in {cfg.libs}\ndata: {cfg.home}\nlog: {cfg.log_file}"
