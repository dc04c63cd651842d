"""The exceptions file: every bad entry as file:line, and the policy's exceptions.file."""

from __future__ import annotations

import re
import shutil
import textwrap

import pytest

from streams.errors import ConfigError
from streams.exceptions.loader import load_exceptions_file
from streams.policy import load_policy
from streams.settings import DEFAULT_POLICY
from tests.conftest import ROOT

EXAMPLE = ROOT / "config" / "exceptions.example.yaml"


def write(tmp_path, text):
    path = tmp_path / "exceptions.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def errors_of(path):
    with pytest.raises(ConfigError) as info:
        load_exceptions_file(path)
    return info.value.errors


def test_the_shipped_example_loads():
    records = load_exceptions_file(EXAMPLE)
    assert [(r.scope, r.detector, r.subject) for r in records] == [
        ("user", "unknown_endpoint", "trial.vendor.example"),
        ("agency", "missing_case_number", "*"),
    ]
    assert all(r.reason for r in records)


def test_every_bad_entry_is_reported_with_its_line(tmp_path):
    path = write(
        tmp_path,
        """\
        version: 1
        exceptions:
          - scope: user
            agency: MPD
            user: u1
            detector: burst
            subject: "*"
            from: 2026-03-01
            until: 2026-02-01
            reason: until before from
          - scope: user
            agency: MPD
            detector: burst
            from: 2026-03-01
            until: 2026-04-01
            reason: no user
          - scope: agency
            agency: MPD
            detector: prohibited_endpoint
            from: 2026-03-01
            until: someday
            reason: bad expiry
          - scope: agency
            agency: MPD
            detector: prohibited_endpoint
            from: 2026-03-01
            until: 2026-04-01
          - scope: agency
            agency: MPD
            detector: nothing
            colour: red
            from: 2026-03-01
            until: 2026-04-01
            reason: unknown detector and key
          - scope: agency
            agency: CSO
            detector: burst
            from: 2026-03-01
            until: 2026-04-01
            reason: fine
          - scope: agency
            agency: CSO
            detector: burst
            from: 2026-03-01
            until: 2026-04-01
            reason: fine
        """,
    )
    errors = errors_of(path)
    for error in errors:
        assert re.match(rf"{re.escape(str(path))}:\d+: ", error), error
    found = {int(e.split(":")[1]): e for e in errors}
    assert "until must be after from" in found[9]
    assert "missing key 'user'" in found[11]
    assert "until: 'someday' is not a date" in found[21]
    assert "missing key(s) 'reason'" in found[23]
    assert "unknown key 'colour'" in found[31]
    assert "detector must be one of" in found[30]
    assert "the same exception as on line 35" in found[41]
    assert len(errors) == 7


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("version: 1\nexceptions: {a: 1}\n", ":2: exceptions must be a list"),
        ("version: 2\nexceptions: []\n", ":1: version: only version 1 is known"),
        ("version: 1\n", "missing key 'exceptions'"),
        ("exceptions: [\n", "invalid YAML"),
        ("", ":1: exceptions file is empty"),
    ],
)
def test_bad_files(tmp_path, text, message):
    errors = errors_of(write(tmp_path, text))
    assert any(message in error for error in errors), errors


def test_empty_list_is_no_exceptions(tmp_path):
    assert load_exceptions_file(write(tmp_path, "version: 1\nexceptions:\n")) == ()


def test_the_policy_loads_its_exceptions_file(tmp_path):
    policy_text = DEFAULT_POLICY.read_text(encoding="utf-8").replace(
        "# exceptions:\n#   file: exceptions.yaml", "exceptions:\n  file: exceptions.yaml"
    )
    assert "\nexceptions:\n  file: exceptions.yaml" in policy_text
    for name in ("certifications.csv", "frt-services.yaml"):
        if (DEFAULT_POLICY.parent / name).exists():
            shutil.copy(DEFAULT_POLICY.parent / name, tmp_path / name)
    policy_path = tmp_path / "policy.yaml"
    policy_path.write_text(policy_text.replace("../models/", str(ROOT / "models") + "/"))
    shutil.copy(EXAMPLE, tmp_path / "exceptions.yaml")
    policy = load_policy(policy_path)
    assert policy.exceptions_file == (tmp_path / "exceptions.yaml").resolve()
    assert policy.file_exceptions == load_exceptions_file(EXAMPLE)

    (tmp_path / "exceptions.yaml").write_text("version: 1\nexceptions:\n  - scope: team\n")
    with pytest.raises(ConfigError) as info:
        load_policy(policy_path)
    assert any(e.startswith(f"{tmp_path / 'exceptions.yaml'}:3: ") for e in info.value.errors)

    (tmp_path / "exceptions.yaml").unlink()
    with pytest.raises(ConfigError, match=r"exceptions\.file: no such file"):
        load_policy(policy_path)


def test_the_shipped_policy_names_no_exceptions_file():
    policy = load_policy(DEFAULT_POLICY)
    assert policy.exceptions_file is None and policy.file_exceptions == ()
