"""Replay throughput next to raw read loops of the same range, one per Kafka client.

``python -m streams.replay.bench --events N`` simulates a world, produces its
first N events to a fresh 4-partition topic (message timestamps = event
times, keys ``<agency>/<user>``, like live shippers), then in one run times:

1. **raw loops**, one per client library, each ``assign()`` + seek on every
   partition and reading until the end offsets, touching each record's value,
   offset and timestamp and nothing else: confluent-kafka with the replay's own
   reader settings (:func:`~streams.replay.kafka_reader.reader_config`, the
   ceiling for the replay's reads), aiokafka (the worker's client,
   :mod:`streams.bench.raw_consume`) and kafka-python (the replay's reader
   before confluent-kafka);
2. **raw loop + parse**: the confluent-kafka loop plus ``parse_event`` on every value;
3. **replay**: :func:`streams.replay.run_replay` over the same event-time
   range (read, parse, merge, detect, tally, optional model), outputs written
   but no HTML report (timed separately).

``--profile`` adds a cProfile of the replay (top functions by own time). The
topic is deleted at the end unless ``--keep``. This is a measurement, not a
test: numbers depend on the machine and on what else runs on it.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import confluent_kafka
from kafka import KafkaConsumer, TopicPartition
from kafka.admin import KafkaAdminClient, NewTopic

from streams.contract import parse_event
from streams.errors import ContractError
from streams.kafka_client import kafka_python_kwargs
from streams.replay.kafka_reader import POLL_RECORDS, Record, consumer_config, reader_config
from streams.replay.run import ReplayOptions, run_replay
from streams.replay.timerange import TimeRange
from streams.report.build import ReportInputs, write_report
from streams.settings import DEFAULT_POLICY


@dataclass(slots=True)
class Timing:
    name: str
    records: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.records / self.seconds if self.seconds > 0 else float("inf")


def make_events(n: int, out: Path) -> tuple[Path, Path, dict[str, Any]]:
    """A simulated world with at least ``n`` events; ``events.jsonl`` cut to the first ``n``."""
    from streams.simulate import SimulationConfig, simulate

    days = 14
    users = max(60, int(n / (8.0 * days) * 1.3))  # about 8 searches per user-day
    while True:
        result = simulate(SimulationConfig(users=min(users, 100_000), days=days), out / "world")
        if result.event_count >= n or users >= 100_000:
            break
        users = int(users * 1.5)
    events = out / "world" / "events.jsonl"
    with events.open("rb") as handle:
        lines = [line for _, line in zip(range(n), handle, strict=False)]
    cut = out / "events.jsonl"
    cut.write_bytes(b"".join(lines))
    return cut, out / "world" / "certifications.csv", result.truth


def raw_loop(bootstrap: str, topic: str, parse: bool) -> Timing:
    """Read every partition from the start to the end offsets with kafka-python."""
    consumer = KafkaConsumer(**consumer_config(bootstrap, "frtwatch-bench-raw"))
    try:
        tps = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic))]
        ends = consumer.end_offsets(tps)
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        remaining = {tp for tp in tps if ends[tp] > 0}
        records = invalid = 0
        began = time.perf_counter()
        while remaining:
            for tp, batch in consumer.poll(timeout_ms=500, max_records=POLL_RECORDS).items():
                records += len(batch)
                for record in batch:
                    _ = record.value, record.offset, record.timestamp
                if parse:
                    for record in batch:
                        try:
                            parse_event(record.value)
                        except ContractError:
                            invalid += 1
                if batch[-1].offset + 1 >= ends[tp]:
                    remaining.discard(tp)
        seconds = time.perf_counter() - began
    finally:
        consumer.close(autocommit=False)
    return Timing("raw loop + parse_event" if parse else "raw kafka-python loop", records, seconds)


def raw_confluent_loop(bootstrap: str, topic: str, parse: bool) -> Timing:
    """Read every partition from the start to the end offsets with confluent-kafka, with
    the replay reader's settings (:func:`~streams.replay.kafka_reader.reader_config`)."""
    from typing import cast

    consumer = confluent_kafka.Consumer(reader_config(bootstrap, "frtwatch-bench-raw"))
    try:
        metadata = consumer.list_topics(topic, timeout=10)
        partitions = sorted(metadata.topics[topic].partitions)
        ends = {
            p: consumer.get_watermark_offsets(confluent_kafka.TopicPartition(topic, p))[1]
            for p in partitions
        }
        consumer.assign([confluent_kafka.TopicPartition(topic, p, 0) for p in partitions])
        remaining = {p for p in partitions if ends[p] > 0}
        records = invalid = 0
        began = time.perf_counter()
        while remaining:
            batch = cast(list[Record], consumer.consume(POLL_RECORDS, 0.5))
            last: dict[int, int] = {}
            for record in batch:
                if record.error() is not None:
                    continue
                records += 1
                value, offset, _ = record.value(), record.offset(), record.timestamp()
                last[record.partition()] = offset
                if parse:
                    try:
                        parse_event(value)
                    except ContractError:
                        invalid += 1
            for partition, offset in last.items():
                if offset + 1 >= ends[partition]:
                    remaining.discard(partition)
        seconds = time.perf_counter() - began
    finally:
        consumer.close()
    name = "confluent-kafka loop + parse_event" if parse else "raw confluent-kafka loop"
    return Timing(name, records, seconds)


def raw_aiokafka(bootstrap: str, topic: str) -> Timing:
    """The benchmark's bare aiokafka loop (:mod:`streams.bench.raw_consume`)."""
    from streams.bench.raw_consume import raw_aiokafka_loop

    records, seconds = raw_aiokafka_loop(bootstrap, topic)
    return Timing("raw aiokafka loop", records, seconds)


def raw_reads(bootstrap: str, topic: str) -> list[Timing]:
    """Every client's raw read of ``topic``, one after the other."""
    return [
        raw_confluent_loop(bootstrap, topic, parse=False),
        raw_aiokafka(bootstrap, topic),
        raw_loop(bootstrap, topic, parse=False),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m streams.replay.bench", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--events", type=int, default=200_000, help="events to produce")
    parser.add_argument("--bootstrap", default="127.0.0.1:9092")
    parser.add_argument("--model", type=Path, help="also score with this behaviour model")
    parser.add_argument("--profile", action="store_true", help="cProfile the replay")
    parser.add_argument("--keep", action="store_true", help="keep the topic and files")
    args = parser.parse_args(argv)

    from streams.producing import produce_file_stats

    work = Path(tempfile.mkdtemp(prefix="frtwatch-replay-bench-"))
    topic = f"frtwatch-bench-replay-{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(bootstrap_servers=args.bootstrap, **kafka_python_kwargs())
    try:
        began = time.perf_counter()
        events, certs, truth = make_events(args.events, work)
        print(f"simulated {args.events:,} events in {time.perf_counter() - began:.1f} s")
        admin.create_topics([NewTopic(topic, num_partitions=4, replication_factor=1)])
        stats = produce_file_stats(
            events, topic, args.bootstrap, "agency-user", progress=False, timestamps="event"
        )
        print(f"produced them to {topic} at {stats.per_second:,.0f} msg/s")

        timings = raw_reads(args.bootstrap, topic)
        timings.append(raw_confluent_loop(args.bootstrap, topic, parse=True))
        options = ReplayOptions(
            out_dir=work / "run",
            time_range=TimeRange.parse(truth["start"], truth["end"]),
            policy_path=DEFAULT_POLICY,
            bootstrap=args.bootstrap,
            topic=topic,
            certifications=certs,
            model_path=args.model,
            progress=False,
            report=False,
        )
        profiler = cProfile.Profile() if args.profile else None
        began = time.perf_counter()
        if profiler is not None:
            profiler.enable()
        result = run_replay(options)
        if profiler is not None:
            profiler.disable()
        total = time.perf_counter() - began
        speed = result.manifest["speed"]
        events_judged = result.manifest["read"]["events_in_range"]
        timings.append(Timing("replay (read+parse+detect)", events_judged, speed["elapsed_s"]))
        timings.append(Timing("replay incl. writing outputs", events_judged, total))
        began = time.perf_counter()
        assert result.driver.tally is not None
        write_report(
            options.out_dir,
            ReportInputs(
                tally=result.driver.tally.to_frame(),
                alerts=[a.to_dict() for a in result.driver.alerts],
                scores=result.driver.scores.values(),
                threshold=result.driver.threshold,
                run=result.manifest,
            ),
        )
        report_s = time.perf_counter() - began

        print(f"\n{'what':<36}{'records':>10}{'seconds':>10}{'per second':>14}")
        for t in timings:
            print(f"{t.name:<36}{t.records:>10,}{t.seconds:>10.2f}{t.rate:>14,.0f}")
        print(f"{'HTML report + compliance.csv':<36}{'':>10}{report_s:>10.2f}")
        print(f"\nreplay / raw confluent-kafka read: {timings[-2].rate / timings[0].rate:.2f}x")
        print(
            f"\nreplay time split: detect {speed['detect_s']:.2f} s, "
            f"read+parse+merge {speed['read_parse_merge_s']:.2f} s; "
            f"alerts {result.manifest['alerts']['total']}"
        )
        if profiler is not None:
            text = io.StringIO()
            pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(25)
            print(text.getvalue())
    finally:
        if not args.keep:
            try:
                admin.delete_topics([topic])
            except Exception as exc:  # the topic may not exist if creation failed
                print(f"(could not delete {topic}: {exc})", file=sys.stderr)
            import shutil

            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"kept topic {topic} and files in {work}")
        admin.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
