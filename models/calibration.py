"""Alert threshold: the score about ``target`` of normal users reach at least once per horizon.

The stream raises an alert when *any* of a user's rows scores at or above
the threshold, so the threshold is about users' **maximum** scores, and a
maximum grows with how long a user is watched. Calibration therefore works
on maxima over fixed blocks of time and scales them to a stated horizon:

1. Each training user's rows are cut into blocks of ``block_s`` (7 days,
   or the whole range when it is shorter); each (user, block) gives one
   maximum.
2. Maxima of many scores follow an extreme-value (Gumbel) law. It is fitted
   to two robust quantiles of the block maxima (75th and 95th percentiles):
   a few percent of users with misuse in the history, who sit at the very
   top, barely move them, whereas a plain 99th percentile would be set by
   exactly those users and hide their peers.
3. A Gumbel law is max-stable: the maximum over ``n`` times as long is the
   same law shifted by ``beta * ln(n)``. The threshold is the fitted law,
   shifted to ``horizon_s`` (14 days), read at ``1 - target``.

With a target of 1%, about 1 normal user in 100 would be flagged at least
once in 14 days of behaviour like the training history (the training
default is smaller, see :data:`models.train.DEFAULT_TARGET_USER_FP_RATE`).

>>> rng = np.random.default_rng(7)
>>> week_maxima = rng.gumbel(0.5, 0.02, size=20_000)       # one block of 7 days per user
>>> fortnight = np.maximum(week_maxima, rng.gumbel(0.5, 0.02, size=20_000))
>>> fit = fit_gumbel(week_maxima, block_s=7 * DAY_S)
>>> round(fit.threshold(0.01, 14 * DAY_S), 3), round(float(np.quantile(fortnight, 0.99)), 3)
(0.605, 0.604)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

DAY_S = 86_400.0
BLOCK_S = 7 * DAY_S
HORIZON_S = 14 * DAY_S
FIT_QUANTILES = (0.75, 0.95)


def _g(p: float) -> float:
    """The standard Gumbel quantile function."""
    return -math.log(-math.log(p))


@dataclass(frozen=True, slots=True)
class GumbelFit:
    """A Gumbel law ``(mu, beta)`` of maxima over ``block_s`` seconds."""

    mu: float
    beta: float
    block_s: float
    maxima: int

    def threshold(self, target: float, horizon_s: float = HORIZON_S) -> float:
        """The score a share ``target`` of maxima over ``horizon_s`` reach."""
        shift = self.beta * math.log(horizon_s / self.block_s)
        return self.mu + shift + self.beta * _g(1.0 - target)


def fit_gumbel(maxima: np.ndarray, block_s: float) -> GumbelFit:
    """Fit a Gumbel law to maxima through :data:`FIT_QUANTILES` (robust to a few outliers)."""
    lo_p, hi_p = FIT_QUANTILES
    lo, hi = (float(v) for v in np.quantile(maxima, FIT_QUANTILES))
    beta = max(hi - lo, 1e-9) / (_g(hi_p) - _g(lo_p))
    return GumbelFit(mu=lo - beta * _g(lo_p), beta=beta, block_s=block_s, maxima=len(maxima))


def block_maxima(
    scores: np.ndarray, user_index: np.ndarray, ts: np.ndarray, block_s: float = BLOCK_S
) -> tuple[np.ndarray, float]:
    """Each (user, block) maximum score, and the block length actually used.

    Blocks start at the first row; a last block shorter than half a block is
    folded into the one before, so no maximum is taken over a sliver of time.

    >>> scores = np.array([0.1, 0.4, 0.2, 0.3, 0.9])
    >>> users = np.array([0, 0, 0, 1, 1])
    >>> ts = np.array([0.0, 1.0, 12.0, 0.0, 12.5]) * DAY_S
    >>> sorted(block_maxima(scores, users, ts)[0].tolist())
    [0.2, 0.3, 0.4, 0.9]
    """
    if len(scores) == 0:
        return np.empty(0), block_s
    start = float(ts.min())
    span = float(ts.max()) - start
    length = min(block_s, span) if span > 0 else block_s
    last_full = max(
        0, int(span // length) - 1 if span % length < length / 2 else int(span // length)
    )
    block = np.minimum(((ts - start) // length).astype(np.int64), last_full)
    keys = user_index.astype(np.int64) * (last_full + 1) + block
    _, inverse = np.unique(keys, return_inverse=True)
    out = np.full(int(inverse.max()) + 1, -np.inf)
    np.maximum.at(out, inverse, scores)
    return out, length
