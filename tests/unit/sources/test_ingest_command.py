"""``frtwatch ingest``: files, stdin, --out, deterministic output, one-line errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from streams.cli import main
from tests.conftest import FILES

SCENARIO = FILES / "sources" / "scenario"
FRTWATCH = Path(sys.executable).with_name("frtwatch")
TABLES = ["--leases", str(SCENARIO / "leases.csv"), "--ranges", str(SCENARIO / "ranges.csv")]


def test_ingesting_a_file_twice_writes_identical_events(tmp_path, capsys):
    for name in ("a", "b"):
        assert main(["ingest", "squid", str(SCENARIO / "access.log"), *TABLES,
                     "--out", str(tmp_path / f"{name}.jsonl"), "--no-progress"]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "20 records: 5 events, 12 in a use already reported, 2 not FRT" in out
    first = (tmp_path / "a.jsonl").read_bytes()
    assert first == (tmp_path / "b.jsonl").read_bytes() and first.count(b"\n") == 5
    dead = (tmp_path / "a.dlq.jsonl").read_text(encoding="utf-8")
    assert '"source_offset":17' in dead and "expected 10 fields" in dead


def test_stdin_is_read_like_a_file(tmp_path):
    done = subprocess.run(
        [str(FRTWATCH), "ingest", "zeek-ssl", *TABLES, "--out", str(tmp_path / "s.jsonl"),
         "--stats-every", "0"],
        input=(SCENARIO / "ssl.log").read_bytes(), capture_output=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "s.jsonl").read_bytes().count(b"\n") == 3
    # on a stream, a statistics line goes to stderr as records are read
    assert done.stderr.count(b"ingest zeek-ssl: ") >= 20
    assert b'"source_topic":"stdin"' in (tmp_path / "s.dlq.jsonl").read_bytes()


def test_usage_mistakes_are_one_line_and_exit_2(capsys, tmp_path):
    assert main(["ingest", "mapped", str(tmp_path / "x.csv")]) == 2
    assert capsys.readouterr().err == "error: ingest mapped needs --mapping FILE\n"
    assert main(["ingest", "squid", "--gap", "soon", "-"]) == 2
    assert capsys.readouterr().err.startswith("error: --gap: 'soon' is not a duration")
    assert main(["ingest", "avro"]) == 2
    assert len(capsys.readouterr().err.splitlines()) == 1


def test_bad_tables_list_every_error_and_exit_1(tmp_path, capsys):
    leases = tmp_path / "leases.csv"
    leases.write_text(
        "address,agency,user,start,end\nnope,MPD,u,2026-03-02T00:00:00Z,\n", encoding="utf-8"
    )
    ranges = tmp_path / "ranges.csv"
    ranges.write_text("network,agency\n10.0.0.0/8,NOPE\n", encoding="utf-8")
    code = main(["ingest", "squid", "-", "--leases", str(leases), "--ranges", str(ranges),
                 "--out", str(tmp_path / "o.jsonl")])  # fmt: skip
    assert code == 1
    err = capsys.readouterr().err.splitlines()
    assert err == [
        "error: 2 problems:",
        f"{ranges}:2: agency 'NOPE' is not in the policy",
        f"{leases}:2: 'nope' is not an IP address",
    ]


def test_a_missing_file_is_one_line(tmp_path, capsys):
    assert main(["ingest", "squid", str(tmp_path / "none.log"), "--agency", "MPD",
                 "--out", str(tmp_path / "o.jsonl")]) == 1  # fmt: skip
    assert capsys.readouterr().err.startswith(f"error: cannot read {tmp_path / 'none.log'}")
