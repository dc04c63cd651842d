"""The policy's catalogue section: whole kinds prohibited, vendors known, file:line errors."""

from __future__ import annotations

import pytest

from streams.errors import ConfigError
from streams.policy import load_policy
from streams.settings import DEFAULT_POLICY
from tests.conftest import FILES

BASE = (FILES / "policy" / "valid_minimal.yaml").read_text(encoding="utf-8")


def write(tmp_path, extra: str):
    path = tmp_path / "policy.yaml"
    path.write_text(BASE + extra, encoding="utf-8")
    return path


def test_without_a_catalogue_section_nothing_changes():
    policy = load_policy(DEFAULT_POLICY)
    assert policy.catalogue is None and policy.prohibited_kinds == frozenset()
    assert policy.is_prohibited("lenso.ai") is None and policy.service_of("pimeyes.com") is None


def test_a_prohibited_kind_prohibits_every_service_of_it(tmp_path):
    policy = load_policy(write(tmp_path, "catalogue:\n  prohibit_kinds: [commercial-open-web]\n"))
    assert policy.is_prohibited("www.lenso.ai") == "lenso.ai"
    assert policy.is_prohibited("findclone.ru") == "findclone.ru"
    assert policy.is_prohibited("faces.state.example.gov") is None, "another kind"
    assert policy.service_of("app.clearview.ai").vendor == "Clearview AI"


def test_a_catalogue_of_its_own(tmp_path):
    tiny = FILES / "sources" / "config" / "catalogue_tiny.yaml"
    policy = load_policy(write(tmp_path, f"catalogue:\n  file: {tiny}\n"))
    assert len(policy.catalogue) == 1 and policy.prohibited_kinds == frozenset()


def test_catalogue_errors_have_lines(tmp_path):
    path = write(
        tmp_path, "catalogue:\n  file: missing.yaml\n  prohibit_kinds: [open-web]\n  colour: x\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_policy(path)
    base = len(BASE.splitlines())
    assert [e.split(": ", 1)[0] for e in caught.value.errors] == [
        f"{path}:{base + 2}", f"{path}:{base + 3}", f"{path}:{base + 4}",
    ]  # fmt: skip
    assert "no such file" in caught.value.errors[0]
    assert "'open-web' is not one of" in caught.value.errors[1]


def test_an_authorised_host_of_a_prohibited_kind_is_an_error(tmp_path):
    text = BASE.replace("frt.example.gov", "search.pimeyes.com")
    path = tmp_path / "p.yaml"
    path.write_text(
        text + "catalogue:\n  prohibit_kinds: [commercial-open-web]\n", encoding="utf-8"
    )
    if "search.pimeyes.com" not in text:
        pytest.fail("the minimal policy must authorise a host for this test")
    with pytest.raises(
        ConfigError,
        match=r"authorised host 'search\.pimeyes\.com' is a commercial-open-web service",
    ):
        load_policy(path)
