"""events.jsonl, certifications.csv and truth.json: valid, sorted, deterministic."""

from __future__ import annotations

import csv
import itertools
from pathlib import Path

import orjson

from streams.policy.certifications import CSV_HEADER
from tests.unit.simulate.conftest import WrittenWorld, write_world

FILES = ("events.jsonl", "truth.json", "certifications.csv")


def test_same_arguments_give_byte_identical_files(tmp_path: Path) -> None:
    write_world(tmp_path / "a", users=80, days=5, seed=11)
    write_world(tmp_path / "b", users=80, days=5, seed=11)
    for name in FILES:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_another_seed_gives_another_world(tmp_path: Path) -> None:
    write_world(tmp_path / "a", users=80, days=5, seed=11)
    write_world(tmp_path / "b", users=80, days=5, seed=12)
    assert (tmp_path / "a" / "events.jsonl").read_bytes() != (
        tmp_path / "b" / "events.jsonl"
    ).read_bytes()


def test_every_line_is_a_valid_event_in_time_order(default_world: WrittenWorld) -> None:
    events = default_world.events
    assert len(events) == default_world.truth["event_count"] == len(default_world.lines)
    assert all(a.ts <= b.ts for a, b in itertools.pairwise(events))
    assert len({e.event_id for e in events}) == len(events)
    assert all(e.ts_text.endswith("Z") for e in events)


def test_lines_are_exactly_what_orjson_writes(default_world: WrittenWorld) -> None:
    # The writer assembles lines from cached fragments; they must equal orjson's own output.
    for line in default_world.lines:
        assert orjson.dumps(orjson.loads(line)) == line


def test_events_carry_realistic_fields(default_world: WrittenWorld) -> None:
    events = default_world.events
    assert {e.source for e in events} == {"audit-log", "proxy", "dns"}
    # Endpoints come as URLs, as proxy CONNECT targets (host:port) and as bare DNS names.
    assert any(e.endpoint.startswith("https://") for e in events)
    assert any(e.endpoint.endswith(":443") for e in events)
    assert any("/" not in e.endpoint for e in events)
    share_investigation = sum(e.purpose == "investigation" for e in events) / len(events)
    assert share_investigation > 0.9
    assert all(e.probe_sha256 and e.result_count is not None for e in events)
    zero = sum(e.result_count == 0 for e in events) / len(events)
    assert 0.1 < zero < 0.5
    agencies = {e.agency for e in events}
    assert agencies == set(default_world.policy.agencies)


def test_events_span_the_run(default_world: WrittenWorld) -> None:
    from streams.contract.event import parse_timestamp

    start = parse_timestamp(default_world.truth["start"])
    end = parse_timestamp(default_world.truth["end"])
    assert end - start == 14 * 86400
    assert start <= default_world.events[0].ts and default_world.events[-1].ts < end


def test_certifications_csv_lists_the_certified(default_world: WrittenWorld) -> None:
    with (default_world.out / "certifications.csv").open(newline="") as handle:
        rows = list(csv.reader(handle))
    assert tuple(rows[0]) == CSV_HEADER
    keys = [f"{r[0]}/{r[1]}" for r in rows[1:]]
    assert len(keys) == len(set(keys))
    certified = {
        f"{u['agency']}/{u['user']}" for u in default_world.truth["users"] if u["certified"]
    }
    assert certified <= set(keys)
    # Never-trained users are absent; lapsed ones are present with an expired record.
    assert len(keys) < len(default_world.truth["users"])


def test_default_world_suits_the_demo(default_world: WrittenWorld) -> None:
    truth = default_world.truth
    assert len(truth["users"]) == 400
    assert 10_000 < truth["event_count"] < 300_000
    assert truth["schema"] == "frtwatch.truth.v1" and truth["seed"] == 7
    assert truth["policy"] == "config/policy.yaml"
