"""One user as the console shows them: every alert, a timeline of searches, the certificate.

The user page (``/user?agency=&user=``) and its data (``GET /api/user``) are limited to
the viewer's agencies like everything else: a user of another agency, and a user the
console holds nothing about, are both 404, so the answer does not tell them apart.

* **alerts**: every held alert of the user, whatever the detector, newest evidence first,
  each with its share of the user's risk;
* **timeline**: the user's recent searches from the event topic (oldest first), each
  marked with the ids of the held alerts that cite it as evidence;
* **certificate**: the registry's verdict at the user's newest event time (the CSV and
  the certifications topic as the console read them at start), and what the newest
  ``uncertified_user`` alert said;
* **risk**: :mod:`streams.console.risk`, with the reference time of the viewer's scope.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from streams.console.access import Access
from streams.console.alert_store import StoredAlert
from streams.console.risk import alert_risk, reference_time
from streams.contract.alert import Alert, format_ts
from streams.detectors.uncertified_user import why_uncertified
from streams.policy import CertificateRegistry

if TYPE_CHECKING:
    from streams.console.state import Console


def certificate_status(
    registry: CertificateRegistry | None, agency: str, user: str, as_of: float | None
) -> dict[str, Any]:
    """The registry's verdict on the user at ``as_of`` (event time).

    >>> reg = CertificateRegistry()
    >>> reg.update("MPD/u1", {"certified_on": "2026-01-01", "expires_on": "2026-06-30"})
    >>> certificate_status(reg, "MPD", "u1", 1772442000.0)["state"]
    'valid'
    >>> certificate_status(reg, "MPD", "u1", 1790000000.0)["state"]
    'expired'
    >>> certificate_status(reg, "MPD", "u2", 1772442000.0)["state"], certificate_status(None, "MPD", "u1", 0.0)["state"]
    ('none_on_file', 'unknown')
    """
    if registry is None or as_of is None:
        return {"state": "unknown", "words": "no certificate registry is loaded", "as_of": None}
    when = format_ts(as_of)
    if registry.is_valid(agency, user, as_of):
        cert = max(
            (c for c in registry.certificates(agency, user) if c.covers(as_of)),
            key=lambda c: c.valid_until,
        )
        return {
            "state": "valid",
            "words": f"valid until the end of {cert.expires_on}",
            "certified_on": cert.certified_on,
            "expires_on": cert.expires_on,
            "as_of": when,
        }
    reason, words, facts = why_uncertified(registry, agency, user, as_of)
    return {"state": reason, "words": words, **facts, "as_of": when}


def _newest(stored: list[StoredAlert], detector: str) -> StoredAlert | None:
    of_kind = [s for s in stored if s.alert.detector == detector]
    return max(of_kind, key=lambda s: s.alert.last_seen, default=None)


def _about(alert: Alert, user: str) -> int:
    """How many of ``alert``'s searches are ``user``'s (0: it is not about them; an
    agency-wide alert is about each of its members)."""
    return sum(count or 1 for member, count in alert.members if member == user)


def user_view(console: Console, access: Access, agency: str, user: str) -> dict[str, Any] | None:
    """Everything the user page shows; None when the viewer may not see the user or the
    console holds nothing about them."""
    if not access.sees(agency):
        return None
    in_scope = [s for s in console.alerts.all() if access.sees(s.alert.agency)]
    mine = [s for s in in_scope if s.alert.agency == agency and _about(s.alert, user)]
    activity = console.activity.recent(agency, user)
    if not mine and not activity:
        return None
    reference = reference_time(s.alert for s in in_scope)
    mine.sort(key=lambda s: (s.alert.last_seen, s.alert.alert_id), reverse=True)

    cited: dict[str, list[str]] = {}
    alerts = []
    risk = 0.0
    for stored in mine:
        count = _about(stored.alert, user)
        share = 0.0
        if reference is not None and not stored.alert.silenced:
            share = alert_risk(stored.alert, reference, count=count)
        risk += share
        view = console.alert_view(stored)
        view["risk"] = round(share, 3)
        alerts.append(view)
        for event_id in stored.alert.event_ids:
            cited.setdefault(event_id, []).append(stored.alert.alert_id)
    timeline = []
    for item in reversed(activity):  # oldest first
        ids = cited.get(item["event_id"], [])
        timeline.append({**item, "evidence": bool(ids), "alert_ids": ids})

    newest_search = console.activity.newest_of(agency, user)
    newest = max(
        (t for t in (newest_search, max((s.alert.last_seen for s in mine), default=None)) if t),
        default=None,
    )
    certificate = certificate_status(console.certificates, agency, user, newest)
    flagged = _newest(mine, "uncertified_user")
    if flagged is not None:
        details = flagged.alert.details
        certificate["alert"] = {
            "alert_id": flagged.alert.alert_id,
            "reason": details.get("reason") if isinstance(details, dict) else None,
            "last_seen": format_ts(flagged.alert.last_seen),
        }
    detectors: dict[str, int] = {}
    for stored in mine:
        detectors[stored.alert.detector] = detectors.get(stored.alert.detector, 0) + 1
    return {
        "agency": agency,
        "user": user,
        "risk": round(risk, 3),
        "risk_reference": format_ts(reference) if reference is not None else None,
        "alerts": alerts,
        "detectors": dict(sorted(detectors.items())),
        "timeline": timeline,
        "certificate": certificate,
    }
