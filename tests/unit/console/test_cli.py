"""``frtwatch console`` command line: hashing, and refusing bad start-ups in one line."""

from __future__ import annotations

import io
import socket
from pathlib import Path

import pytest

from streams.cli import main
from streams.console.passwords import verify_password


def test_hash_password_reads_stdin_and_prints_a_hash(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("a-long-password\n"))
    assert main(["console", "hash-password"]) == 0
    out = capsys.readouterr().out.strip()
    assert out.startswith("scrypt$") and verify_password("a-long-password", out)
    assert "a-long-password" not in out


def test_short_passwords_are_refused(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main(["console", "hash-password"]) == 2
    assert "at least 8" in capsys.readouterr().err


def test_missing_users_file_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["console", "--users", str(tmp_path / "none.yaml"), "--port", "18999"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: users file") and "Traceback" not in err


@pytest.mark.parametrize(
    "argv",
    [
        ["console", "--port", "0"],
        ["console", "--tls-cert", "x.pem"],
        ["console", "--session-idle", "0"],
    ],
)
def test_bad_flags_are_usage_errors(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert capsys.readouterr().err.startswith("error:")


def test_help_mentions_loopback(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["console", "--help"])
    assert "127.0.0.1" in capsys.readouterr().out


def test_unreachable_kafka_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from streams.console.config import EXAMPLE_USERS

    monkeypatch.setenv("FRTWATCH_BOOTSTRAP", "127.0.0.1:1")  # nothing listens on port 1
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    argv = ["console", "--port", str(port), "--users", str(EXAMPLE_USERS)]
    assert main([*argv, "--allow-demo-accounts"]) == 1
    err = capsys.readouterr().err
    assert "error: cannot reach Kafka at 127.0.0.1:1" in err and "Traceback" not in err


def test_demo_hashes_are_refused_at_start_up(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from streams.console.config import EXAMPLE_USERS

    copy = tmp_path / "console-users.yaml"  # the documented first step: copy the example
    copy.write_text(EXAMPLE_USERS.read_text(encoding="utf-8"), encoding="utf-8")
    assert main(["console", "--port", "18998", "--users", str(copy)]) == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(f"error: {copy}: account(s) analyst, lead use a password hash")
    assert "--allow-demo-accounts" in line


@pytest.mark.parametrize(
    ("flag", "value"), [("--external-url", "soc.example.org"), ("--trusted-proxy", "10.0.0.0/33")]
)
def test_bad_proxy_settings_are_usage_errors(
    flag: str, value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["console", flag, value]) == 2
    assert capsys.readouterr().err.startswith(f"error: {flag}")
