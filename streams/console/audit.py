"""The console's audit log: sign-ins, sign-outs and triage actions, one JSON object a line.

Triage actions are also in the Kafka action log; this log adds the sign-in
side (including failures and throttling) that Kafka never sees.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import orjson

from streams.contract.alert import format_ts

audit_log = logging.getLogger("frtwatch.console.audit")


def audit(event: str, **fields: Any) -> None:
    """Record one security-relevant event."""
    record = {"at": format_ts(round(time.time(), 3)), "event": event, **fields}
    audit_log.info(orjson.dumps(record).decode("utf-8"))
