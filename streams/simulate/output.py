"""Writing a scenario: ``events.jsonl``, ``certifications.csv`` and ``truth.json``.

Searches are sorted by time (a stable sort, so ties keep their deterministic
generation order) and get their ``event_id`` in that order from a seeded
generator. Incidents' evidence ids and time spans are collected while the
events are written, so the truth always matches the events byte for byte.
"""

from __future__ import annotations

import os
import random
from operator import itemgetter
from pathlib import Path
from typing import Any

import orjson

from streams.errors import FrtwatchError
from streams.simulate.records import ABSENT
from streams.simulate.scenario import Scenario
from streams.simulate.timefmt import DAY_MS, TimestampFormatter, format_ms
from streams.simulate.world import SimulationError, World

TRUTH_SCHEMA = "frtwatch.truth.v1"
EVENTS_FILE = "events.jsonl"
TRUTH_FILE = "truth.json"
CERTIFICATIONS_FILE = "certifications.csv"
_CHUNK = 16_384


class _JsonStrings(dict[Any, str]):
    """JSON text of each distinct value, encoded by orjson once and then looked up.

    Agencies, users, endpoints, case numbers and purposes repeat many times, so
    a line is assembled from cached fragments; the result is byte for byte what
    ``orjson.dumps`` gives for the whole object (a unit test checks this).
    """

    def __missing__(self, key: Any) -> str:
        text = orjson.dumps(key).decode()
        self[key] = text
        return text


def _write_events(world: World, sc: Scenario, path: Path) -> tuple[int, list[dict[str, Any]]]:
    """Write the sorted events; return their count and per-label evidence."""
    searches = sc.sink.searches
    searches.sort(key=itemgetter(0))
    base_day, day_text, hms_text, ms_text = TimestampFormatter(world.start_ms, world.days).tables()
    id_rng = random.Random(f"{world.config.seed}:event-ids")
    enc = _JsonStrings()
    evidence: list[list[str]] = [[] for _ in range(len(sc.labels) + 1)]
    spans: list[list[str]] = [[] for _ in range(len(sc.labels) + 1)]
    with path.open("wb") as handle:
        for first in range(0, len(searches), _CHUNK):
            chunk = searches[first : first + _CHUNK]
            # One call for the chunk's ids: 128 random bits each, as 32 hex digits.
            hex_ids = id_rng.randbytes(16 * len(chunk)).hex()
            lines: list[str] = []
            append = lines.append
            at = 0
            for (
                ts,
                agency,
                user,
                endpoint,
                obo,
                case,
                purpose,
                probe,
                results,
                source,
                label,
            ) in chunk:
                event_id = hex_ids[at : at + 32]
                at += 32
                day, rest = divmod(ts, DAY_MS)
                second, milli = divmod(rest, 1000)
                ts_text = day_text[day - base_day] + hms_text[second] + ms_text[milli]
                # Generated ids, times and probe hashes are plain ASCII: no escaping needed.
                case_field = "" if case is ABSENT else f',"case_number":{enc[case]}'
                append(
                    f'{{"event_id":"{event_id}","ts":"{ts_text}","agency":{enc[agency]},'
                    f'"user":{enc[user]},"endpoint":{enc[endpoint]},"on_behalf_of":{enc[obo]}'
                    f'{case_field},"purpose":{enc[purpose]},"probe_sha256":"{probe}",'
                    f'"result_count":{results},"source":{enc[source]}}}'
                )
                if label:
                    evidence[label].append(event_id)
                    span = spans[label]
                    if span:
                        span[1] = ts_text
                    else:
                        span += (ts_text, ts_text)
            append("")
            handle.write("\n".join(lines).encode())
    out: list[dict[str, Any]] = [{}]
    for index in range(1, len(sc.labels) + 1):
        span = spans[index]
        out.append(
            {
                "event_ids": evidence[index],
                "start": span[0] if span else None,
                "end": span[1] if span else None,
            }
        )
    return len(searches), out


def _truth(
    world: World, sc: Scenario, event_count: int, found: list[dict[str, Any]]
) -> dict[str, Any]:
    incidents: list[dict[str, Any]] = []
    decoys: list[dict[str, Any]] = []
    for label in sc.labels:
        facts = found[label.index]
        if label.is_incident:
            if not facts["event_ids"]:
                raise SimulationError(
                    f"{label.id} ({label.kind}) has no searches; use a larger world"
                )
            incidents.append(
                {
                    "id": label.id,
                    "detector": label.detector,
                    "kind": label.kind,
                    "agency": label.agency,
                    "users": sorted(label.users),
                    "start": facts["start"],
                    "end": facts["end"],
                    "subject": label.subject,
                    "event_ids": facts["event_ids"],
                }
            )
        elif facts["event_ids"]:
            decoys.append(
                {
                    "id": label.id,
                    "kind": label.kind,
                    "must_not_fire": list(label.must_not_fire),
                    "agency": label.agency,
                    "users": sorted(label.users),
                    "start": facts["start"],
                    "end": facts["end"],
                }
            )
    return {
        "schema": TRUTH_SCHEMA,
        "seed": world.config.seed,
        "start": format_ms(world.start_ms),
        "end": format_ms(world.end_ms),
        "event_count": event_count,
        "policy": world.config.policy_label,
        "users": [
            {
                "agency": u.agency,
                "user": u.user,
                "role": u.role,
                "certified": u.certified_at(world.start_ms),
            }
            for u in world.users
        ],
        "incidents": incidents,
        "decoys": decoys,
    }


def _certifications_csv(world: World) -> bytes:
    rows = ["agency,user,certified_on,expires_on"]
    rows += [
        f"{u.agency},{u.user},{u.certificate[0]},{u.certificate[1]}"
        for u in world.users
        if u.certificate is not None
    ]
    return ("\n".join(rows) + "\n").encode("ascii")


def prepare_out_dir(out_dir: Path) -> None:
    """Create ``out_dir`` or explain in one line why it cannot be written."""
    if out_dir.exists() and not out_dir.is_dir():
        raise FrtwatchError(f"{out_dir} exists and is not a directory")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise FrtwatchError(f"cannot create {out_dir}: {exc.strerror or exc}") from None
    if not out_dir.is_dir() or not os.access(out_dir, os.W_OK):
        raise FrtwatchError(f"cannot write into {out_dir}: not a writable directory")


def write_scenario(world: World, sc: Scenario, out_dir: Path) -> dict[str, Any]:
    """Write the three files atomically (each appears complete or not at all); return the truth."""
    prepare_out_dir(out_dir)
    try:
        tmp_events = out_dir / f".{EVENTS_FILE}.tmp"
        count, found = _write_events(world, sc, tmp_events)
        truth = _truth(world, sc, count, found)
        tmp_truth = out_dir / f".{TRUTH_FILE}.tmp"
        tmp_truth.write_bytes(orjson.dumps(truth, option=orjson.OPT_INDENT_2) + b"\n")
        tmp_certs = out_dir / f".{CERTIFICATIONS_FILE}.tmp"
        tmp_certs.write_bytes(_certifications_csv(world))
        os.replace(tmp_events, out_dir / EVENTS_FILE)
        os.replace(tmp_certs, out_dir / CERTIFICATIONS_FILE)
        os.replace(tmp_truth, out_dir / TRUTH_FILE)
    except OSError as exc:
        raise FrtwatchError(f"cannot write into {out_dir}: {exc.strerror or exc}") from None
    return truth
