"""What a change of policy or model does: alerts that appear or disappear between two runs.

Alert ids are deterministic (detector, agency, user, subject and the alert's
opening evidence), so the same alert has the same id in both runs and a set
difference answers "what would the new policy have flagged that the old one did
not, and what would it have stopped flagging". An id present in both whose
evidence count, severity or status (open or closed) differs is "changed". Each
side keeps one version per id: the largest count, closed over open
(:func:`streams.contract.alert.supersedes`), whatever order the records come in.

>>> base = [{"alert_id": "a", "detector": "burst", "event_count": 3, "severity": "high"},
...         {"alert_id": "b", "detector": "burst", "event_count": 1, "severity": "high"}]
>>> new = [{"alert_id": "a", "detector": "burst", "event_count": 5, "severity": "high"},
...        {"alert_id": "c", "detector": "unknown_endpoint", "event_count": 1, "severity": "high"}]
>>> d = diff_alerts(new, base)
>>> d.appeared_ids, d.disappeared_ids, d.changed_ids
(['c'], ['b'], ['a'])
>>> d.by_detector()
{'burst': {'appeared': 0, 'disappeared': 1, 'changed': 1, 'unchanged': 0}, 'unknown_endpoint': {'appeared': 1, 'disappeared': 0, 'changed': 0, 'unchanged': 0}}
>>> closed = {"alert_id": "a", "event_count": 3, "severity": "high", "status": "closed"}
>>> diff_alerts([closed, base[0]], base).changed_ids  # the closed version is kept
['a']
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from streams.contract.alert import supersedes

DIFF_JSON = "diff.json"


@dataclass(slots=True)
class AlertDiff:
    """The new run versus the baseline run, by alert id."""

    new: dict[str, dict[str, Any]]
    baseline: dict[str, dict[str, Any]]
    appeared_ids: list[str] = field(default_factory=list)
    disappeared_ids: list[str] = field(default_factory=list)
    changed_ids: list[str] = field(default_factory=list)
    unchanged_ids: list[str] = field(default_factory=list)

    def by_detector(self) -> dict[str, dict[str, int]]:
        table: dict[str, dict[str, int]] = {}

        def bump(record: dict[str, Any], what: str) -> None:
            row = table.setdefault(
                str(record.get("detector", "?")),
                {"appeared": 0, "disappeared": 0, "changed": 0, "unchanged": 0},
            )
            row[what] += 1

        for alert_id in self.appeared_ids:
            bump(self.new[alert_id], "appeared")
        for alert_id in self.disappeared_ids:
            bump(self.baseline[alert_id], "disappeared")
        for alert_id in self.changed_ids:
            bump(self.new[alert_id], "changed")
        for alert_id in self.unchanged_ids:
            bump(self.new[alert_id], "unchanged")
        return dict(sorted(table.items()))

    def to_dict(self, new_label: str, baseline_label: str) -> dict[str, Any]:
        def brief(record: dict[str, Any]) -> dict[str, Any]:
            keys = ("alert_id", "detector", "severity", "agency", "user", "first_seen",
                    "last_seen", "event_count", "status", "summary")  # fmt: skip
            return {k: record.get(k) for k in keys}

        return {
            "schema": "frtwatch.replay-diff.v1",
            "new": new_label,
            "baseline": baseline_label,
            "counts": {
                "appeared": len(self.appeared_ids),
                "disappeared": len(self.disappeared_ids),
                "changed": len(self.changed_ids),
                "unchanged": len(self.unchanged_ids),
            },
            "by_detector": self.by_detector(),
            "appeared": [brief(self.new[i]) for i in self.appeared_ids],
            "disappeared": [brief(self.baseline[i]) for i in self.disappeared_ids],
            "changed": [
                {
                    **brief(self.new[i]),
                    "baseline_event_count": self.baseline[i].get("event_count"),
                    "baseline_severity": self.baseline[i].get("severity"),
                    "baseline_status": self.baseline[i].get("status"),
                }
                for i in self.changed_ids
            ],
        }

    def write(self, path: Path, new_label: str, baseline_label: str) -> None:
        path.write_bytes(
            orjson.dumps(self.to_dict(new_label, baseline_label), option=orjson.OPT_INDENT_2)
        )

    def lines(self) -> list[str]:
        """A plain-text summary table for the terminal."""
        out = [
            f"alerts: {len(self.appeared_ids)} appeared, {len(self.disappeared_ids)} disappeared, "
            f"{len(self.changed_ids)} changed, {len(self.unchanged_ids)} unchanged",
            f"  {'detector':<22}{'appeared':>10}{'disappeared':>13}{'changed':>9}{'unchanged':>11}",
        ]
        for detector, row in self.by_detector().items():
            out.append(
                f"  {detector:<22}{row['appeared']:>10}{row['disappeared']:>13}"
                f"{row['changed']:>9}{row['unchanged']:>11}"
            )
        return out


def _order(records: dict[str, dict[str, Any]], ids: set[str]) -> list[str]:
    return sorted(ids, key=lambda i: (str(records[i].get("first_seen", "")), i))


def diff_alerts(new: list[dict[str, Any]], baseline: list[dict[str, Any]]) -> AlertDiff:
    """Compare two runs' alerts (any versions of each; the one a consumer keeps counts)."""
    new_by_id = _kept(new)
    base_by_id = _kept(baseline)
    both = new_by_id.keys() & base_by_id.keys()
    changed = {i for i in both if _compared(new_by_id[i]) != _compared(base_by_id[i])}
    return AlertDiff(
        new=new_by_id,
        baseline=base_by_id,
        appeared_ids=_order(new_by_id, new_by_id.keys() - base_by_id.keys()),
        disappeared_ids=_order(base_by_id, base_by_id.keys() - new_by_id.keys()),
        changed_ids=_order(new_by_id, changed),
        unchanged_ids=_order(new_by_id, both - changed),
    )


def _kept(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    kept: dict[str, dict[str, Any]] = {}
    for record in records:
        if supersedes(record, kept.get(record["alert_id"])):
            kept[record["alert_id"]] = record
    return kept


def _compared(record: dict[str, Any]) -> tuple[Any, Any, str]:
    return record.get("event_count"), record.get("severity"), record.get("status") or "open"
