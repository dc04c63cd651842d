"""Attribution: leases by event time, address ranges, unattributed records, table errors."""

from __future__ import annotations

import pytest

from streams.contract.event import parse_timestamp
from streams.errors import ConfigError
from streams.sources.attribution import (
    AddressRanges,
    Attribution,
    LeaseTable,
    load_leases,
    load_ranges,
)
from streams.sources.records import ParseError
from tests.conftest import FILES

SCENARIO = FILES / "sources" / "scenario"


def ts(text: str) -> float:
    return parse_timestamp(text)


def test_a_lease_is_applied_by_event_time():
    table = Attribution(load_ranges(SCENARIO / "ranges.csv"), load_leases(SCENARIO / "leases.csv"))
    assert table.resolve("10.10.0.11", None, ts("2026-03-02T07:59:59Z")) == (
        "MPD",
        "mpd-0002",
        "lease",
    )
    assert table.resolve("10.10.0.11", None, ts("2026-03-02T08:00:00Z")) == (
        "MPD",
        "mpd-0001",
        "lease",
    )
    assert table.resolve("10.10.0.11", None, ts("2027-01-01T00:00:00Z"))[1] == "mpd-0001", (
        "open end"
    )
    # 10.10.0.12's lease ends (exclusive) at 18:00; the address range still names MPD.
    assert table.resolve("10.10.0.12", None, ts("2026-03-02T18:00:00Z")) == (
        "MPD", "unattributed@10.10.0.12", "unattributed",
    )  # fmt: skip


def test_a_longer_earlier_lease_still_covers_a_gap_in_later_ones():
    leases = LeaseTable([
        ("10.0.0.1", "MPD", "long", 0.0, 1000.0),
        ("10.0.0.1", "MPD", "short", 100.0, 200.0),
    ])  # fmt: skip
    assert [leases.at("10.0.0.1", t) for t in (50, 150, 500, 1000)] == [
        ("MPD", "long"), ("MPD", "short"), ("MPD", "long"), None,
    ]  # fmt: skip


def test_the_proxy_user_wins_and_the_longest_prefix_names_the_agency():
    ranges = AddressRanges(
        [("10.0.0.0/8", "SPD"), ("10.20.0.0/16", "CSO"), ("2001:db8::/32", "UPD")]
    )
    table = Attribution(ranges)
    assert table.resolve("10.20.3.4", "jdoe", 0.0) == ("CSO", "jdoe", "proxy-auth")
    assert table.resolve("10.99.0.1", None, 0.0) == (
        "SPD",
        "unattributed@10.99.0.1",
        "unattributed",
    )
    assert table.resolve("2001:db8::5", None, 0.0)[0] == "UPD"


def test_no_agency_is_a_parse_error_unless_a_default_is_given():
    with pytest.raises(ParseError, match=r"no agency for address 192\.0\.2\.1"):
        Attribution().resolve("192.0.2.1", None, 0.0)
    with pytest.raises(ParseError, match="without a client address"):
        Attribution().resolve(None, "jdoe", 0.0)
    assert Attribution(default_agency="TPD").resolve("192.0.2.1", None, 0.0)[0] == "TPD"
    with pytest.raises(ParseError, match="no user and no client address"):
        Attribution(default_agency="TPD").resolve(None, None, 0.0)


def test_table_errors_list_every_line(tmp_path):
    leases = tmp_path / "leases.csv"
    leases.write_text(
        "address,agency,user,start,end\n"
        "10.0.0.1,MPD,u1,2026-03-02T08:00:00Z,\n"
        "10.0.0.x,MPD,u1,2026-03-02T08:00:00Z,\n"
        "10.0.0.2,XYZ,u1,2026-03-02T08:00:00Z,\n"
        "10.0.0.3,MPD,u1,yesterday,\n"
        "10.0.0.4,MPD,u1,2026-03-02T08:00:00Z,2026-03-02T07:00:00Z\n"
        "10.0.0.5,MPD\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as caught:
        load_leases(leases, {"MPD"})
    assert [e.split(": ", 1)[0].rsplit(":", 1)[1] for e in caught.value.errors] == [
        "3",
        "4",
        "5",
        "6",
        "7",
    ]
    assert "is not an IP address" in caught.value.errors[0]
    assert "agency 'XYZ' is not in the policy" in caught.value.errors[1]
    ranges = tmp_path / "ranges.csv"
    ranges.write_text("net,agency\n", encoding="utf-8")
    with pytest.raises(
        ConfigError, match=r"ranges.csv:1: address ranges must start with the header"
    ):
        load_ranges(ranges)
