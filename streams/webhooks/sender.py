"""Deliver alert messages to one route: sign, post, classify the answer, retry.

What each answer means:

- 2xx: delivered.
- 429, 408, 425 and 5xx, connection errors, timeouts: retried with
  exponential backoff and jitter; ``Retry-After`` on 429/503 is honoured.
- 410 Gone: the receiver says this endpoint is gone for good, so the route
  is disabled (no more requests to it until the dispatcher restarts); this
  and every later message for the route goes to the dead-letter topic.
- 3xx: redirects are never followed (a redirect could lead a signed alert to
  a host the route never named); the message is dead-lettered.
- other 4xx: the receiver rejects this payload; retrying will not help.
- a target that resolves to a refused address: dead-lettered, not retried.

A per-route semaphore bounds concurrent requests, so one slow receiver
cannot take every connection, and sleeping between retries holds no slot.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

import aiohttp

from streams import __version__, metrics
from streams.webhooks.alert_message import AlertMessage
from streams.webhooks.backoff import next_delay, parse_retry_after
from streams.webhooks.formats import JSON, render
from streams.webhooks.routes import Route
from streams.webhooks.signing import signed_headers, unsigned_headers
from streams.webhooks.url_safety import GuardedResolver, TargetRefusedError, url_problem

log = logging.getLogger("frtwatch.webhooks")

USER_AGENT = f"frtwatch-webhooks/{__version__}"
_RETRYABLE_4XX = frozenset({408, 425, 429})
_SNIPPET_BYTES = 200


@dataclass(frozen=True, slots=True)
class AttemptResult:
    """One HTTP attempt: delivered, retryable (with a cause) or permanent (with a reason)."""

    delivered: bool
    status: int | None = None
    error: str | None = None
    retry_cause: str | None = None
    failure_reason: str | None = None
    retry_after: float | None = None


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    """How delivering one message to one route ended."""

    route: str
    delivered: bool
    attempts: int
    status: int | None = None
    error: str | None = None
    reason: str | None = None


def _snippet(body: bytes) -> str:
    text = body[:_SNIPPET_BYTES].decode("utf-8", errors="replace")
    return repr(text) if text else "empty body"


def classify(status: int, headers: Mapping[str, str], body: bytes, *, now: float) -> AttemptResult:
    """Turn an HTTP answer into an :class:`AttemptResult` (see the module docstring).

    >>> classify(202, {}, b"", now=0).delivered
    True
    >>> r = classify(429, {"Retry-After": "3"}, b"slow down", now=0)
    >>> r.retry_cause, r.retry_after
    ('http_429', 3.0)
    >>> classify(302, {"Location": "http://elsewhere/"}, b"", now=0).failure_reason
    'redirect'
    >>> classify(400, {}, b"bad", now=0).failure_reason
    'http_4xx'
    """
    if 200 <= status < 300:
        return AttemptResult(delivered=True, status=status)
    if 300 <= status < 400:
        location = str(headers.get("Location", ""))[:200]
        return AttemptResult(
            delivered=False,
            status=status,
            error=f"HTTP {status} redirect to {location!r} not followed",
            failure_reason="redirect",
        )
    if status == 410:
        return AttemptResult(
            delivered=False,
            status=status,
            error="HTTP 410 Gone: the receiver retired this endpoint; route disabled",
            failure_reason="gone",
        )
    if status >= 500 or status in _RETRYABLE_4XX:
        retry_after = None
        if status in (429, 503):
            retry_after = parse_retry_after(headers.get("Retry-After"), now=now)
        cause = f"http_{status}" if status in (429, 503) else f"http_{status // 100}xx"
        return AttemptResult(
            delivered=False,
            status=status,
            error=f"HTTP {status}: {_snippet(body)}",
            retry_cause=cause,
            retry_after=retry_after,
        )
    return AttemptResult(
        delivered=False,
        status=status,
        error=f"HTTP {status}: {_snippet(body)}",
        failure_reason="http_4xx",
    )


class RouteSender:
    """Everything needed to deliver to one route: its HTTP session, limit and state."""

    def __init__(
        self,
        route: Route,
        *,
        rng: random.Random | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.route = route
        self._rng = rng or random.Random()
        self._sleep = sleep
        self._semaphore = asyncio.Semaphore(route.delivery.concurrency)
        self._session: aiohttp.ClientSession | None = None
        self._disabled_reason: str | None = None
        self._static_problem = url_problem(route.url, allow_private=route.allow_private)
        metrics.set_webhook_route_enabled(route.name, True)

    @property
    def enabled(self) -> bool:
        return self._disabled_reason is None

    async def start(self) -> None:
        connector = aiohttp.TCPConnector(
            resolver=GuardedResolver(allow_private=self.route.allow_private),
            use_dns_cache=False,
            limit=self.route.delivery.concurrency,
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            trust_env=False,  # no proxy from the environment: the URL is the target
            cookie_jar=aiohttp.DummyCookieJar(),
            timeout=aiohttp.ClientTimeout(total=self.route.delivery.timeout_s),
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def disable(self, reason: str) -> None:
        if self._disabled_reason is None:
            self._disabled_reason = reason
            metrics.set_webhook_route_enabled(self.route.name, False)
            log.error(
                "route %s (%s) disabled: %s; remove or fix it and restart",
                self.route.name,
                self.route.target,
                reason,
            )

    def _headers(self, alert: AlertMessage, body: bytes) -> dict[str, str]:
        headers = {"Content-Type": JSON, "User-Agent": USER_AGENT}
        headers.update(self.route.headers)
        if self.route.secret:
            headers.update(signed_headers(self.route.secret, alert.webhook_id, body))
        else:
            headers.update(unsigned_headers(alert.webhook_id))
        return headers

    async def _attempt(self, alert: AlertMessage, body: bytes) -> AttemptResult | None:
        """One HTTP request; None when the route was disabled before it could be made."""
        if self._static_problem is not None:
            return AttemptResult(
                delivered=False,
                error=f"target refused: {self._static_problem}",
                failure_reason="refused_target",
            )
        assert self._session is not None, "RouteSender.start() was not called"
        async with self._semaphore:
            if self._disabled_reason is not None:  # disabled while this one queued
                return None
            try:
                async with self._session.post(
                    self.route.url,
                    data=body,
                    headers=self._headers(alert, body),
                    allow_redirects=False,
                ) as response:
                    snippet = await response.content.read(_SNIPPET_BYTES)
                    return classify(response.status, response.headers, snippet, now=time.time())
            except TargetRefusedError as exc:
                return AttemptResult(
                    delivered=False, error=f"target refused: {exc}", failure_reason="refused_target"
                )
            except TimeoutError:
                return AttemptResult(
                    delivered=False,
                    error=f"no answer within {self.route.delivery.timeout_s:g}s",
                    retry_cause="timeout",
                )
            except aiohttp.ClientError as exc:
                return AttemptResult(
                    delivered=False, error=f"{type(exc).__name__}: {exc}", retry_cause="connection"
                )

    async def deliver(self, alert: AlertMessage, *, first: bool) -> DeliveryResult:
        """Deliver one alert message, retrying as configured; never raises for HTTP trouble."""
        name = self.route.name
        settings = self.route.delivery
        body = render(self.route, alert, first=first)
        started = time.monotonic()
        attempts = 0
        last: AttemptResult | None = None
        while attempts < settings.max_attempts:
            result = await self._attempt(alert, body)
            if result is None:
                return self._failed(alert, attempts, last, self._disabled_reason, "route_disabled")
            attempts += 1
            last = result
            if last.delivered:
                metrics.record_webhook_delivery(name, time.monotonic() - started)
                log.debug(
                    "delivered %s to %s after %d attempt(s)", alert.webhook_id, name, attempts
                )
                return DeliveryResult(
                    route=name, delivered=True, attempts=attempts, status=last.status
                )
            if last.failure_reason is not None:
                if last.failure_reason == "gone":
                    self.disable(last.error or "HTTP 410 Gone")
                return self._failed(alert, attempts, last, last.error, last.failure_reason)
            if attempts >= settings.max_attempts:
                break
            metrics.record_webhook_retry(name, last.retry_cause or "unknown")
            delay = next_delay(attempts, settings, self._rng, last.retry_after)
            log.info(
                "attempt %d of %s to %s failed (%s); retrying in %.2fs",
                attempts,
                alert.webhook_id,
                name,
                last.error,
                delay,
            )
            await self._sleep(delay)
        error = f"gave up after {attempts} attempt(s); last error: {last.error if last else 'none'}"
        return self._failed(alert, attempts, last, error, "retries_exhausted")

    def _failed(
        self,
        alert: AlertMessage,
        attempts: int,
        last: AttemptResult | None,
        error: str | None,
        reason: str,
    ) -> DeliveryResult:
        metrics.record_webhook_failure(self.route.name, reason)
        log.warning(
            "could not deliver %s to %s (%s): %s",
            alert.webhook_id,
            self.route.name,
            reason,
            error,
        )
        return DeliveryResult(
            route=self.route.name,
            delivered=False,
            attempts=attempts,
            status=last.status if last else None,
            error=error or reason,
            reason=reason,
        )
