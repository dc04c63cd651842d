"""``uncertified_user``: a search by someone without a training certificate valid at that time.

Validity is judged at the event's time against the registry the engine
holds, which drivers keep current from the certifications topic. The alert
says why: no certificate on file, revoked, expired on a date, or not yet
valid until a date.
"""

from __future__ import annotations

from typing import Any

from streams.contract import SearchEvent
from streams.detectors.detector import Detector, EventContext
from streams.detectors.phrasing import day, searches, who
from streams.detectors.state import Fold
from streams.policy import CertificateRegistry


def why_uncertified(
    registry: CertificateRegistry, agency: str, user: str, ts: float
) -> tuple[str, str, dict[str, Any]]:
    """``(reason code, plain words, certificate facts)`` for a user with no valid certificate."""
    certificates = registry.certificates(agency, user)
    if not certificates:
        if registry.is_revoked(agency, user):
            return "revoked", "their certificate was revoked", {}
        return "none_on_file", "no certificate is on file", {}
    upcoming = [c for c in certificates if c.valid_from > ts]
    if upcoming:
        cert = min(upcoming, key=lambda c: c.valid_from)
        words = f"their certificate is not valid until {day(cert.valid_from)}"
        return "not_yet_valid", words, _facts(cert.certified_on, cert.expires_on)
    cert = max(certificates, key=lambda c: c.valid_until)
    words = f"their certificate expired on {day(cert.valid_until - 1)}"
    return "expired", words, _facts(cert.certified_on, cert.expires_on)


def _facts(certified_on: str, expires_on: str) -> dict[str, Any]:
    return {"certified_on": certified_on, "expires_on": expires_on}


class UncertifiedUser(Detector):
    name = "uncertified_user"

    def check(self, event: SearchEvent, ctx: EventContext) -> str | None:
        ts = event.ts
        for cert in ctx.certificates.certificates(event.agency, event.user):
            if cert.covers(ts):  # CertificateRegistry.is_valid, without its generator
                return None
        return ""

    def describe(
        self, event: SearchEvent, ctx: EventContext, fold: Fold
    ) -> tuple[str, dict[str, Any]]:
        reason, words, facts = why_uncertified(ctx.certificates, event.agency, event.user, event.ts)
        summary = (
            f"{who(event)} searched without a valid FRT training certificate: {words} "
            f"({searches(fold.count)})."
        )
        return summary, {"reason": reason, **facts}
