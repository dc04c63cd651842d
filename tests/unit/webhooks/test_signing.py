"""Signatures are what the standardwebhooks library verifies; tampering is detected."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from streams.webhooks.signing import new_secret, secret_problem, signed_headers


def test_signed_headers_verify_with_the_standardwebhooks_library():
    secret = new_secret()
    body = b'{"alert_id":"a1","summary":"caf\xc3\xa9"}'
    headers = signed_headers(secret, "frt_a1_1", body)
    assert Webhook(secret).verify(body, headers) == {"alert_id": "a1", "summary": "café"}
    assert headers["webhook-id"] == "frt_a1_1"
    assert abs(int(headers["webhook-timestamp"]) - time.time()) < 5


def test_tampered_body_wrong_secret_or_old_timestamp_fail_verification():
    secret = new_secret()
    body = b'{"severity":"critical"}'
    headers = signed_headers(secret, "frt_a1_1", body)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(b'{"severity":"low"}', headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(body, headers)
    stale = signed_headers(secret, "frt_a1_1", body, timestamp=int(time.time()) - 3600)
    with pytest.raises(WebhookVerificationError, match="too old"):
        Webhook(secret).verify(body, stale)


def test_a_retry_keeps_the_id_and_signs_its_own_timestamp():
    secret = new_secret()
    body = b"{}"
    first = signed_headers(secret, "frt_a1_1", body, timestamp=1_700_000_000)
    retry = signed_headers(secret, "frt_a1_1", body, timestamp=1_700_000_030)
    assert first["webhook-id"] == retry["webhook-id"]
    assert first["webhook-signature"] != retry["webhook-signature"]


@pytest.mark.parametrize(
    ("secret", "ok"),
    [
        ("whsec_" + "QUJD" * 8, True),  # 24 bytes
        ("whsec_" + "QUJD" * 22, False),  # 66 bytes
        ("whsec_QUJD", False),
        ("whsec_not base64!", False),
        ("plain-text-secret", False),
    ],
)
def test_secret_problem(secret, ok):
    assert (secret_problem(secret) is None) is ok


# The known-answer example of the Standard Webhooks reference libraries' tests:
# secret, message id, timestamp, body and the signature they must produce.
KAT_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
KAT_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
KAT_TIMESTAMP = 1614265330
KAT_BODY = b'{"test": 2432232314}'
KAT_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_signature_matches_the_specification_example():
    assert secret_problem(KAT_SECRET) is None
    headers = signed_headers(KAT_SECRET, KAT_ID, KAT_BODY, timestamp=KAT_TIMESTAMP)
    assert headers == {
        "webhook-id": KAT_ID,
        "webhook-timestamp": "1614265330",
        "webhook-signature": KAT_SIGNATURE,
    }


def test_signature_of_the_example_is_hmac_sha256_of_id_timestamp_body():
    key = base64.b64decode(KAT_SECRET.removeprefix("whsec_"))
    content = f"{KAT_ID}.{KAT_TIMESTAMP}.".encode() + KAT_BODY
    digest = hmac.new(key, content, hashlib.sha256).digest()
    assert "v1," + base64.b64encode(digest).decode() == KAT_SIGNATURE
