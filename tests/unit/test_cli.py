"""The CLI: helpful --help, one-line errors, exit codes 2 for usage and 1 for errors."""

from __future__ import annotations

import subprocess
import sys

import pytest

from streams.cli import build_parser, main


def test_help_lists_commands(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "kafka" in out and "facial-recognition" in out


def test_usage_error_is_one_line_and_exit_2(capsys):
    assert main(["kafka", "sideways"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "sideways" in err[0]


def test_unknown_command_is_one_line(capsys):
    assert main(["frobnicate"]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_no_command_prints_help(capsys):
    assert main([]) == 2
    assert "usage: frtwatch" in capsys.readouterr().out


def test_down_without_a_broker_is_not_an_error(tmp_path):
    env_port = "1"  # a port no broker runs on; the broker command must fail cleanly
    proc = subprocess.run(
        [sys.executable, "-m", "streams.cli", "kafka", "down"],
        capture_output=True,
        text=True,
        env={"FRTWATCH_KAFKA_PORT": env_port, "FRTWATCH_CACHE": str(tmp_path), "PATH": ""},
        check=False,
    )
    assert proc.returncode == 0
    assert "no broker started by frtwatch" in proc.stdout
    assert "Traceback" not in proc.stderr


def test_bad_port_is_a_clean_error(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "streams.cli", "kafka", "status"],
        capture_output=True,
        text=True,
        env={"FRTWATCH_KAFKA_PORT": "ninety", "FRTWATCH_CACHE": str(tmp_path)},
        check=False,
    )
    assert proc.returncode == 1
    assert proc.stderr.strip() == "error: FRTWATCH_KAFKA_PORT='ninety' is not a port"


def test_every_registered_command_has_help():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    for name, command in sub.choices.items():  # type: ignore[union-attr]
        assert command.description or command.format_help(), name


def test_policy_check_lists_every_error_with_file_and_line(capsys):
    from tests.conftest import FILES

    bad = FILES / "policy" / "invalid_many.yaml"
    assert main(["policy", "check", str(bad)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0] == f"error: {len(err) - 1} problems:"
    assert all(line.startswith(f"{bad}:") for line in err[1:])


def test_policy_check_accepts_the_shipped_policy(capsys):
    assert main(["policy", "check"]) == 0
    assert "valid" in capsys.readouterr().out


def test_policy_check_names_the_agencies_time_zones(capsys, tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text(
        "version: 1\ndefault_timezone: America/New_York\nagencies:\n"
        "  A: {timezone: America/Los_Angeles}\n  B:\n"
        "endpoints:\n  authorised:\n    - host: frt.example.gov\n"
    )
    assert main(["policy", "check", str(path)]) == 0
    out = capsys.readouterr().out
    assert "time zones    America/New_York, A America/Los_Angeles" in out

    path.write_text(path.read_text().replace("America/Los_Angeles", "America/Los_Angles"))
    assert main(["policy", "check", str(path)]) == 1
    (error,) = capsys.readouterr().err.strip().splitlines()
    assert error.startswith(f"error: {path}:4: agencies.A.timezone: 'America/Los_Angles' is not")
