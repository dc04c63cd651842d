"""Alerts of a run: the latest message per ``alert_id``, and their files.

The detectors emit an alert when it opens, again (same ``alert_id``) as its
evidence grows, and once more when it closes; a consumer keeps the latest, i.e.
the one with the largest ``event_count``, closed over open
(:func:`streams.contract.alert.supersedes`). A replay does the same, and writes one line per
alert to ``alerts.jsonl`` (the ``frt.alert.v1`` JSON, sorted by first
evidence then id, so two runs over the same data give identical files) and
the same rows to ``alerts.parquet`` for pandas and other tools.

>>> from streams.contract import Alert
>>> store = AlertStore()
>>> a = Alert("id1", "burst", "high", "MPD", "u1", 10.0, 10.0, 1, ["e1"], "s")
>>> store.put(a); store.put(Alert("id1", "burst", "high", "MPD", "u1", 10.0, 90.0, 2,
...                               ["e1", "e2"], "s"))
>>> store.put(a)  # a late repeat of an older message does not win
>>> store["id1"].event_count, len(store)
(2, 1)
>>> store.put(Alert("id1", "burst", "high", "MPD", "u1", 10.0, 90.0, 2, ["e1", "e2"], "s",
...                 status="closed"))
>>> store.put(Alert("id1", "burst", "high", "MPD", "u1", 10.0, 90.0, 2, ["e1", "e2"], "s"))
>>> store["id1"].status  # closed wins over open with the same count, in any order
'closed'
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pandas as pd

from streams.contract.alert import Alert, version_rank
from streams.errors import FrtwatchError

ALERTS_JSONL = "alerts.jsonl"
ALERTS_PARQUET = "alerts.parquet"


def _rank(alert: Alert) -> tuple[int, int]:
    return alert.event_count, alert.status == "closed"


class AlertStore:
    """Latest message per ``alert_id``."""

    def __init__(self) -> None:
        self._alerts: dict[str, Alert] = {}

    def __len__(self) -> int:
        return len(self._alerts)

    def __contains__(self, alert_id: object) -> bool:
        return alert_id in self._alerts

    def __getitem__(self, alert_id: str) -> Alert:
        return self._alerts[alert_id]

    def __iter__(self) -> Iterator[Alert]:
        return iter(sorted(self._alerts.values(), key=lambda a: (a.first_seen, a.alert_id)))

    def put(self, alert: Alert) -> None:
        known = self._alerts.get(alert.alert_id)
        if known is None or _rank(alert) >= _rank(known):
            self._alerts[alert.alert_id] = alert

    def ids(self) -> set[str]:
        return set(self._alerts)

    def by_detector(self) -> dict[str, int]:
        return dict(sorted(Counter(a.detector for a in self._alerts.values()).items()))

    def write(self, out_dir: Path) -> None:
        """Write ``alerts.jsonl`` and ``alerts.parquet`` (atomically, via temporary names)."""
        alerts = list(self)
        tmp = out_dir / (ALERTS_JSONL + ".tmp")
        with tmp.open("wb") as handle:
            for alert in alerts:
                handle.write(orjson.dumps(alert.to_dict(), option=orjson.OPT_SORT_KEYS) + b"\n")
        tmp.replace(out_dir / ALERTS_JSONL)
        frame = alerts_frame([a.to_dict() for a in alerts])
        tmp = out_dir / (ALERTS_PARQUET + ".tmp")
        frame.to_parquet(tmp, index=False)
        tmp.replace(out_dir / ALERTS_PARQUET)


def alerts_frame(records: list[dict[str, Any]]) -> pd.DataFrame:
    """Alert dicts as a table: times as UTC timestamps, ``details`` as JSON text."""
    columns = [
        "alert_id", "detector", "severity", "agency", "user", "first_seen", "last_seen",
        "event_count", "event_ids", "summary", "details", "status",
    ]  # fmt: skip
    frame = pd.DataFrame(
        [
            {
                **{k: r[k] for k in columns if k not in ("details", "status")},
                "status": r.get("status") or "open",
                "details": orjson.dumps(r.get("details", {}), option=orjson.OPT_SORT_KEYS).decode(),
            }
            for r in records
        ],
        columns=columns,
    )
    for name in ("first_seen", "last_seen"):
        frame[name] = pd.to_datetime(frame[name], utc=True, format="ISO8601")
    frame["event_count"] = frame["event_count"].astype("int64")
    return frame


def read_alert_records(path: Path) -> list[dict[str, Any]]:
    """``frt.alert.v1`` dicts from an ``alerts.jsonl`` (or a run directory holding one).

    Several lines with one ``alert_id`` (a raw capture of the alert topic) are
    folded to the latest, as consumers do.
    """
    if path.is_dir():
        path = path / ALERTS_JSONL
    try:
        lines = path.read_bytes().splitlines()
    except OSError as exc:
        raise FrtwatchError(f"cannot read alerts from {path}: {exc.strerror or exc}") from None
    latest: dict[str, dict[str, Any]] = {}
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = orjson.loads(line)
            alert_id = record["alert_id"]
            rank = version_rank(record)
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
            raise FrtwatchError(f"{path}:{number}: not an frt.alert.v1 alert") from None
        known = latest.get(alert_id)
        if known is None or rank >= version_rank(known):
            latest[alert_id] = record
    return sorted(latest.values(), key=lambda r: (str(r.get("first_seen")), r["alert_id"]))
