"""``frtwatch model train|eval|show`` end to end on files, through the real CLI entry point."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest

from models.artifact import card_path
from streams.cli import main
from streams.contract.alert import format_ts
from tests.unit.models.synthetic_world import World


@pytest.fixture
def world_files(tmp_path: Path, world: World) -> tuple[Path, Path]:
    events = tmp_path / "events.jsonl"
    with events.open("wb") as out:
        for event in world.events:
            out.write(orjson.dumps({**event.to_dict(), "ts": format_ts(event.ts)}) + b"\n")
        out.write(b'{"event_id": "broken"}\n')
    incidents = [
        {"id": f"inc-{i:03d}", "detector": "behavior_anomaly", "kind": "night",
         "agency": key.split("/")[0], "users": [key.split("/")[1]]}
        for i, key in enumerate(sorted(world.anomalous))
    ]  # fmt: skip
    truth = tmp_path / "truth.json"
    truth.write_text(json.dumps({"schema": "frtwatch.truth.v1", "incidents": incidents}))
    return events, truth


def test_train_show_eval(world_files: tuple[Path, Path], tmp_path: Path, world: World,
                         capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    events, truth = world_files
    model = tmp_path / "out" / "behavior.skops"
    assert main(["model", "train", "--from-file", str(events), "--out", str(model)]) == 0
    out = capsys.readouterr().out
    assert f"trained on {len(world.events)} events" in out and "1 rejected" in out
    assert model.is_file() and card_path(model).is_file()

    assert main(["model", "show", "--model", str(model), "--verify"]) == 0
    shown = capsys.readouterr().out
    card = json.loads(shown[: shown.rindex("}") + 1])
    assert card["training"]["rejected_count"] == 1
    assert "verified:" in shown

    assert main(["model", "eval", "--events", str(events), "--truth", str(truth),
                 "--model", str(model), "--json"]) == 0  # fmt: skip
    figures = json.loads(capsys.readouterr().out)
    assert figures["positives"] == len(world.anomalous)
    assert figures["roc_auc"] >= 0.9


def test_train_on_a_time_range_of_a_file(world_files: tuple[Path, Path], tmp_path: Path,
                                         world: World, capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    events, _ = world_files
    model = tmp_path / "m.skops"
    assert main(["model", "train", "--from-file", str(events), "--from", "2026-03-02",
                 "--to", "2026-03-09T00:00:00Z", "--out", str(model)]) == 0  # fmt: skip
    card = json.loads(card_path(model).read_text())
    expected = sum(1 for e in world.events if e.ts < 1_772_409_600 + 7 * 86_400)
    assert card["training"]["event_count"] == expected
    assert card["training"]["range_to"] == "2026-03-09T00:00:00Z"


def test_topic_without_range_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["model", "train", "--topic", "t", "--out", "/nonexistent/m.skops"]) == 2
    assert "needs --from and --to" in capsys.readouterr().err


def test_bad_time_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["model", "train", "--from-file", "x", "--from", "yesterday"]) == 2
    assert "not a date" in capsys.readouterr().err


def test_missing_model_is_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["model", "show", "--model", str(tmp_path / "none.skops"), "--verify"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "frtwatch model train" in err[0]


def test_default_model_path_comes_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FRTWATCH_MODEL", str(tmp_path / "env.skops"))
    assert main(["model", "show"]) == 1
    assert str(tmp_path / "env.card.json") in capsys.readouterr().err
