"""A bounded, deterministic sample of every behaviour score a replay computed.

The report's score histogram wants the whole distribution, not only the
alerting tail. Months of events give hundreds of millions of scores, so the
sample keeps every score until it holds ``cap`` of them, then keeps every
second one (and every fourth, eighth, ... as it fills again): an even,
reproducible thinning that never holds more than ``cap`` values.

>>> s = ScoreSample(cap=4)
>>> s.extend([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
>>> s.values().tolist(), s.seen, s.stride
([1.0, 3.0, 5.0], 6, 2)
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

SCORES_PARQUET = "scores.parquet"


class ScoreSample:
    """Keeps every ``stride``-th score; ``stride`` doubles whenever ``cap`` is reached."""

    def __init__(self, cap: int = 2_000_000) -> None:
        self.cap = cap
        self.stride = 1
        self.seen = 0
        self._chunks: list[np.ndarray] = []
        self._held = 0

    def extend(self, scores: Iterable[float] | np.ndarray) -> None:
        values = np.asarray(scores, dtype=np.float32).ravel()
        if values.size == 0:
            return
        # Global positions seen .. seen+n-1; keep those divisible by the stride.
        first = (-self.seen) % self.stride
        kept = values[first :: self.stride]
        self.seen += values.size
        if kept.size:
            self._chunks.append(kept)
            self._held += kept.size
        while self._held > self.cap:
            self._thin()

    def _thin(self) -> None:
        merged = self.values()
        # Positions of held values are multiples of the stride; keep multiples of twice it.
        self.stride *= 2
        self._chunks = [merged[::2]]
        self._held = self._chunks[0].size

    def values(self) -> np.ndarray:
        if not self._chunks:
            return np.empty(0, dtype=np.float32)
        if len(self._chunks) > 1:
            self._chunks = [np.concatenate(self._chunks)]
        return self._chunks[0]

    def write_parquet(self, path: Path) -> None:
        pd.DataFrame({"score": self.values()}).to_parquet(path, index=False)


def read_scores(path: Path) -> np.ndarray:
    if not path.is_file():
        return np.empty(0, dtype=np.float32)
    return pd.read_parquet(path)["score"].to_numpy(dtype=np.float32)
