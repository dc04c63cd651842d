"""Compliance rollup numbers on the hand-made event set: every count is known exactly."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from streams.contract.event import event_from_dict
from streams.policy import load_certificates_csv, load_policy
from streams.replay import ReplayOptions, TimeRange, run_replay
from streams.report.compliance import compliance_rollup, scope
from streams.report.tally import SearchTally
from streams.settings import DEFAULT_POLICY
from tests.unit.report.handmade import EVENTS, write_world

COUNTS = (
    "searches", "users", "uncertified_users", "no_case_number", "missing_case_number_violation",
    "on_behalf_of_other", "on_behalf_of_not_allowed", "unauthorised_system", "prohibited_system",
    "unknown_system", "uncertified_user",
)  # fmt: skip


@pytest.fixture(scope="module")
def replayed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One replay of the hand-made events (file source), shared by the tests here."""
    base = tmp_path_factory.mktemp("handmade")
    events, certs = write_world(base)
    out = base / "run"
    run_replay(
        ReplayOptions(
            out_dir=out,
            time_range=TimeRange(),
            policy_path=DEFAULT_POLICY,
            from_file=events,
            certifications=certs,
            progress=False,
        )
    )
    return out


def _rows(out: Path) -> list[dict[str, str]]:
    with (out / "compliance.csv").open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _pick(rows: list[dict[str, str]], scope_name: str, **keys: str) -> dict[str, int]:
    found = [
        r for r in rows if r["scope"] == scope_name and all(r[k] == v for k, v in keys.items())
    ]
    assert len(found) == 1, (scope_name, keys, found)
    return {name: int(found[0][name]) for name in COUNTS}


def test_all_agencies_counts_every_search_once(replayed: Path) -> None:
    assert _pick(_rows(replayed), "all") == {
        "searches": 9,  # ten lines, one redelivered duplicate
        "users": 5,
        "uncertified_users": 2,  # MPD/u2 (no certificate), UPD/p1 (expired)
        "no_case_number": 2,
        "missing_case_number_violation": 1,  # h03's purpose 'training' is exempt
        "on_behalf_of_other": 2,
        "on_behalf_of_not_allowed": 1,
        "unauthorised_system": 3,
        "prohibited_system": 1,
        "unknown_system": 2,
        "uncertified_user": 3,
    }


def test_per_agency(replayed: Path) -> None:
    rows = _rows(replayed)
    assert _pick(rows, "agency", agency="MPD") == {
        "searches": 5, "users": 2, "uncertified_users": 1, "no_case_number": 2,
        "missing_case_number_violation": 1, "on_behalf_of_other": 1,
        "on_behalf_of_not_allowed": 0, "unauthorised_system": 1, "prohibited_system": 1,
        "unknown_system": 0, "uncertified_user": 2,
    }  # fmt: skip
    assert _pick(rows, "agency", agency="CSO") == {
        "searches": 2, "users": 1, "uncertified_users": 0, "no_case_number": 0,
        "missing_case_number_violation": 0, "on_behalf_of_other": 1,
        "on_behalf_of_not_allowed": 1, "unauthorised_system": 1, "prohibited_system": 0,
        "unknown_system": 1, "uncertified_user": 0,
    }  # fmt: skip
    assert _pick(rows, "agency", agency="SPD")["searches"] == 1
    assert sum(_pick(rows, "agency", agency="SPD").values()) == 2  # 1 search, 1 user
    assert _pick(rows, "agency", agency="UPD") == {
        "searches": 1, "users": 1, "uncertified_users": 1, "no_case_number": 0,
        "missing_case_number_violation": 0, "on_behalf_of_other": 0,
        "on_behalf_of_not_allowed": 0, "unauthorised_system": 1, "prohibited_system": 0,
        "unknown_system": 1, "uncertified_user": 1,
    }  # fmt: skip
    assert {r["agency"] for r in rows if r["scope"] == "agency"} == {"MPD", "CSO", "SPD", "UPD"}


def test_per_system_and_per_agency_system(replayed: Path) -> None:
    rows = _rows(replayed)
    county = _pick(rows, "system", system="frt.county.example.gov")
    assert county["searches"] == 5 and county["unauthorised_system"] == 0
    state = _pick(rows, "system", system="faces.state.example.gov")
    assert (state["searches"], state["unknown_system"]) == (2, 1)  # CSO may not use it, SPD may
    assert _pick(rows, "system", system="app.clearview.ai")["prohibited_system"] == 1
    assert _pick(rows, "system", system="vendor.example.net")["unknown_system"] == 1
    cso_state = _pick(
        rows, "agency_system", agency="CSO", system="faces.state.example.gov",
        system_status="unknown",
    )  # fmt: skip
    assert cso_state["searches"] == 1
    spd_state = _pick(
        rows, "agency_system", agency="SPD", system="faces.state.example.gov",
        system_status="authorised",
    )  # fmt: skip
    assert spd_state["searches"] == 1


def test_by_purpose_normalises_text(replayed: Path) -> None:
    rows = _rows(replayed)
    assert (
        _pick(rows, "purpose", purpose="investigation")["searches"] == 7
    )  # incl. "Investigation "
    assert _pick(rows, "purpose", purpose="training")["no_case_number"] == 1
    assert _pick(rows, "purpose", purpose="training")["missing_case_number_violation"] == 0
    assert _pick(rows, "purpose", purpose="(none)")["searches"] == 1
    assert _pick(rows, "agency_purpose", agency="MPD", purpose="investigation")["searches"] == 4


def test_tally_without_the_driver_counts_duplicates_too(tmp_path: Path) -> None:
    """The tally counts what it is given; dropping duplicates is the engine's job."""
    policy = load_policy(DEFAULT_POLICY)
    tally = SearchTally(policy, load_certificates_csv(write_world(tmp_path)[1]))
    for raw in EVENTS:
        tally.add(event_from_dict(raw))
    rollup = compliance_rollup(tally.to_frame())
    assert int(scope(rollup, "all").loc[0, "searches"]) == 10


def test_empty_tally_gives_a_zero_total_row(tmp_path: Path) -> None:
    policy = load_policy(DEFAULT_POLICY)
    tally = SearchTally(policy, load_certificates_csv(write_world(tmp_path)[1]))
    rollup = compliance_rollup(tally.to_frame())
    assert list(rollup["scope"]) == ["all"]
    assert int(rollup.loc[0, "searches"]) == 0
