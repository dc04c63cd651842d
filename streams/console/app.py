"""The console's aiohttp application: routes, security hooks, and its Kafka readers.

``create_app(console)`` gives the web application with the Kafka readers and
the triage writer started and stopped with it. ``create_app(console,
with_kafka=False)`` gives the same application over stores that a test fills
directly (triage writes then answer 503).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from pathlib import Path
from typing import Any

from aiohttp import web

from streams.console import api, pages
from streams.console.certificates import with_topic
from streams.console.exception_writer import ExceptionWriter
from streams.console.readers import AlertReader, EventReader
from streams.console.security import (
    SESSION_COOKIE,
    add_security_headers,
    counts_as_activity,
    make_gate,
)
from streams.console.sessions import Session
from streams.console.state import CONSOLE_KEY, Console
from streams.console.topics import ensure_topics
from streams.console.triage_log import TriageLog

log = logging.getLogger("frtwatch.console")

STATIC_DIR = Path(__file__).resolve().parent / "static"


def _session_of(request: web.Request) -> Session | None:
    return request.app[CONSOLE_KEY].sessions.get(
        request.cookies.get(SESSION_COOKIE), touch=counts_as_activity(request)
    )


async def supervise(
    name: str, run: Callable[[], Coroutine[Any, Any, None]], first_delay: float = 1.0
) -> None:
    """Run a reader for the life of the app; after a crash, log it and start it again.

    Restarting is safe: alerts are upserts, triage actions are deduplicated by
    id, and the event reader resumes where it stopped.
    """
    delay = first_delay
    while True:
        try:
            await run()
            return
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("the %s reader stopped; restarting in %.0f s", name, delay)
        await asyncio.sleep(delay)
        delay = min(max(delay * 2, first_delay), 30.0)


async def _kafka(app: web.Application) -> AsyncIterator[None]:
    """``cleanup_ctx``: topics, readers and the triage writer around the app's life."""
    console = app[CONSOLE_KEY]
    config = console.config
    await ensure_topics(config)
    alerts = AlertReader(
        config.bootstrap,
        config.topics.alerts,
        config.group_id,
        console.alerts,
        console.alert_changed,
    )
    events = EventReader(
        config.bootstrap, config.topics.events, console.activity, config.activity_lookback_s
    )
    triage_log = TriageLog(
        config.bootstrap,
        config.history_topic,
        config.topics.triage,
        console.book,
        console.triage_changed,
    )
    await triage_log.start_producer()
    console.triage_log = triage_log
    exception_writer = ExceptionWriter(config.bootstrap, config.topics.exceptions)
    await exception_writer.start()
    console.exception_writer = exception_writer
    console.readiness.update(alerts=alerts.ready, events=events.ready, triage=triage_log.ready)
    tasks = [
        asyncio.create_task(_certificates(console)),
        asyncio.create_task(supervise("alert", alerts.run)),
        asyncio.create_task(supervise("event", events.run)),
        asyncio.create_task(supervise("triage", triage_log.run)),
    ]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await triage_log.stop_producer()
        console.triage_log = None
        await exception_writer.stop()
        console.exception_writer = None


async def _certificates(console: Console) -> None:
    """The certifications topic on top of the CSV, for the user pages (a one-off read)."""
    source = console.config.certificates
    if source is None:
        return
    registry = await with_topic(source, console.config.bootstrap)
    if registry is not None:
        console.certificates = registry


async def _close_streams(app: web.Application) -> None:
    app[CONSOLE_KEY].hub.close()


def create_app(console: Console, *, with_kafka: bool = True) -> web.Application:
    app = web.Application(
        middlewares=[make_gate(_session_of, console.config.external_url)],
        client_max_size=64 * 1024,
    )
    app[CONSOLE_KEY] = console
    app.on_response_prepare.append(add_security_headers)
    app.on_shutdown.append(_close_streams)
    if with_kafka:
        app.cleanup_ctx.append(_kafka)
    app.router.add_get("/login", pages.login_form)
    app.router.add_post("/login", pages.login_submit)
    app.router.add_post("/logout", pages.logout)
    app.router.add_get("/healthz", pages.healthz)
    app.router.add_get("/", pages.feed_page)
    app.router.add_get("/alerts/{alert_id}", pages.alert_page)
    app.router.add_get("/analytics", pages.analytics_page)
    app.router.add_get("/user", pages.user_page)
    app.router.add_get("/api/alerts", api.list_alerts)
    app.router.add_get("/api/alerts/{alert_id}", api.get_alert)
    app.router.add_post("/api/alerts/{alert_id}/triage", api.triage)
    app.router.add_post("/api/alerts/{alert_id}/exception", api.create_exception)
    app.router.add_get("/api/user", api.get_user)
    app.router.add_get("/api/stats", api.stats)
    app.router.add_get("/api/meta", api.meta)
    app.router.add_get("/api/stream", api.stream)
    app.router.add_static("/static/", STATIC_DIR, show_index=False, follow_symlinks=False)
    return app
