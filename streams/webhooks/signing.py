"""Standard Webhooks signatures (https://www.standardwebhooks.com/).

Each delivery attempt carries ``webhook-id`` (stable across retries of the
same alert message), ``webhook-timestamp`` (the attempt's time, so a
receiver's replay window works even after long retries) and
``webhook-signature`` = ``v1,`` + base64(HMAC-SHA256(secret,
"<id>.<timestamp>.<body>")). The HMAC is computed by the ``standardwebhooks``
package itself, so what we send is what its ``Webhook.verify`` accepts.

Secrets use the spec's form ``whsec_`` + base64 of 24 to 64 random bytes.

>>> secret = "whsec_" + "A" * 32
>>> headers = signed_headers(secret, "frt_abc_1", b'{"a":1}', timestamp=1_700_000_000)
>>> headers["webhook-timestamp"], headers["webhook-signature"][:3]
('1700000000', 'v1,')
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
import time
from datetime import UTC, datetime

from standardwebhooks.webhooks import Webhook

SECRET_PREFIX = "whsec_"  # noqa: S105 - the spec's prefix, not a secret
MIN_SECRET_BYTES = 24
MAX_SECRET_BYTES = 64
_BASE64 = re.compile(r"[A-Za-z0-9+/]+={0,2}")


def new_secret() -> str:
    """A fresh random signing secret in the ``whsec_`` form.

    >>> secret_problem(new_secret()) is None
    True
    """
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def secret_problem(secret: str) -> str | None:
    """What is wrong with a signing secret, or None.

    >>> secret_problem("hunter2")
    "must start with 'whsec_' (create one with: frtwatch webhooks --new-secret)"
    >>> secret_problem("whsec_c2hvcnQ=")
    'must hold 24 to 64 random bytes, this one holds 5'
    """
    if not secret.startswith(SECRET_PREFIX):
        return (
            f"must start with {SECRET_PREFIX!r} (create one with: frtwatch webhooks --new-secret)"
        )
    encoded = secret[len(SECRET_PREFIX) :]
    if not _BASE64.fullmatch(encoded):
        return "is not valid base64 after 'whsec_'"
    try:
        # The standardwebhooks package pads the same way, so it reads the same key.
        key = base64.b64decode(encoded + "==")
    except binascii.Error:
        return "is not valid base64 after 'whsec_'"
    if not MIN_SECRET_BYTES <= len(key) <= MAX_SECRET_BYTES:
        return f"must hold {MIN_SECRET_BYTES} to {MAX_SECRET_BYTES} random bytes, this one holds {len(key)}"
    return None


def signed_headers(
    secret: str, webhook_id: str, body: bytes, *, timestamp: int | None = None
) -> dict[str, str]:
    """The three Standard Webhooks headers for one attempt of one message."""
    ts = int(time.time()) if timestamp is None else int(timestamp)
    signature = Webhook(secret).sign(
        msg_id=webhook_id,
        timestamp=datetime.fromtimestamp(ts, tz=UTC),
        data=body.decode("utf-8"),
    )
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(ts),
        "webhook-signature": signature,
    }


def unsigned_headers(webhook_id: str, *, timestamp: int | None = None) -> dict[str, str]:
    """Id and timestamp without a signature, for routes that authenticate otherwise."""
    ts = int(time.time()) if timestamp is None else int(timestamp)
    return {"webhook-id": webhook_id, "webhook-timestamp": str(ts)}
