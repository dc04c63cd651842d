"""``frtwatch produce FILE.jsonl``: publish search events (and certificates) to Kafka."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from streams.producing import (
    KEY_MODES,
    TIMESTAMP_MODES,
    produce_file_stats,
    publish_certifications,
)
from streams.settings import load_settings


def add_kafka_arguments(parser: argparse._ActionsContainer) -> None:
    """The flags ``produce`` and ``simulate --produce`` share."""
    parser.add_argument(
        "--topic",
        metavar="T",
        help="events topic (default: FRTWATCH_TOPIC_EVENTS or frt.search-events)",
    )
    parser.add_argument(
        "--bootstrap",
        metavar="HOST:PORT",
        help="Kafka bootstrap servers (default: FRTWATCH_BOOTSTRAP or 127.0.0.1:9092)",
    )
    parser.add_argument(
        "--key",
        choices=KEY_MODES,
        default="agency-user",
        help="message key: agency-user = '<agency>/<user>' (default), null = no key, "
        "random = a random key per message; the worker's results do not depend on it",
    )
    parser.add_argument(
        "--timestamps",
        choices=TIMESTAMP_MODES,
        default="now",
        help="message timestamps: now = time of producing, like a live shipper (default); "
        "event = each event's ts, like a bulk load of history, so that seeking the topic "
        "by time finds the right events",
    )
    parser.add_argument(
        "--certifications-topic",
        metavar="T",
        help="certifications topic (default: FRTWATCH_TOPIC_CERTIFICATIONS or frt.certifications)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg,unused-ignore]
    parser = sub.add_parser(
        "produce",
        help="publish a JSONL file of search events (and a certifications CSV) to Kafka",
        description=(
            "Send every line of FILE (JSONL, one frt.search.v1 event per line) as one message, "
            "byte for byte: invalid lines are sent too, so the worker's dead-letter handling can "
            "be exercised. With --certifications, each CSV row is first published to the "
            "certifications topic (key '<agency>/<user>', value "
            '{"certified_on": ..., "expires_on": ...}). A progress bar shows rate and ETA; '
            "the last line reports events per second."
        ),
    )
    parser.add_argument("file", type=Path, metavar="FILE.jsonl", help="events to send")
    parser.add_argument(
        "--certifications",
        type=Path,
        metavar="CSV",
        help="also publish this agency,user,certified_on,expires_on CSV first",
    )
    add_kafka_arguments(parser)
    parser.set_defaults(func=_run)


def produce_world(
    events: Path,
    certifications: Path | None,
    args: argparse.Namespace,
) -> None:
    """Publish certificates (so the worker knows them first), then the events; print rates."""
    settings = load_settings()
    bootstrap = args.bootstrap or settings.bootstrap
    topic = args.topic or settings.topics.events
    if certifications is not None:
        cert_topic = args.certifications_topic or settings.topics.certifications
        began = time.perf_counter()
        count = publish_certifications(certifications, cert_topic, bootstrap)
        print(
            f"published {count} certificates to {cert_topic} in {time.perf_counter() - began:.2f} s"
        )
    stats = produce_file_stats(
        events, topic, bootstrap, args.key, not args.no_progress, args.timestamps
    )
    print(
        f"produced {stats.messages:,} events ({stats.bytes / 1e6:.1f} MB) to {topic} at "
        f"{bootstrap} in {stats.seconds:.2f} s: {stats.per_second:,.0f} events/s (key: {args.key}, timestamps: {args.timestamps})"
    )


def _run(args: argparse.Namespace) -> int:
    produce_world(args.file, args.certifications, args)
    return 0
