"""The alert feed in Chromium says when the worker's behaviour detection is warming up."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from streams.health import Health, serve
from tests.browser.conftest import Watch, shot, sign_in
from tests.browser.console_harness import ConsoleProcess

pytestmark = pytest.mark.browser

DETAIL = "none yet: behaviour detection warming up <b>no model</b>"


def test_the_feed_says_behaviour_detection_is_warming_up(
    console_factory: Callable[[], ConsoleProcess],
    page: Page,
    watch: Watch,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    health = Health(ready=True, status={"behavior": {"state": "warmup", "detail": DETAIL}})
    worker = serve("127.0.0.1", 0, health)  # what a worker without a model serves
    try:
        monkeypatch.setenv("FRTWATCH_WORKER_STATUS_URL", f"{worker.url}/status")
        console = console_factory()
        sign_in(page, console.url)
        expect(page.locator("#behavior-warmup")).to_be_visible()
        expect(page.locator("#behavior-warmup")).to_contain_text("warming up")
        expect(page.locator("#behavior-detail")).to_have_text(DETAIL)  # text, not markup
        shot(page, "behaviour-warming-up")

        # Once the worker scores with a model the notice is gone (after the console's
        # 10 s memory of the answer).
        health.status["behavior"] = {"state": "scoring", "detail": "behavior.skops"}
        page.wait_for_timeout(10_500)
        page.reload()
        expect(page.locator("#alert-rows")).to_be_attached()
        expect(page.locator("#behavior-warmup")).to_be_hidden()
        assert not watch.page_errors and not watch.csp_violations and not watch.dialogs
    finally:
        worker.close()


def test_without_the_workers_status_the_feed_shows_no_notice(
    console_factory: Callable[[], ConsoleProcess],
    page: Page,
    watch: Watch,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("FRTWATCH_WORKER_STATUS_URL", raising=False)
    console = console_factory()
    sign_in(page, console.url)
    expect(page.locator("#alert-rows")).to_be_attached()
    page.wait_for_load_state("networkidle")
    expect(page.locator("#behavior-warmup")).to_be_hidden()
    assert not watch.page_errors and not watch.csp_violations
