"""The least-privilege ACLs of every frtwatch component, in one place.

:func:`grants` lists, per principal, what it may do on which topic or group, for the
topic names and app id of a :class:`~streams.settings.Settings`. The same list is

- printed for operators as ``kafka-acls.sh`` commands (``frtwatch kafka acls``;
  ``deploy/kafka-acls.sh`` is that output for the default names), and
- applied by ``frtwatch kafka up --secure`` to the local broker (:func:`apply`).

Kafka's Read and Write imply Describe, and Write implies IdempotentWrite (Kafka 3.0+),
so neither is listed. Topics shared by several components (events, alerts, certificates,
dead letters) are created by the operator (``frtwatch kafka up --secure`` does it as the
admin); a component may create only the topics it owns.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from streams.settings import Settings

WORKER = "frtwatch-worker"
CONSOLE = "frtwatch-console"
DISPATCHER = "frtwatch-dispatcher"
REPLAY = "frtwatch-replay"
SHIPPER = "frtwatch-shipper"
TRAINER = "frtwatch-trainer"
PRINCIPALS = (WORKER, CONSOLE, DISPATCHER, REPLAY, SHIPPER, TRAINER)

ROLES = {
    WORKER: "frtwatch worker: reads input, certificates, exceptions and models, writes alerts and "
    "dead letters, "
    "owns its internal topics and its two consumer groups",
    CONSOLE: "frtwatch console: reads alerts, events and certificates, writes triage; "
    "frtwatch exceptions runs as it (reads and writes exceptions)",
    DISPATCHER: "frtwatch webhooks: reads alerts, writes its dead-letter topic",
    REPLAY: "frtwatch replay and frtwatch model train from a topic: reads events, "
    "certificates, exceptions and models",
    SHIPPER: "an agency's shipper (frtwatch produce, frtwatch ingest): writes events and "
    "certificates",
    TRAINER: "frtwatch model trainer (and publish, promote): reads events, reads and writes models",
}


@dataclass(frozen=True, slots=True)
class Grant:
    principal: str
    operation: str  # Kafka's name: Read, Write, Create, All
    resource: str  # topic or group
    name: str
    prefixed: bool = False

    def command(self) -> str:
        """The ``kafka-acls.sh`` invocation that adds this grant."""
        pattern = " --resource-pattern-type prefixed" if self.prefixed else ""
        return (
            'kafka-acls.sh --bootstrap-server "$BOOTSTRAP" --command-config admin.properties '
            f"--add --allow-principal User:{self.principal} --operation {self.operation} "
            f"--{self.resource} '{self.name}'{pattern}"
        )


def grants(settings: Settings) -> list[Grant]:
    """Every ACL frtwatch needs, for ``settings``'s topic names and app id."""
    t, app = settings.topics, settings.app_id
    history = f"{t.triage}.history"
    out = [
        Grant(WORKER, "Read", "topic", t.events),
        Grant(WORKER, "Read", "topic", t.certifications),
        Grant(WORKER, "Read", "topic", t.exceptions),
        Grant(WORKER, "Read", "topic", t.models),
        Grant(WORKER, "Write", "topic", t.alerts),
        Grant(WORKER, "Write", "topic", t.dlq),
        Grant(WORKER, "All", "topic", f"{app}-", prefixed=True),  # internal topics, changelogs
        Grant(WORKER, "Read", "group", app),
        Grant(WORKER, "Read", "group", f"{app}-ingest"),
        Grant(WORKER, "Read", "group", f"{app}-ingest-stage"),  # frtwatch worker --stage ingest
        Grant(CONSOLE, "Read", "topic", t.alerts),
        Grant(CONSOLE, "Read", "topic", t.events),
        Grant(CONSOLE, "Read", "topic", t.certifications),  # the user page's certificate status
        Grant(CONSOLE, "Read", "topic", t.exceptions),  # frtwatch exceptions list
        Grant(CONSOLE, "Write", "topic", t.exceptions),  # frtwatch exceptions add|withdraw|load
    ]
    for topic in (t.triage, history):
        out += [Grant(CONSOLE, op, "topic", topic) for op in ("Read", "Write", "Create")]
    out += [
        Grant(CONSOLE, "Read", "group", f"{app}-console-", prefixed=True),
        Grant(DISPATCHER, "Read", "topic", t.alerts),
        Grant(DISPATCHER, "Write", "topic", t.webhook_dlq),
        Grant(DISPATCHER, "Read", "group", f"{app}-webhooks"),
        Grant(REPLAY, "Read", "topic", t.events),
        Grant(REPLAY, "Read", "topic", t.certifications),
        Grant(REPLAY, "Read", "topic", t.exceptions),
        Grant(REPLAY, "Read", "topic", t.models),
        Grant(TRAINER, "Read", "topic", t.events),
        Grant(TRAINER, "Read", "topic", t.models),
        Grant(TRAINER, "Write", "topic", t.models),
        Grant(SHIPPER, "Write", "topic", t.events),
        Grant(SHIPPER, "Write", "topic", t.certifications),
    ]
    return out


def shared_topics(settings: Settings) -> list[str]:
    """The topics the operator creates before the components start."""
    t = settings.topics
    return [t.events, t.dlq, t.certifications, t.alerts, t.webhook_dlq, t.exceptions, t.models]


def script(settings: Settings) -> str:
    """Shell commands that create the users and ACLs (passwords read, never inlined)."""
    lines = [
        "#!/bin/sh",
        "# frtwatch's least-privilege ACLs (generated by `frtwatch kafka acls`; the same",
        "# definitions `frtwatch kafka up --secure` applies). BOOTSTRAP is the cluster's",
        "# SASL_SSL listener; admin.properties holds a super user's client settings.",
        "# Each principal's password is read from ./<principal>.password.",
        "set -eu",
        ': "${BOOTSTRAP:?set BOOTSTRAP to host:port of a SASL_SSL listener}"',
        "",
    ]
    for principal in PRINCIPALS:
        lines += [
            f"# {principal}: {ROLES[principal]}",
            'kafka-configs.sh --bootstrap-server "$BOOTSTRAP" --command-config admin.properties '
            f"--alter --entity-type users --entity-name {principal} "
            f'--add-config "SCRAM-SHA-512=[password=$(cat {principal}.password)]"',
        ]
        lines += [g.command() for g in grants(settings) if g.principal == principal]
        lines.append("")
    return "\n".join(lines)


def kafka_python_acls(settings: Settings) -> list[Any]:
    """The grants as kafka-python ``ACL`` objects (for :func:`apply`)."""
    from kafka.admin import (
        ACL,
        ACLOperation,
        ACLPermissionType,
        ACLResourcePatternType,
        ResourcePattern,
        ResourceType,
    )

    acls = []
    for g in grants(settings):
        pattern = ResourcePattern(
            ResourceType.TOPIC if g.resource == "topic" else ResourceType.GROUP,
            g.name,
            ACLResourcePatternType.PREFIXED if g.prefixed else ACLResourcePatternType.LITERAL,
        )
        acls.append(
            ACL(
                principal=f"User:{g.principal}",
                host="*",
                operation=ACLOperation[g.operation.upper()],
                permission_type=ACLPermissionType.ALLOW,
                resource_pattern=pattern,
            )
        )
    return acls


def apply(admin: Any, settings: Settings) -> int:
    """Create every grant with kafka-python's admin client; returns how many. Adding an
    ACL that exists already is a no-op for Kafka, so this is safe to repeat."""
    from streams.errors import BrokerError

    acls = kafka_python_acls(settings)
    result = admin.create_acls(acls)
    if result["failed"]:
        raise BrokerError(
            f"the broker refused {len(result['failed'])} ACL(s): {result['failed'][0]}"
        )
    return len(result["succeeded"])
