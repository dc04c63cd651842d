"""The score sample stays bounded and thins evenly, whatever the batch sizes."""

from __future__ import annotations

import numpy as np

from streams.replay.scores import ScoreSample, read_scores


def test_sample_is_bounded_and_independent_of_batching(tmp_path) -> None:
    values = np.arange(10_000, dtype=np.float32)
    one = ScoreSample(cap=1000)
    one.extend(values)
    many = ScoreSample(cap=1000)
    for chunk in np.array_split(values, 37):
        many.extend(chunk)
    assert one.seen == many.seen == 10_000
    assert len(one.values()) <= 1000
    assert np.array_equal(one.values(), many.values())
    assert np.array_equal(one.values(), values[:: one.stride])  # an even, reproducible thinning
    one.write_parquet(tmp_path / "scores.parquet")
    assert np.array_equal(read_scores(tmp_path / "scores.parquet"), one.values())
    assert read_scores(tmp_path / "absent.parquet").size == 0


def test_small_samples_keep_everything() -> None:
    sample = ScoreSample(cap=100)
    sample.extend([0.5, 0.25])
    sample.extend([])
    assert sample.values().tolist() == [0.5, 0.25] and sample.stride == 1
