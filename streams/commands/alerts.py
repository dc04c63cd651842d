"""``frtwatch alerts tail|summary``: read the alert topic from a terminal.

``tail`` prints alerts as they arrive (new alerts and updates of known ones).
``summary`` reads the whole topic as it is now, keeps the latest message per
``alert_id`` (the one with the most evidence: later messages with the same id
are updates, never new alerts), and prints alerts by detector, severity and
agency, then per user, riskiest first (the console's risk figure,
:mod:`streams.console.risk`).

Alert text comes from events, which anyone with access to the input topic
can write: it is printed as plain text, never interpreted as terminal markup.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, TextIO

import orjson

from streams.contract import SEVERITIES
from streams.contract.alert import alert_users, silenced_by, supersedes
from streams.errors import BrokerError, UsageError
from streams.kafka_client import kafka_python_kwargs
from streams.settings import load_settings

SEVERITY_RANK = {name: i for i, name in enumerate(SEVERITIES)}


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "alerts",
        help="show alerts from the alert topic (tail, or a summary table)",
        description=(
            "tail: print alerts as they arrive. summary: read the whole alert topic, keep "
            "the latest update of each alert_id, and count alerts by detector, severity "
            "and agency, then per user, riskiest first (severity-weighted, decaying with "
            "event time: docs/CONSOLE.md). Topic and broker default to "
            "FRTWATCH_TOPIC_ALERTS and FRTWATCH_BOOTSTRAP."
        ),
    )
    parser.add_argument("action", choices=("tail", "summary"))
    parser.add_argument("--bootstrap", help="Kafka bootstrap servers (FRTWATCH_BOOTSTRAP)")
    parser.add_argument("--topic", help="alert topic (FRTWATCH_TOPIC_ALERTS)")
    parser.add_argument(
        "--from-beginning",
        action="store_true",
        help="tail: start at the oldest alert instead of new ones only",
    )
    parser.add_argument(
        "--max",
        type=int,
        default=0,
        metavar="N",
        help="tail: stop after N messages (default: run until Ctrl-C)",
    )
    parser.add_argument(
        "--json", action="store_true", help="tail: print each message as one JSON line"
    )
    parser.add_argument("--users", type=int, default=20, metavar="N",
                        help="summary: the N riskiest users (default 20; 0 = every user)")  # fmt: skip
    parser.add_argument("--timeout", type=float, default=30.0,
                        help="summary: seconds to wait for the broker (default 30)")  # fmt: skip
    parser.set_defaults(func=_run)


@dataclass(frozen=True, slots=True)
class SummaryRow:
    detector: str
    severity: str
    agency: str
    alerts: int
    users: int
    events: int


def parse_alert(value: bytes | None) -> dict[str, Any] | None:
    """An alert message as a dict, or None when it is not a readable ``frt.alert.v1``.

    >>> parse_alert(b'{"alert_id": "a", "event_count": 2}')["event_count"]
    2
    >>> parse_alert(b"junk") is None
    True
    """
    if value is None:
        return None
    try:
        alert = orjson.loads(value)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(alert, dict) or not isinstance(alert.get("alert_id"), str):
        return None
    return alert


def latest_per_alert(messages: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Keep, per ``alert_id``, the update with the most evidence, closed over open (the
    last one on ties: :func:`streams.contract.alert.supersedes`).

    >>> sorted(a["event_count"] for a in latest_per_alert(
    ...     [{"alert_id": "x", "event_count": 1}, {"alert_id": "x", "event_count": 4},
    ...      {"alert_id": "x", "event_count": 2}, {"alert_id": "y", "event_count": 1}]
    ... ).values())
    [1, 4]
    >>> latest_per_alert([{"alert_id": "x", "event_count": 4, "status": "closed"},
    ...                   {"alert_id": "x", "event_count": 4, "status": "open"}])["x"]["status"]
    'closed'
    """
    latest: dict[str, dict[str, Any]] = {}
    for alert in messages:
        if supersedes(alert, latest.get(alert["alert_id"])):
            latest[alert["alert_id"]] = alert
    return latest


def _count(alert: dict[str, Any]) -> int:
    value = alert.get("event_count")
    return value if isinstance(value, int) else 0


def summarise(alerts: Iterable[dict[str, Any]]) -> list[SummaryRow]:
    """Rows by (detector, severity, agency), most severe first.

    >>> rows = summarise([
    ...     {"detector": "burst", "severity": "high", "agency": "MPD", "user": "a", "event_count": 3},
    ...     {"detector": "burst", "severity": "high", "agency": "MPD", "user": "a", "event_count": 1},
    ... ])
    >>> rows[0].alerts, rows[0].users, rows[0].events
    (2, 1, 4)
    """
    alert_counts: Counter[tuple[str, str, str]] = Counter()
    events: Counter[tuple[str, str, str]] = Counter()
    users: defaultdict[tuple[str, str, str], set[str]] = defaultdict(set)
    for alert in alerts:
        key = (
            str(alert.get("detector", "?")),
            str(alert.get("severity", "?")),
            str(alert.get("agency", "?")),
        )
        alert_counts[key] += 1
        events[key] += _count(alert)
        users[key].update(alert_users(alert))
    order = sorted(alert_counts, key=lambda k: (-SEVERITY_RANK.get(k[1], -1), k[0], k[2]))
    return [
        SummaryRow(d, s, a, alert_counts[(d, s, a)], len(users[(d, s, a)]), events[(d, s, a)])
        for d, s, a in order
    ]


@dataclass(frozen=True, slots=True)
class UserRow:
    agency: str
    user: str
    risk: float
    alerts: int
    events: int
    worst: str
    detectors: tuple[str, ...]


def summarise_users(alerts: Iterable[dict[str, Any]]) -> list[UserRow]:
    """One row per (agency, user): risk, alerts, evidence, worst severity, detectors;
    riskiest first. An agency-wide alert is a row's alert for each of its members, with
    that member's searches as its evidence.

    >>> rows = summarise_users([
    ...     {"detector": "burst", "severity": "high", "agency": "MPD", "user": "a",
    ...      "event_count": 3, "last_seen": "2026-03-02T09:00:00Z"},
    ...     {"detector": "uncertified_user", "severity": "medium", "agency": "MPD", "user": "a",
    ...      "event_count": 1, "last_seen": "2026-03-02T09:00:00Z"},
    ...     {"detector": "burst", "severity": "low", "agency": "SPD", "user": "b",
    ...      "event_count": 1, "last_seen": "2026-03-02T09:00:00Z"},
    ... ])
    >>> [(r.agency, r.user, r.alerts, r.events, r.worst, r.detectors) for r in rows]
    [('MPD', 'a', 2, 4, 'high', ('burst', 'uncertified_user')), ('SPD', 'b', 1, 1, 'low', ('burst',))]
    """
    from streams.console.risk import members, user_risks

    alerts = list(alerts)
    risks = user_risks(alerts)
    counts: Counter[tuple[str, str]] = Counter()
    events: Counter[tuple[str, str]] = Counter()
    worst: dict[tuple[str, str], str] = {}
    detectors: defaultdict[tuple[str, str], set[str]] = defaultdict(set)
    for alert in alerts:
        agency = str(alert.get("agency", "?"))
        for user, searched in members(alert):  # an agency-wide alert counts for each member
            key = (agency, user)
            counts[key] += 1
            events[key] += searched
            severity = str(alert.get("severity", "?"))
            if SEVERITY_RANK.get(severity, -1) > SEVERITY_RANK.get(worst.get(key, ""), -1):
                worst[key] = severity
            worst.setdefault(key, severity)
            detectors[key].add(str(alert.get("detector", "?")))
    order = sorted(counts, key=lambda k: (-risks.get(k, 0.0), -counts[k], k))
    return [
        UserRow(a, u, risks.get((a, u), 0.0), counts[(a, u)], events[(a, u)], worst[(a, u)],
                tuple(sorted(detectors[(a, u)])))
        for a, u in order
    ]  # fmt: skip


def render_users(rows: list[UserRow], out: TextIO, *, limit: int = 20) -> None:
    """The per-user table (plain text), the ``limit`` riskiest users (0: all)."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    if not rows:
        return
    console = Console(file=out, highlight=False, soft_wrap=False, width=110)
    shown = rows if limit <= 0 else rows[:limit]
    title = "frtwatch alerts per user, riskiest first"
    if len(shown) < len(rows):
        title += f" ({len(shown)} of {len(rows)} users)"
    table = Table(title=title, title_justify="left")
    for name, justify in (("agency", "left"), ("user", "left"), ("risk", "right"),
                          ("alerts", "right"), ("events", "right"), ("worst", "left"),
                          ("detectors", "left")):  # fmt: skip
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for row in shown:
        table.add_row(*(Text(str(v)) for v in (row.agency, row.user, f"{row.risk:.1f}",
                                               row.alerts, row.events, row.worst,
                                               ", ".join(row.detectors))))  # fmt: skip
    console.print(table)


def render_summary(
    rows: list[SummaryRow], out: TextIO, *, skipped: int = 0, silenced: int = 0
) -> None:
    """The summary as a table (plain text; cell text is never read as markup); alerts an
    exception silences are counted apart (``silenced``)."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console(file=out, highlight=False, soft_wrap=False, width=110)
    note = (
        Text(f"{silenced} silenced alert(s), covered by exceptions, are not counted here")
        if silenced
        else None
    )
    if not rows:
        console.print(Text("no alerts"))
        if note is not None:
            console.print(note)
        return
    table = Table(title="frtwatch alerts by detector, severity and agency", title_justify="left")
    for name, justify in (("detector", "left"), ("severity", "left"), ("agency", "left"),
                          ("alerts", "right"), ("users", "right"), ("events", "right")):  # fmt: skip
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for row in rows:
        table.add_row(*(Text(str(v)) for v in (row.detector, row.severity, row.agency,
                                               row.alerts, row.users, row.events)))  # fmt: skip
    table.add_row(*(Text(v) for v in ("total", "", "", str(sum(r.alerts for r in rows)),
                                      "", str(sum(r.events for r in rows)))),
                  end_section=True)  # fmt: skip
    console.print(table)
    if note is not None:
        console.print(note)
    if skipped:
        console.print(Text(f"{skipped} message(s) on the topic were not readable alerts"))


def format_line(alert: dict[str, Any], *, update: bool) -> str:
    """One alert as one terminal line: time, severity, detector, who, count, summary.

    >>> format_line({"last_seen": "2026-03-02T09:00:00Z", "severity": "high",
    ...              "detector": "burst", "agency": "MPD", "user": "u1", "event_count": 4,
    ...              "summary": "Many\\nsearches"}, update=True)
    '2026-03-02T09:00:00Z  high      burst                MPD/u1  update x4  Many searches'
    >>> format_line({"last_seen": "2026-03-03T09:00:00Z", "severity": "high", "detector": "burst",
    ...              "agency": "MPD", "user": "u1", "event_count": 5, "summary": "s",
    ...              "status": "closed"}, update=True)
    '2026-03-03T09:00:00Z  high      burst                MPD/u1  closed x5  s'
    """
    summary = " ".join(str(alert.get("summary", "")).split())
    who = f"{alert.get('agency', '?')}/{alert.get('user', '?')}"
    kind = "closed" if alert.get("status") == "closed" else "update" if update else "new"
    text = (
        f"{alert.get('last_seen', '?')}  {alert.get('severity', '?'):<8}  "
        f"{alert.get('detector', '?'):<19}  {who}  {kind} x{_count(alert)}  {summary}"
    )
    return "".join(ch if ch.isprintable() else " " for ch in text)


def _consumer(bootstrap: str) -> Any:
    from kafka import KafkaConsumer
    from kafka.errors import KafkaError

    try:
        return KafkaConsumer(
            bootstrap_servers=bootstrap.split(","),
            **kafka_python_kwargs(),
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            client_id="frtwatch-alerts",
        )
    except KafkaError as exc:
        raise BrokerError(f"cannot reach Kafka at {bootstrap}: {exc}") from None


def _assign_all(consumer: Any, topic: str, timeout: float) -> list[Any]:
    from kafka import TopicPartition

    deadline = time.monotonic() + timeout
    while True:
        partitions = consumer.partitions_for_topic(topic)
        if partitions:
            tps = [TopicPartition(topic, p) for p in sorted(partitions)]
            consumer.assign(tps)
            return tps
        if time.monotonic() > deadline:
            raise BrokerError(f"alert topic {topic!r} does not exist (yet)")
        time.sleep(0.3)


def read_snapshot(bootstrap: str, topic: str, timeout: float = 30.0) -> Iterator[bytes | None]:
    """Every message value on ``topic`` up to its end offsets at the time of the call."""
    consumer = _consumer(bootstrap)
    try:
        tps = _assign_all(consumer, topic, timeout)
        ends = consumer.end_offsets(tps)
        consumer.seek_to_beginning(*tps)
        remaining = {tp for tp in tps if ends[tp] > 0}
        deadline = time.monotonic() + timeout
        while remaining:
            for tp, records in consumer.poll(timeout_ms=500).items():
                for record in records:
                    if record.offset < ends[tp]:
                        yield record.value
            remaining = {tp for tp in remaining if consumer.position(tp) < ends[tp]}
            if remaining and time.monotonic() > deadline:
                raise BrokerError(f"timed out reading {topic!r} after {timeout}s")
    finally:
        consumer.close()


def _poll_alerts(consumer: Any) -> Iterator[dict[str, Any]]:
    """Readable alerts as they arrive, forever (unreadable messages are skipped)."""
    while True:
        for records in consumer.poll(timeout_ms=500).values():
            for record in records:
                alert = parse_alert(record.value)
                if alert is not None:
                    yield alert


def tail(
    bootstrap: str, topic: str, out: TextIO, *, from_beginning: bool, limit: int, as_json: bool
) -> int:
    """Print alerts as they arrive; ``limit`` > 0 stops after that many messages."""
    consumer = _consumer(bootstrap)
    seen: set[str] = set()
    try:
        tps = _assign_all(consumer, topic, 30.0)
        if from_beginning:
            consumer.seek_to_beginning(*tps)
        else:
            consumer.seek_to_end(*tps)
        for printed, alert in enumerate(_poll_alerts(consumer), start=1):
            if as_json:
                out.write(orjson.dumps(alert).decode() + "\n")
            else:
                update = alert["alert_id"] in seen or _count(alert) > 1
                out.write(format_line(alert, update=update) + "\n")
            out.flush()
            seen.add(alert["alert_id"])
            if limit and printed >= limit:
                break
    finally:
        consumer.close()
    return 0


def _run(args: argparse.Namespace) -> int:
    if args.users < 0:
        raise UsageError("--users must be 0 (every user) or more")
    settings = load_settings()
    bootstrap = args.bootstrap or settings.bootstrap
    topic = args.topic or settings.topics.alerts
    if args.action == "tail":
        return tail(bootstrap, topic, sys.stdout, from_beginning=args.from_beginning,
                    limit=args.max, as_json=args.json)  # fmt: skip
    parsed = [parse_alert(value) for value in read_snapshot(bootstrap, topic, args.timeout)]
    alerts = [a for a in parsed if a is not None]
    latest = list(latest_per_alert(alerts).values())
    heard = [a for a in latest if silenced_by(a) is None]
    render_summary(summarise(heard), sys.stdout, skipped=len(parsed) - len(alerts),
                   silenced=len(latest) - len(heard))  # fmt: skip
    render_users(summarise_users(heard), sys.stdout, limit=args.users)
    return 0
