"""A crashed Kafka reader is logged and started again, not silently lost."""

from __future__ import annotations

import logging

import pytest

from streams.console.app import supervise


async def test_a_crashed_reader_is_restarted(caplog: pytest.LogCaptureFixture) -> None:
    runs: list[int] = []

    async def flaky() -> None:
        runs.append(len(runs))
        if len(runs) < 3:
            raise RuntimeError(f"broker hiccup {len(runs)}")

    with caplog.at_level(logging.ERROR, logger="frtwatch.console"):
        await supervise("test", flaky, first_delay=0.0)
    assert runs == [0, 1, 2]
    assert caplog.text.count("the test reader stopped") == 2
