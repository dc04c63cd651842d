"""The accounts file: strict, every error with file:line, no plaintext accepted."""

from __future__ import annotations

from pathlib import Path

import pytest

from streams.console.config import EXAMPLE_USERS
from streams.console.passwords import hash_password
from streams.console.users import demo_accounts, load_users, parse_users
from streams.errors import ConfigError

HASH = hash_password("password-1", n=2**10)


def test_reads_accounts(tmp_path: Path) -> None:
    text = (
        f"users:\n  ana:\n    name: Ana Lyst\n    role: analyst\n    agencies: [MPD, SPD]\n"
        f"    password_hash: {HASH}\n"
        f"  bo:\n    role: auditor\n    agencies: '*'\n    password_hash: {HASH}\n"
        "    disabled: true\n"
    )
    accounts = parse_users(text, tmp_path / "u.yaml")
    assert accounts["ana"].name == "Ana Lyst"
    assert accounts["ana"].role == "analyst" and accounts["ana"].agencies == {"MPD", "SPD"}
    assert accounts["bo"].name == "bo" and accounts["bo"].disabled
    assert accounts["bo"].access.everywhere and not accounts["bo"].access.may("comment")


def test_every_error_is_reported_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "u.yaml"
    text = (
        "users:\n"
        f"  ana:\n    password_hash: {HASH}\n"  # line 2: no role
        f"  ana:\n    password_hash: {HASH}\n"  # line 4: duplicate
        "  bo:\n    password: hunter2\n"  # line 6: plaintext key, no hash
        "  'bad name!':\n    password_hash: x\n"  # line 8
        "  cy:\n    password_hash: not-a-hash\n"  # line 10
        "extra: 1\n"  # line 12
    )
    with pytest.raises(ConfigError) as info:
        parse_users(text, path)
    errors = info.value.errors
    assert any(e.startswith(f"{path}:4:") and "duplicate" in e for e in errors)
    assert any(e.startswith(f"{path}:7:") and "'password'" in e for e in errors)
    assert any(e.startswith(f"{path}:6:") and "no password_hash" in e for e in errors)
    assert any(e.startswith(f"{path}:8:") and "user name" in e for e in errors)
    assert any(e.startswith(f"{path}:10:") and "hash-password" in e for e in errors)
    assert any(e.startswith(f"{path}:12:") and "unknown key 'extra'" in e for e in errors)
    assert any(e.startswith(f"{path}:2:") and "role must be one of" in e for e in errors)


def test_roles_and_agencies_are_checked(tmp_path: Path) -> None:
    path = tmp_path / "u.yaml"
    text = (
        "users:\n"
        f"  ana:\n    role: boss\n    agencies: '*'\n    password_hash: {HASH}\n"  # line 2
        f"  bo:\n    role: lead\n    password_hash: {HASH}\n"  # line 6: no agencies
        f"  cy:\n    role: lead\n    agencies: [MPD, 'a b']\n    password_hash: {HASH}\n"
        f"  di:\n    role: lead\n    agencies: []\n    password_hash: {HASH}\n"  # line 13
    )
    with pytest.raises(ConfigError) as info:
        parse_users(text, path)
    errors = info.value.errors
    assert any(e.startswith(f"{path}:2:") and "'boss'" in e for e in errors)
    assert any(e.startswith(f"{path}:6:") and "no 'agencies'" in e for e in errors)
    assert any(e.startswith(f"{path}:11:") and "'a b' is not an agency code" in e for e in errors)
    assert any(e.startswith(f"{path}:15:") and "a list of agency codes" in e for e in errors)
    assert len(errors) == 4


@pytest.mark.parametrize("text", ["", "users: {}\n", "users: [a, b]\n", "users:\n  ana: [\n"])
def test_empty_or_malformed_files_are_refused(tmp_path: Path, text: str) -> None:
    with pytest.raises(ConfigError):
        parse_users(text, tmp_path / "u.yaml")


def test_missing_file_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="hash-password"):
        load_users(tmp_path / "nope.yaml")


def test_the_example_file_is_valid() -> None:
    accounts = load_users(EXAMPLE_USERS)
    assert {"analyst", "lead"} <= set(accounts)
    assert {accounts["analyst"].role, accounts["lead"].role} == {"analyst", "lead"}


def test_a_copy_of_the_example_file_is_found_to_use_demo_hashes(tmp_path: Path) -> None:
    copy = tmp_path / "console-users.yaml"
    copy.write_text(EXAMPLE_USERS.read_text(encoding="utf-8"), encoding="utf-8")
    assert demo_accounts(load_users(copy), EXAMPLE_USERS) == ["analyst", "lead"]
    own = parse_users(
        f"users:\n  ana:\n    role: lead\n    agencies: '*'\n    password_hash: {HASH}\n", copy
    )
    assert demo_accounts(own, EXAMPLE_USERS) == []
