"""The certification registry judges validity at event time, inclusive of both dates."""

from __future__ import annotations

import pytest

from streams.errors import ConfigError
from streams.policy.certificate_records import CertificateRecords
from streams.policy.certifications import (
    CertificateRegistry,
    load_certificates_csv,
    parse_date_start,
)
from streams.producing import read_certifications

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


def test_a_slash_in_a_name_gives_each_user_their_own_certificate(tmp_path):
    # Agency "A/B" user "c" and agency "A" user "B/c" were one key, "A/B/c", before.
    path = tmp_path / "c.csv"
    path.write_text("agency,user,certified_on,expires_on\nA/B,c,2026-01-01,2026-12-31\n")
    reg = load_certificates_csv(path)
    ts = parse_date_start("2026-05-01")
    assert reg.is_valid("A/B", "c", ts)
    assert not reg.is_valid("A", "B/c", ts)
    assert list(reg) == ["A%2FB/c"]

    reg.update("A/B%2Fc", None)  # revoking the other one touches nothing of the first
    assert reg.is_revoked("A", "B/c") and not reg.is_revoked("A/B", "c")
    assert reg.is_valid("A/B", "c", ts)


def test_topic_records_with_escaped_old_and_bad_keys():
    reg = CertificateRegistry()
    records = CertificateRecords(reg)
    cert = b'{"certified_on": "2026-01-01", "expires_on": "2026-12-31"}'
    ts = parse_date_start("2026-05-01")
    assert records.apply(b"MPD/u1", cert)  # a key written before escaping existed
    assert records.apply(b"A/B%2Fc", cert)
    assert reg.is_valid("MPD", "u1", ts) and reg.is_valid("A", "B/c", ts)
    assert not reg.is_valid("A/B", "c", ts)
    # Keys no name encodes to are refused, and change nothing.
    for key in (b"A/B/c", b"MPD/50%off", b"no-slash"):
        assert not records.apply(key, None)
    assert (records.applied, records.rejected) == (2, 3)
    assert not reg.is_revoked("A", "B/c") and len(reg) == 2
    with pytest.raises(ValueError, match="2 unescaped '/'"):
        reg.update("A/B/c", None)


def test_published_certificates_carry_the_escaped_key(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text(
        "agency,user,certified_on,expires_on\n"
        "A/B,c,2026-01-01,2026-12-31\nA,B/c,2026-02-01,2026-12-31\nMPD,u1,2026-01-01,2026-06-30\n"
    )
    records = dict(read_certifications(path))
    assert records == {
        "A%2FB/c": {"certified_on": "2026-01-01", "expires_on": "2026-12-31"},
        "A/B%2Fc": {"certified_on": "2026-02-01", "expires_on": "2026-12-31"},
        "MPD/u1": {"certified_on": "2026-01-01", "expires_on": "2026-06-30"},
    }


def test_users_with_the_same_dates_share_one_certificate_and_a_user_keeps_each_row(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text(
        "agency,user,certified_on,expires_on\n"
        "A,a1,2026-01-10,2026-01-20\n"
        "A,a2,2026-01-10 , 2026-01-20\n"
        "A,a1,2026-03-01,2026-03-31\n"
        "B,b1,2026-01-10,2026-01-20\n"
    )
    reg = load_certificates_csv(path)
    assert len(reg) == 3
    assert reg.certificates("A", "a2") is reg.certificates("B", "b1")
    first, second = reg.certificates("A", "a1")
    assert (first.certified_on, first.expires_on) == ("2026-01-10", "2026-01-20")
    assert (second.certified_on, second.expires_on) == ("2026-03-01", "2026-03-31")
    assert first is reg.certificates("B", "b1")[0]
    assert reg.is_valid("A", "a1", parse_date_start("2026-03-15"))
    assert not reg.is_valid("A", "a2", parse_date_start("2026-03-15"))


def test_sharing_starts_afresh_when_full_and_judges_the_same(monkeypatch):
    import streams.policy.certifications as certifications

    monkeypatch.setattr(certifications, "SHARED_MAX", 2)
    reg = CertificateRegistry()
    for day in range(1, 6):
        reg.update(f"A/u{day}", {"certified_on": f"2026-01-0{day}", "expires_on": "2026-01-31"})
    assert len(reg._shared) <= 2
    for day in range(1, 6):
        ts = parse_date_start(f"2026-01-0{day}")
        assert reg.is_valid("A", f"u{day}", ts) and not reg.is_valid("A", f"u{day}", ts - 1)
    with pytest.raises(ValueError, match="not after"):
        reg.update("A/u9", {"certified_on": "2026-02-01", "expires_on": "2026-01-01"})
    assert reg.certificates("A", "u9") == ()
