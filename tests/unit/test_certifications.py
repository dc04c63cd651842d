"""The certification registry judges validity at event time, inclusive of both dates."""

from __future__ import annotations

import pytest

from streams.errors import ConfigError
from streams.policy.certifications import (
    CertificateRegistry,
    load_certificates_csv,
    parse_date_start,
)

DAY = 86400


def test_csv_loads_and_boundaries_are_inclusive(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text("agency,user,certified_on,expires_on\nA,a1,2026-01-10,2026-01-20\n")
    reg = load_certificates_csv(path)
    start, end = parse_date_start("2026-01-10"), parse_date_start("2026-01-20") + DAY
    assert not reg.is_valid("A", "a1", start - 1)
    assert reg.is_valid("A", "a1", start)
    assert reg.is_valid("A", "a1", end - 1)
    assert not reg.is_valid("A", "a1", end)
    assert not reg.is_valid("A", "someone-else", start)


def test_bad_rows_are_all_reported_with_lines(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text(
        "agency,user,certified_on,expires_on\n"
        "A,a1,2026-01-10,2026-01-20\n"
        "A,a2,not-a-date,2026-01-20\n"
        "A,a3,2026-02-01\n"
        "A,a4,2026-03-01,2026-02-01\n"
    )
    with pytest.raises(ConfigError) as info:
        load_certificates_csv(path)
    lines = [e.split(":")[1] for e in info.value.errors]
    assert lines == ["3", "4", "5"]


def test_wrong_header(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text("who,when\n")
    with pytest.raises(ConfigError, match=":1: header"):
        load_certificates_csv(path)


def test_topic_updates_replace_and_revoke():
    reg = CertificateRegistry()
    ts = parse_date_start("2026-05-01")
    assert not reg.is_valid("A", "u", ts)
    reg.update("A/u", {"certified_on": "2026-01-01", "expires_on": "2026-12-31"})
    assert reg.is_valid("A", "u", ts)
    reg.update("A/u", {"certified_on": "2026-01-01", "expires_on": "2026-04-30"})
    assert not reg.is_valid("A", "u", ts)
    reg.update("A/u", None)
    assert reg.is_revoked("A", "u")
    assert reg.certificates("A", "u") == ()
    reg.update("A/u", {"certified_on": "2026-01-01", "expires_on": "2026-12-31"})
    assert not reg.is_revoked("A", "u") and reg.is_valid("A", "u", ts)
