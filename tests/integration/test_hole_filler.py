"""The hole filler reads exactly the offsets asked for, from the real broker."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from streams.settings import TopicNames
from streams.worker.workarounds.hole_filler import HoleFiller
from tests.integration.worker_harness import produce


def test_reads_a_range_and_stops_at_the_end_of_the_log(
    kafka_bootstrap: str, topic_names: TopicNames, create_topics: Callable[..., None]
) -> None:
    topic = topic_names.events
    create_topics([topic], partitions=1)
    produce(kafka_bootstrap, topic, [(None, b"record-%d" % n) for n in range(10)])

    async def run() -> tuple[list[int], list[bytes], list[int], int]:
        filler = HoleFiller(kafka_bootstrap, "test-hole-filler")
        try:
            middle = await filler.fetch(topic, 0, 3, 6)
            past_end = await filler.fetch(topic, 0, 8, 20)  # the log ends at 9
            return ([r.offset for r in middle], [r.value for r in middle],
                    [r.offset for r in past_end], filler.filled)  # fmt: skip
        finally:
            await filler.stop()

    offsets, values, tail, filled = asyncio.run(run())
    assert offsets == [3, 4, 5, 6]
    assert values == [b"record-3", b"record-4", b"record-5", b"record-6"]
    assert tail == [8, 9]
    assert filled == 6
