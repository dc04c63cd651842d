"""Routes files: strict, every error as file:line, secrets from the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from streams.errors import ConfigError
from streams.settings import PROJECT_ROOT
from streams.webhooks.loader import load_routes
from streams.webhooks.signing import new_secret

FILES = Path(__file__).resolve().parent / "files"
ENV = {
    "T_SIEM_SECRET": "whsec_" + "QUJD" * 8,
    "T_SIEM_AUTH": "Bearer siem-token",
    "T_PD_KEY": "R0UT1NG",
    "T_SLACK_URL": "https://hooks.slack.com/services/T0/B0/XYZ",
}


def errors_of(path: Path, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_routes(path, env=ENV if env is None else env)
    return info.value.errors


def test_valid_file_loads_with_defaults_and_overrides():
    config = load_routes(FILES / "valid.yaml", env=ENV)
    routes = {r.name: r for r in config.routes}
    assert list(routes) == ["siem", "pd", "slack", "internal"]
    siem = routes["siem"]
    assert siem.format == "ocsf" and siem.secret == ENV["T_SIEM_SECRET"]
    assert siem.min_severity == "medium"
    assert siem.detectors == frozenset({"burst", "prohibited_endpoint"})
    assert siem.agencies == frozenset({"MPD", "CSO"})
    assert dict(siem.headers) == {"X-Source": "frtwatch", "Authorization": "Bearer siem-token"}
    assert siem.updates == {"open", "update", "close"}
    assert siem.delivery.timeout_s == 2.0 and siem.delivery.max_attempts == 4
    assert siem.delivery.backoff_initial_s == 0.05 and siem.delivery.backoff_max_s == 1.0
    assert routes["pd"].routing_key == "R0UT1NG" and routes["pd"].secret is None
    assert routes["slack"].url == ENV["T_SLACK_URL"] and routes["slack"].updates == {
        "open",
        "close",
    }
    internal = routes["internal"]
    assert internal.allow_private and internal.updates == {"open"}
    assert internal.delivery.max_attempts == 9 and internal.delivery.concurrency == 1
    assert internal.delivery.timeout_s == 2.0  # inherited from the file's defaults


def test_every_error_is_reported_at_once_with_its_line():
    errors = errors_of(FILES / "invalid_many.yaml", env={})
    path = str(FILES / "invalid_many.yaml")
    expected = [
        (3, "delivery.timeout: 'soon' is not a duration"),
        (4, "delivery.max_attempts: must be a whole number of at least 1"),
        (7, "routes[0] (a).url: scheme 'ftp' is not allowed"),
        (9, "routes[0] (a).secret_env: environment variable T_UNSET_SECRET is not set"),
        (11, "routes[1] (b).url: 127.0.0.1 is a loopback address (set allow_private: true"),
        (10, "routes[1] (b): format native needs a signing secret"),
        (16, "routes[2] (a).min_severity must be one of low, medium, high, critical"),
        (17, "routes[2] (a).detectors: unknown detector 'brust'"),
        (18, "routes[2] (a).updates must be all, first, or some of open, update, close"),
        (22, "routes[3]: unknown key 'colour'"),
        (13, "routes[2].name: 'a' already used on line 6"),
        (24, "routes[3] (c).headers.Content-Type: frtwatch sets this header itself"),
        (19, "routes[3] (c): format pagerduty needs routing_key_env"),
        (30, "routes[4]: duplicate key 'name' (first defined on line 25)"),
        (27, "give url or url_env, not both"),
        (29, "routes[4] (d).secret must start with 'whsec_'"),
    ]
    for line, text in expected:
        assert any(e.startswith(f"{path}:{line}: ") and text in e for e in errors), (
            line,
            text,
            errors,
        )


def test_duplicate_route_names_are_refused(tmp_path):
    path = tmp_path / "routes.yaml"
    path.write_text(
        "version: 1\nroutes:\n"
        "  - {name: x, url: 'https://a.example/', format: slack}\n"
        "  - {name: x, url: 'https://b.example/', format: slack}\n"
    )
    assert errors_of(path) == [f"{path}:4: routes[1].name: 'x' already used on line 3"]
    assert len(errors_of(FILES / "invalid_many.yaml", env={})) == 16


def test_yaml_syntax_error_has_a_line():
    (error,) = errors_of(FILES / "invalid_yaml.yaml")
    assert error.startswith(f"{FILES / 'invalid_yaml.yaml'}:5: invalid YAML")


def test_top_level_problems():
    errors = errors_of(FILES / "invalid_top.yaml")
    assert any(":1: version: only version 1 is understood" in e for e in errors)
    assert any(":2: routes: at least one route is needed" in e for e in errors)
    assert any(":3: webhooks: unknown key 'extra'" in e for e in errors)


def test_missing_and_empty_files(tmp_path):
    with pytest.raises(ConfigError, match="no such routes file"):
        load_routes(tmp_path / "absent.yaml", env={})
    (tmp_path / "empty.yaml").write_text("")
    with pytest.raises(ConfigError, match="routes file is empty"):
        load_routes(tmp_path / "empty.yaml", env={})


def test_header_values_from_the_environment_may_not_break_lines(tmp_path):
    path = tmp_path / "routes.yaml"
    path.write_text(
        "version: 1\nroutes:\n  - name: x\n    url: https://a.example/\n    format: slack\n"
        "    headers_env: {X-Token: T_BAD}\n"
    )
    (error,) = errors_of(path, env={"T_BAD": "ok\r\nX-Injected: 1"})
    assert "may not contain line breaks" in error


def test_shipped_example_loads_when_its_variables_are_set():
    env = {
        "FRT_SIEM_SECRET": new_secret(),
        "FRT_SIEM_AUTH": "Bearer t",
        "FRT_PAGERDUTY_ROUTING_KEY": "k",
        "FRT_SLACK_MPD_WEBHOOK_URL": "https://hooks.slack.com/services/T/B/x",
        "FRT_TICKETING_SECRET": new_secret(),
    }
    config = load_routes(PROJECT_ROOT / "config" / "webhooks.example.yaml", env=env)
    assert [r.format for r in config.routes] == ["ocsf", "pagerduty", "slack", "native"]
    errors = errors_of(PROJECT_ROOT / "config" / "webhooks.example.yaml", env={})
    assert len(errors) == 5 and all("is not set" in e for e in errors)


@pytest.mark.parametrize(
    ("value", "phases"),
    [
        ("all", {"open", "update", "close"}),
        ("first", {"open"}),
        ("open", {"open"}),
        ("close", {"close"}),
        ("[open, close]", {"open", "close"}),
        ("[update]", {"update"}),
    ],
)
def test_updates_takes_a_phase_or_a_list(tmp_path, value, phases):
    path = tmp_path / "routes.yaml"
    path.write_text(
        "version: 1\nroutes:\n  - name: t\n    url: https://example.org/h\n"
        f"    format: slack\n    updates: {value}\n"
    )
    (route,) = load_routes(path, env={}).routes
    assert route.updates == phases


@pytest.mark.parametrize("value", ["[open, sometimes]", "[]", "[all]", "closed"])
def test_updates_rejects_other_words_at_their_line(tmp_path, value):
    path = tmp_path / "routes.yaml"
    path.write_text(
        "version: 1\nroutes:\n  - name: t\n    url: https://example.org/h\n"
        f"    format: slack\n    updates: {value}\n"
    )
    (error,) = errors_of(path, env={})
    assert error.startswith(f"{path}:6: routes[0] (t).updates must "), error
