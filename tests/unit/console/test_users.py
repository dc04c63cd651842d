"""The accounts file: strict, every error with file:line, no plaintext accepted."""

from __future__ import annotations

from pathlib import Path

import pytest

from streams.console.config import EXAMPLE_USERS
from streams.console.passwords import hash_password
from streams.console.users import load_users, parse_users
from streams.errors import ConfigError

HASH = hash_password("password-1", n=2**10)


def test_reads_accounts(tmp_path: Path) -> None:
    text = f"users:\n  ana:\n    name: Ana Lyst\n    password_hash: {HASH}\n  bo:\n    password_hash: {HASH}\n    disabled: true\n"
    accounts = parse_users(text, tmp_path / "u.yaml")
    assert accounts["ana"].name == "Ana Lyst"
    assert accounts["bo"].name == "bo" and accounts["bo"].disabled


def test_every_error_is_reported_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "u.yaml"
    text = (
        "users:\n"
        f"  ana:\n    password_hash: {HASH}\n"
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
