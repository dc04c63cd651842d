"""A hand-made set of ten search events whose compliance numbers are known exactly.

Policy: the shipped ``config/policy.yaml``. Certificates: :data:`CERTS_CSV`
(``MPD/u2`` holds none; ``UPD/p1``'s expired before the events).

=====  ======  =======================  ==========  ==========================================
event  user    system                   purpose     what it breaks
=====  ======  =======================  ==========  ==========================================
h01    MPD/u1  frt.county (authorised)  invest.     nothing
h02    MPD/u1  frt.county               invest.     no case number (a violation)
h03    MPD/u1  frt.county               training    no case number (exempt purpose)
h04    MPD/u2  app.clearview.ai         invest.     prohibited system; uncertified
h05    MPD/u2  frt.county               invest.     for TPD (MPD may search for TPD); uncertified
h06    CSO/c1  faces.state (not CSO's)  invest.     unknown system
h07    CSO/c1  frt.county               invest.     for MPD without an agreement
h08    SPD/s1  faces.state (SPD's)      "Investigation "   nothing (next day)
h08    SPD/s1  (the same event again)   -           a redelivered duplicate: counted once
h10    UPD/p1  vendor.example.net       (none)      unknown system; certificate expired
=====  ======  =======================  ==========  ==========================================
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

CERTS_CSV = """agency,user,certified_on,expires_on
MPD,u1,2025-01-01,2027-12-31
CSO,c1,2025-01-01,2027-12-31
SPD,s1,2025-01-01,2027-12-31
UPD,p1,2024-01-01,2026-02-28
"""

COUNTY = "https://frt.county.example.gov/api/search"
STATE = "https://faces.state.example.gov/v2/identify"


def make_event(
    event_id: str, ts: str, agency: str, user: str, endpoint: str, **extra: Any
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "event_id": event_id,
        "ts": ts,
        "agency": agency,
        "user": user,
        "endpoint": endpoint,
        "case_number": f"{agency}-2026-000001",
        "purpose": "investigation",
        "result_count": 2,
        "source": "audit-log",
    }
    event.update(extra)
    return {k: v for k, v in event.items() if v is not None}


EVENTS: list[dict[str, Any]] = [
    make_event("h01", "2026-03-02T09:00:00Z", "MPD", "u1", COUNTY),
    make_event("h02", "2026-03-02T09:10:00Z", "MPD", "u1", COUNTY, case_number=None),
    make_event(
        "h03", "2026-03-02T09:20:00Z", "MPD", "u1", COUNTY, case_number=None, purpose="training"
    ),
    make_event("h04", "2026-03-02T10:00:00Z", "MPD", "u2", "https://app.clearview.ai/search"),
    make_event("h05", "2026-03-02T10:05:00Z", "MPD", "u2", COUNTY, on_behalf_of="TPD"),
    make_event("h06", "2026-03-02T11:00:00Z", "CSO", "c1", STATE),
    make_event("h07", "2026-03-02T11:30:00Z", "CSO", "c1", COUNTY, on_behalf_of="MPD"),
    make_event("h08", "2026-03-03T08:00:00Z", "SPD", "s1", STATE, purpose="Investigation "),
    make_event("h08", "2026-03-03T08:00:00Z", "SPD", "s1", STATE, purpose="Investigation "),
    make_event("h10", "2026-03-03T12:00:00Z", "UPD", "p1", "vendor.example.net", purpose=None),
]


def write_world(directory: Path, events: list[dict[str, Any]] | None = None) -> tuple[Path, Path]:
    """Write ``events.jsonl`` and ``certifications.csv``; return their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    events_path = directory / "events.jsonl"
    events_path.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in (events or EVENTS)))
    certs_path = directory / "certifications.csv"
    certs_path.write_text(CERTS_CSV, encoding="utf-8")
    return events_path, certs_path
