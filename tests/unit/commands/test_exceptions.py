"""``frtwatch exceptions``: mistakes are one line before anything reaches Kafka."""

from __future__ import annotations

import pytest

from streams.cli import main


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["add", "--user", "MPD", "--detector", "burst", "--from", "2026-03-01",
          "--until", "2026-03-02", "--reason", "r"], "--user: key 'MPD' is not <agency>/<user>"),
        (["add", "--agency", "MPD", "--detector", "nope", "--from", "2026-03-01",
          "--until", "2026-03-02", "--reason", "r"], "detector must be one of"),
        (["add", "--agency", "MPD", "--detector", "burst", "--from", "2026-03-01",
          "--until", "tomorrow", "--reason", "r"], "until: 'tomorrow' is not a date"),
        (["add", "--agency", "MPD", "--detector", "burst", "--from", "2026-03-01",
          "--until", "2026-03-02"], "the following arguments are required: --reason"),
        (["add", "--agency", "MPD", "--detector", "burst", "--from", "2026-03-01",
          "--until", "2026-03-02", "--reason", " "], "reason is required"),
        (["withdraw", "not-an-id"], "is not an exception id"),
    ],
)  # fmt: skip
def test_mistakes_are_one_line(capsys, args, message):
    assert main(["exceptions", *args, "--bootstrap", "127.0.0.1:1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err


def test_a_bad_file_lists_every_error_with_its_line(capsys, tmp_path):
    path = tmp_path / "exceptions.yaml"
    path.write_text("version: 1\nexceptions:\n  - scope: team\n  - {}\n", encoding="utf-8")
    assert main(["exceptions", "load", str(path), "--bootstrap", "127.0.0.1:1"]) == 1
    err = capsys.readouterr().err
    assert f"{path}:3: exceptions[0]: missing key(s)" in err
    assert f"{path}:4: exceptions[1] is empty" in err
    assert "Traceback" not in err
