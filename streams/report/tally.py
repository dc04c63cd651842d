"""Per-search facts for the report and the compliance rollup, counted as events stream by.

A replay over months cannot keep every event for the report, and does not
need to: the report only ever counts searches grouped by day, agency, user,
system and purpose, split by a handful of yes/no compliance facts. Those
facts are judged here from the same policy and certificate registry the
detectors use, at the event's own time, and folded into one counter keyed by
``(day, agency, user, host, purpose, flags)``. Its size grows with users x
days x systems, not with events.

>>> from streams.contract import parse_event
>>> from streams.policy import CertificateRegistry, load_policy
>>> from streams.settings import DEFAULT_POLICY
>>> ev = parse_event(b'{"event_id":"e1","ts":"2026-03-02T09:00:00Z","agency":"MPD",'
...                  b'"user":"u1","endpoint":"https://app.clearview.ai/s"}')
>>> tally = SearchTally(load_policy(DEFAULT_POLICY), CertificateRegistry())
>>> tally.add(ev)
>>> frame = tally.to_frame()
>>> row = frame.iloc[0]
>>> row["agency"], row["system_status"], int(row["searches"])
('MPD', 'prohibited', 1)
>>> [bool(row[c]) for c in ("no_case_number", "prohibited_system", "uncertified_user")]
[True, True, True]
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from streams.contract.event import SearchEvent
from streams.policy import Certificate, CertificateRegistry, Policy

DAY_S = 86400

NO_CASE = 1
"""No case number given."""
NO_CASE_NOT_EXEMPT = 2
"""No case number and the purpose is not one the policy exempts (a violation)."""
OTHER_AGENCY = 4
"""Run on behalf of another agency."""
OTHER_AGENCY_NOT_ALLOWED = 8
"""Run on behalf of another agency without an agreement in the policy."""
PROHIBITED = 16
"""Sent to a prohibited (commercial third-party) system."""
UNKNOWN = 32
"""Sent to a system neither authorised for the agency nor known-prohibited."""
UNCERTIFIED = 64
"""The user held no valid training certificate at the event's time."""

FLAG_COLUMNS: tuple[tuple[str, int], ...] = (
    ("no_case_number", NO_CASE),
    ("missing_case_number_violation", NO_CASE_NOT_EXEMPT),
    ("on_behalf_of_other", OTHER_AGENCY),
    ("on_behalf_of_not_allowed", OTHER_AGENCY_NOT_ALLOWED),
    ("prohibited_system", PROHIBITED),
    ("unknown_system", UNKNOWN),
    ("uncertified_user", UNCERTIFIED),
)
NO_PURPOSE = "(none)"
COLUMNS = ("day", "agency", "user", "host", "purpose", "flags", "searches")


class SearchTally:
    """Counts searches by ``(day, agency, user, host, purpose, compliance flags)``.

    ``day`` is the agency's local calendar day (its policy time zone, see
    ``Policy.local_hours()``), so "per day" follows the agency's own midnight.

    Each user's certificates are looked up once: build a new tally if the
    registry changes (a replay's registry is fixed before the first event).
    """

    def __init__(self, policy: Policy, certificates: CertificateRegistry) -> None:
        self._policy = policy
        self._certificates = certificates
        self._exempt = policy.missing_case_number.exempt_purposes
        self._hours = policy.local_hours()
        self._counts: dict[tuple[int, str, str, str, str, int], int] = {}
        self._host_flags: dict[tuple[str, str], int] = {}
        self._agency_flags: dict[tuple[str, str], int] = {}
        self._purposes: dict[str | None, str] = {None: NO_PURPOSE}
        # Certificates per user, looked up once: the registry does not change during a run.
        self._certs: dict[tuple[str, str], tuple[Certificate, ...]] = {}

    def __len__(self) -> int:
        return sum(self._counts.values())

    def _host(self, agency: str, host: str) -> int:
        if self._policy.is_prohibited(host):
            flags = PROHIBITED
        elif self._policy.is_authorised(host, agency):
            flags = 0
        else:
            flags = UNKNOWN
        self._host_flags[agency, host] = flags
        return flags

    def _on_behalf(self, agency: str, on_behalf_of: str) -> int:
        flags = 0
        if on_behalf_of != agency:
            flags = OTHER_AGENCY
            if not self._policy.may_search_for(agency, on_behalf_of):
                flags |= OTHER_AGENCY_NOT_ALLOWED
        self._agency_flags[agency, on_behalf_of] = flags
        return flags

    def _purpose(self, purpose: str | None) -> str:
        text = (purpose or "").strip().lower()[:64] or NO_PURPOSE
        if len(self._purposes) < 10_000:
            self._purposes[purpose] = text
        return text

    def add(self, event: SearchEvent) -> None:
        """Count one (non-duplicate) search. Called for every event: keep it cheap."""
        agency = event.agency
        host = event.host
        flags = self._host_flags.get((agency, host))
        if flags is None:
            flags = self._host(agency, host)
        other = self._agency_flags.get((agency, event.on_behalf_of))
        flags |= self._on_behalf(agency, event.on_behalf_of) if other is None else other
        purpose = self._purposes.get(event.purpose)
        if purpose is None:
            purpose = self._purpose(event.purpose)
        if event.case_number is None:
            flags |= NO_CASE
            if purpose not in self._exempt:
                flags |= NO_CASE_NOT_EXEMPT
        certs = self._certs.get((agency, event.user))
        if certs is None:
            certs = self._certs[agency, event.user] = self._certificates.certificates(
                agency, event.user
            )
        ts = event.ts
        if not any(cert.valid_from <= ts < cert.valid_until for cert in certs):
            flags |= UNCERTIFIED
        key = (self._hours.day(agency, ts), agency, event.user, host, purpose, flags)
        counts = self._counts
        counts[key] = counts.get(key, 0) + 1

    def to_frame(self) -> pd.DataFrame:
        """One row per key: ``day`` (date), agency, user, host, ``system_status``, purpose,
        one boolean column per compliance fact, and ``searches``."""
        return tally_frame([(*key, count) for key, count in self._counts.items()])

    def write_parquet(self, path: Path) -> None:
        raw = pd.DataFrame(
            [(*key, count) for key, count in self._counts.items()], columns=list(COLUMNS)
        )
        raw = raw.sort_values(list(COLUMNS[:-1]), kind="stable").reset_index(drop=True)
        raw.to_parquet(path, index=False)


def tally_frame(
    rows: list[tuple[int, str, str, str, str, int, int]] | pd.DataFrame,
) -> pd.DataFrame:
    """Expand raw tally rows (``COLUMNS``) into the report's frame."""
    raw = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(rows, columns=list(COLUMNS))
    raw = raw.astype({"day": "int64", "flags": "int64", "searches": "int64"})
    out = pd.DataFrame(
        {
            "day": pd.to_datetime(raw["day"] * DAY_S, unit="s", utc=True).dt.date,
            "agency": raw["agency"].astype(str),
            "user": raw["user"].astype(str),
            "host": raw["host"].astype(str),
            "purpose": raw["purpose"].astype(str),
        }
    )
    flags = raw["flags"]
    out["system_status"] = "authorised"
    out.loc[(flags & PROHIBITED) != 0, "system_status"] = "prohibited"
    out.loc[(flags & UNKNOWN) != 0, "system_status"] = "unknown"
    for name, bit in FLAG_COLUMNS:
        out[name] = (flags & bit) != 0
    out["unauthorised_system"] = (flags & (PROHIBITED | UNKNOWN)) != 0
    out["searches"] = raw["searches"]
    return out.sort_values(["day", "agency", "user", "host", "purpose"], kind="stable").reset_index(
        drop=True
    )


def read_tally(path: Path) -> pd.DataFrame:
    """The report frame from a replay's ``searches.parquet``."""
    return tally_frame(pd.read_parquet(path))
