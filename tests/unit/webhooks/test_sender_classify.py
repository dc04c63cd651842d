"""How each HTTP answer is treated: delivered, retried, or dead-lettered at once."""

from __future__ import annotations

import pytest

from streams.webhooks.sender import classify


@pytest.mark.parametrize("status", [200, 201, 202, 204])
def test_2xx_is_delivered(status):
    assert classify(status, {}, b"", now=0).delivered


@pytest.mark.parametrize(
    ("status", "cause"),
    [(500, "http_5xx"), (502, "http_5xx"), (503, "http_503"), (504, "http_5xx"),
     (429, "http_429"), (408, "http_4xx"), (425, "http_4xx")],
)  # fmt: skip
def test_transient_answers_are_retried(status, cause):
    result = classify(status, {}, b"busy", now=0)
    assert not result.delivered and result.retry_cause == cause and result.failure_reason is None


def test_retry_after_is_read_on_429_and_503_only():
    assert classify(429, {"Retry-After": "7"}, b"", now=0).retry_after == 7.0
    assert classify(503, {"Retry-After": "2"}, b"", now=0).retry_after == 2.0
    assert classify(500, {"Retry-After": "2"}, b"", now=0).retry_after is None


@pytest.mark.parametrize(
    ("status", "reason"),
    [(301, "redirect"), (302, "redirect"), (307, "redirect"), (308, "redirect"),
     (410, "gone"), (400, "http_4xx"), (401, "http_4xx"), (404, "http_4xx"), (413, "http_4xx")],
)  # fmt: skip
def test_permanent_answers_are_not_retried(status, reason):
    result = classify(status, {"Location": "http://169.254.169.254/"}, b"no", now=0)
    assert not result.delivered and result.failure_reason == reason and result.retry_cause is None
    assert str(status) in (result.error or "")


def test_error_text_is_a_bounded_repr_of_the_answer():
    result = classify(400, {}, b"\x00\xffbad" + b"x" * 1000, now=0)
    assert result.error is not None and len(result.error) < 300
