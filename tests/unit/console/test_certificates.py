"""Where the user page's certificates come from: the worker's CSV, or nothing (with a warning)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from streams.console.certificates import CertificateSource, certificate_source, load_csv
from streams.policy.certifications import parse_date_start
from streams.settings import DEFAULT_POLICY, Settings


def test_the_worker_csv_and_topic_are_used(tmp_path: Path) -> None:
    csv = tmp_path / "certs.csv"
    csv.write_text("agency,user,certified_on,expires_on\nA/B,c,2026-01-01,2026-12-31\n")
    source = certificate_source(Settings(policy_path=DEFAULT_POLICY, certifications_csv=csv))
    assert source == CertificateSource(csv, "frt.certifications")
    registry = load_csv(source)
    assert registry is not None
    ts = parse_date_start("2026-05-01")
    assert registry.is_valid("A/B", "c", ts) and not registry.is_valid("A", "B/c", ts)


def test_an_unreadable_policy_or_csv_means_no_status(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "frtwatch.console")
    assert certificate_source(Settings(policy_path=tmp_path / "missing.yaml")) is None
    assert load_csv(None) is None
    broken = tmp_path / "broken.csv"
    broken.write_text("who,when\n")
    assert load_csv(CertificateSource(broken, "t")) is None
    assert load_csv(CertificateSource(None, "t")) is not None  # no CSV: an empty registry
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 2 and all("no certificate status" in w for w in warnings)
