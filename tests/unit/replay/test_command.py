"""``frtwatch replay`` and ``frtwatch report`` from the command line (file source, no broker)."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from streams.cli import main
from tests.unit.report.handmade import write_world


@pytest.fixture
def world(tmp_path: Path) -> tuple[Path, Path]:
    return write_world(tmp_path / "world")


def test_replay_a_file_then_rebuild_its_report_with_a_diff(
    world: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    events, certs = world
    common = ["replay", "--from-file", str(events), "--certifications", str(certs), "--quiet"]
    assert main([*common, "--out", str(tmp_path / "a"), "--no-report"]) == 0
    printed = capsys.readouterr().out
    assert "complete: 9 events judged (1 duplicates, 0 invalid)" in printed
    assert "alerts: 7 (" in printed
    assert not (tmp_path / "a" / "report.html").exists()
    assert main([*common, "--out", str(tmp_path / "b"), "--from", "2026-03-03"]) == 0
    assert (tmp_path / "b" / "report.html").is_file()
    capsys.readouterr()
    assert main(["report", str(tmp_path / "b"), "--diff", str(tmp_path / "a")]) == 0
    printed = capsys.readouterr().out
    # Run b starts a day later: every alert of the first day disappears.
    assert "0 appeared, 5 disappeared" in printed
    assert "wrote" in printed and "compliance.csv" in printed
    diff = orjson.loads((tmp_path / "b" / "diff.json").read_bytes())
    assert diff["counts"]["disappeared"] == 5


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "2026-03-05", "--to", "2026-03-04"], "must be later"),
        (["--from", "last week"], "not a date"),
        (["--slack", "-1"], "--slack must not be negative"),
        (["--jobs", "0"], "--jobs must be at least 1"),
        (["--topic", "t"], "--topic and --seek do not apply"),
        (["--model", "m.skops", "--no-model"], "not allowed with argument"),
    ],
)
def test_usage_mistakes_exit_2_with_one_line(
    world: tuple[Path, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    events, _ = world
    code = main(["replay", "--from-file", str(events), "--out", str(tmp_path / "o"), *args])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and "Traceback" not in err


def test_diff_against_itself_is_refused(world: tuple[Path, Path], tmp_path: Path, capsys) -> None:
    events, _ = world
    out = tmp_path / "o"
    out.mkdir()
    (out / "alerts.jsonl").write_text("", encoding="utf-8")
    code = main(["replay", "--from-file", str(events), "--out", str(out), "--diff", str(out)])
    assert code == 2
    assert "another run" in capsys.readouterr().err


def test_report_of_a_directory_that_is_not_a_run(tmp_path: Path, capsys) -> None:
    assert main(["report", str(tmp_path)]) == 1
    assert "run.json" in capsys.readouterr().err
