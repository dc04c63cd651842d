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

import numpy as np
from sklearn.ensemble import IsolationForest
from sklearn.ensemble._iforest import _average_path_length
from sklearn.tree._tree import Tree

from streams.errors import ModelError

_LEAF = -1  # a leaf's left_child in a fitted tree's nodes (scikit-learn's TREE_LEAF)


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
        for tree, leaf_depth in self._trees:
            depths += leaf_depth[tree.apply(rows)]
        denominator = self._denominator
        scores = 2 ** (
            -np.divide(depths, denominator, out=np.ones_like(depths), where=denominator != 0)
        )
        return -scores

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
