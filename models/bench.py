"""Scoring benchmark: microseconds per event, amortised, at the batch sizes drivers use.

``python -m models.bench [--model PATH] [--seconds 0.5]``

With ``--model`` (or the default model when it exists) the real artifact is
timed; otherwise a forest with the training parameters is fitted on seeded
synthetic rows, which costs the same to score (cost depends on the number
of trees and their depth, both fixed by the training parameters). The
per-event feature update and the state round-trip are timed too, since the
worker pays them for every event.
"""

from __future__ import annotations

import argparse
import hashlib
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import orjson
from sklearn.ensemble import IsolationForest

from models.features import FEATURE_NAMES, UTC_HOURS, BehaviorWindow, LocalHours
from models.scoring import BehaviorModel, load_model
from models.train import MAX_FEATURES, MAX_SAMPLES, N_ESTIMATORS
from streams.contract import SearchEvent

BATCH_SIZES = (1, 64, 256, 500, 1000, 10_000)


def _per_call_seconds(fn: Callable[[], object], budget_s: float) -> float:
    """Mean seconds per call, repeating until ``budget_s`` has passed (at least 3 calls)."""
    fn()  # warm up
    calls, start = 0, time.perf_counter()
    while True:
        fn()
        calls += 1
        elapsed = time.perf_counter() - start
        if calls >= 3 and elapsed >= budget_s:
            return elapsed / calls


def _synthetic_rows(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.column_stack(
        [
            rng.lognormal(0.0, 0.3, n),
            rng.beta(1, 12, n),
            rng.beta(8, 2, n),
            rng.beta(2, 8, n),
            rng.beta(1, 40, n),
            rng.beta(1, 40, n),
            rng.integers(1, 3, n).astype(float),
            rng.normal(1.5, 0.4, n),
            rng.beta(1, 30, n),
            rng.beta(1, 10, n),
            rng.beta(1, 8, n),
        ]
    )


def _stand_in_model(seed: int) -> BehaviorModel:
    rows = _synthetic_rows(5_000, seed)
    forest = IsolationForest(
        n_estimators=N_ESTIMATORS,
        max_samples=MAX_SAMPLES,
        max_features=MAX_FEATURES,
        random_state=seed,
    )
    forest.fit(rows)
    quantiles = {
        name: {"q01": float(np.quantile(rows[:, i], 0.01)), "q50": float(np.median(rows[:, i])),
               "q99": float(np.quantile(rows[:, i], 0.99))}
        for i, name in enumerate(FEATURE_NAMES)
    }  # fmt: skip
    card = {"features": list(FEATURE_NAMES), "threshold": 0.6, "feature_quantiles": quantiles}
    return BehaviorModel(forest, card)


def _events(n: int) -> list[SearchEvent]:
    return [
        SearchEvent(
            event_id=f"e{i}", ts=1_772_409_600.0 + i * 1_800.0, ts_text="", agency="MPD",
            user="u1", endpoint="frt.county.example.gov", host="frt.county.example.gov",
            on_behalf_of="MPD", case_number="C-1" if i % 9 else None,
            probe_sha256=hashlib.sha256(b"%d" % (i % 13)).hexdigest(), result_count=i % 4,
        )
        for i in range(n)
    ]  # fmt: skip


def run(model: BehaviorModel, budget_s: float) -> list[tuple[str, float]]:
    """(label, microseconds per event) for scoring at each batch size and the feature path."""
    rows = _synthetic_rows(max(BATCH_SIZES), seed=11)
    results = []
    for size in BATCH_SIZES:
        batch = rows[:size]
        seconds = _per_call_seconds(lambda b=batch: model.score(b), budget_s)  # type: ignore[misc]
        results.append((f"score, batch of {size}", seconds / size * 1e6))
    events = _events(2_000)

    def update_all(hours: LocalHours = UTC_HOURS) -> None:
        window = BehaviorWindow()
        for event in events:
            window.update(event, hours)

    results.append(("BehaviorWindow.update", _per_call_seconds(update_all, budget_s) / 2_000 * 1e6))
    chicago = LocalHours({"MPD": "America/Chicago"})
    results.append((
        "BehaviorWindow.update (Chicago)",
        _per_call_seconds(lambda: update_all(chicago), budget_s) / 2_000 * 1e6,
    ))  # fmt: skip
    window = BehaviorWindow()
    for event in events:
        window.update(event)
    results.append(("BehaviorWindow.features", _per_call_seconds(window.features, budget_s) * 1e6))
    results.append((
        "window to_list+orjson+from_list",
        _per_call_seconds(
            lambda: BehaviorWindow.from_list(orjson.loads(orjson.dumps(window.to_list()))),
            budget_s,
        ) * 1e6,
    ))  # fmt: skip
    results.append(
        ("window state size (bytes, not us)", float(len(orjson.dumps(window.to_list()))))
    )
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m models.bench", description=__doc__)
    parser.add_argument("--model", type=Path, help="a trained artifact (default: a stand-in)")
    parser.add_argument("--seconds", type=float, default=0.5, help="time budget per figure")
    args = parser.parse_args(argv)
    if args.model is not None:
        model, what = load_model(args.model), str(args.model)
    else:
        model = _stand_in_model(seed=7)
        what = f"stand-in forest ({N_ESTIMATORS} trees, max_samples {MAX_SAMPLES})"
    print(f"model: {what}")
    print(f"{'measure':<36} {'us per event':>14}")
    for label, value in run(model, args.seconds):
        unit = f"{value:>14.0f}" if "bytes" in label else f"{value:>14.2f}"
        print(f"{label:<36} {unit}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
