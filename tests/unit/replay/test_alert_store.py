"""A run keeps the latest message per alert and writes identical files for identical input."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from streams.contract import Alert
from streams.replay.alert_store import AlertStore, read_alert_records


def _alert(alert_id: str, count: int, first: float = 100.0) -> Alert:
    return Alert(alert_id, "burst", "high", "MPD", "u1", first, first + count, count,
                 [f"e{i}" for i in range(count)], "summary", {"window_count": count})  # fmt: skip


def test_latest_message_wins_whatever_the_arrival_order() -> None:
    store = AlertStore()
    for count in (1, 4, 2, 8, 8):
        store.put(_alert("x", count))
    assert store["x"].event_count == 8 and len(store) == 1 and "x" in store


def test_files_round_trip_and_are_ordered_by_first_evidence(tmp_path: Path) -> None:
    store = AlertStore()
    store.put(_alert("later", 2, first=500.0))
    store.put(_alert("earlier", 1, first=100.0))
    store.write(tmp_path)
    records = read_alert_records(tmp_path)
    assert [r["alert_id"] for r in records] == ["earlier", "later"]
    assert records[1]["details"] == {"window_count": 2}
    frame = pd.read_parquet(tmp_path / "alerts.parquet")
    assert list(frame["alert_id"]) == ["earlier", "later"]
    assert str(frame["first_seen"].dt.tz) == "UTC"
    assert list(frame.loc[1, "event_ids"]) == ["e0", "e1"]
    first = (tmp_path / "alerts.jsonl").read_bytes()
    store.write(tmp_path)
    assert (tmp_path / "alerts.jsonl").read_bytes() == first
    assert not list(tmp_path.glob("*.tmp"))
