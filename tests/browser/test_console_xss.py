"""Script in any string of an event or an alert stays text on every page of the console."""

from __future__ import annotations

import time

from playwright.sync_api import Page, expect

from tests.browser.conftest import Feeder, Watch, shot, sign_in
from tests.browser.console_harness import ConsoleProcess, iso, make_alert, make_event

ALERT_CALL = "<img src=x onerror=alert(1)>"
FLAG_IMG = '<img src=x onerror="window.__xss=1">'
FLAG_SVG = '"><svg onload=window.__xss=2>'
FLAG_SCRIPT = "<script>window.__xss=3</script>"
FLAG_URL = "javascript:window.__xss=4"
DETECTOR = "<script>alert(3)</script>"
SUMMARY = f"{FLAG_IMG} {FLAG_SCRIPT}"


def _assert_inert(page: Page, watch: Watch) -> None:
    """No dialog, no flag, no element the payloads would have created, no inline script."""
    assert watch.dialogs == []
    assert watch.page_errors == []
    assert watch.csp_violations == []
    assert page.evaluate("window.__xss") is None
    assert page.locator("img").count() == 0  # the console itself uses no <img>
    assert page.locator("[onload], [onerror]").count() == 0
    scripts = page.evaluate("Array.from(document.scripts).map(s => s.getAttribute('src'))")
    assert scripts and all(src and src.startswith("/static/") for src in scripts)


def test_xss_payloads_in_every_field_stay_inert(
    console: ConsoleProcess, page: Page, feeder: Feeder, watch: Watch
) -> None:
    now = time.time()
    agency, user = ALERT_CALL, FLAG_SVG
    event = feeder.event(
        make_event(
            event_id=FLAG_IMG,
            ts=iso(now - 300),
            agency=agency,
            user=user,
            endpoint=f"https://evil.example/{FLAG_IMG}",
            on_behalf_of=FLAG_SCRIPT,
            case_number=ALERT_CALL,
            purpose=FLAG_SVG,
            source=FLAG_SCRIPT,
        )
    )
    alert = feeder.alert(
        make_alert(
            alert_id=ALERT_CALL,
            detector=DETECTOR,
            severity="critical",
            agency=agency,
            user=user,
            first_seen=iso(now - 300),
            last_seen=iso(now - 240),
            event_count=2,
            event_ids=[event["event_id"], FLAG_URL],
            summary=SUMMARY,
            details={
                "endpoint": event["endpoint"],
                ALERT_CALL: FLAG_SCRIPT,  # a hostile key as well as a hostile value
                "reasons": [FLAG_SVG, FLAG_URL],
                "nested": {"html": ALERT_CALL},
            },
        )
    )

    sign_in(page, console.url)
    row = page.locator("#alert-rows tr").first
    expect(row.locator(".cell-summary")).to_have_text(SUMMARY)
    expect(row.locator(".cell-agency")).to_have_text(agency)
    expect(row.locator(".cell-user")).to_have_text(user)
    expect(row.locator(".tag")).to_have_text(DETECTOR)
    expect(page.locator("#agency-list option")).to_have_count(1)
    assert page.locator("#agency-list option").get_attribute("value") == agency
    _assert_inert(page, watch)
    shot(page, "xss-feed")

    # the alert page: header, details (keys and values), evidence, recent activity
    row.locator(".summary-link").click()
    expect(page.locator("#a-summary")).to_have_text(SUMMARY)
    expect(page.locator("#a-agency")).to_have_text(agency)
    expect(page.locator("#a-user")).to_have_text(user)
    expect(page.locator("#a-detector")).to_have_text(DETECTOR)
    expect(page.locator("#a-id")).to_have_text(alert["alert_id"])
    expect(page.locator("#crumb-id")).to_have_text(alert["alert_id"])
    details = page.locator("#a-details")
    expect(details.locator("th", has_text=ALERT_CALL)).to_have_count(1)
    expect(details).to_contain_text(FLAG_SCRIPT)
    expect(details).to_contain_text(f"https://evil.example/{FLAG_IMG}")
    expect(details.locator("li")).to_have_text([FLAG_SVG, FLAG_URL])
    expect(details).to_contain_text('{"html":"<img src=x onerror=alert(1)>"}')
    expect(page.locator("#a-explain")).to_contain_text("2 event(s)")
    expect(page.locator("#a-evidence li")).to_have_text([FLAG_IMG, FLAG_URL])
    activity = page.locator("#a-activity tbody tr")
    expect(activity).to_have_count(1)
    cells = activity.first.locator("td")
    expect(cells.nth(1)).to_have_text(FLAG_IMG)
    expect(cells.nth(2)).to_have_text(f"https://evil.example/{FLAG_IMG}")
    expect(cells.nth(3)).to_have_text(FLAG_SCRIPT)
    expect(cells.nth(4)).to_have_text(ALERT_CALL)
    expect(cells.nth(5)).to_have_text(FLAG_SVG)
    expect(cells.nth(7)).to_have_text(FLAG_SCRIPT)

    # an analyst's note is shown as text too
    page.fill("#t-note", FLAG_IMG)
    page.click("#t-comment")
    expect(page.locator("#t-msg")).to_have_text("Saved.")
    expect(page.locator("#a-history .history-note")).to_have_text(FLAG_IMG)
    page.wait_for_timeout(300)  # give any injected handler its chance to run
    _assert_inert(page, watch)
    shot(page, "xss-alert")

    # analytics: agency and user names in legends and bar labels
    page.click("nav.mainnav a[href='/analytics']")
    expect(page.locator("#chart-searches .legend")).to_contain_text(f"{agency} (1)")
    expect(page.locator("#chart-alerts .legend")).to_contain_text(f"{agency} (1)")
    label = page.locator("#chart-users text.bar-label").first
    expect(label).to_contain_text(f"{agency} / ")
    page.wait_for_timeout(300)
    _assert_inert(page, watch)
    shot(page, "xss-analytics")
