"""What "normal" looked like in a simulated world: its history before the incidents.

Models are trained on it (``make demo``, ``make bench``, the end-to-end test). The burst
in the deployment's first days (``early_burst``) comes before that history ends, so its
searches are left out by id rather than by time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from streams.contract.event import parse_timestamp

EARLY_KIND = "early_burst"


def baseline_end(truth: dict[str, Any]) -> str:
    """RFC 3339 start of the first incident other than the early burst."""
    return min(str(i["start"]) for i in truth["incidents"] if i["kind"] != EARLY_KIND)


def not_normal(truth: dict[str, Any]) -> set[str]:
    """Event ids before :func:`baseline_end` that are evidence of an incident."""
    return {str(e) for i in truth["incidents"] if i["kind"] == EARLY_KIND for e in i["event_ids"]}


def write_baseline(events: Path, truth: dict[str, Any], target: Path) -> int:
    """Copy the world's normal history (before :func:`baseline_end`, without
    :func:`not_normal`) from ``events`` to ``target``; the number of events kept."""
    cut, left_out = parse_timestamp(baseline_end(truth)), not_normal(truth)
    kept = 0
    target.parent.mkdir(parents=True, exist_ok=True)
    with events.open("rb") as source, target.open("wb") as out:
        for line in source:
            if not line.strip():
                continue
            event = orjson.loads(line)
            if parse_timestamp(event["ts"]) < cut and event["event_id"] not in left_out:
                out.write(line if line.endswith(b"\n") else line + b"\n")
                kept += 1
    return kept
