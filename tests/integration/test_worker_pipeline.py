"""End to end: ``frtwatch simulate`` -> produce with null keys -> worker -> alerts vs ground truth.

The world is small (150 users, 14 days, seed 7): its incidents fall in the second
week, after the burst detector's warm-up (half its 14-day baseline), as they would
on a worker that has watched an agency for a while. The behaviour model is
trained first with ``frtwatch model train`` on the simulated baseline (every
event before the first incident starts), so the worker runs every detector.

Checked against ``truth.json``:

* every rule incident is found by its detector: an alert for one of its
  users with that detector (and its subject: the host for endpoint
  incidents, the requesting agency for outside-agency ones);
* no decoy is flagged by a detector it lists in ``must_not_fire``;
* no rule alert lies outside the time span of an incident of its detector
  for that user, and no user without an incident gets any rule alert;
* alerts per incident are few: an alert is one (user, detector, subject) for as
  long as the behaviour lasts (a session that closes after a quiet day), and one
  per agency for the endpoint detectors (the shipped policy's ``alert_per:
  agency``), so an incident has at most 3 alert ids, a ring of users included;
* final counts are exact: after the world, one ordinary search per agency two
  days later moves every agency's event-time clock past every alert, so every
  rule alert is closed, and for every rule incident the closed alerts count
  exactly each user's evidence (an agency-wide alert per member, in
  ``details.user_counts``; a burst alert its whole window).

Recall per detector, decoys flagged and alerts per incident are printed
(``pytest -s``) whatever the outcome.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from streams.contract.alert import alert_users, user_evidence
from streams.policy import load_policy
from streams.settings import TopicNames
from streams.simulate.baseline import write_baseline
from streams.worker.ingest.stage import LAG_GRACE_S
from tests.conftest import ROOT
from tests.integration.conftest import WorkerFactory
from tests.integration.worker_harness import (
    events_behind,
    frtwatch,
    latest_alerts,
    policy_with_model,
    read_topic,
    wait_drained,
)

RULE_DETECTORS = (
    "prohibited_endpoint",
    "unknown_endpoint",
    "outside_agency",
    "uncertified_user",
    "missing_case_number",
    "burst",
)
TOLERANCE_S = 0.001  # alert times are microseconds, truth times milliseconds


def epoch(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def subject_of(alert: dict[str, Any]) -> str:
    details = alert.get("details", {})
    if alert["detector"] in ("prohibited_endpoint", "unknown_endpoint"):
        return str(details.get("host", ""))
    if alert["detector"] == "outside_agency":
        return str(details.get("requesting_agency", ""))
    return ""


MAX_ALERTS_PER_INCIDENT = 3
"""Alert ids an incident may raise, however many users it has (cases, not floods)."""
EXACT_DETECTORS = set(RULE_DETECTORS)


def closing_ticks(world: Path, truth: dict[str, Any]) -> list[bytes]:
    """Per agency, one ordinary search two days after the world's end, by a certified
    user without incidents (a copy of their last search): it raises nothing and moves
    the agency's clock past every alert's session gap."""
    flagged = {(i["agency"], u) for i in truth["incidents"] for u in i["users"]}
    flagged |= {(d["agency"], u) for d in truth["decoys"] for u in d["users"]}
    certified = {(u["agency"], u["user"]) for u in truth["users"] if u["certified"]}
    tick = datetime.fromtimestamp(epoch(truth["end"]) + 2 * 86400, tz=UTC)
    valid = set()
    for line in (world / "certifications.csv").read_text(encoding="utf-8").splitlines()[1:]:
        agency, user, _, expires_on = line.split(",")
        if expires_on >= tick.date().isoformat():
            valid.add((agency, user))
    last: dict[str, dict[str, Any]] = {}
    for line in (world / "events.jsonl").read_bytes().splitlines():
        event = json.loads(line)
        who = (event["agency"], event["user"])
        if who in certified and who in valid and who not in flagged and event["case_number"]:
            last[event["agency"]] = event
    ticks = []
    for agency, event in sorted(last.items()):
        event = {
            **event,
            "event_id": f"tick-{agency}",
            "ts": tick.isoformat().replace("+00:00", "Z"),
        }
        ticks.append(json.dumps(event).encode())
    assert set(last) == {u["agency"] for u in truth["users"]}, "an agency without a tick"
    return ticks


@dataclass
class Evaluation:
    """Alerts judged against the ground truth; ``problems`` lists every failed check."""

    found: dict[str, list[bool]] = field(default_factory=lambda: defaultdict(list))
    per_incident: dict[str, tuple[int, int, int]] = field(default_factory=dict)
    decoys_flagged: list[str] = field(default_factory=list)
    behaviour_false: int = 0
    problems: list[str] = field(default_factory=list)

    def report(self) -> str:
        lines = ["recall per detector:"]
        for detector, hits in sorted(self.found.items()):
            lines.append(f"  {detector:<20} {sum(hits)}/{len(hits)} = {sum(hits) / len(hits):.2f}")
        lines.append(f"decoys flagged: {len(self.decoys_flagged)} {self.decoys_flagged}")
        lines.append("alerts per incident (distinct alert ids / bound / evidence events):")
        for name, (alerts, bound, evidence) in sorted(self.per_incident.items()):
            lines.append(f"  {name:<28} {alerts:>3} / {bound:>3} / {evidence:>3}")
        counts = [a for a, _, _ in self.per_incident.values()]
        if counts:
            lines.append(f"  mean {sum(counts) / len(counts):.2f}, max {max(counts)}")
        lines.append(
            f"behaviour alerts on users without a behaviour incident: {self.behaviour_false}"
        )
        lines.extend(f"PROBLEM: {p}" for p in self.problems)
        return "\n".join(lines)


def evaluate(
    truth: dict[str, Any], alerts: list[dict[str, Any]], user_of: dict[str, str]
) -> Evaluation:
    result = Evaluation()
    incidents = truth["incidents"]
    by_user: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for incident in incidents:
        for user in incident["users"]:
            by_user[(incident["agency"], user)].append(incident)

    def within(alert: dict[str, Any], incident: dict[str, Any]) -> bool:
        return (
            epoch(alert["first_seen"]) >= epoch(incident["start"]) - TOLERANCE_S
            and epoch(alert["last_seen"]) <= epoch(incident["end"]) + TOLERANCE_S
        )

    def matches(alert: dict[str, Any], incident: dict[str, Any]) -> bool:
        return (
            alert["detector"] == incident["detector"]
            and alert["agency"] == incident["agency"]
            and bool(set(alert_users(alert)) & set(incident["users"]))
            and (not incident.get("subject") or subject_of(alert) == incident["subject"])
        )

    for incident in incidents:
        mine = [a for a in alerts if matches(a, incident)]
        if incident["detector"] == "behavior_anomaly":
            mine = [a for a in mine if within(a, incident)]
        name = f"{incident['id']} {incident['detector']}"
        result.found[incident["detector"]].append(bool(mine))
        if not mine and incident["detector"] != "behavior_anomaly":
            result.problems.append(f"{name} ({incident['kind']}) not found")
        bound = MAX_ALERTS_PER_INCIDENT
        result.per_incident[name] = (len(mine), bound, len(incident["event_ids"]))
        if len(mine) > bound:
            result.problems.append(f"{name}: {len(mine)} alerts, more than the bound {bound}")
        if incident["detector"] not in EXACT_DETECTORS:
            continue
        for user in incident["users"]:
            own = [a for a in mine if user in alert_users(a)]
            evidence = sum(1 for e in incident["event_ids"] if user_of.get(e) == user)
            counted = sum(user_evidence(a, user) for a in own)
            if any(a.get("status") != "closed" for a in own) or counted != evidence:
                found = [(user_evidence(a, user), a.get("status")) for a in own]
                result.problems.append(
                    f"{name} {user}: alerts {found} for {evidence} searches of evidence"
                )

    for alert in alerts:
        for member in alert_users(alert):  # an agency-wide alert: each member's
            who = (alert["agency"], member)
            own = [i for i in by_user.get(who, []) if i["detector"] == alert["detector"]]
            if alert["detector"] == "behavior_anomaly":
                result.behaviour_false += not own
                continue
            if not by_user.get(who):
                result.problems.append(
                    f"{alert['detector']} alert on {who}, a user without incidents"
                )
            elif not any(within(alert, i) and matches(alert, i) for i in own):
                result.problems.append(
                    f"{alert['detector']} alert on {who} {alert['first_seen']}.."
                    f"{alert['last_seen']} outside the span of any incident of that detector"
                )

    for decoy in truth["decoys"]:
        start, end = epoch(decoy["start"]), epoch(decoy["end"])
        flagged = [
            a for a in alerts
            if a["detector"] in decoy["must_not_fire"] and a["agency"] == decoy["agency"]
            and set(alert_users(a)) & set(decoy["users"])
            and epoch(a["last_seen"]) >= start and epoch(a["first_seen"]) <= end
        ]  # fmt: skip
        if flagged:
            result.decoys_flagged.append(decoy["id"])
            result.problems.append(f"decoy {decoy['id']} ({decoy['kind']}) flagged")
    return result


def test_simulated_world_end_to_end(
    kafka_bootstrap: str,
    topic_names: TopicNames,
    worker_factory: WorkerFactory,
    tmp_path: Path,
) -> None:
    world = tmp_path / "world"
    frtwatch("simulate", "--out", str(world), "--users", "150", "--days", "14", "--seed", "7",
             "--no-progress")  # fmt: skip
    truth = json.loads((world / "truth.json").read_text(encoding="utf-8"))

    baseline = tmp_path / "baseline.jsonl"
    assert write_baseline(world / "events.jsonl", truth, baseline) > 1000
    model = tmp_path / "model" / "behavior.skops"
    print("\n" + frtwatch("model", "train", "--from-file", str(baseline), "--out", str(model)))
    policy = policy_with_model(ROOT / "config" / "policy.yaml", tmp_path / "policy.yaml",
                               model, world / "certifications.csv")  # fmt: skip
    assert load_policy(policy).session_gap_s == 86400
    user_of = {}
    for line in (world / "events.jsonl").read_bytes().splitlines():
        event = json.loads(line)
        user_of[event["event_id"]] = event["user"]
    ticks = closing_ticks(world, truth)

    app_id = f"frtwatch-e2e-{uuid.uuid4().hex[:8]}"
    worker = worker_factory(policy, app_id=app_id)
    assert "behavior_anomaly" in worker.output()
    time.sleep(
        LAG_GRACE_S + 1
    )  # an idle worker, then a bulk load (streams.worker.ingest.partition_lag)
    frtwatch("produce", str(world / "events.jsonl"), "--topic", topic_names.events,
             "--bootstrap", kafka_bootstrap, "--key", "null", "--no-progress")  # fmt: skip
    (tmp_path / "ticks.jsonl").write_bytes(b"\n".join(ticks) + b"\n")
    frtwatch("produce", str(tmp_path / "ticks.jsonl"), "--topic", topic_names.events,
             "--bootstrap", kafka_bootstrap, "--key", "null", "--no-progress")  # fmt: skip
    wait_drained(worker, kafka_bootstrap, truth["event_count"] + len(ticks), timeout=240)
    messages = read_topic(kafka_bootstrap, topic_names.alerts)
    alerts = list(latest_alerts(messages).values())

    result = evaluate(truth, alerts, user_of)
    print(f"{truth['event_count']} events, {len(messages)} alert messages, {len(alerts)} alerts")
    print(result.report())
    summary = frtwatch("alerts", "summary", "--topic", topic_names.alerts,
                       "--bootstrap", kafka_bootstrap)  # fmt: skip
    print(summary)
    total = next(line for line in summary.splitlines() if " total " in line)
    assert re.findall(r"\d+", total)[0] == str(len(alerts)), total
    assert worker.stop() == 0
    # Spread over the input partitions by null keys, the events must still reach the
    # detectors in event-time order (a late event is not counted in rates).
    assert events_behind(kafka_bootstrap, app_id, lateness_s=3600) == {}
    assert result.problems == []
    assert all(all(result.found[d]) for d in RULE_DETECTORS)
