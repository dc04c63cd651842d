"""Deterministic ``event_id``: the same source record always gives the same id.

The id is a hash of the format and the raw record's bytes (the first request of a
use), so re-reading a log file, reading a rotated or renamed copy, or restarting gives
the ids the worker has seen, and its dedupe counts each search once. A mapped audit
record with its own id field uses that id instead.

>>> content_id("squid", b"1772442000.123 ...")
'squid-c22e138f6cd301340a803d642da92fdc'
"""

from __future__ import annotations

import hashlib

MAX_ID = 128


def content_id(fmt: str, raw: bytes) -> str:
    digest = hashlib.sha256(fmt.encode("utf-8") + b"\0" + raw).hexdigest()[:32]
    return f"{fmt[:64]}-{digest}"


def record_id(source: str, value: str) -> str:
    """An id from a record's own id field, prefixed by its source so systems never collide.

    >>> record_id("state-frt", "A-17")
    'state-frt:A-17'
    """
    return f"{source[:48]}:{value}"[:MAX_ID]
