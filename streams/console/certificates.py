"""The certificate registry behind the user page's certificate status.

At start the console reads the same CSV the worker uses (``FRTWATCH_CERTIFICATIONS``,
else the policy's), then, in the background, applies the whole certifications topic on
top, as the worker and ``frtwatch replay`` do (:mod:`streams.replay.certificates`). It
is a snapshot of the start: updates published later show after a restart. Without a
readable policy or CSV the status is "unknown"; the console runs on regardless.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path

from streams.errors import FrtwatchError
from streams.policy import CertificateRegistry, load_certificates_csv, load_policy
from streams.settings import Settings

log = logging.getLogger("frtwatch.console")


@dataclass(frozen=True, slots=True)
class CertificateSource:
    csv: Path | None
    topic: str


def certificate_source(settings: Settings) -> CertificateSource | None:
    """Where the worker's certificates come from; None (and a warning) if the policy
    cannot be read."""
    from streams.worker.runtime import certificates_csv_path, with_policy_topics

    try:
        policy = load_policy(settings.policy_path)
    except FrtwatchError as exc:
        log.warning("no certificate status on user pages: %s", exc)
        return None
    topic = with_policy_topics(settings, policy).topics.certifications
    return CertificateSource(certificates_csv_path(settings, policy), topic)


def load_csv(source: CertificateSource | None) -> CertificateRegistry | None:
    """The CSV's registry (empty without a CSV); None, with a warning, if it is unreadable."""
    if source is None:
        return None
    if source.csv is None:
        return CertificateRegistry()
    try:
        return load_certificates_csv(source.csv)
    except FrtwatchError as exc:
        log.warning("no certificate status on user pages: %s", exc)
        return None


async def with_topic(source: CertificateSource, bootstrap: str) -> CertificateRegistry | None:
    """The CSV with the whole certifications topic applied on top (read in a thread)."""
    from streams.replay.certificates import apply_certifications_topic

    def load() -> CertificateRegistry | None:
        registry = load_csv(source)
        if registry is not None:
            loaded = apply_certifications_topic(registry, bootstrap, source.topic, timeout_s=30)
            log.info(
                "certificates for user pages: %d from the CSV and topic %s (%d applied, "
                "%d rejected)",
                len(registry),
                source.topic,
                loaded.applied,
                loaded.rejected,
            )
        return registry

    try:
        return await asyncio.to_thread(load)
    except Exception as exc:  # a broker hiccup leaves the CSV's registry in place
        log.warning("certifications topic %s not read for user pages: %s", source.topic, exc)
        return None
