"""Where a worker's memory goes per certificate and per user, without a broker.

``python -m streams.bench.memory_breakdown [--users N] [--certificates N]`` builds
what a worker holds for the bench's population phase (:mod:`streams.bench.population`):
the certificate registry loaded from a CSV of N certificates, then one user state per
user, judged by the real detection core from one search each and stored as the worker's
table stores it (Faust's in-memory store: a dict of key ``str`` -> value ``bytes``), plain
and packed as the worker holds them (:mod:`streams.worker.packed_values`). For
each it prints the process's RSS growth and the bytes Python allocated (``tracemalloc``),
per entry, and a ``sys.getsizeof`` breakdown of one entry.
"""

from __future__ import annotations

import argparse
import gc
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any


def rss_mib() -> float:
    """Current resident set size (VmRSS), MiB."""
    with open("/proc/self/status", encoding="ascii") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def measure(label: str, count: int, build: Callable[[], Any]) -> Any:
    """Run ``build``; print RSS and traced bytes it added, in total and per entry."""
    gc.collect()
    rss0 = rss_mib()
    traced0 = tracemalloc.get_traced_memory()[0]
    began = time.perf_counter()
    built = build()
    seconds = time.perf_counter() - began
    gc.collect()
    rss1 = rss_mib()
    traced1 = tracemalloc.get_traced_memory()[0]
    rss_b = (rss1 - rss0) * 1024 * 1024
    traced_b = traced1 - traced0
    traced = (
        f"; Python objects +{traced_b / 2**20:,.1f} MiB ({traced_b / count:,.0f} B/entry)"
        if tracemalloc.is_tracing()
        else ""
    )
    print(
        f"{label}: {count:,} entries in {seconds:.1f} s; RSS +{rss1 - rss0:,.1f} MiB "
        f"({rss_b / count:,.0f} B/entry, now {rss1:,.0f} MiB){traced}"
    )
    return built


def load_registry(certificates: int, work: Path) -> Any:
    from streams.bench import population as pop
    from streams.policy import load_certificates_csv

    csv = pop.write_certificates(work / "certs.csv", certificates)
    return measure("certificate registry", certificates, lambda: load_certificates_csv(csv))


def registry_entry(registry: Any) -> None:
    """``sys.getsizeof`` of one registry entry's objects (shared objects counted once)."""
    from streams.contract.keys import parse_user_key

    key = next(iter(registry))
    certs = registry.certificates(*parse_user_key(key))
    shared = len({id(registry.certificates(*parse_user_key(k))) for k in registry})
    print(f"  {len(registry):,} keys share {shared:,} distinct certificate tuples")
    parts = [("key str", sys.getsizeof(key)), ("certificates tuple", sys.getsizeof(certs))]
    for cert in certs:
        parts.append(("Certificate", sys.getsizeof(cert)))
        for name in getattr(type(cert), "__slots__", ()):
            parts.append((f"  .{name}", sys.getsizeof(getattr(cert, name))))
    print("  one entry: " + ", ".join(f"{name} {size} B" for name, size in parts))


def judge_users(registry: Any, users: int) -> dict[str, bytes]:
    """One search each for ``users`` population users, judged and stored as bytes."""
    import orjson

    from streams.bench import population as pop
    from streams.contract import parse_event
    from streams.detectors.engine import Engine
    from streams.judge.batch import BatchItem, ByteStates, Judge
    from streams.policy import load_policy
    from streams.settings import DEFAULT_POLICY

    judge = Judge(Engine(load_policy(DEFAULT_POLICY), registry))
    table: dict[str, bytes] = {}
    agencies: dict[str, bytes] = {}
    states = ByteStates(table, agencies)
    batch: list[BatchItem[int]] = []
    alerts = 0
    for i, (_, value, _) in enumerate(pop.events(0, users, users)):
        event = parse_event(value)
        assert orjson.loads(value)["user"] == event.user
        # With input positions, as the worker's items have: stored values carry marks.
        batch.append(BatchItem(event, i, position=i, source=(0, i)))
        if len(batch) == 2000:
            alerts += len(judge.run(batch, states).alerts)
            batch = []
    if batch:
        alerts += len(judge.run(batch, states).alerts)
    print(f"  judged {users:,} users: {alerts} alerts, {len(agencies)} agency states")
    return table


def table_entry(table: dict[str, bytes]) -> None:
    sizes = [len(v) for v in table.values()]
    key = next(iter(table))
    value = table[key]
    print(
        f"  one entry: key str {sys.getsizeof(key)} B, value bytes {sys.getsizeof(value)} B "
        f"(mean stored value {sum(sizes) / len(sizes):.0f} B), dict "
        f"{sys.getsizeof(table) / len(table):.0f} B/entry"
    )


def pack_all(table: dict[str, bytes]) -> dict[str, bytes]:
    """The table as the worker holds it: values packed (:mod:`streams.worker.packed_values`);
    the keys are the same objects as ``table``'s, so only the values count here."""
    from streams.worker.packed_values import pack_value

    return {key: pack_value(value) for key, value in table.items()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m streams.bench.memory_breakdown")
    parser.add_argument("--certificates", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--no-trace", action="store_true", help="RSS only (faster)")
    args = parser.parse_args(argv)
    import streams.worker.agents  # noqa: F401  (what a worker imports, before measuring)

    if not args.no_trace:
        tracemalloc.start()
    print(f"start (worker modules imported): RSS {rss_mib():,.0f} MiB")
    with tempfile.TemporaryDirectory(prefix="frtwatch-memory-") as work:
        registry = load_registry(args.certificates, Path(work))
        registry_entry(registry)
        table = measure("user table", args.users, lambda: judge_users(registry, args.users))
        table_entry(table)
        packed = measure("user table, values packed", args.users, lambda: pack_all(table))
        table_entry(packed)


if __name__ == "__main__":
    main()
