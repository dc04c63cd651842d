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
        "FRTWATCH_APP_ID", "FRTWATCH_CERTIFICATIONS", "FRTWATCH_METRICS_PORT",
    }  # fmt: skip
    assert set(env) <= known
    readme = (ROOT / "README.md").read_text()
    for variable in env:
        assert f"`{variable}`" in readme, f"{variable} is not documented in README.md"


def test_secrets_come_from_an_env_file_with_a_template_naming_every_route_secret():
    import re

    template = ROOT / "frtwatch.env.example"
    names = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", template.read_text(), re.M))
    routes = (ROOT / "config" / "webhooks.example.yaml").read_text()
    wanted = set(re.findall(r"_env: ([A-Z][A-Z0-9_]+)", routes))
    wanted |= set(re.findall(r"^ +[A-Za-z-]+: (FRT_[A-Z0-9_]+)", routes, re.M))  # headers_env
    assert wanted and wanted <= names, wanted - names
    assert "frtwatch.env" in (ROOT / ".gitignore").read_text().split()
    for name in ("worker", "console", "webhooks", "trainer"):
        assert SERVICES[name]["env_file"] == "frtwatch.env", name
    readme = (ROOT / "README.md").read_text()
    for name in names:
        if name.startswith("FRTWATCH_"):  # the secured-cluster settings are documented ones
            assert f"`{name}`" in readme, name


def test_the_worker_the_dispatcher_and_the_console_have_health_checks_on_their_ready_endpoints():
    for name, path in (("worker", "/readyz"), ("webhooks", "/readyz"), ("console", "/healthz")):
        check = SERVICES[name]["healthcheck"]
        probe = " ".join(check["test"])
        assert path in probe, name
        assert "127.0.0.1" in probe, name  # inside the container; nothing published for it
    assert SERVICES["worker"]["environment"]["FRTWATCH_METRICS_PORT"] == "9100"
    assert "9100" in " ".join(SERVICES["worker"]["healthcheck"]["test"])
    for name in ("worker", "webhooks"):
        assert not SERVICES[name].get("ports"), name
