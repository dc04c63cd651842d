"""``frtwatch webhooks`` as a user meets it: --new-secret, --check, one-line errors."""

from __future__ import annotations

from streams.cli import main
from streams.webhooks.signing import secret_problem
from tests.unit.webhooks.test_loader import ENV, FILES


def test_new_secret(capsys):
    assert main(["webhooks", "--new-secret"]) == 0
    secret = capsys.readouterr().out.strip()
    assert secret_problem(secret) is None


def test_check_lists_routes_without_secrets(capsys, monkeypatch):
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    assert main(["webhooks", "--routes", str(FILES / "valid.yaml"), "--check"]) == 0
    out = capsys.readouterr().out
    assert "4 route(s)" in out
    assert "siem: ocsf -> https://siem.example.org (signed, updates=all" in out
    assert "slack: slack -> https://hooks.slack.com (unsigned, updates=open,close" in out
    for secret in ENV.values():
        assert secret not in out


def test_invalid_routes_file_is_one_error_per_line_and_exit_1(capsys):
    assert main(["webhooks", "--routes", str(FILES / "invalid_top.yaml"), "--check"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err
    assert f"{FILES / 'invalid_top.yaml'}:1: version: only version 1" in err


def test_missing_routes_file(capsys, tmp_path):
    assert main(["webhooks", "--routes", str(tmp_path / "nope.yaml")]) == 1
    assert "no such routes file" in capsys.readouterr().err


def test_usage_errors_exit_2(capsys):
    assert main(["webhooks", "--max-in-flight", "0"]) == 2
    assert main(["webhooks", "--from", "middle"]) == 2
    assert "error:" in capsys.readouterr().err
