"""Password hashes: salted, verifiable, bounded, never plaintext."""

from __future__ import annotations

import pytest

from streams.console.passwords import DUMMY_HASH, hash_password, parse_hash, verify_password


def test_hash_verifies_only_the_right_password() -> None:
    encoded = hash_password("s3cret-pass", n=2**10)
    assert verify_password("s3cret-pass", encoded)
    assert not verify_password("s3cret-pasS", encoded)
    assert "s3cret" not in encoded


def test_same_password_gets_a_different_salt_each_time() -> None:
    assert hash_password("same-password", n=2**10) != hash_password("same-password", n=2**10)


def test_default_parameters_are_recorded_in_the_hash() -> None:
    n, r, p, salt, key = parse_hash(hash_password("another-pass"))
    assert (n, r, p) == (2**14, 8, 1)
    assert len(salt) == 16 and len(key) == 32


@pytest.mark.parametrize(
    "encoded",
    [
        "",
        "plaintext",
        "pbkdf2$1$2$3$AAAA$AAAA",
        "scrypt$1000$8$1$AAAA$AAAA",  # n not a power of two
        "scrypt$1073741824$8$1$AAAA$AAAA",  # n too large: refuse to burn memory
        "scrypt$1024$64$1$AAAA$AAAA",
        "scrypt$1024$8$1$$AAAA",
        "scrypt$x$8$1$AAAA$AAAA",
    ],
)
def test_malformed_or_hostile_hashes_never_verify(encoded: str) -> None:
    assert not verify_password("anything", encoded)


def test_dummy_hash_parses_and_matches_nothing() -> None:
    parse_hash(DUMMY_HASH)
    assert not verify_password("", DUMMY_HASH)
    assert not verify_password("frtwatch-demo", DUMMY_HASH)


def test_empty_password_is_refused() -> None:
    with pytest.raises(ValueError):
        hash_password("")
