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
"""

from __future__ import annotations

from dataclasses import dataclass

import faust
from faust.types import TableT

from streams.settings import Settings

USER_TABLE = "user-state"
AGENCY_TABLE = "agency-state"


@dataclass(frozen=True, slots=True)
class WorkerTables:
    users: TableT[str, bytes]
    agencies: TableT[str, bytes]


def declare_tables(app: faust.App, settings: Settings) -> WorkerTables:
    """Define the state tables on ``app`` (in memory, rebuilt from the changelog)."""

    def table(name: str, help_text: str) -> TableT[str, bytes]:
        return app.Table(
            name,
            key_type=str,
            value_type=bytes,
            partitions=settings.partitions,
            help=help_text,
        )

    return WorkerTables(
        users=table(USER_TABLE, "per-user detection state, key <agency>/<user> (escaped)"),
        agencies=table(AGENCY_TABLE, "per-agency peer state, key <agency> (escaped)"),
    )
