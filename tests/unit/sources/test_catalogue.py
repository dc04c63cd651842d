"""The FRT service catalogue: the shipped file, suffix matching, file:line errors, the CLI."""

from __future__ import annotations

import pytest

from streams.cli import main
from streams.errors import ConfigError
from streams.sources.catalogue import DEFAULT_CATALOGUE, KINDS, load_catalogue
from tests.conftest import FILES

INVALID = FILES / "sources" / "config" / "catalogue_invalid.yaml"


def test_shipped_catalogue_lists_the_known_public_services_with_sources():
    catalogue = load_catalogue(DEFAULT_CATALOGUE)
    vendors = {s.vendor for s in catalogue.services}
    assert {"Clearview AI", "PimEyes", "FaceCheck.ID", "FindClone", "Search4faces"} <= vendors
    for service in catalogue.services:
        assert service.kind in KINDS
        assert service.source.startswith("https://")
        assert service.line > 0


def test_domains_match_whole_labels_only():
    catalogue = load_catalogue(DEFAULT_CATALOGUE)
    assert catalogue.match("app.clearview.ai")[0].vendor == "Clearview AI"
    assert catalogue.match("clearview.ai")[1] == "clearview.ai"
    assert catalogue.match("notclearview.ai") is None
    assert catalogue.match("clearview.ai.evil.example") is None
    assert catalogue.match("ai") is None


def test_every_error_is_reported_with_its_line():
    with pytest.raises(ConfigError) as caught:
        load_catalogue(INVALID)
    path = str(INVALID)
    assert caught.value.errors == [
        f"{path}:8: services[1].kind: 'open-web' is not one of commercial-open-web, government, vendor-hosted",
        f"{path}:13: services[2].domains: 'good.example' already listed on line 5",
        f"{path}:13: services[2].domains: 'not a domain' is not a domain name",
        f"{path}:14: services[2].source: 'ftp://dup.example/' is not an http(s) URL",
        f"{path}:15: services[3]: missing key 'vendor'",
        f"{path}:16: services[3].domains: at least one domain is needed",
        f"{path}:18: services[3]: unknown key 'colour' (expected one of domains, kind, notes, product, source, vendor)",
    ]


def test_yaml_errors_and_duplicates_keep_their_lines(tmp_path):
    broken = tmp_path / "c.yaml"
    broken.write_text("version: 1\nservices:\n  - vendor: [\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"c.yaml:4: invalid YAML"):
        load_catalogue(broken)
    twice = tmp_path / "d.yaml"
    twice.write_text("version: 1\nversion: 1\nservices: []\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"d.yaml:2: catalogue: duplicate key 'version'"):
        load_catalogue(twice)


def test_catalogue_check_command(capsys):
    assert main(["catalogue", "check"]) == 0
    assert "valid" in capsys.readouterr().out
    assert main(["catalogue", "check", str(INVALID)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "error: 7 problems:"
    assert all(line.startswith(f"{INVALID}:") for line in err[1:])
