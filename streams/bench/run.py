"""``python -m streams.bench [--events N] [--quick]``: every figure of docs/PERFORMANCE.md in one run.

Phases, all on the same broker, one after the other (the machine is small;
nothing measured runs beside anything else measured):

1. **workload**: simulate a world (the simulator's mix), cut its first N
   events (bulk) and the next ones (live), train the behaviour model on its
   baseline, load the bulk events onto a fresh 4-partition topic (keys
   ``<agency>/<user>``, message timestamps = event times, like a bulk load);
2. **throughput**: a raw aiokafka loop, the empty Faust agent and the full
   worker over that topic (:mod:`streams.bench.throughput`), then the
   worker's state per user from its changelog (:mod:`streams.bench.state_size`);
3. **latency**: the live events offered to the same, caught-up worker at a
   fixed rate, with probe searches whose alerts are recognisable
   (:mod:`streams.bench.latency`);
4. **split**: the worker as two processes, ``--stage ingest`` and ``--stage detect``,
   over a copy of the bulk input, then the live latency through them;
5. **scale**: two workers in one consumer group over the same pre-loaded
   input, timed like the single worker;
6. **pinned**: the broker pinned to one core, one worker and then two workers in one
   group pinned to the other: contention apart from the design
   (:mod:`streams.bench.pinned`);
7. **population**: a second worker fed distinct users until 100k and 1M are
   in its tables; memory and state per user (:mod:`streams.bench.population`);
8. **replay**: ``frtwatch replay``'s engine over the bulk topic next to raw
   reads of it by confluent-kafka (the replay's reader), aiokafka and
   kafka-python (:mod:`streams.bench.replay_phase`).

It prints a table, writes ``bench-results/bench-<UTC time>.json`` and deletes
its topics and files (unless ``--keep``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

from streams.bench.processes import WORKER_READY, Consumer, start_worker, worker_env
from streams.bench.topic_setup import TopicAdmin, bench_topics, new_run_id
from streams.bench.workload import Workload, build_workload, describe, write_policy
from streams.worker.consumer_lag import LagWatch, worker_groups

PHASES = ("throughput", "latency", "split", "scale", "pinned", "population", "replay")
IDLE_SECONDS = 10.0
"""After the latency phase, the caught-up worker's CPU is measured this long with no input."""


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m streams.bench",
        description="Throughput, latency, memory and state-size benchmark on the real broker.",
    )
    parser.add_argument("--events", type=int, default=1_000_000,
                        help="events in the bulk load (default 1,000,000)")  # fmt: skip
    parser.add_argument("--quick", action="store_true",
                        help="100k events, 10 s of latency, 100k users: a few minutes")  # fmt: skip
    parser.add_argument("--rate", type=float, default=2000.0,
                        help="offered load of the latency phase, events/s (default 2000)")  # fmt: skip
    parser.add_argument("--latency-seconds", type=float, default=None,
                        help="length of the latency phase (default 30, --quick 10)")  # fmt: skip
    parser.add_argument("--population", default=None,
                        help="distinct users, comma list (default 100000,1000000; --quick 100000)")  # fmt: skip
    parser.add_argument("--skip", default="", help=f"phases to skip: {','.join(PHASES)}")
    parser.add_argument("--bootstrap", default=None, help="Kafka (default FRTWATCH_BOOTSTRAP)")
    parser.add_argument("--keep", action="store_true", help="keep the topics and files")
    args = parser.parse_args(argv)
    if args.quick:
        args.events = min(args.events, 100_000)
    args.latency_seconds = args.latency_seconds or (10.0 if args.quick else 30.0)
    default_population = "100000" if args.quick else "100000,1000000"
    args.population = [int(x) for x in (args.population or default_population).split(",") if x]
    args.skip = {x.strip() for x in args.skip.split(",") if x.strip()}
    unknown = args.skip - set(PHASES)
    if unknown:
        parser.error(f"unknown phase(s) {', '.join(sorted(unknown))}; choose from {PHASES}")
    return args


class Bench:
    """One run: its id, scratch directory, topics and results."""

    def __init__(self, args: argparse.Namespace, bootstrap: str) -> None:
        from streams.bench.machine import describe_machine

        self.args = args
        self.bootstrap = bootstrap
        self.run_id = new_run_id()
        self.work = Path(tempfile.mkdtemp(prefix=f"frtwatch-bench-{self.run_id}-"))
        self.admin = TopicAdmin(bootstrap)
        self.results: dict[str, Any] = {
            "machine": describe_machine(),
            "run_id": self.run_id,
            "settings": {
                "events": args.events,
                "rate": args.rate,
                "latency_seconds": args.latency_seconds,
                "population": args.population,
            },
        }
        self.topics = bench_topics(self.run_id, "worker")
        self.app_id = f"bench-{self.run_id}-worker"

    # -- phases ---------------------------------------------------------------

    def prepare(self) -> Workload:
        began = time.perf_counter()
        live = int(self.args.rate * self.args.latency_seconds) + 1000
        workload = build_workload(self.work / "workload", self.args.events, live)
        self.results["workload"] = describe(workload)
        self.admin.create_worker_topics(self.topics)
        from streams.bench.bulk_produce import event_items, load_topic
        from streams.producing import event_time_ms, key_function

        loaded = load_topic(
            self.bootstrap,
            self.topics.events,
            event_items(str(workload.events), key_function("agency-user"), event_time_ms),
        )
        self.results["workload"]["load_events_per_s"] = round(loaded.per_second, 1)
        _say(f"workload: {workload.event_count:,} events of {workload.user_count:,} users, "
             f"model trained in {workload.model_seconds:.1f} s, loaded at "
             f"{loaded.per_second:,.0f}/s ({time.perf_counter() - began:.0f} s)")  # fmt: skip
        return workload

    def throughput(self, workload: Workload) -> Consumer:
        """Raw loop, empty agent, then the worker, which is left running."""
        from streams.bench.state_size import read_latest_sizes, summarise
        from streams.bench.throughput import measure_empty_agent, measure_raw, measure_worker

        section: dict[str, Any] = self.results.setdefault("throughput", {})
        n = workload.event_count
        raw = measure_raw(self.bootstrap, self.topics.events)
        section["raw_aiokafka"] = raw.to_dict()
        _say(f"raw aiokafka loop: {raw.per_second:,.0f} events/s")
        empty = measure_empty_agent(self.bootstrap, self.topics.events,
                                    f"bench-{self.run_id}-empty", self.work, n,
                                    timeout_s=1800)  # fmt: skip
        section["empty_faust_agent"] = empty.to_dict()
        _say(f"empty Faust agent: {empty.per_second:,.0f} events/s")
        worker = self.start_worker(workload.policy, self.app_id, self.topics, "worker")
        full = measure_worker(worker, self.bootstrap, self.topics.events, self.app_id, n,
                              timeout_s=3600)  # fmt: skip
        section["worker"] = full.to_dict()
        _say(f"worker: {full.per_second:,.0f} events/s, RSS {full.rss_mib:,.0f} MiB")
        sizes, read = read_latest_sizes(self.bootstrap, f"{self.app_id}-user-state-changelog")
        self.results.setdefault("state", {})["worker"] = summarise(sizes, read).to_dict()
        return worker

    def latency(self, worker: Consumer) -> None:
        self.results["latency"] = self._latency([("worker", worker)], self.app_id, self.topics)

    def _latency(
        self, processes: list[tuple[str, Consumer]], app_id: str, topics: Any
    ) -> dict[str, Any]:
        """Live events offered at the set rate to a caught-up worker (its processes)."""
        from streams.bench.latency import Latency, offer, probe_alerts, probe_handoffs
        from streams.bench.processes import CpuShares

        assert self.workload is not None
        pids = {label: p.pid for label, p in processes}
        cpu = CpuShares({**pids, "bench": os.getpid(), **self.broker_pid()})
        offered = offer(
            self.bootstrap, topics.events, self.workload.live,
            rate=self.args.rate, seconds=self.args.latency_seconds, probe_every=20,
            run_id=self.run_id,
        )  # fmt: skip
        internal = f"{app_id}-events-by-agency"

        def alive() -> bool:
            return all(p.alive() for _, p in processes)

        with LagWatch(self.bootstrap, worker_groups(app_id), [topics.events, internal]) as watch:
            expected = self.workload.event_count + offered.sent
            watch.wait_zero(expected, timeout_s=600, alive=alive)
        cores = cpu.read()
        probes = offered.probes
        latency = Latency(
            offered,
            probe_alerts(self.bootstrap, topics.alerts, probes, timeout_s=60),
            probe_handoffs(self.bootstrap, internal, probes),
            cores,
        )
        r = latency.to_dict()
        r["worker_rss_mib"] = round(sum(p.rss_mib() for _, p in processes), 1)
        idle = CpuShares(pids)
        time.sleep(IDLE_SECONDS)  # caught up, nothing offered: what waiting costs
        r["idle_worker_cores"] = round(sum(idle.read().values()), 3)
        _say(f"latency at {offered.per_second:,.0f}/s ({', '.join(pids)}): p50 {r['p50_ms']} "
             f"ms, p99 {r['p99_ms']} ms (ingest stage p99 {r['ingest_p99_ms']} ms, detection "
             f"stage p99 {r['detect_p99_ms']} ms), {latency.missing} probe(s) without alert; "
             "CPU " + ", ".join(f"{k} {v:.2f} cores" for k, v in cores.items())
             + f"; idle worker {r['idle_worker_cores']} cores")  # fmt: skip
        return r

    def split(self, workload: Workload) -> None:
        """One worker as two processes (``--stage ingest`` and ``--stage detect``) over a
        copy of the bulk input: throughput, each process's CPU, then live latency."""
        from streams.bench.bulk_produce import event_items, load_topic
        from streams.bench.processes import CpuShares
        from streams.bench.throughput import measure_worker
        from streams.producing import event_time_ms, key_function

        topics = bench_topics(self.run_id, "split")
        self.admin.create_worker_topics(topics)
        load_topic(self.bootstrap, topics.events,
                   event_items(str(workload.events), key_function("agency-user"),
                               event_time_ms))  # fmt: skip
        app_id = f"bench-{self.run_id}-split"
        # The detection stage first (it reads nothing until the ingest stage sends), then
        # the clock starts with the ingest stage's readiness: both stages' work is timed.
        detect = self.start_worker(workload.policy, app_id, topics, "split-detect", "detect")
        ingest: Consumer | None = None
        try:
            detect.wait_for(WORKER_READY, timeout_s=180)
            ingest = self.start_worker(workload.policy, app_id, topics, "split-ingest", "ingest")
            ingest.wait_for(WORKER_READY, timeout_s=180)
            cpu = CpuShares({"ingest": ingest.pid, "detect": detect.pid, **self.broker_pid()})
            timed = measure_worker(ingest, self.bootstrap, topics.events, app_id,
                                   workload.event_count, timeout_s=3600)  # fmt: skip
            section = self.results.setdefault("throughput", {})
            section["split_stages"] = timed.to_dict() | {"cpu_cores": cpu.read()}
            section["split_stages"]["rss_mib"] = round(ingest.rss_mib() + detect.rss_mib(), 1)
            _say(f"worker as two processes (ingest | detect): {timed.per_second:,.0f} events/s"
                 f" (CPU {section['split_stages']['cpu_cores']})")  # fmt: skip
            if "latency" not in self.args.skip:
                self.results["latency_split"] = self._latency(
                    [("ingest", ingest), ("detect", detect)], app_id, topics
                )
        finally:
            if ingest is not None:
                ingest.stop()
            detect.stop()

    def broker_pid(self) -> dict[str, int]:
        """The local broker's pid, when the benchmark runs on the one ``frtwatch kafka up``
        started (its CPU is then reported next to the worker's)."""
        from streams.localbroker import BrokerConfig, running_pid

        cfg = BrokerConfig.from_env()
        pid = running_pid(cfg) if cfg.bootstrap == self.bootstrap else None
        return {"broker": pid} if pid is not None else {}

    def scale(self, workload: Workload) -> None:
        """Two workers in one consumer group over the pre-loaded input: what a second
        process (on this machine, the second core) adds to one worker."""
        from dataclasses import replace

        from streams.bench.throughput import measure_worker

        topics = replace(bench_topics(self.run_id, "pair"), events=self.topics.events)
        self.admin.create_worker_topics(topics)
        app_id = f"bench-{self.run_id}-pair"
        first = self.start_worker(workload.policy, app_id, topics, "pair-1")
        second = self.start_worker(workload.policy, app_id, topics, "pair-2")
        try:
            # Timed from the first worker's readiness: the second's start-up and the
            # rebalance that hands it half the partitions count against the pair.
            pair = measure_worker(first, self.bootstrap, topics.events, app_id,
                                  workload.event_count, timeout_s=3600)  # fmt: skip
            # Raises unless the second one took part (ready, and still running).
            second.wait_for(WORKER_READY, timeout_s=1)
            if not second.alive():
                raise RuntimeError(
                    "the second worker of the pair exited:\n" + second.output()[-3000:]
                )
            section = self.results.setdefault("throughput", {})
            section["two_workers"] = pair.to_dict()
            section["two_workers"]["rss_mib"] = round(first.rss_mib() + second.rss_mib(), 1)
            _say(f"two workers in one group: {pair.per_second:,.0f} events/s")
        finally:
            first.stop()
            second.stop()

    def pinned(self, workload: Workload) -> None:
        """The broker on one core, the workers on another (:mod:`streams.bench.pinned`)."""
        from streams.bench.pinned import available, run_pinned

        why_not = available()
        pid = self.broker_pid().get("broker")
        if pid is None:
            why_not = why_not or "the broker is not the one frtwatch kafka up started here"
        if why_not is not None:
            self.results["pinned"] = {"skipped": why_not}
            _say(f"pinned phase skipped: {why_not}")
            return
        assert pid is not None
        self.results["pinned"] = run_pinned(bench=self, workload=workload, broker_pid=pid,
                                            say=_say)  # fmt: skip

    def population(self, workload: Workload) -> None:
        from streams.bench import population as pop
        from streams.bench.bulk_produce import load_topic
        from streams.bench.state_size import read_latest_sizes, summarise

        sizes_wanted = sorted(self.args.population)
        most = sizes_wanted[-1]
        certs = pop.write_certificates(self.work / "population-certs.csv", most)
        policy = write_policy(self.work / "population-policy.yaml", workload.model, certs)
        topics = bench_topics(self.run_id, "population")
        self.admin.create_worker_topics(topics)
        app_id = f"bench-{self.run_id}-population"
        worker = self.start_worker(policy, app_id, topics, "population")
        section: dict[str, Any] = self.results.setdefault("population", {})
        try:
            worker.wait_for(WORKER_READY, timeout_s=600)
            base_rss = worker.rss_mib()
            section["startup_rss_mib"] = round(base_rss, 1)
            _say(f"population worker ready with {most:,} certificates: RSS {base_rss:,.0f} MiB")
            done = 0
            internal = f"{app_id}-events-by-agency"
            for target in sizes_wanted:
                loaded = load_topic(self.bootstrap, topics.events, pop.events(done, target, most))
                began = time.monotonic()
                with LagWatch(
                    self.bootstrap, worker_groups(app_id), [topics.events, internal]
                ) as watch:
                    watch.wait_zero(target, timeout_s=3600, alive=worker.alive)
                seconds = time.monotonic() - began
                rss = worker.rss_mib()
                sizes, read = read_latest_sizes(
                    self.bootstrap, f"{app_id}-user-state-changelog", pop.is_population_key
                )
                state = summarise(sizes, read).to_dict()
                label = f"{target // 1000}k" if target < 1_000_000 else f"{target // 1_000_000}M"
                section[label] = {
                    "users": target,
                    "rss_mib": round(rss, 1),
                    "peak_rss_mib": round(worker.peak_mib(), 1),
                    "table_kib_per_user": round((rss - base_rss) * 1024 / target, 3),
                    "load_events_per_s": round(loaded.per_second, 1),
                    "worker_events_per_s": round((target - done) / seconds, 1),
                    "state": state,
                }
                _say(f"population {target:,} users: RSS {rss:,.0f} MiB, state mean "
                     f"{state['mean_bytes']} B, worker {(target - done) / seconds:,.0f} events/s")  # fmt: skip
                done = target
        finally:
            worker.stop()

    def replay(self, workload: Workload) -> None:
        from streams.bench.replay_phase import measure_replay

        truth = workload.truth
        self.results["replay"] = measure_replay(
            self.bootstrap, self.topics.events, start=truth["start"], end=truth["end"],
            policy=workload.policy, certifications=workload.certifications,
            model=workload.model, out_dir=self.work / "replay",
        )  # fmt: skip
        r = self.results["replay"]
        _say(f"replay: {r['replay']['events_per_s']:,.0f} events/s; raw reads: confluent-kafka "
             f"{r['raw_confluent_kafka']['events_per_s']:,.0f}/s, aiokafka "
             f"{r['raw_aiokafka']['events_per_s']:,.0f}/s, kafka-python "
             f"{r['raw_kafka_python']['events_per_s']:,.0f}/s; replay / its reader's raw read "
             f"{r['replay']['replay_over_raw_read']:.2f}x; with --jobs 2 "
             f"{r['replay_jobs_2']['events_per_s']:,.0f} events/s")  # fmt: skip

    # -- plumbing -------------------------------------------------------------

    workload: Workload | None = None

    def start_worker(
        self, policy: Path, app_id: str, topics: Any, label: str, stage: str = "both"
    ) -> Consumer:
        env = worker_env(self.bootstrap, topics, app_id, self.work / f"data-{label}", policy)
        return start_worker(env, self.work / f"{label}.log", stage)

    def cleanup(self) -> None:
        if self.args.keep:
            _say(f"kept {self.work} and topics bench-{self.run_id}-*")
        else:
            self.admin.forget(self.admin.topics_with_prefix(f"bench-{self.run_id}"))
            failed = self.admin.delete_all()
            if failed:
                _say(f"could not delete topics: {', '.join(failed)}")
            shutil.rmtree(self.work, ignore_errors=True)
        self.admin.close()

    def run(self) -> None:
        skip = self.args.skip
        self.workload = workload = self.prepare()
        worker: Consumer | None = None
        try:
            if "throughput" not in skip or "latency" not in skip:
                worker = self.throughput(workload)
                if "latency" not in skip:
                    self.latency(worker)
        finally:
            if worker is not None:
                worker.stop()
        if "split" not in skip:
            self.split(workload)
        if "scale" not in skip:
            self.scale(workload)
        if "pinned" not in skip:
            self.pinned(workload)
        if "population" not in skip:
            self.population(workload)
        if "replay" not in skip:
            self.replay(workload)


def main(argv: list[str] | None = None) -> int:
    from streams.bench.report import print_table, write_results
    from streams.settings import load_settings

    args = parse_args(argv)
    bench = Bench(args, args.bootstrap or load_settings().bootstrap)
    began = time.perf_counter()
    failed = False
    try:
        bench.run()
    except Exception:
        failed = True
        bench.results["error"] = traceback.format_exc()
        _say(traceback.format_exc())
    finally:
        bench.results["total_seconds"] = round(time.perf_counter() - began, 1)
        try:
            bench.cleanup()
        finally:
            path = write_results(bench.results)
            print_table(bench.results)
            print(f"results: {path} ({bench.results['total_seconds']:.0f} s)")
    return 1 if failed else 0
