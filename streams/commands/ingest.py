"""``frtwatch ingest FORMAT``: raw proxy, Zeek, CEF or audit-export records to ``frt.search.v1``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from streams.errors import ConfigError, UsageError
from streams.policy import load_policy, parse_duration
from streams.producing import TIMESTAMP_MODES
from streams.settings import load_settings
from streams.sources.attribution import (
    Attribution,
    LeaseTable,
    load_ranges,
    read_leases_csv,
    read_leases_topic,
)
from streams.sources.catalogue import DEFAULT_CATALOGUE, load_catalogue
from streams.sources.cef import CefParser
from streams.sources.inputs import TopicReader, file_lines, stats_every, stdin_lines
from streams.sources.mapping import MappedReader, load_mapping
from streams.sources.pipeline import HostFilter, IngestStats, MappedPipeline, NetworkPipeline
from streams.sources.sinks import FileSink, KafkaSink
from streams.sources.squid import SquidParser
from streams.sources.uses import DEFAULT_GAP_S, UseGrouper
from streams.sources.zeek import ZeekParser

FORMAT_HELP = {
    "squid": "Squid's native access.log (logformat squid), CONNECT lines included",
    "zeek-http": "Zeek http.log, JSON or TSV (the Host header and URI)",
    "zeek-ssl": "Zeek ssl.log, JSON or TSV (the TLS server name)",
    "zeek-dns": "Zeek dns.log, JSON or TSV (the query)",
    "cef": "CEF records, bare or over syslog (RFC 5424 or RFC 3164 framing)",
    "mapped": "a vendor audit export (CSV or JSON lines) read through --mapping FILE",
}
FORMATS = tuple(FORMAT_HELP)


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg,unused-ignore]
    parser = sub.add_parser(
        "ingest",
        help="turn proxy, Zeek, CEF/syslog or audit-export records into search events",
        description=(
            "Read raw records from FILEs (.gz too), standard input ('-' or no FILE; tail -F "
            "friendly) or a raw-logs topic (--from-topic) and write frt.search.v1 events to "
            "the input topic. Network formats (squid, zeek-http, zeek-ssl, zeek-dns, cef) "
            "keep only FRT traffic (the catalogue's domains and the policy's authorised and "
            "prohibited hosts), attribute each record to a person (the proxy's user, the "
            "lease table, or 'unattributed@ADDRESS' for the agency owning the address), and "
            "group a person's requests to one service into uses by an event-time gap. "
            "'mapped' reads a vendor audit export (CSV or JSON lines) through --mapping. "
            "Records that cannot be read go to the dead-letter topic with the raw line and "
            "the reason. Event ids are derived from the records, so ingesting a file twice "
            "gives the same events. See docs/SOURCES.md."
        ),
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("files", nargs="*", type=Path, metavar="FILE", help="'-' = stdin")
    common.add_argument("--mapping", type=Path, help="mapping file for FORMAT mapped")
    who = common.add_argument_group("attribution (network formats)")
    who.add_argument("--leases", type=Path, metavar="CSV",
                     help="address,agency,user,start,end: who held an address when")  # fmt: skip
    who.add_argument("--leases-topic", metavar="T",
                     help="also read leases from this compacted topic (JSON values, key "
                          "<address>/<start>; read to its end at start-up)")  # fmt: skip
    who.add_argument("--ranges", type=Path, metavar="CSV",
                     help="network,agency: the agency owning each address range")  # fmt: skip
    who.add_argument("--agency", metavar="CODE",
                     help="agency of addresses in no range and with no lease")  # fmt: skip
    net = common.add_argument_group("network formats")
    net.add_argument("--gap", default=f"{DEFAULT_GAP_S:g}s", metavar="DURATION",
                     help="event-time gap that ends a use (default 5m; 0 = every request)")  # fmt: skip
    net.add_argument("--catalogue", type=Path,
                     help="FRT service catalogue (default: the policy's, else config/frt-services.yaml)")  # fmt: skip
    net.add_argument("--sensor", metavar="NAME",
                     help="the events' source (default: the format, or cef:VENDOR PRODUCT)")  # fmt: skip
    net.add_argument("--syslog-year", type=int, metavar="YEAR",
                     help="year of RFC 3164 timestamps, which have none (default: this year)")  # fmt: skip
    io = common.add_argument_group("input and output")
    io.add_argument("--policy", type=Path, help="policy (default: FRTWATCH_POLICY)")
    io.add_argument("--from-topic", metavar="T", help="read raw records from this topic")
    io.add_argument("--group", metavar="G", default="frtwatch-ingest",
                    help="consumer group for --from-topic (default frtwatch-ingest)")  # fmt: skip
    io.add_argument("--until-end", action="store_true",
                    help="with --from-topic: stop at the end offsets found at start")  # fmt: skip
    io.add_argument("--topic", metavar="T", help="events topic (default: FRTWATCH_TOPIC_EVENTS)")
    io.add_argument("--dlq-topic", metavar="T", help="dead letters (default: FRTWATCH_TOPIC_DLQ)")
    io.add_argument("--bootstrap", metavar="HOST:PORT", help="default: FRTWATCH_BOOTSTRAP")
    io.add_argument("--timestamps", choices=TIMESTAMP_MODES, default="now",
                    help="message timestamps: now (default) or each event's ts")  # fmt: skip
    io.add_argument("--out", type=Path, metavar="FILE.jsonl",
                    help="write events to this file (dead letters to FILE.dlq.jsonl), not Kafka")  # fmt: skip
    io.add_argument("--stats-every", type=float, default=10.0, metavar="S",
                    help="seconds between statistics lines on streams (default 10)")  # fmt: skip
    io.add_argument("--no-progress", action="store_true", help="no progress bar")
    formats = parser.add_subparsers(dest="format", metavar="FORMAT", required=True)
    for fmt, what in FORMAT_HELP.items():
        sub_parser = formats.add_parser(fmt, parents=[common], help=what, description=what)
        sub_parser.set_defaults(func=_run)


def build_pipeline(args: argparse.Namespace, policy: Any) -> NetworkPipeline | MappedPipeline:
    """The pipeline FORMAT and the options describe (tables and files loaded and checked)."""
    if args.format == "mapped":
        if args.mapping is None:
            raise UsageError("ingest mapped needs --mapping FILE")
        return MappedPipeline(MappedReader(load_mapping(args.mapping)))
    if args.mapping is not None:
        raise UsageError("--mapping is only for FORMAT mapped")
    try:
        gap = parse_duration(args.gap)
    except ValueError as exc:
        raise UsageError(f"--gap: {exc}") from None
    if gap < 0:
        raise UsageError("--gap must not be negative")
    agencies = set(policy.agencies) if policy is not None else None
    if args.agency is not None and agencies is not None and args.agency not in agencies:
        raise UsageError(f"--agency {args.agency!r} is not an agency of the policy")
    errors: list[str] = []
    ranges = None
    rows: list[tuple[str, str, str, float, float | None]] = []
    if args.ranges is not None:
        try:
            ranges = load_ranges(args.ranges, agencies)
        except ConfigError as exc:
            errors.extend(exc.errors)
    sources: list[tuple[Any, Any]] = []
    if args.leases is not None:
        sources.append((read_leases_csv, args.leases))
    if args.leases_topic is not None:
        bootstrap = args.bootstrap or load_settings().bootstrap
        sources.append(
            (lambda topic, known: read_leases_topic(bootstrap, topic, known), args.leases_topic)
        )
    for read, where in sources:
        try:
            rows.extend(read(where, agencies))
        except ConfigError as exc:
            errors.extend(exc.errors)
    if errors:
        raise ConfigError(f"{len(errors)} error(s)", errors)
    leases = LeaseTable(rows)
    if args.catalogue is not None:
        catalogue = load_catalogue(args.catalogue)
    elif policy is not None and policy.catalogue is not None:
        catalogue = policy.catalogue
    else:
        catalogue = load_catalogue(DEFAULT_CATALOGUE)
    parser: Any
    if args.format == "squid":
        parser = SquidParser()
    elif args.format == "cef":
        parser = CefParser(args.syslog_year)
    else:
        parser = ZeekParser(args.format.removeprefix("zeek-"))
    return NetworkPipeline(
        parser,
        HostFilter(policy, catalogue),
        Attribution(ranges, leases, args.agency),
        UseGrouper(gap),
        args.sensor,
    )


def _run(args: argparse.Namespace) -> int:
    settings = load_settings()
    if args.from_topic and args.files:
        raise UsageError("give FILEs or --from-topic, not both")
    if args.until_end and not args.from_topic:
        raise UsageError("--until-end is only for --from-topic")
    policy = load_policy(args.policy or settings.policy_path)
    pipeline = build_pipeline(args, policy)
    bootstrap = args.bootstrap or settings.bootstrap
    topic = args.topic or settings.topics.events
    fmt = args.format
    sink: KafkaSink | FileSink
    if args.out is not None:
        sink = FileSink(args.out, args.out.with_suffix(".dlq.jsonl"))
        where = f"{args.out}"
    else:
        sink = KafkaSink(
            bootstrap, topic, args.dlq_topic or settings.topics.dlq, fmt, args.timestamps
        )
        where = f"{topic} at {bootstrap}"
    stats: IngestStats = pipeline.stats
    tick = stats_every(
        args.stats_every, lambda: print(f"ingest {fmt}: {stats.line()}", file=sys.stderr)
    )
    sent = 0
    try:
        if args.from_topic:
            reader = TopicReader(bootstrap, args.from_topic, args.group, args.until_end)
            try:
                for batch in reader.batches():
                    sent += sink.write(pipeline.run(iter(batch)))
                    reader.commit()
                    tick()
            finally:
                reader.close()
        else:
            paths = [p for p in args.files if str(p) != "-"]
            if paths and len(paths) != len(args.files):
                raise UsageError("read either FILEs or standard input ('-'), not both")
            if paths:
                lines = file_lines(paths, not args.no_progress and sys.stderr.isatty())
            else:
                lines = stdin_lines(sys.stdin.buffer)

            def ticking(raw: Any) -> Any:
                # every record read, kept or not, may be the moment for a statistics line
                for line in raw:
                    yield line
                    tick()

            sent = sink.write(pipeline.run(lines if paths else ticking(lines)))
    finally:
        sink.close()
    print(f"ingest {fmt}: {stats.line()}")
    print(f"sent {sent:,} events and {sink.dead_sent:,} dead letters to {where}")
    return 0
