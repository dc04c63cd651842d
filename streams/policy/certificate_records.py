"""Records of the certifications topic, decoded and applied to a registry.

Key ``<agency>/<user>``, each part escaped (``%`` as ``%25``, ``/`` as ``%2F``:
:mod:`streams.contract.keys`); value ``{"certified_on": ..., "expires_on": ...}`` or null (a
tombstone: revoked). The live worker's feed and ``frtwatch replay`` both read the topic
and hand every record to :class:`CertificateRecords`, so both judge certificates alike.

>>> from streams.policy.certifications import CertificateRegistry
>>> records = CertificateRecords(CertificateRegistry())
>>> records.apply(b"MPD/u1", b'{"certified_on": "2026-01-01", "expires_on": "2027-01-01"}')
True
>>> records.apply(b"no-slash", None), records.applied, records.rejected
(False, 1, 1)
>>> records.apply(b"A%2FB/c", None), records.registry.is_revoked("A/B", "c")
(True, True)
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

import orjson

from streams.contract.keys import parse_user_key
from streams.policy.certifications import CertificateRegistry

log = logging.getLogger(__name__)


class CertificateRecords:
    """Applies certifications-topic records to ``registry`` and counts them."""

    def __init__(self, registry: CertificateRegistry) -> None:
        self.registry = registry
        self.applied = 0
        self.rejected = 0

    def apply(self, key: bytes | None, value: bytes | None) -> bool:
        """Apply one topic record to the registry; False (and logged) if it is invalid."""
        try:
            if not key:
                raise ValueError("record has no key")
            user_key = key.decode("utf-8")
            parse_user_key(user_key)  # the reason, before the value is decoded
            record: dict[str, Any] | None = None
            if value is not None:
                decoded = orjson.loads(value)
                if not isinstance(decoded, dict):
                    raise ValueError("value is not a JSON object")
                record = decoded
            self.registry.update(user_key, record)
        except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
            self.rejected += 1
            log.warning("certifications: skipped an invalid record (key %r): %s", key, exc)
            return False
        self.applied += 1
        return True

    def apply_all(self, records: Iterable[tuple[bytes | None, bytes | None]]) -> None:
        for key, value in records:
            self.apply(key, value)
