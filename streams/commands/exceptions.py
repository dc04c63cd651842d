"""``frtwatch exceptions add|list|withdraw|load``: the exceptions topic (compacted).

Key = the exception's id, value = its JSON (``frt.exceptions``: docs/CONTRACTS.md), a
null value withdraws it. The worker follows the topic; ``frtwatch replay`` reads it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from streams.contract.keys import parse_user_key
from streams.errors import BrokerError, UsageError
from streams.exceptions import ExceptionRecord, make_exception
from streams.exceptions.loader import load_exceptions_file
from streams.exceptions.record import is_exception_id
from streams.exceptions.records import ExceptionRecords
from streams.settings import load_settings

_SEND_TIMEOUT_S = 30.0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg,unused-ignore]
    parser = sub.add_parser(
        "exceptions",
        help="state, list and withdraw exceptions (expected activity, until an expiry)",
        description=(
            "An exception states that a (user or agency, detector, subject) is expected from "
            "one event time until another: events it covers raise no alert for that detector "
            "and subject. Exceptions are records of the compacted exceptions topic (key: the "
            "exception's id), which the worker follows and frtwatch replay reads."
        ),
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    add = actions.add_parser("add", help="publish one exception; prints its id")
    who = add.add_mutually_exclusive_group(required=True)
    who.add_argument("--user", metavar="AGENCY/USER", help="one user (key as '<agency>/<user>')")
    who.add_argument("--agency", metavar="AGENCY", help="every user of an agency")
    add.add_argument("--detector", required=True, help="the detector it silences")
    add.add_argument(
        "--subject",
        default="*",
        help="the alert's subject: the host for endpoint detectors, the requesting agency "
        "for outside_agency; '*' (default) for any",
    )
    add.add_argument(
        "--from", dest="valid_from", required=True, metavar="T",
        help="start (event time): a date (UTC) or an RFC 3339 timestamp with offset",
    )  # fmt: skip
    add.add_argument(
        "--until", required=True, metavar="T",
        help="expiry (event time, exclusive); a date is included to its end",
    )  # fmt: skip
    add.add_argument("--reason", required=True, help="why this is expected")
    add.add_argument("--author", default="", help="who states it")
    _kafka_arguments(add)
    add.set_defaults(func=_add)

    listing = actions.add_parser("list", help="the exceptions on the topic")
    _kafka_arguments(listing)
    listing.set_defaults(func=_list)

    withdraw = actions.add_parser("withdraw", help="withdraw an exception (a null record)")
    withdraw.add_argument("id", help="the exception's id (exc-...)")
    _kafka_arguments(withdraw)
    withdraw.set_defaults(func=_withdraw)

    load = actions.add_parser("load", help="publish every exception of an exceptions file")
    load.add_argument("file", type=Path, metavar="FILE", help="an exceptions YAML file")
    _kafka_arguments(load)
    load.set_defaults(func=_load)


def _kafka_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--topic", help="exceptions topic (default: FRTWATCH_TOPIC_EXCEPTIONS or frt.exceptions)"
    )
    parser.add_argument(
        "--bootstrap",
        metavar="HOST:PORT",
        help="Kafka bootstrap servers (default: FRTWATCH_BOOTSTRAP)",
    )


def _where(args: argparse.Namespace) -> tuple[str, str]:
    settings = load_settings()
    return args.bootstrap or settings.bootstrap, args.topic or settings.topics.exceptions


def publish(records: list[tuple[str, bytes | None]], topic: str, bootstrap: str) -> None:
    """Send each (id, value or None) and wait until the broker has every one."""
    from kafka.errors import KafkaError

    from streams.producing import make_producer

    producer = make_producer(bootstrap, linger_ms=5)
    try:
        futures = [producer.send(topic, key=key.encode(), value=value) for key, value in records]
        for future in futures:
            future.get(timeout=_SEND_TIMEOUT_S)
    except KafkaError as exc:
        raise BrokerError(f"cannot publish to {topic} at {bootstrap}: {exc}") from None
    finally:
        producer.close(timeout=10)


def current(topic: str, bootstrap: str) -> ExceptionRecords:
    """The topic's exceptions now (an absent topic: none)."""
    from streams.replay.exceptions import apply_exceptions_topic

    records = ExceptionRecords()
    apply_exceptions_topic(records, bootstrap, topic)
    return records


def _add(args: argparse.Namespace) -> int:
    if args.user is not None:
        try:
            agency, user = parse_user_key(args.user)
        except ValueError as exc:
            raise UsageError(f"--user: {exc} (write AGENCY/USER)") from None
        scope = "user"
    else:
        agency, user, scope = args.agency, None, "agency"
    try:
        record = make_exception(
            scope=scope,
            agency=agency,
            user=user,
            detector=args.detector,
            subject=args.subject,
            valid_from=args.valid_from,
            until=args.until,
            reason=args.reason,
            author=args.author,
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    bootstrap, topic = _where(args)
    publish([(record.id, record.to_json())], topic, bootstrap)
    print(record.id)
    return 0


def _list(args: argparse.Namespace) -> int:
    bootstrap, topic = _where(args)
    records = current(topic, bootstrap)
    found = list(records.exceptions())
    for record in found:
        print(_line(record))
    print(f"{len(found)} exception(s) on {topic}", file=sys.stderr)
    return 0


def _line(record: ExceptionRecord) -> str:
    # describe() holds only validated text without control characters: safe for a terminal.
    return record.describe() + (f"  (by {record.author})" if record.author else "")


def _withdraw(args: argparse.Namespace) -> int:
    if not is_exception_id(args.id):
        raise UsageError(f"{args.id[:64]!r} is not an exception id (exc- and 16 hex digits)")
    bootstrap, topic = _where(args)
    if args.id not in current(topic, bootstrap).topic:
        raise UsageError(f"no exception {args.id} on {topic} (see frtwatch exceptions list)")
    publish([(args.id, None)], topic, bootstrap)
    print(f"withdrew {args.id}")
    return 0


def _load(args: argparse.Namespace) -> int:
    records = load_exceptions_file(args.file)
    bootstrap, topic = _where(args)
    publish([(record.id, record.to_json()) for record in records], topic, bootstrap)
    print(f"published {len(records)} exception(s) from {args.file} to {topic}")
    return 0
