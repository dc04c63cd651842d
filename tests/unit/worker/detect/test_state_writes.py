"""A batch's table writes become changelog records on the partitions of their events."""

from __future__ import annotations

from dataclasses import dataclass

import faust

from streams.settings import load_settings
from streams.worker.detect.state_writes import StateWrites
from streams.worker.tables import declare_tables


@dataclass(frozen=True)
class Token:
    partition: int


def test_writes_are_records_for_the_partition_of_their_event_and_wait_for_save() -> None:
    app = faust.App("frtwatch-unit", store="memory://")
    users = declare_tables(app, load_settings({})).users
    writes = StateWrites(users)
    writes.select(Token(2))
    writes["SPD/a"] = b"\x01m[5,[]]\x00state-a"
    writes.select(Token(0))
    writes["SPD/b"] = b"state-b"
    writes["SPD/a"] = b"state-a2"  # written again later in the batch: the later event's partition

    records = {r.key: r for r in writes.records()}
    assert set(records) == {b'"SPD/a"', b'"SPD/b"'}  # keys serialised as Faust's tables do
    assert (records[b'"SPD/a"'].value, records[b'"SPD/a"'].partition) == (b"state-a2", 0)
    assert (records[b'"SPD/b"'].value, records[b'"SPD/b"'].partition) == (b"state-b", 0)
    assert records[b'"SPD/b"'].topic.get_topic_name() == "frtwatch-unit-user-state-changelog"
    assert "SPD/a" not in users  # nothing is current before the broker has it
