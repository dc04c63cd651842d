"""Fixtures for console tests in Debian's Chromium, driven by Playwright.

Playwright's own browser download cannot work here, so it launches the
system ``/usr/bin/chromium``. Each test gets its own topics, its own console
process, a fresh browser context, and traps that record any script an event
field might smuggle in (dialogs, ``window.__xss``, CSP violations).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pytest
from kafka import KafkaProducer
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from streams.settings import TopicNames
from tests.browser.console_harness import (
    ARTIFACTS,
    PASSWORD,
    ConsoleProcess,
    write_users_file,
)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Runs before any page script: a flag an injected handler would set, and a log
# of dialogs. Event fields in the tests try to set or open these.
XSS_TRAP = "window.__xss = undefined;"


# Package scope, not session: Playwright's sync API keeps an event loop running in
# the main thread while it is open, which would break every asyncio test after these.
@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@dataclass
class Watch:
    """What happened in the browser that should not have."""

    dialogs: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    csp_violations: list[str] = field(default_factory=list)

    def attach(self, page: Page) -> Page:
        def on_dialog(dialog: Any) -> None:
            self.dialogs.append(f"{dialog.type}: {dialog.message}")
            dialog.dismiss()

        page.on("dialog", on_dialog)
        page.on("pageerror", lambda error: self.page_errors.append(str(error)))
        page.on(
            "console",
            lambda msg: (
                self.csp_violations.append(msg.text)
                if "Content Security Policy" in msg.text
                else None
            ),
        )
        return page


@pytest.fixture
def watch() -> Watch:
    return Watch()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    ctx = browser.new_context(viewport={"width": 1440, "height": 900}, locale="en-GB")
    ctx.add_init_script(XSS_TRAP)
    ctx.set_default_timeout(10_000)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context: BrowserContext, watch: Watch) -> Page:
    return watch.attach(context.new_page())


@pytest.fixture
def users_file(tmp_path: Path) -> Path:
    return write_users_file(tmp_path / "console-users.yaml")


@pytest.fixture
def console_factory(
    kafka_bootstrap: str,
    topic_names: TopicNames,
    users_file: Path,
    create_topics: Callable[..., None],
    request: pytest.FixtureRequest,
) -> Iterator[Callable[[], ConsoleProcess]]:
    """Start consoles on this test's topics (the pipeline's topics created first)."""
    create_topics([topic_names.alerts, topic_names.events], partitions=4)
    started: list[ConsoleProcess] = []

    def start() -> ConsoleProcess:
        log_path = ARTIFACTS / f"{request.node.name}-{len(started)}.log"
        log_path.unlink(missing_ok=True)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        console = ConsoleProcess(kafka_bootstrap, topic_names, users_file, log_path)
        started.append(console)
        console.start()
        return console

    yield start
    for console in started:
        console.stop()


@pytest.fixture
def console(console_factory: Callable[[], ConsoleProcess]) -> ConsoleProcess:
    return console_factory()


class Feeder:
    """Produces alerts and events to the test's topics with kafka-python."""

    def __init__(self, bootstrap: str, topics: TopicNames) -> None:
        self.topics = topics
        self.producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=0)

    def alert(self, alert: dict[str, Any]) -> dict[str, Any]:
        key = str(alert["alert_id"]).encode()
        self.producer.send(self.topics.alerts, key=key, value=orjson.dumps(alert)).get(timeout=10)
        return alert

    def event(self, event: dict[str, Any]) -> dict[str, Any]:
        key = f"{event['agency']}/{event['user']}".encode()
        self.producer.send(self.topics.events, key=key, value=orjson.dumps(event)).get(timeout=10)
        return event

    def close(self) -> None:
        self.producer.close(timeout=5)


@pytest.fixture
def feeder(kafka_bootstrap: str, topic_names: TopicNames) -> Iterator[Feeder]:
    feeder = Feeder(kafka_bootstrap, topic_names)
    yield feeder
    feeder.close()


def sign_in(page: Page, base_url: str, username: str = "analyst", password: str = PASSWORD) -> None:
    """Sign in through the login form and land on the feed with its live stream open."""
    page.goto(f"{base_url}/")
    expect(page).to_have_url(f"{base_url}/login?next=/")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{base_url}/")
    expect(page.locator("#live-status")).to_have_class("live live-on")


def sign_out(page: Page, base_url: str) -> None:
    """Sign out through the header's form and wait until the login page has loaded."""
    page.click("form.logout button")
    expect(page).to_have_url(f"{base_url}/login?error=signed_out")
    page.wait_for_load_state()


def shot(page: Page, name: str) -> Path:
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
