"""A Faust table that packs the values it recovers from its changelog.

faust-streaming has no public hook for the in-memory form of a table's values: a
``value_serializer`` would change the changelog too. ``Table.apply_changelog_batch``
converts each recovered value with the table's ``_to_value`` (faust/tables/base.py,
checked against faust-streaming 0.15.3), so this subclass overrides that one private
method. ``tests/unit/worker/workarounds/test_private.py`` fails loudly if the hook goes.
Writers pack their own values (:class:`streams.worker.detect.state_writes.StateWrites`).
"""

from __future__ import annotations

from typing import Any

import faust

from streams.worker.packed_values import pack_value


class PackedTable(faust.Table):
    """A Faust table of stored values held packed: what it recovers from its changelog is
    packed as it is applied; writers put values through a
    :class:`~streams.worker.packed_values.LazyPacker` (see
    :class:`~streams.worker.detect.state_writes.StateWrites`); readers use
    :class:`Unpacked`."""

    def _to_value(self, v: Any) -> Any:
        return pack_value(v)
