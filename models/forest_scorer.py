"""An isolation forest's ``score_samples`` without its fixed cost per call, to the bit.

scikit-learn scores a batch tree by tree through joblib, validating the
input and the fitted state for every tree: with the 200 trees frtwatch
trains, a call costs about 12 ms before the first row is scored, which a
live worker pays on every micro-batch. Each tree is also given a copy of the
columns it was fitted on. :class:`ForestScorer` walks the same trees with
their compiled ``Tree.apply``, each rewritten once to read those columns from
the whole rows (the same splits and thresholds), and adds up the same per-leaf
depths in the same order (trees in order, ``path + average - 1.0`` per
leaf, folded into one array when the scorer is built), then applies the same
normalisation. The scores are the same floats, not approximations: the
tests compare them with ``IsolationForest.score_samples`` bit for bit.

It reads fitted attributes scikit-learn keeps private
(``_decision_path_lengths``, ``_average_path_length_per_tree``,
``_max_features``, ``_max_samples``); the version pinned in
``pyproject.toml`` is the one it was checked against, and
:func:`ForestScorer.check` compares it with scikit-learn's own scores when a
model is loaded, so a change in a later version shows at once.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from sklearn.ensemble import IsolationForest
from sklearn.ensemble._iforest import _average_path_length
from sklearn.tree._tree import Tree

from streams.errors import ModelError

_LEAF = -1  # a leaf's left_child in a fitted tree's nodes (scikit-learn's TREE_LEAF)


def _usable_cores() -> int:
    affinity = getattr(os, "sched_getaffinity", None)  # Linux; elsewhere every core counts
    return len(affinity(0)) if affinity is not None else os.cpu_count() or 1


THREADS = min(2, _usable_cores())
"""Threads a large batch is scored in: two where the process may use two cores or more
(one core's worth goes to the broker and the rest of the worker), else one."""
THREADED_ROWS = 256
"""Batches smaller than this are scored in the calling thread (the hand-over costs more)."""

_POOL: tuple[int, ThreadPoolExecutor] | None = None


def _forget_pool() -> None:
    global _POOL
    _POOL = None  # a forked child has none of its parent's threads


if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(after_in_child=_forget_pool)


def _pool() -> ThreadPoolExecutor | None:
    """This process's scoring threads (a forked process makes its own), if more than one."""
    global _POOL
    if THREADS < 2:
        return None
    if _POOL is None or _POOL[0] != os.getpid():
        _POOL = (os.getpid(), ThreadPoolExecutor(THREADS - 1, thread_name_prefix="frt-forest"))
    return _POOL[1]


def _apply(trees: list[tuple[Tree, np.ndarray]], rows: np.ndarray) -> list[np.ndarray]:
    return [tree.apply(rows) for tree, _ in trees]


def _full_width(tree: Tree, features: np.ndarray, n_features: int) -> Tree:
    """``tree``, fitted on the columns ``features`` of the rows, as a tree of the whole
    rows: each split names the row's column instead of the subset's, and nothing else
    changes, so every row reaches the same leaf without its subset being copied out."""
    state = tree.__getstate__()
    nodes = state["nodes"].copy()
    split = nodes["left_child"] != _LEAF
    nodes["feature"][split] = np.asarray(features, dtype=np.intp)[nodes["feature"][split]]
    whole = Tree(n_features, tree.n_classes, tree.n_outputs)
    whole.__setstate__({**state, "nodes": nodes})
    return whole


class ForestScorer:
    """``score_samples`` of a fitted :class:`IsolationForest`: lower is more abnormal."""

    def __init__(self, forest: IsolationForest) -> None:
        try:
            subsample = forest._max_features != forest.n_features_in_
            self.n_features = int(forest.n_features_in_)
            self._trees = [
                (
                    _full_width(estimator.tree_, features, self.n_features)
                    if subsample
                    else estimator.tree_,
                    # per leaf, what score_samples adds to a row's depth
                    path + average - 1.0,
                )
                for estimator, features, path, average in zip(
                    forest.estimators_,
                    forest.estimators_features_,
                    forest._decision_path_lengths,
                    forest._average_path_length_per_tree,
                    strict=True,
                )
            ]
            self._denominator = len(forest.estimators_) * _average_path_length(
                [forest._max_samples]
            )
        except (AttributeError, TypeError, ValueError) as exc:
            raise ModelError(f"the isolation forest cannot be scored here: {exc}") from None

    def score_samples(self, X: np.ndarray) -> np.ndarray:
        """The scores of rows ``X`` (shape ``(n, n_features)``), as scikit-learn gives them."""
        rows = np.ascontiguousarray(X, dtype=np.float32)
        depths = np.zeros(rows.shape[0], dtype=np.float64, order="F")
        for (_, leaf_depth), leaves in zip(self._trees, self._leaves(rows), strict=True):
            depths += leaf_depth[leaves]
        denominator = self._denominator
        scores = 2 ** (
            -np.divide(depths, denominator, out=np.ones_like(depths), where=denominator != 0)
        )
        return -scores

    def _leaves(self, rows: np.ndarray) -> list[np.ndarray]:
        """Each tree's leaf for every row, in the trees' order.

        ``Tree.apply`` runs without the GIL, so a large batch is split between
        threads (:data:`THREADS`) by runs of trees; the depths are then added up in the
        trees' order as before, so the scores do not depend on the split."""
        trees = self._trees
        pool = _pool() if rows.shape[0] >= THREADED_ROWS else None
        if pool is None:
            return [tree.apply(rows) for tree, _ in trees]
        step = -(-len(trees) // THREADS)
        runs = [trees[i : i + step] for i in range(0, len(trees), step)]
        others = [pool.submit(_apply, run, rows) for run in runs[1:]]
        leaves = _apply(runs[0], rows)
        for other in others:
            leaves.extend(other.result())
        return leaves

    def check(self, forest: IsolationForest, rows: np.ndarray) -> None:
        """Raise :class:`ModelError` unless scores equal ``forest.score_samples`` on ``rows``."""
        ours = self.score_samples(rows)
        theirs = forest.score_samples(rows)
        if not np.array_equal(ours, theirs, equal_nan=True):
            worst = float(np.nanmax(np.abs(ours - theirs)))
            raise ModelError(
                "the fast isolation-forest scorer disagrees with scikit-learn "
                f"(largest difference {worst:.3g}); this scikit-learn version is not supported"
            )
