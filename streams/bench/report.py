"""The benchmark's verdict: every figure against its target, as a table and as JSON.

Targets (issue "Prove it"): the full worker carries at least 0.7x what an
empty Faust agent carries and at least 20k events/s; p99 event-to-alert
latency at most 500 ms at 2k events/s; replay at least 100k events/s; at
most 1 KB of state per user. A figure that misses its target is shown as a
miss; nothing is rounded into a pass.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from streams.settings import PROJECT_ROOT

RESULTS_DIR = PROJECT_ROOT / "bench-results"


@dataclass(frozen=True, slots=True)
class Row:
    what: str
    value: str
    target: str
    ok: bool | None  # None: a figure without a target


def _get(results: dict[str, Any], *path: str) -> Any:
    here: Any = results
    for part in path:
        if not isinstance(here, dict) or part not in here:
            return None
        here = here[part]
    return here


def _rate(v: Any) -> str:
    return "n/a" if v is None else f"{v:,.0f} events/s"


def _latency_rows(out: list[Row], latency: dict[str, Any] | None, label: str) -> None:
    if not latency:
        return
    p99 = latency.get("p99_ms")
    rate = latency.get("offered_events_per_s")
    out.append(Row(f"event -> alert latency p50{label}", _ms(latency.get("p50_ms")), "", None))
    out.append(Row(f"event -> alert latency p99 at {rate:,.0f}/s offered{label}", _ms(p99),
                   "<= 500 ms", None if p99 is None else p99 <= 500))  # fmt: skip
    if latency.get("ingest_p99_ms") is not None:
        out.append(Row("  p99 in the ingest / detection stage",
                       f"{_ms(latency['ingest_p99_ms'])} / {_ms(latency['detect_p99_ms'])}",
                       "", None))  # fmt: skip
    if latency.get("idle_worker_cores") is not None:
        out.append(Row(f"worker CPU when idle{label}", f"{latency['idle_worker_cores']:.3f} cores",
                       "", None))  # fmt: skip
    missing = latency.get("probes_without_alert")
    out.append(Row(f"latency probes without an alert{label}", f"{missing}", "0", missing == 0))


def rows(results: dict[str, Any]) -> list[Row]:
    """The table's rows, targets checked, from the results dictionary."""
    out: list[Row] = []
    raw = _get(results, "throughput", "raw_aiokafka", "events_per_s")
    empty = _get(results, "throughput", "empty_faust_agent", "events_per_s")
    full = _get(results, "throughput", "worker", "events_per_s")
    out.append(Row("raw aiokafka consume loop", _rate(raw), "", None))
    out.append(Row("empty Faust agent", _rate(empty), "", None))
    out.append(Row("full worker (all detectors + model)", _rate(full), ">= 20,000 events/s",
                   None if full is None else full >= 20_000))  # fmt: skip
    if full is not None and empty:
        ratio = full / empty
        out.append(
            Row("full worker / empty Faust agent", f"{ratio:.2f}x", ">= 0.70x", ratio >= 0.7)
        )
    split = _get(results, "throughput", "split_stages", "events_per_s")
    if split is not None:
        out.append(Row("worker as two processes (--stage ingest | detect)", _rate(split),
                       ">= 20,000 events/s", split >= 20_000))  # fmt: skip
    pair = _get(results, "throughput", "two_workers", "events_per_s")
    if pair is not None:
        out.append(Row("two workers in one group (both stages each)", f"{pair:,.0f} events/s",
                       "", None))  # fmt: skip
    for label, what in (("one_worker", "pinned: one worker on core 1, broker on core 0"),
                        ("two_workers_one_core", "pinned: two workers sharing core 1")):  # fmt: skip
        pinned = _get(results, "pinned", label)
        if isinstance(pinned, dict) and "events_per_s" in pinned:
            cpu = pinned["cpu_us_per_event"]
            out.append(Row(what, f"{pinned['events_per_s']:,.0f} events/s (CPU per event: "
                                 f"workers {cpu['workers']} µs, broker {cpu['broker']} µs)",
                           "", None))  # fmt: skip
    worker_rss = _get(results, "throughput", "worker", "rss_mib")
    if worker_rss is not None:
        users = _get(results, "state", "worker", "users")
        out.append(Row(f"worker RSS after the bulk load ({users or '?'} users)",
                       f"{worker_rss:,.0f} MiB", "", None))  # fmt: skip
    for key, label in (("latency", ""), ("latency_split", " (two processes)")):
        _latency_rows(out, _get(results, key), label)
    state = _get(results, "state", "worker")
    if state:
        mean = state.get("mean_bytes")
        out.append(Row(f"state per user, simulated histories ({state['users']:,} users)",
                       f"mean {mean:,.0f} B, p99 {state['p99_bytes']:,} B, max {state['max_bytes']:,} B",
                       "<= 1 KB", mean is not None and mean <= 1024))  # fmt: skip
    population = _get(results, "population") or {}
    for pop in population.values():
        if isinstance(pop, dict) and "users" in pop:
            out.append(Row(f"worker RSS with {pop['users']:,} distinct users",
                           f"{pop['rss_mib']:,.0f} MiB ({pop['table_kib_per_user']:.2f} KiB/user over start-up)",
                           "", None))  # fmt: skip
            sizes = pop.get("state")
            if sizes:
                out.append(Row(f"state per user at {pop['users']:,} users (one search each)",
                               f"mean {sizes['mean_bytes']:,.0f} B, max {sizes['max_bytes']:,} B",
                               "<= 1 KB", sizes["mean_bytes"] <= 1024))  # fmt: skip
    replay = _get(results, "replay")
    if replay:
        for key, name in (
            ("raw_confluent_kafka", "confluent-kafka (replay's reader)"),
            ("raw_aiokafka", "aiokafka"),
            ("raw_kafka_python", "kafka-python"),
        ):
            if key in replay:
                out.append(Row(f"raw {name} read of the bulk topic",
                               _rate(replay[key]["events_per_s"]), "", None))  # fmt: skip
        speed = replay["replay"]["events_per_s"]
        out.append(Row("replay (read, parse, detect, model)", _rate(speed), ">= 100,000 events/s",
                       None if speed is None else speed >= 100_000))  # fmt: skip
        parallel = replay.get("replay_jobs_2")
        if parallel:
            out.append(Row("replay in 2 processes (--jobs 2)", _rate(parallel["events_per_s"]),
                           "outputs = 1 process's", parallel.get("outputs_equal_jobs_1")))  # fmt: skip
        ratio = replay["replay"].get("replay_over_raw_read")
        if ratio is not None:
            out.append(Row("replay / raw read of its reader", f"{ratio:.2f}x", ">= 0.5x",
                           ratio >= 0.5))  # fmt: skip
    return out


def _ms(v: Any) -> str:
    return "n/a" if v is None else f"{v:,.0f} ms"


def print_table(results: dict[str, Any], print_fn: Callable[[Any], None] | None = None) -> None:
    from rich.console import Console
    from rich.table import Table

    machine = results.get("machine", {})
    table = Table(
        title=(
            f"frtwatch bench - {machine.get('date', '')} - {machine.get('nproc', '?')} cores, "
            f"{machine.get('memory_gib', '?')} GiB, {machine.get('cpu_model', '?')}"
        )
    )
    table.add_column("measure")
    table.add_column("figure", justify="right")
    table.add_column("target", justify="right")
    table.add_column("", justify="center")
    for row in rows(results):
        mark = "" if row.ok is None else ("[green]met[/]" if row.ok else "[red]MISSED[/]")
        table.add_row(row.what, row.value, row.target, mark)
    (print_fn or Console(width=120).print)(table)


def write_results(results: dict[str, Any], directory: Path = RESULTS_DIR) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = directory / f"bench-{stamp}.json"
    results = {**results, "verdict": [asdict(v) for v in rows_as_dicts(results)]}
    path.write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS))
    return path


@dataclass(frozen=True, slots=True)
class _Verdict:
    measure: str
    figure: str
    target: str
    met: bool | None


def rows_as_dicts(results: dict[str, Any]) -> list[_Verdict]:
    return [_Verdict(r.what, r.value, r.target, r.ok) for r in rows(results)]
