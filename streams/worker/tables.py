"""The worker's changelogged state tables.

Both tables hold opaque bytes (``UserState.to_bytes()`` /
``AgencyState.to_bytes()``): the detection core owns the format, Faust only
stores it and writes every change to a compacted changelog topic
(``<app_id>-<table>-changelog``), from which a restarted or re-assigned worker
rebuilds the state before it processes another event.

Keys are JSON strings in the changelog (Faust's default for ``str`` keys):
``"<agency>/<user>"`` in ``user-state`` and ``"<agency>"`` in ``agency-state``, each
name escaped (``%`` as ``%25``, ``/`` as ``%2F``: :mod:`streams.contract.keys`), so an
ordinary name's key is the name itself and no two users or agencies share one.
A table write goes to the changelog partition of the *event being
processed*; both tables are co-partitioned with ``<app_id>-events-by-agency``,
so the agent must set the current event before touching a table (see
:mod:`streams.worker.agents`).

The user table holds its values packed in memory (:mod:`streams.worker.packed_values`):
read it through :class:`~streams.worker.packed_values.Unpacked`; its changelog holds the
plain stored values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import faust
from faust.types import TableT

from streams.settings import Settings
from streams.worker.workarounds.packed_table import PackedTable

USER_TABLE = "user-state"
AGENCY_TABLE = "agency-state"


@dataclass(frozen=True, slots=True)
class WorkerTables:
    users: TableT[str, bytes]
    agencies: TableT[str, bytes]


def declare_tables(app: faust.App, settings: Settings) -> WorkerTables:
    """Define the state tables on ``app`` (in memory, rebuilt from the changelog)."""

    def table(name: str, help_text: str, packed: bool = False) -> TableT[str, bytes]:
        options: dict[str, Any] = {
            "key_type": str,
            "value_type": bytes,
            "partitions": settings.partitions,
        }
        if not packed:
            return app.Table(name, help=help_text, **options)
        # What app.Table does, with the table class of our choice.
        made = PackedTable(app, name=name, beacon=app.tables.beacon, help=help_text, **options)
        app.tables.add(made)
        return made

    return WorkerTables(
        users=table(
            USER_TABLE, "per-user detection state, key <agency>/<user> (escaped)", packed=True
        ),
        agencies=table(AGENCY_TABLE, "per-agency peer state, key <agency> (escaped)"),
    )
