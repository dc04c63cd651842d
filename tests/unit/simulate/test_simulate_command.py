"""``frtwatch simulate`` on the command line: files, summary, one-line errors, help."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from streams.cli import main
from streams.settings import DEFAULT_POLICY

SMALL = ["--users", "60", "--days", "3"]


def test_writes_the_three_files_and_a_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "world"
    assert main(["simulate", "--out", str(out), "--policy", str(DEFAULT_POLICY), *SMALL]) == 0
    assert {p.name for p in out.iterdir()} == {"events.jsonl", "truth.json", "certifications.csv"}
    printed = capsys.readouterr().out
    assert "events/s" in printed and "incidents:" in printed and "decoys:" in printed
    truth = orjson.loads((out / "truth.json").read_bytes())
    assert truth["policy"] == str(DEFAULT_POLICY)
    assert len(truth["users"]) == 60


@pytest.mark.parametrize(
    ("args", "status", "message"),
    [
        (["--start", "2026-02-30"], 2, "--start: must be a date like 2026-03-02"),
        (["--start", "yesterday"], 2, "--start: must be a date like 2026-03-02"),
        (["--users", "10"], 2, "--users: must be between 60 and"),
        (["--days", "1"], 2, "--days: must be between 3 and"),
        (["--policy", "no/such/policy.yaml"], 1, "no/such/policy.yaml: cannot read policy"),
    ],
)
def test_mistakes_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], status: int, message: str
) -> None:
    assert main(["simulate", "--out", str(tmp_path / "w"), *SMALL, *args]) == status
    err = capsys.readouterr().err
    assert message in err
    assert len(err.strip().splitlines()) == 1


def test_an_out_that_cannot_be_a_directory_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["simulate", "--out", str(blocker), *SMALL]) == 1
    assert "exists and is not a directory" in capsys.readouterr().err
    assert main(["simulate", "--out", str(blocker / "below"), *SMALL]) == 1
    assert f"cannot create {blocker / 'below'}" in capsys.readouterr().err


def test_help_explains_the_world_and_the_flags(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["simulate", "--help"])
    assert stop.value.code == 0
    text = capsys.readouterr().out
    for words in ("occasional", "analysts", "truth.json", "certifications.csv", "decoys",
                  "byte-identical", "--produce", "--key", "--seed", "--start"):  # fmt: skip
        assert words in text, words
