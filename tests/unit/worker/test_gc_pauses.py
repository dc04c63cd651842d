"""Timing the garbage collector's passes in the worker."""

from __future__ import annotations

import gc
import logging

import pytest
from prometheus_client import REGISTRY

from streams.worker import gc_pauses


def _passes(generation: int) -> float:
    value = REGISTRY.get_sample_value(
        "frtwatch_gc_pause_seconds_count", {"generation": str(generation)}
    )
    return value or 0.0


def test_a_full_pass_is_timed_counted_and_logged_when_long(
    caplog: pytest.LogCaptureFixture,
) -> None:
    before = _passes(2)
    watch = gc_pauses.install(warn_s=0.0)  # every pass counts as long
    try:
        with caplog.at_level(logging.WARNING, logger="streams.worker.gc_pauses"):
            gc.collect(2)
    finally:
        gc.callbacks.remove(watch.on_gc)
    assert watch.longest[2] > 0.0
    assert _passes(2) == before + 1
    assert any(
        "garbage collection (generation 2) paused the worker" in r.getMessage()
        for r in caplog.records
    )


def test_short_passes_are_counted_but_not_logged(caplog: pytest.LogCaptureFixture) -> None:
    watch = gc_pauses.install(warn_s=60.0)
    try:
        with caplog.at_level(logging.WARNING, logger="streams.worker.gc_pauses"):
            gc.collect(0)
    finally:
        gc.callbacks.remove(watch.on_gc)
    assert 0.0 < watch.longest[0] < 60.0
    assert not caplog.records


def test_long_passes_while_starting_are_noted_not_warned(
    caplog: pytest.LogCaptureFixture,
) -> None:
    watch = gc_pauses.install(warn_s=0.0, starting=True)
    try:
        with caplog.at_level(logging.INFO, logger="streams.worker.gc_pauses"):
            gc.collect(2)
            gc_pauses.now_serving()
            gc.collect(2)
    finally:
        gc.callbacks.remove(watch.on_gc)
        gc_pauses._installed.remove(watch)
    levels = [(r.levelno, "while starting" in r.getMessage()) for r in caplog.records]
    assert levels == [(logging.INFO, True), (logging.WARNING, False)]
