"""User states held compressed in the worker's memory; the changelog keeps them as they are.

A user's stored value is ~300 B of JSON (with its progress marks) and a worker may hold
a million of them. In memory each is kept deflated against a preset dictionary of a
typical state (:func:`pack_value`): ~30-60 B instead of ~300 B, for ~3 µs per write and
~1 µs per read. The users written most recently keep their plain form
(:class:`LazyPacker`): an active user is written in batch after batch and packed
once, when others have taken its place. Only the in-memory form changes: changelog records, journals and
everything the detection core reads are the plain stored values (:func:`unpack_value`), so
the packing has no effect on any state or alert, and the dictionary may change between
versions (the memory is rebuilt from the changelog at every start).

>>> raw = b'\\x01m[7,[[0,7]]]\\x00[2,1773797576.5,[300.0,24],5912658,[0,0,0,1]]'
>>> packed = pack_value(raw)
>>> len(packed) < len(raw), unpack_value(packed) == raw
(True, True)
>>> unpack_value(b'[2,null]'), pack_value(b''), pack_value(None) is None  # a plain value reads as itself
(b'[2,null]', b'', True)
"""

from __future__ import annotations

import zlib
from collections import OrderedDict
from collections.abc import Iterator, MutableMapping
from typing import Any, overload

PACKED = b"\x00"
"""First byte of a packed value. A plain stored value never starts with it (it starts
with its marks' magic, ``\\x01``, or a JSON array's ``[``)."""

_WBITS = -11  # raw deflate, 2 KiB window: states are rarely longer, and state copies are cheap
_MEM_LEVEL = 2
_LEVEL = 1
_DICTIONARY = (
    b'"none_on_file"}]],"reason":"expired","certified_on":"2025-01-01","expires_on":'
    b'"2026-12-31"}searched without a valid FRT training certificate: no certificate'
    b' is on file (1 search).",{"reason":"none_on_file"}]],[4,1,1773797576.326162,'
    b'[[3,"",1,1773830068.516564,1773830068.516564,["u-1"],1773830068.516564,"u-1",'
    b'20530,1,"MPD user u-1 ",[[0,1.0,0.0,0.0,0.0,0.0,0.0,1.0,1.0,0.0,0.0,0.0],[],'
    b"[[3124588542,1773797576.326162]]]]"
    b"\x01m[0,[[0,0]]]\x00[2,1773797576.326162,[300.0,24],5912658,"
    b"[0,0,0,0,0,0,0,0,0,0,0,1],1,-1,0,0,[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0],"
    b'[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0],[],"zNUKnw4=",[],[4,1,1773797576.326162,'
    b"1773797576.326162,[1.0,1.0,0.0,0.0,0.0,0.0,1.0,1.0,0.0,0.0,0.0],[],"
    b"[[3124588542,1773797576.326162]]]]"
)
_COMPRESSOR = zlib.compressobj(_LEVEL, zlib.DEFLATED, _WBITS, _MEM_LEVEL, zdict=_DICTIONARY)
_DECOMPRESSOR = zlib.decompressobj(_WBITS, zdict=_DICTIONARY)


@overload
def pack_value(value: bytes) -> bytes: ...
@overload
def pack_value(value: None) -> None: ...
def pack_value(value: bytes | None) -> bytes | None:
    """The in-memory form of a stored value (``None``, a deletion, stays ``None``)."""
    if not value:
        return value
    compressor = _COMPRESSOR.copy()
    deflated = compressor.compress(value) + compressor.flush()
    if len(deflated) + 1 >= len(value) and value[:1] != PACKED:
        return value
    return PACKED + deflated


def unpack_value(value: bytes) -> bytes:
    """The stored value of an in-memory form (a plain value is its own)."""
    if value[:1] != PACKED:
        return value
    decompressor = _DECOMPRESSOR.copy()
    plain = decompressor.decompress(memoryview(value)[1:])
    if not decompressor.eof:
        raise ValueError("a packed state value is truncated")
    return plain


HOT_VALUES = 16_384
"""Values a :class:`LazyPacker` keeps plain: ~3-4 MiB more than packed, and it saves the
packing for users written again while they are among them."""


class LazyPacker:
    """Writes a table's values plain and packs each once ``hot`` other keys have been
    written since: what is read back is the same either way (:func:`unpack_value`)."""

    def __init__(self, hot: int = HOT_VALUES) -> None:
        self.hot = hot
        self._recent: OrderedDict[str, None] = OrderedDict()

    def put(self, data: MutableMapping[str, Any], key: str, value: bytes | None) -> None:
        """``data[key] = value``, in its plain form for now."""
        if not value or value[:1] == PACKED:  # a deletion, or a value only packing can mark
            data[key] = pack_value(value)
            self._recent.pop(key, None)
            return
        data[key] = value
        recent = self._recent
        if key in recent:
            recent.move_to_end(key)
            return
        recent[key] = None
        while len(recent) > self.hot:
            old, _ = recent.popitem(last=False)
            kept = data.get(old)
            if kept and kept[:1] != PACKED:  # not deleted or recovered (packed) since
                data[old] = pack_value(kept)

    def __len__(self) -> int:
        """Keys written plain and not packed yet (or deleted since)."""
        return len(self._recent)


class Unpacked(MutableMapping[str, bytes]):
    """The stored values of a packed table: reads unpack, writes pack."""

    def __init__(self, table: MutableMapping[str, bytes]) -> None:
        self.table = table

    def __getitem__(self, key: str) -> bytes:
        return unpack_value(self.table[key])

    def get(self, key: str, default: Any = None) -> Any:
        value = self.table.get(key)
        return default if value is None else unpack_value(value)

    def __setitem__(self, key: str, value: bytes) -> None:
        self.table[key] = pack_value(value)

    def __delitem__(self, key: str) -> None:
        del self.table[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.table)

    def __len__(self) -> int:
        return len(self.table)

    def __contains__(self, key: object) -> bool:
        return key in self.table
