"""uncertified_user: validity at the event's time, inclusive dates, live updates, reasons."""

from __future__ import annotations

from streams.policy import CertificateRegistry
from streams.policy.certifications import parse_date_start
from tests.unit.detectors.factories import DAY, HOUR, at, certify, make_event

USER = "MPD/mpd-0012"


def verdicts(run, registry, times):
    r = run()
    r.engine.certificates = registry
    out = []
    for ts in times:
        new = [a for a in r.feed([make_event(ts)]) if a.detector == "uncertified_user"]
        out.append(any(a.status == "open" for a in new))
    return out, r


def test_first_and_last_valid_second(run):
    registry = certify(CertificateRegistry(), USER, since="2026-03-02", until="2026-03-05")
    start = parse_date_start("2026-03-02")
    end = parse_date_start("2026-03-05") + DAY  # exclusive
    # Events days apart, so each verdict is an alert of its own (beyond the session gap).
    times = [start - 1, start, end - 1, end]
    fired, r = verdicts(run, registry, times)
    assert fired == [True, False, False, True]
    before, closed, after = r.of("uncertified_user")
    assert (closed.alert_id, closed.status, closed.event_count) == (before.alert_id, "closed", 1)
    assert before.details == {
        "reason": "not_yet_valid",
        "certified_on": "2026-03-02",
        "expires_on": "2026-03-05",
    }
    assert "not valid until 2026-03-02" in before.summary
    assert after.details["reason"] == "expired"
    assert after.summary == (
        "MPD user mpd-0012 searched without a valid FRT training certificate: their "
        "certificate expired on 2026-03-05 (1 search)."
    )


def test_expiry_in_the_middle_of_a_stream(run):
    registry = certify(CertificateRegistry(), USER, since="2026-01-01", until="2026-03-02")
    times = [at(0, 20) + i * HOUR for i in range(8)]  # 20:00 on the 2nd to 03:00 on the 3rd
    fired, r = verdicts(run, registry, times)
    # One alert from the expiry on, published at 1, 2 and 4 searches.
    assert fired == [False] * 4 + [True, True, False, True]
    alerts = r.of("uncertified_user")
    assert len({a.alert_id for a in alerts}) == 1 and alerts[-1].event_count == 4
    assert alerts[0].first_seen == times[4]
    assert {a.details["reason"] for a in alerts} == {"expired"}


def test_revocation_and_recertification_take_effect_live(run):
    registry = certify(CertificateRegistry(), USER)
    r = run()
    r.engine.certificates = registry
    assert not r.feed([make_event(at(0, 9))])
    r.engine.certificates.update(USER, None)  # a null value on the certifications topic
    (alert,) = r.feed([make_event(at(0, 10))])
    assert alert.detector == "uncertified_user"
    assert alert.details == {"reason": "revoked"}
    assert "their certificate was revoked" in alert.summary
    r.engine.certificates.update(USER, {"certified_on": "2026-03-02", "expires_on": "2027-03-01"})
    assert not r.feed([make_event(at(0, 11))])


def test_nobody_on_file(run):
    r = run()
    r.engine.certificates = CertificateRegistry()
    (alert,) = r.feed([make_event(at(0, 9))])
    assert alert.details == {"reason": "none_on_file"}
    assert "no certificate is on file" in alert.summary


def test_a_renewed_certificate_covers_the_gap_it_closes(run):
    registry = CertificateRegistry()
    certify(registry, USER, since="2025-03-01", until="2026-03-01")
    fired, _ = verdicts(run, registry, [at(0, 9)])
    assert fired == [True]
    certify(registry, USER, since="2026-03-02", until="2027-03-01")
    fired, _ = verdicts(run, registry, [at(0, 9)])
    assert fired == [False]
