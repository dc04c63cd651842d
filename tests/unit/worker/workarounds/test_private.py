"""The private parts of faust-streaming and aiokafka the worker reads still exist.

A new upstream version that renames any of them must fail here, not in production
(streams/worker/workarounds/private.py)."""

from __future__ import annotations

import inspect

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.client import AIOKafkaClient
from aiokafka.producer.message_accumulator import MessageAccumulator
from faust.transport.consumer import Consumer
from faust.transport.drivers.aiokafka import Producer


def _assigned_in_init(cls: type, attribute: str) -> bool:
    """Whether ``__init__`` (or Faust's ``_reset_state``, which it calls) sets the attribute."""
    setters = [cls.__init__, *([cls._reset_state] if hasattr(cls, "_reset_state") else [])]
    return any(f"self.{attribute} =" in inspect.getsource(f) for f in setters)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "attribute", ["_committed_offset", "_paused_partitions", "_acked", "_read_offset",
                  "_unacked_messages"],
)  # fmt: skip
def test_faust_consumer_bookkeeping(attribute: str) -> None:
    assert _assigned_in_init(Consumer, attribute)


def test_faust_consumer_add_gap() -> None:
    assert inspect.iscoroutinefunction(Consumer._add_gap)
    assert list(inspect.signature(Consumer._add_gap).parameters) == [
        "self", "tp", "offset_from", "offset_to",
    ]  # fmt: skip


def test_faust_producer_wraps_an_aiokafka_producer() -> None:
    assert "_producer" in inspect.getsource(Producer)


def test_aiokafka_producer_parts() -> None:
    assert _assigned_in_init(AIOKafkaProducer, "_message_accumulator")
    assert _assigned_in_init(MessageAccumulator, "_compression_type")
    assert callable(AIOKafkaProducer._partition)
    assert len(inspect.signature(AIOKafkaProducer._partition).parameters) == 7
    assert inspect.iscoroutinefunction(AIOKafkaClient._wait_on_metadata)
    assert inspect.iscoroutinefunction(AIOKafkaClient.fetch_all_metadata)


def test_aiokafka_consumer_parts() -> None:
    assert _assigned_in_init(AIOKafkaConsumer, "_subscription")
    assert _assigned_in_init(AIOKafkaConsumer, "_client")


def test_faust_tables_convert_recovered_values_with_to_value() -> None:
    """streams/worker/workarounds/packed_table.py packs what a table recovers."""
    from faust.tables.base import Collection

    assert "to_value=self._to_value" in inspect.getsource(Collection.apply_changelog_batch)
    assert list(inspect.signature(Collection._to_value).parameters) == ["self", "v"]


def test_faust_recovery_bookkeeping() -> None:
    """streams/worker/workarounds/stalled_recovery.py reads when a recovery began and
    when each partition last received a record."""
    from faust.tables.recovery import Recovery

    assert "self._recovery_started_at = monotonic()" in inspect.getsource(
        Recovery._set_recovery_started
    )
    assert _assigned_in_init(Recovery, "_active_events_received_at")
