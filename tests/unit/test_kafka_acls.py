"""streams/kafka_acls.py: one least-privilege ACL set, printed for operators and applied."""

from __future__ import annotations

import dataclasses

from streams.kafka_acls import (
    CONSOLE,
    DISPATCHER,
    PRINCIPALS,
    REPLAY,
    SHIPPER,
    TRAINER,
    WORKER,
    grants,
    kafka_python_acls,
    script,
)
from streams.settings import Settings, TopicNames
from streams.worker.consumer_lag import worker_groups
from tests.conftest import ROOT


def allowed(settings: Settings, principal: str) -> set[tuple[str, str, str, bool]]:
    return {(g.operation, g.resource, g.name, g.prefixed) for g in grants(settings)
            if g.principal == principal}  # fmt: skip


def test_the_shipped_script_is_the_one_the_code_prints() -> None:
    """deploy/kafka-acls.sh is `frtwatch kafka acls` for the default names: the same list
    that `frtwatch kafka up --secure` applies."""
    shipped = (ROOT / "deploy" / "kafka-acls.sh").read_text(encoding="utf-8")
    assert shipped == script(Settings()) + "\n"


def test_every_principal_gets_a_user_and_acls_and_no_password_is_inlined() -> None:
    text = script(Settings())
    for principal in PRINCIPALS:
        assert f"--entity-name {principal} " in text
        assert f"$(cat {principal}.password)" in text
        assert allowed(Settings(), principal)


def test_replay_only_reads() -> None:
    t = Settings().topics
    assert allowed(Settings(), REPLAY) == {
        ("Read", "topic", t.events, False),
        ("Read", "topic", t.certifications, False),
        ("Read", "topic", t.exceptions, False),
        ("Read", "topic", t.models, False),
    }


def test_only_the_worker_writes_alerts_and_only_the_console_writes_triage() -> None:
    settings = Settings()
    t = settings.topics
    writers: dict[str, set[str]] = {}
    for g in grants(settings):
        if g.resource == "topic" and g.operation in ("Write", "All") and not g.prefixed:
            writers.setdefault(g.name, set()).add(g.principal)
    assert writers[t.alerts] == {WORKER}
    assert writers[t.triage] == writers[f"{t.triage}.history"] == {CONSOLE}
    assert writers[t.webhook_dlq] == {DISPATCHER}
    assert writers[t.events] == {SHIPPER}
    assert writers[t.models] == {TRAINER}  # workers and replays only read model versions
    assert not [g for g in grants(settings) if g.resource == "group" and g.principal == SHIPPER]


def test_the_groups_are_the_ones_the_components_join() -> None:
    settings = dataclasses.replace(Settings(), app_id="soc1")
    groups = {(g.principal, g.name, g.prefixed) for g in grants(settings) if g.resource == "group"}
    for group in worker_groups("soc1"):
        assert (WORKER, group, False) in groups
    assert (DISPATCHER, "soc1-webhooks", False) in groups  # frtwatch webhooks' default group
    # frtwatch console's default group is <app id>-console-<host>-<port>
    assert (CONSOLE, "soc1-console-", True) in groups
    assert (WORKER, "soc1-", True) not in groups  # the worker's internal topics only:
    assert ("All", "topic", "soc1-", True) in allowed(settings, WORKER)


def test_renamed_topics_are_followed() -> None:
    topics = TopicNames(events="agency.events", alerts="soc.alerts")
    settings = dataclasses.replace(Settings(), topics=topics)
    names = {g.name for g in grants(settings)}
    assert {"agency.events", "soc.alerts"} <= names
    assert "frt.search-events" not in names and "frt.alerts" not in names


def test_the_acls_become_kafka_python_objects() -> None:
    from kafka.admin import ACLOperation, ACLPermissionType, ACLResourcePatternType

    acls = kafka_python_acls(Settings())
    assert len(acls) == len(grants(Settings()))
    assert all(a.permission_type == ACLPermissionType.ALLOW for a in acls)
    prefixed = [
        a for a in acls if a.resource_pattern.pattern_type == ACLResourcePatternType.PREFIXED
    ]
    assert {a.resource_pattern.resource_name for a in prefixed} == {
        "frtwatch-",
        "frtwatch-console-",
    }
    assert {a.operation for a in acls} == {
        ACLOperation.READ,
        ACLOperation.WRITE,
        ACLOperation.CREATE,
        ACLOperation.ALL,
    }
