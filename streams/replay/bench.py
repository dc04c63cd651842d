"""Replay throughput next to a raw kafka-python read loop of the same range.

``python -m streams.replay.bench --events N`` simulates a world, produces its
first N events to a fresh 4-partition topic (message timestamps = event
times, keys ``<agency>/<user>``, like live shippers), then in one run times:

1. **raw loop**: kafka-python with the replay's own consumer settings,
   ``assign()`` + ``seek()`` on every partition, ``poll()`` until the end
   offsets, counting records and nothing else: the ceiling for any
   kafka-python reader;
2. **raw loop + parse**: the same, plus ``parse_event`` on every value;
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

from kafka import KafkaConsumer, TopicPartition
from kafka.admin import KafkaAdminClient, NewTopic

from streams.contract import parse_event
from streams.errors import ContractError
from streams.kafka_client import kafka_python_kwargs
from streams.replay.kafka_reader import POLL_RECORDS, consumer_config
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

        timings = [raw_loop(args.bootstrap, topic, parse=False)]
        timings.append(raw_loop(args.bootstrap, topic, parse=True))
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

        print(f"\n{'what':<32}{'records':>10}{'seconds':>10}{'per second':>14}")
        for t in timings:
            print(f"{t.name:<32}{t.records:>10,}{t.seconds:>10.2f}{t.rate:>14,.0f}")
        print(f"{'HTML report + compliance.csv':<32}{'':>10}{report_s:>10.2f}")
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
