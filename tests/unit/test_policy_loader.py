"""Strict policy loading: every error reported as file:line, duplicate keys rejected."""

from __future__ import annotations

import re
import shutil

import pytest

from streams.errors import ConfigError
from streams.policy import load_policy, parse_duration
from streams.settings import DEFAULT_POLICY
from tests.conftest import FILES

POLICIES = FILES / "policy"


def errors_of(path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_policy(path)
    return info.value.errors


def test_shipped_policy_loads():
    policy = load_policy(DEFAULT_POLICY)
    assert set(policy.agencies) == {"MPD", "CSO", "TPD", "SPD", "UPD"}
    assert policy.is_prohibited("app.clearview.ai") == "clearview.ai"
    assert policy.is_prohibited("notclearview.ai") is None
    assert policy.is_authorised("frt.county.example.gov", "MPD")
    assert not policy.is_authorised("faces.state.example.gov", "CSO")
    assert policy.may_search_for("MPD", "TPD")
    assert not policy.may_search_for("TPD", "MPD")
    assert policy.burst.window_s == 3600 and policy.burst.min_count == 15
    assert policy.certifications_csv is not None and policy.certifications_csv.is_file()


def test_minimal_policy_gets_defaults(tmp_path):
    shutil.copy(POLICIES / "valid_minimal.yaml", tmp_path / "p.yaml")
    policy = load_policy(tmp_path / "p.yaml")
    assert policy.agencies["B"].may_search_for == frozenset()
    assert policy.is_authorised("frt.example.gov", "B")  # no agency list: all agencies
    assert policy.prohibited_endpoint.severity == "critical"
    assert policy.session_gap_s == 86400
    assert policy.session_gap("burst") == 86400
    assert policy.certifications_csv is None


def test_every_error_is_listed_with_file_and_line():
    path = POLICIES / "invalid_many.yaml"
    errors = errors_of(path)
    for error in errors:
        assert re.match(rf"{re.escape(str(path))}:\d+: ", error), error
    line_numbers = [int(e.split(":")[1]) for e in errors]
    assert line_numbers == sorted(line_numbers), "errors are listed in file order"
    text = "\n".join(errors)
    expected = {
        6: "duplicate key 'A'",
        5: "unknown agency 'Z'",
        10: "'not a host' is not a host name",
        11: "missing key 'host'",
        14: "no such file",
        16: "is not a duration",
        18: "must be greater than 0",
        19: "must be one of low, medium, high, critical",
        20: "unknown key 'colour'",
    }
    for line, fragment in expected.items():
        assert any(e.startswith(f"{path}:{line}: ") and fragment in e for e in errors), (
            f"line {line}: {fragment!r} not in\n{text}"
        )


def test_yaml_syntax_error_points_at_its_line():
    errors = errors_of(POLICIES / "invalid_yaml.yaml")
    assert len(errors) == 1
    assert re.match(r".*invalid_yaml\.yaml:\d+: invalid YAML", errors[0])


def test_wrong_version_and_unknown_top_level_key():
    errors = errors_of(POLICIES / "invalid_unknown_top.yaml")
    text = "\n".join(errors)
    assert "only version 1" in text
    assert "unknown key 'endpoint'" in text
    assert "at least one agency" in text


def test_missing_file_is_one_clear_error(tmp_path):
    errors = errors_of(tmp_path / "nope.yaml")
    assert len(errors) == 1 and "cannot read policy" in errors[0]


def test_empty_file(tmp_path):
    (tmp_path / "p.yaml").write_text("")
    assert errors_of(tmp_path / "p.yaml") == [f"{tmp_path / 'p.yaml'}:1: policy file is empty"]


@pytest.mark.parametrize("bad", ["1y", "soon", "-5m", True])
def test_bad_durations(bad):
    with pytest.raises(ValueError):
        parse_duration(bad)


def _burst_policy(tmp_path, extreme_factor: str):
    text = (POLICIES / "valid_minimal.yaml").read_text()
    path = tmp_path / "p.yaml"
    path.write_text(text + f"detectors:\n  burst:\n    extreme_factor: {extreme_factor}\n")
    return path, len(text.splitlines()) + 3


def test_burst_extreme_factor_defaults_to_three_and_can_be_set(tmp_path):
    shutil.copy(POLICIES / "valid_minimal.yaml", tmp_path / "d.yaml")
    assert load_policy(tmp_path / "d.yaml").burst.extreme_factor == 3.0
    path, _ = _burst_policy(tmp_path, "2.5")
    assert load_policy(path).burst.extreme_factor == 2.5


@pytest.mark.parametrize(
    ("value", "fragment"),
    [("0.5", "must be at least 1"), ("0", "must be greater than 0"), ("lots", "must be a number")],
)
def test_burst_extreme_factor_below_one_is_an_error_at_its_line(tmp_path, value, fragment):
    path, line = _burst_policy(tmp_path, value)
    errors = errors_of(path)
    assert len(errors) == 1
    assert errors[0].startswith(f"{path}:{line}: detectors.burst.extreme_factor: "), errors
    assert fragment in errors[0]


def _detectors(tmp_path, body: str):
    text = (POLICIES / "valid_minimal.yaml").read_text()
    path = tmp_path / "p.yaml"
    path.write_text(text + "detectors:\n" + body)
    return path, len(text.splitlines()) + 2


def test_session_gap_for_the_policy_and_per_detector(tmp_path):
    path, _ = _detectors(tmp_path, "  session_gap: 12h\n  burst:\n    session_gap: 2h\n")
    policy = load_policy(path)
    assert policy.session_gap_s == 12 * 3600
    assert policy.session_gap("burst") == 2 * 3600
    assert policy.session_gap("prohibited_endpoint") == 12 * 3600


def test_shipped_policy_closes_alerts_after_a_quiet_day():
    policy = load_policy(DEFAULT_POLICY)
    assert {policy.session_gap(name) for name in ("burst", "uncertified_user")} == {86400}
    assert policy.session_gap("behavior_anomaly") == 3 * 86400  # intermittent scores


def test_the_old_suppression_key_is_a_clear_error_at_its_line(tmp_path):
    path, line = _detectors(tmp_path, "  suppression: 1h\n")
    (error,) = errors_of(path)
    assert error.startswith(f"{path}:{line}: detectors.suppression is no longer read"), error
    assert "detectors.session_gap" in error


@pytest.mark.parametrize("value", ["0", "-1h", "soon"])
def test_a_bad_session_gap_is_an_error_at_its_line(tmp_path, value):
    path, line = _detectors(tmp_path, f"  uncertified_user:\n    session_gap: {value}\n")
    (error,) = errors_of(path)
    assert error.startswith(f"{path}:{line + 1}: detectors.uncertified_user.session_gap: "), error


def _zoned(tmp_path, agencies: str, top: str = ""):
    path = tmp_path / "p.yaml"
    path.write_text(
        f"version: 1\n{top}agencies:\n{agencies}"
        "endpoints:\n  authorised:\n    - host: frt.example.gov\n"
    )
    return path


def test_agency_time_zones_and_the_default(tmp_path):
    path = _zoned(
        tmp_path,
        "  A: {timezone: America/Chicago}\n  B:\n  C: {name: C}\n",
        "default_timezone: Europe/London\n",
    )
    policy = load_policy(path)
    assert [policy.agencies[c].timezone for c in "ABC"] == [
        "America/Chicago",
        "Europe/London",
        "Europe/London",
    ]
    hours = policy.local_hours()
    assert hours.zone_of("A") == "America/Chicago"
    assert hours.zone_of("UNLISTED") == "Europe/London"


def test_time_zones_default_to_utc():
    policy = load_policy(DEFAULT_POLICY)
    assert policy.default_timezone == "UTC"
    assert {a.timezone for a in policy.agencies.values()} == {"UTC"}


@pytest.mark.parametrize("zone", ["America/Chikago", "CST6", "../../etc/passwd", "''", "3"])
def test_a_bad_agency_time_zone_is_an_error_at_its_line(tmp_path, zone):
    path = _zoned(tmp_path, f"  A: {{name: A}}\n  B:\n    timezone: {zone}\n")
    (error,) = errors_of(path)
    assert error.startswith(f"{path}:5: agencies.B.timezone: "), error
    assert "time zone" in error


def test_a_bad_default_time_zone_is_an_error_at_its_line(tmp_path):
    path = _zoned(tmp_path, "  A:\n", "default_timezone: Mars/Olympus_Mons\n")
    (error,) = errors_of(path)
    assert error.startswith(
        f"{path}:2: default_timezone: 'Mars/Olympus_Mons' is not a known IANA time zone"
    ), error


def test_training_settings_and_their_defaults(tmp_path):
    assert load_policy(DEFAULT_POLICY).behavior_anomaly.training.retrain_every_s == 7 * 86400
    path, _ = _detectors(
        tmp_path,
        "  behavior_anomaly:\n    training:\n      min_history: 3d\n      min_users: 5\n"
        "      shadow: 2d\n      promote: manual\n",
    )
    training = load_policy(path).behavior_anomaly.training
    assert (training.min_history_s, training.min_users) == (3 * 86400, 5)
    assert (training.shadow_s, training.promote) == (2 * 86400, "manual")


def test_every_bad_training_setting_is_an_error_at_its_line(tmp_path):
    path, line = _detectors(
        tmp_path,
        "  behavior_anomaly:\n    training:\n      min_users: 0\n      promote: sometimes\n"
        "      lead: -1h\n      min_history: 30d\n      history: 7d\n      retrain: 1w\n",
    )
    errors = errors_of(path)
    where = "detectors.behavior_anomaly.training"
    assert [e.split(": ", 2)[:2] for e in errors] == [
        [f"{path}:{line + 2}", f"{where}.min_users"],
        [f"{path}:{line + 3}", f"{where}.promote"],
        [f"{path}:{line + 4}", f"{where}.lead"],
        [f"{path}:{line + 6}", f"{where}.history must be at least min_history"],
        [f"{path}:{line + 7}", where],
    ], errors
    assert "unknown key 'retrain' (expected one of history, lead," in errors[-1]
