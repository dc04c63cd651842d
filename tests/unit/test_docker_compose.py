"""docker-compose.yml stays in step with the CLI and the settings."""

from __future__ import annotations

import shlex

import yaml

from streams.cli import build_parser
from streams.settings import load_settings
from tests.conftest import ROOT

COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]


def _frtwatch_commands(service: dict) -> list[list[str]]:
    """The frtwatch argument lists a service runs (direct, or inside sh -c)."""
    command = service.get("command", [])
    if service.get("entrypoint") == ["sh", "-c"]:
        script = command[0] if isinstance(command, list) else command
        out = []
        for part in script.split("&&"):
            words = shlex.split(part)
            assert words[0] == "frtwatch", part
            out.append(words[1:])
        return out
    return [command]


def test_services_exist():
    assert {"kafka", "worker", "console", "webhooks", "trainer"} <= set(SERVICES)


def test_every_command_parses_with_the_real_cli():
    parser = build_parser()
    for name, service in SERVICES.items():
        if name == "kafka":
            continue
        for argv in _frtwatch_commands(service):
            args = parser.parse_args(argv)  # raises UsageError on a stale flag
            assert getattr(args, "func", None), (name, argv)


def test_kafka_has_a_host_and_an_in_network_listener():
    env = SERVICES["kafka"]["environment"]
    assert SERVICES["kafka"]["image"].startswith("apache/kafka:4.")
    listeners = env["KAFKA_ADVERTISED_LISTENERS"]
    assert "HOST://127.0.0.1:9092" in listeners and "DOCKER://kafka:29092" in listeners
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"  # KRaft, no ZooKeeper


def test_ports_are_published_on_loopback_only():
    for name, service in SERVICES.items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), (name, port)


def test_environment_uses_known_settings_and_the_in_network_listener():
    env = SERVICES["worker"]["environment"]
    settings = load_settings({k: str(v) for k, v in env.items()})
    assert settings.bootstrap == "kafka:29092"
    known = {
        "FRTWATCH_BOOTSTRAP", "FRTWATCH_POLICY", "FRTWATCH_MODEL", "FRTWATCH_DATA_DIR",
        "FRTWATCH_APP_ID", "FRTWATCH_CERTIFICATIONS",
    }  # fmt: skip
    assert set(env) <= known
    readme = (ROOT / "README.md").read_text()
    for variable in env:
        assert f"`{variable}`" in readme, f"{variable} is not documented in README.md"
