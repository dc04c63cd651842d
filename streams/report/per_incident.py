"""Alerts per incident on a simulated world: how many alert ids a SOC reads per incident.

``python -m streams.report.per_incident WORLD [--policy FILE] [--model FILE]`` judges a
world written by ``frtwatch simulate`` (its ``events.jsonl``, ``certifications.csv``
and ``truth.json``) through the judge, per agency in event-time order as every driver
does, keeps one version per alert id (the largest count, closed over open), and
matches each alert to the labelled incidents of its detector, agency, users and
subject. It prints, per incident and per (incident, user): distinct alert ids (mean
and max), and how many incident users' alerts are closed with a final count equal to
the incident's evidence for that user (``exact``).

A behaviour alert matches a behaviour incident only within the incident's span;
rule alerts match whatever their time (an alert that opened before an incident and
runs into it is that incident's alert).
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from streams.contract.alert import alert_users, silenced_by, user_evidence
from streams.contract.event import parse_timestamp

BATCH = 2000


@dataclass(slots=True)
class IncidentFigures:
    incidents: int
    per_incident: list[int]
    per_user: list[int]
    exact: int
    closed: int
    user_incidents: int
    alert_ids: int
    messages: int
    rows: list[str]

    def lines(self) -> list[str]:
        def stats(values: list[int]) -> str:
            if not values:
                return "n/a"
            return f"mean {statistics.fmean(values):.2f}, max {max(values)}"

        return [
            f"alerts {self.alert_ids} ids ({self.messages} messages) for {self.incidents} incidents",
            f"alert ids per incident:          {stats(self.per_incident)}",
            f"alert ids per incident and user: {stats(self.per_user)}",
            f"incident users whose alerts are all closed: {self.closed}/{self.user_incidents}",
            f"  ... with final counts equal to their evidence: {self.exact}/{self.user_incidents}",
        ]


def _rank(alert: dict[str, Any]) -> tuple[int, bool]:
    return int(alert.get("event_count", 0)), alert.get("status") == "closed"


def judge_world(world: Path, policy: Path, model: Path | None) -> list[dict[str, Any]]:
    """Every alert version the judge publishes for the world's events."""
    from streams.contract import parse_event
    from streams.detectors import Engine
    from streams.judge.batch import BatchItem, Judge, ObjectStates
    from streams.policy import load_certificates_csv, load_policy

    loaded = load_policy(policy)
    engine = Engine(loaded, load_certificates_csv(world / "certifications.csv"))
    behaviour = None
    if model is not None:
        from models.scoring import load_model

        behaviour = load_model(model, loaded.local_hours())
    judge = Judge(engine, behaviour)
    by_agency: dict[str, list[Any]] = defaultdict(list)
    for line in (world / "events.jsonl").read_bytes().splitlines():
        if line.strip():
            event = parse_event(line)
            by_agency[event.agency].append(event)
    published: list[dict[str, Any]] = []
    states = ObjectStates()
    for agency in sorted(by_agency):
        events = sorted(by_agency[agency], key=lambda e: e.ts)
        for start in range(0, len(events), BATCH):
            items = [BatchItem(e, None) for e in events[start : start + BATCH]]
            published += [a.to_dict() for a in judge.run(items, states).alerts]
    return published


def _subject(alert: dict[str, Any]) -> str:
    details = alert.get("details") or {}
    if alert["detector"] in ("prohibited_endpoint", "unknown_endpoint"):
        return str(details.get("host", ""))
    if alert["detector"] == "outside_agency":
        return str(details.get("requesting_agency", ""))
    return ""


def figures(truth: dict[str, Any], published: Sequence[dict[str, Any]]) -> IncidentFigures:
    kept: dict[str, dict[str, Any]] = {}
    for alert in published:
        if silenced_by(alert) is not None:
            continue  # an exception covers it: nothing a SOC reads
        old = kept.get(alert["alert_id"])
        if old is None or _rank(alert) >= _rank(old):
            kept[alert["alert_id"]] = alert
    per_incident, per_user, rows = [], [], []
    exact = closed = user_incidents = 0
    for incident in truth["incidents"]:
        start, end = parse_timestamp(incident["start"]), parse_timestamp(incident["end"])
        mine = [
            a
            for a in kept.values()
            if a["detector"] == incident["detector"]
            and a["agency"] == incident["agency"]
            and set(alert_users(a)) & set(incident["users"])
            and (not incident.get("subject") or _subject(a) == incident["subject"])
            and (
                incident["detector"] != "behavior_anomaly"
                or (
                    parse_timestamp(a["first_seen"]) >= start - 0.001
                    and parse_timestamp(a["last_seen"]) <= end + 0.001
                )
            )
        ]
        per_incident.append(len(mine))
        for user in incident["users"]:
            ids = [a for a in mine if user in alert_users(a)]
            per_user.append(len(ids))
            user_incidents += 1
            if ids and all(a.get("status") == "closed" for a in ids):
                closed += 1
            evidence = incident.get("events_per_user", {}).get(user, 0)
            if ids and sum(user_evidence(a, user) for a in ids) == evidence:
                exact += 1
            versions = " ".join(
                f"{user_evidence(a, user)}{'c' if a.get('status') == 'closed' else 'o'}"
                for a in sorted(ids, key=lambda a: a["first_seen"])
            )
            rows.append(f"{incident['id']:<8} {incident['kind']:<22} {incident['agency']}/{user:<12}"
                        f" evidence {evidence:>3}  alerts {versions}")  # fmt: skip
    return IncidentFigures(
        incidents=len(truth["incidents"]),
        per_incident=per_incident,
        per_user=per_user,
        exact=exact,
        closed=closed,
        user_incidents=user_incidents,
        alert_ids=len(kept),
        messages=len(published),
        rows=rows,
    )


def evidence_per_user(world: Path, truth: dict[str, Any]) -> None:
    """Fill each incident's ``events_per_user`` from the world's events (the truth
    names the evidence by id; the events say whose it is)."""
    users: dict[str, str] = {}
    for line in (world / "events.jsonl").read_bytes().splitlines():
        if line.strip():
            event = orjson.loads(line)
            users[event["event_id"]] = event["user"]
    for incident in truth["incidents"]:
        counts: dict[str, int] = defaultdict(int)
        for event_id in incident["event_ids"]:
            if event_id in users:
                counts[users[event_id]] += 1
        incident["events_per_user"] = dict(counts)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m streams.report.per_incident",
                                     description=__doc__.splitlines()[0])  # fmt: skip
    parser.add_argument("world", type=Path, help="directory written by frtwatch simulate")
    parser.add_argument("--policy", type=Path, default=Path("config/policy.yaml"))
    parser.add_argument("--model", type=Path, default=None, help="behaviour model (.skops)")
    parser.add_argument("--rows", action="store_true",
                        help="also one line per incident user: evidence and kept alert counts "
                             "(o open, c closed)")  # fmt: skip
    args = parser.parse_args(argv)
    try:
        truth = orjson.loads((args.world / "truth.json").read_bytes())
        evidence_per_user(args.world, truth)
        published = judge_world(args.world, args.policy, args.model)
    except (OSError, ValueError) as exc:
        print(f"per_incident: {exc}", file=sys.stderr)
        return 1
    result = figures(truth, published)
    if args.rows:
        print("\n".join(result.rows))
    print("\n".join(result.lines()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
