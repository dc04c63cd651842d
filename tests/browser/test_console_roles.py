"""Roles and agency scope in Chromium: an account sees its agencies only, and is offered
only the actions its role may take."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import Feeder, Watch, shot, sign_in, sign_out
from tests.browser.console_harness import ConsoleProcess, make_alert

pytestmark = pytest.mark.browser

_POST_TRIAGE = """async ([alertId, body]) => {
  const token = document.querySelector('meta[name="csrf-token"]').getAttribute('content');
  const response = await fetch('/api/alerts/' + alertId + '/triage', {
    method: 'POST', credentials: 'same-origin',
    headers: {'Content-Type': 'application/json', 'X-CSRF-Token': token},
    body: JSON.stringify(body),
  });
  return response.status;
}"""

_GET_STATUS = """async (path) => (await fetch(path, {credentials: 'same-origin'})).status"""


def test_an_out_of_scope_alert_is_not_found(
    console: ConsoleProcess, page: Page, feeder: Feeder, watch: Watch
) -> None:
    mpd = feeder.alert(make_alert(agency="MPD", user="officer1", summary="MPD search"))
    spd = feeder.alert(make_alert(agency="SPD", user="spd-officer9", summary="SPD secret"))
    sign_in(page, console.url, username="mpd-analyst")
    rows = page.locator("#alert-rows tr[data-alert-id]")
    expect(rows.filter(has_text="officer1")).to_have_count(1)
    expect(page.locator(f'#alert-rows tr[data-alert-id="{mpd["alert_id"]}"]')).to_have_count(1)
    expect(page.locator(f'#alert-rows tr[data-alert-id="{spd["alert_id"]}"]')).to_have_count(0)

    response = page.goto(f"{console.url}/alerts/{spd['alert_id']}")
    assert response is not None and response.status == 404
    expect(page.locator("#alert-missing")).to_be_visible()
    expect(page.locator("#alert-head")).to_be_hidden()
    assert "spd-officer9" not in page.content() and "SPD secret" not in page.content()
    assert page.evaluate(_GET_STATUS, f"/api/alerts/{spd['alert_id']}") == 404
    assert page.evaluate(_POST_TRIAGE, [spd["alert_id"], {"action": "acknowledge"}]) == 404
    shot(page, "out-of-scope-alert")

    # The same alert exists for a regional account.
    page.goto(f"{console.url}/")
    sign_out(page, console.url)
    sign_in(page, console.url, username="lead")
    response = page.goto(f"{console.url}/alerts/{spd['alert_id']}")
    assert response is not None and response.status == 200
    expect(page.locator("#a-summary")).to_have_text("SPD secret")
    assert not watch.page_errors and not watch.csp_violations


def test_roles_limit_what_the_page_offers(
    console: ConsoleProcess, browser: Browser, page: Page, feeder: Feeder, watch: Watch
) -> None:
    alert = feeder.alert(make_alert(agency="MPD"))
    path = f"{console.url}/alerts/{alert['alert_id']}"

    sign_in(page, console.url, username="mpd-analyst")
    page.goto(path)
    expect(page.locator("#a-status")).to_have_text("Open")
    expect(page.locator("#t-ack")).to_be_visible()
    expect(page.locator("#t-comment")).to_be_visible()
    for hidden in ("#t-tp", "#t-fp", "#t-reopen", "#t-assign", "#t-assignee"):
        expect(page.locator(hidden)).to_be_hidden()
    # The server refuses what the page does not offer, and takes the actor from the session.
    assert (
        page.evaluate(_POST_TRIAGE, [alert["alert_id"], {"action": "resolve_true_positive"}]) == 403
    )
    body = {"action": "comment", "note": "checked the case file", "actor": "lead"}
    assert page.evaluate(_POST_TRIAGE, [alert["alert_id"], body]) == 200
    expect(page.locator("#a-history li")).to_have_count(1)
    assert page.locator("#a-history li").first.inner_text().startswith("mpd-analyst added a note")
    shot(page, "role-analyst")

    offered: list[tuple[str, list[str], list[str]]] = [
        ("auditor", [], ["#triage-panel"]),
        ("lead", ["#t-ack", "#t-tp", "#t-fp", "#t-reopen", "#t-assign"], []),
    ]
    for username, visible, hidden in offered:
        context = browser.new_context(viewport={"width": 1440, "height": 900})
        other = watch.attach(context.new_page())
        try:
            sign_in(other, console.url, username=username)
            other.goto(path)
            expect(other.locator("#a-status")).to_have_text("Open")
            expect(other.locator("#a-history li")).to_have_count(1)  # the audit trail
            for selector in visible:
                expect(other.locator(selector)).to_be_visible()
            for selector in hidden:
                expect(other.locator(selector)).to_be_hidden()
            if username == "auditor":
                assert (
                    other.evaluate(_POST_TRIAGE, [alert["alert_id"], {"action": "acknowledge"}])
                    == 403
                )
            shot(other, f"role-{username}")
        finally:
            context.close()
    assert not watch.page_errors and not watch.csp_violations
