"""The certification registry: who holds a valid FRT training certificate, when.

A CSV (``agency,user,certified_on,expires_on``) gives the starting registry;
updates from the compacted ``frt.certifications`` topic replace a user's
record, and a null value revokes it. Validity is judged at the *event's* time:
a certificate is valid from the start of ``certified_on`` to the end of
``expires_on`` (UTC), both inclusive.

>>> reg = CertificateRegistry()
>>> reg.update("MPD/u1", {"certified_on": "2026-01-01", "expires_on": "2026-06-30"})
>>> reg.is_valid("MPD", "u1", parse_date_start("2026-06-30") + 86399)
True
>>> reg.is_valid("MPD", "u1", parse_date_start("2026-07-01"))
False
>>> reg.update("MPD/u1", None)
>>> reg.is_valid("MPD", "u1", parse_date_start("2026-03-01"))
False
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from streams.contract.keys import parse_user_key, user_key
from streams.errors import ConfigError

_DAY = 86400.0
CSV_HEADER = ("agency", "user", "certified_on", "expires_on")


def parse_date_start(text: str) -> float:
    """Epoch seconds at 00:00 UTC of a ``YYYY-MM-DD`` date (or of an RFC 3339 time)."""
    text = text.strip()
    if len(text) == 10:
        day = date.fromisoformat(text)
        return datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


@dataclass(frozen=True, slots=True)
class Certificate:
    certified_on: str
    expires_on: str
    valid_from: float
    valid_until: float  # exclusive

    @classmethod
    def from_dates(cls, certified_on: str, expires_on: str) -> Certificate:
        start = parse_date_start(certified_on)
        end = parse_date_start(expires_on)
        end += _DAY if len(expires_on.strip()) == 10 else 0.0
        if end <= start:
            raise ValueError(
                f"expires_on {expires_on!r} is not after certified_on {certified_on!r}"
            )
        return cls(certified_on.strip(), expires_on.strip(), start, end)

    def covers(self, ts: float) -> bool:
        return self.valid_from <= ts < self.valid_until


SHARED_MAX = 65_536
"""Distinct certificates (date pairs) a registry shares between users at most; past
that the sharing starts afresh (untrusted topic records cannot grow it without bound)."""


class CertificateRegistry:
    """Certificates per user key (``<agency>/<user>``, each part escaped:
    :mod:`streams.contract.keys`); revocations are remembered explicitly.

    Compact: a million users typically hold a few hundred distinct date pairs, so each
    distinct certificate (and the one-tuple most users hold) is one shared object; a
    user's entry costs its key and a dict slot (see docs/PERFORMANCE.md, memory)."""

    def __init__(self, records: Iterable[tuple[str, Certificate]] = ()) -> None:
        self._certs: dict[str, tuple[Certificate, ...]] = {}
        self._revoked: set[str] = set()
        self._shared: dict[tuple[str, str], tuple[Certificate]] = {}
        for key, cert in records:
            self.add(key, cert)

    def __len__(self) -> int:
        return len(self._certs)

    def __iter__(self) -> Iterator[str]:
        return iter(self._certs)

    def _one(self, certified_on: str, expires_on: str) -> tuple[Certificate]:
        """The shared one-tuple of the certificate ``certified_on``..``expires_on``
        (ValueError if it is not valid)."""
        pair = (certified_on.strip(), expires_on.strip())
        shared = self._shared.get(pair)
        if shared is None:
            shared = (Certificate.from_dates(*pair),)
            if len(self._shared) >= SHARED_MAX:
                self._shared.clear()
            self._shared[pair] = shared
        return shared

    def add(self, key: str, cert: Certificate) -> None:
        """Add ``cert`` to the certificates of ``key`` (a starting record: the CSV's)."""
        one = self._one(cert.certified_on, cert.expires_on)
        held = self._certs.get(key)
        self._certs[key] = one if held is None else (*held, one[0])

    def update(self, key: str, value: dict[str, Any] | None) -> None:
        """Apply one topic record: a certificate object, or ``None`` to revoke.

        ``key`` is a user key; ValueError if it is not one (nothing is applied)."""
        parse_user_key(key)
        if value is None:
            self._certs.pop(key, None)
            self._revoked.add(key)
            return
        self._certs[key] = self._one(str(value["certified_on"]), str(value["expires_on"]))
        self._revoked.discard(key)

    def certificates(self, agency: str, user: str) -> tuple[Certificate, ...]:
        return self._certs.get(user_key(agency, user), ())

    def is_revoked(self, agency: str, user: str) -> bool:
        return bool(self._revoked) and user_key(agency, user) in self._revoked

    def is_valid(self, agency: str, user: str, ts: float) -> bool:
        return any(cert.covers(ts) for cert in self.certificates(agency, user))


def load_certificates_csv(path: str | Path) -> CertificateRegistry:
    """Read the registry CSV; every bad row is reported as ``file:line: message``."""
    path = Path(path)
    errors: list[str] = []
    registry = CertificateRegistry()
    try:
        handle = path.open(newline="", encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read certifications: {exc.strerror or exc}") from None
    with handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None or tuple(h.strip() for h in header) != CSV_HEADER:
            raise ConfigError(f"{path}:1: header must be {','.join(CSV_HEADER)}")
        for row in reader:
            line = reader.line_num
            if not row or all(not cell.strip() for cell in row):
                continue
            if len(row) != 4:
                errors.append(f"{path}:{line}: expected 4 columns, got {len(row)}")
                continue
            agency, user, start, end = (cell.strip() for cell in row)
            if not agency or not user:
                errors.append(f"{path}:{line}: agency and user must not be empty")
                continue
            try:
                one = registry._one(start, end)
            except ValueError as exc:
                errors.append(f"{path}:{line}: {exc}")
                continue
            registry.add(user_key(agency, user), one[0])
    if errors:
        raise ConfigError(f"{path}: {len(errors)} error(s)", errors)
    return registry
