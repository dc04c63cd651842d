"""The user table holds values packed; readers and the changelog see the stored values."""

from __future__ import annotations

from dataclasses import dataclass

import faust
import pytest

from streams.contract import parse_event
from streams.detectors.engine import Engine
from streams.judge.batch import BatchItem, ByteStates, Judge
from streams.policy import CertificateRegistry, load_policy
from streams.settings import DEFAULT_POLICY, load_settings
from streams.worker.detect.state_writes import StateWrites
from streams.worker.packed_values import (
    PACKED,
    LazyPacker,
    Unpacked,
    pack_value,
    unpack_value,
)
from streams.worker.tables import declare_tables
from streams.worker.workarounds.packed_table import PackedTable


def _stored_values(count: int) -> dict[str, bytes]:
    """Real stored user values (marks included), some with an open alert."""
    users: dict[str, bytes] = {}
    judge = Judge(Engine(load_policy(DEFAULT_POLICY), CertificateRegistry()))
    items = []
    for i in range(count):
        endpoint = "https://app.clearview.ai/" if i % 2 else "https://frt.county.example.gov/"
        raw = (
            b'{"event_id": "e%d", "ts": "2026-03-02T09:%02d:00Z", "agency": "MPD",'
            b' "user": "u%d", "endpoint": "%s"}' % (i, i % 60, i, endpoint.encode())
        )
        items.append(BatchItem(parse_event(raw), i, position=i, source=(0, i)))
    judge.run(items, ByteStates(users, {}))
    return users


def test_packing_gives_back_every_stored_value_and_is_smaller() -> None:
    values = _stored_values(40)
    for value in values.values():
        packed = pack_value(value)
        assert packed[:1] == PACKED and len(packed) < len(value) / 2
        assert unpack_value(packed) == value
    assert unpack_value(b"[2,null]") == b"[2,null]"  # a value that was never packed
    assert pack_value(None) is None and pack_value(b"") == b""


def test_a_value_that_does_not_shrink_is_kept_unless_it_looks_packed() -> None:
    noise = bytes(range(1, 40))
    assert pack_value(noise) == noise
    looks_packed = b"\x00" + noise
    assert pack_value(looks_packed)[:1] == PACKED
    assert unpack_value(pack_value(looks_packed)) == looks_packed
    with pytest.raises(ValueError, match="truncated"):
        unpack_value(pack_value(bytes(200))[:5])


@dataclass(frozen=True)
class Token:
    partition: int


async def test_the_user_table_holds_packed_values_its_changelog_and_readers_plain() -> None:
    app = faust.App("frtwatch-unit-packed", store="memory://")
    tables = declare_tables(app, load_settings({}))
    assert isinstance(tables.users, PackedTable)
    assert not isinstance(tables.agencies, PackedTable)
    value = next(iter(_stored_values(1).values()))
    writes = StateWrites(tables.users, LazyPacker())
    writes.select(Token(1))
    writes["MPD/u0"] = value
    (record,) = writes.records()
    assert record.value == value  # the changelog gets the stored value itself

    data = tables.users.data
    data["MPD/u0"] = pack_value(value)  # what save() does once the broker has the record
    assert len(data["MPD/u0"]) < len(value)
    view = Unpacked(tables.users)
    assert view.get("MPD/u0") == view["MPD/u0"] == value
    assert view.get("MPD/nobody") is None and "MPD/u0" in view and len(view) == 1

    # Recovery from the changelog packs what it applies, tombstones delete.
    assert tables.users._to_value(value) == pack_value(value)
    assert tables.users._to_value(None) is None


def test_the_lazy_packer_keeps_the_latest_writes_plain_and_packs_the_rest() -> None:
    values = _stored_values(12)
    data: dict[str, bytes] = {}
    packer = LazyPacker(hot=4)
    keys = list(values)
    for key in keys[:6]:
        packer.put(data, key, values[key])
    assert [k for k in keys[:6] if data[k][:1] == PACKED] == keys[:2]  # the oldest two
    assert len(packer) == 4
    packer.put(data, keys[2], values[keys[2]])  # written again: the newest now
    packer.put(data, keys[6], values[keys[6]])
    assert data[keys[2]][:1] != PACKED and data[keys[3]][:1] == PACKED
    del data[keys[4]]  # gone before its turn: nothing to pack, nothing put back
    data[keys[5]] = pack_value(values[keys[5]])  # recovered from the changelog: packed already
    for key in keys[7:]:
        packer.put(data, key, values[key])
    assert keys[4] not in data and unpack_value(data[keys[5]]) == values[keys[5]]
    view = Unpacked(data)
    assert {k: view[k] for k in data} == {k: values[k] for k in data}
    packer.put(data, keys[0], None)  # a deletion is stored as Faust's tombstone
    assert data[keys[0]] is None and len(packer) == 4
