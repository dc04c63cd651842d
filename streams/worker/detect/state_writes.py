"""Table writes that are on the broker before they count.

Faust sends a table's changelog record through its producer buffer when a
key is set, and its commit flushes that buffer first; but the flush gives up
as soon as no record leaves for 0.1 s (faust-streaming 0.15.3,
``ProducerBuffer.flush_atmost``), which a busy worker reaches easily. A
commit could then pass events whose new states were still in the buffer,
and a crash lost those states while their events counted as done (seen by
the SIGKILL fault test: a user's counts short by the four events of one batch).

So the detection stage writes a batch's states here instead: the changelog
records, serialised as Faust would and sent to the partition of the event
that caused each write, are confirmed by the broker (:func:`deliver`), and
only then is the in-memory table updated, without a second send. The batch is
acked after that, so nothing counts as done before its state is durable.
"""

from __future__ import annotations

from typing import Any, Protocol

from faust.types import TableT

from streams.worker.delivery import Outgoing, deliver
from streams.worker.packed_values import LazyPacker


class HasPartition(Protocol):
    @property
    def partition(self) -> int: ...


class StateWrites(dict[str, bytes]):
    """A batch's writes to one table: ``select`` the event, set keys, then :meth:`save`."""

    def __init__(self, table: TableT[str, bytes], packer: LazyPacker | None = None) -> None:
        super().__init__()
        self.table = table
        self.packer = packer
        """What puts a value in the table in its in-memory form
        (:mod:`streams.worker.packed_values`), if not the value itself; the changelog
        gets the value."""
        self._partition: int | None = None
        self._partitions: dict[str, int | None] = {}

    def select(self, token: HasPartition) -> None:
        """The event the following writes come from: their changelog partition is its."""
        self._partition = token.partition

    def __setitem__(self, key: str, value: bytes) -> None:
        super().__setitem__(key, value)
        self._partitions[key] = self._partition

    def records(self) -> list[Outgoing]:
        """The changelog records of the writes, keys and values serialised as Faust's."""
        table: Any = self.table
        topic = table.changelog_topic
        out = []
        for key, value in self.items():
            raw_key, _ = topic.prepare_key(key, table.key_serializer)
            raw_value, _ = topic.prepare_value(value, table.value_serializer)
            out.append(Outgoing(topic, raw_key, raw_value, partition=self._partitions[key]))
        return out

    async def save(self) -> None:
        """Send the changelog records, wait for the broker, then update the table."""
        if not self:
            return
        await deliver(self.records())
        data: Any = self.table.data
        packer = self.packer
        for key, value in self.items():
            if packer is None:
                data[key] = value
            else:
                packer.put(data, key, value)
