"""deploy/prometheus/alerts.yaml and the Grafana dashboard name only metrics the code exports."""

from __future__ import annotations

import json
import re

import yaml
from prometheus_client import REGISTRY

import streams.metrics  # noqa: F401 - defines every frtwatch metric in the default registry
from tests.conftest import ROOT

NAME = re.compile(r"\bfrtwatch_[a-z0-9_]+")


def exported() -> set[str]:
    """Every frtwatch sample name a scrape can show, from the metric definitions."""
    suffixes = {"counter": ("_total", "_created"), "gauge": ("",),
                "histogram": ("_bucket", "_sum", "_count", "_created")}  # fmt: skip
    names = set()
    for family in REGISTRY.collect():
        if family.name.startswith("frtwatch_"):
            names.update(family.name + s for s in suffixes[family.type])
    return names


def rules() -> list[dict[str, object]]:
    data = yaml.safe_load((ROOT / "deploy" / "prometheus" / "alerts.yaml").read_text())
    return [rule for group in data["groups"] for rule in group["rules"]]


def dashboard_exprs() -> list[str]:
    data = json.loads((ROOT / "deploy" / "grafana" / "frtwatch-dashboard.json").read_text())
    return [t["expr"] for panel in data["panels"] for t in panel["targets"]]


def test_the_exported_set_is_what_the_worker_and_dispatcher_define() -> None:
    names = exported()
    assert {"frtwatch_events_in_total", "frtwatch_consumer_lag",
            "frtwatch_gc_pause_seconds_bucket", "frtwatch_state_entries",
            "frtwatch_webhook_failures_total"} <= names  # fmt: skip


def test_every_alert_rule_names_only_exported_metrics() -> None:
    names = exported()
    for rule in rules():
        used = set(NAME.findall(str(rule["expr"])))
        assert used <= names, (rule["alert"], used - names)


def test_every_dashboard_query_names_only_exported_metrics() -> None:
    names = exported()
    exprs = dashboard_exprs()
    assert exprs
    for expr in exprs:
        assert set(NAME.findall(expr)) <= names, expr
    used = {n for e in exprs for n in NAME.findall(e)}
    # every metric family is on the dashboard
    families = {re.sub(r"_(total|created|bucket|sum|count)$", "", n) for n in names}
    shown = {re.sub(r"_(total|created|bucket|sum|count)$", "", n) for n in used}
    assert families <= shown, families - shown


def test_the_alerts_the_operators_need_are_there() -> None:
    by_name = {rule["alert"]: str(rule["expr"]) for rule in rules()}
    assert 'up{job="frtwatch-worker"} == 0' in by_name["FrtwatchWorkerDown"]
    assert "frtwatch_consumer_lag" in by_name["FrtwatchInputLagGrowing"]
    assert "frtwatch_events_rejected_total" in by_name["FrtwatchDeadLetterRate"]
    assert "frtwatch_webhook_failures_total" in by_name["FrtwatchWebhookDeadLetters"]
    for rule in rules():
        assert rule["labels"]["severity"] in {"critical", "warning", "info"}  # type: ignore[index]
        assert rule["annotations"]["summary"]  # type: ignore[index]
