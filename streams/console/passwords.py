"""Password hashes for console accounts: salted scrypt from the standard library.

The users file stores only these strings, never a password. The format names
its own parameters so they can be raised later without invalidating old hashes:
``scrypt$<n>$<r>$<p>$<salt, base64>$<key, base64>``.

>>> h = hash_password("correct horse", n=2**10)
>>> h.startswith("scrypt$1024$8$1$")
True
>>> verify_password("correct horse", h), verify_password("wrong", h)
(True, False)
>>> verify_password("anything", "not-a-hash")
False
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

SCHEME = "scrypt"
DEFAULT_N = 2**14
DEFAULT_R = 8
DEFAULT_P = 1
_KEY_BYTES = 32
_SALT_BYTES = 16
# Bounds on parameters read from a file, so a hostile users file cannot make
# every login burn gigabytes of memory.
_MAX_N = 2**18
_MAX_R = 16
_MAX_P = 4
_MAXMEM = 512 * 1024 * 1024


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _derive(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=_MAXMEM, dklen=_KEY_BYTES
    )


def hash_password(
    password: str, *, n: int = DEFAULT_N, r: int = DEFAULT_R, p: int = DEFAULT_P
) -> str:
    """A new salted scrypt hash of ``password``."""
    if not password:
        raise ValueError("the password must not be empty")
    salt = secrets.token_bytes(_SALT_BYTES)
    key = _derive(password, salt, n, r, p)
    return f"{SCHEME}${n}${r}${p}${_b64(salt)}${_b64(key)}"


def parse_hash(encoded: str) -> tuple[int, int, int, bytes, bytes]:
    """The parameters, salt and key of a stored hash; ``ValueError`` when malformed.

    >>> parse_hash("scrypt$1024$8$1$AAAA$AAAA")[:3]
    (1024, 8, 1)
    """
    parts = encoded.split("$")
    if len(parts) != 6 or parts[0] != SCHEME:
        raise ValueError("not a scrypt$n$r$p$salt$key hash")
    n, r, p = (int(x) for x in parts[1:4])
    if n < 2 or n & (n - 1) or n > _MAX_N or not 1 <= r <= _MAX_R or not 1 <= p <= _MAX_P:
        raise ValueError("scrypt parameters out of range")
    salt, key = _unb64(parts[4]), _unb64(parts[5])
    if not salt or not key:
        raise ValueError("empty salt or key")
    return n, r, p, salt, key


def verify_password(password: str, encoded: str) -> bool:
    """Whether ``password`` matches ``encoded``, compared in constant time."""
    try:
        n, r, p, salt, key = parse_hash(encoded)
    except ValueError:
        return False
    candidate = hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=_MAXMEM, dklen=len(key)
    )
    return hmac.compare_digest(candidate, key)


# Verified against when the user name is unknown, so a wrong name costs the same
# time as a wrong password and does not reveal which accounts exist.
DUMMY_HASH = f"{SCHEME}${DEFAULT_N}${DEFAULT_R}${DEFAULT_P}${_b64(b'frtwatch-dummy-s')}${_b64(bytes(_KEY_BYTES))}"
