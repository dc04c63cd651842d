"""The user page in Chromium: every alert of the user, the timeline with the evidence
marked, the certificate from the certifications topic, the risk, and the agency scope.

The user's name holds a '/' (its certificate's key is escaped: ``MPD/unit%2F7``) and one
search's endpoint is a script payload, shown as text.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import urlencode

import orjson
from playwright.sync_api import Page, expect

from streams.console.risk import user_risks
from streams.contract.keys import user_key
from streams.settings import TopicNames
from tests.browser.conftest import Feeder, Watch, shot, sign_in, sign_out
from tests.browser.console_harness import ConsoleProcess, iso, make_alert, make_event

AGENCY, USER = "MPD", "unit/7"
PAYLOAD = '"><img src=x onerror="window.__xss=1">'


def _user_path(agency: str, user: str) -> str:
    return "/user?" + urlencode({"agency": agency, "user": user})


def _wait_for_certificate(page: Page, url: str, state: str, timeout: float = 20.0) -> None:
    """The console applies the certifications topic in the background after start."""
    deadline = time.monotonic() + timeout
    while True:
        data = page.request.get(f"{url}/api{_user_path(AGENCY, USER)}").json()
        if data.get("certificate", {}).get("state") == state:
            return
        assert time.monotonic() < deadline, data.get("certificate")
        time.sleep(0.2)


def test_user_page_shows_alerts_timeline_certificate_and_respects_scope(
    console_factory: Callable[[], ConsoleProcess],
    create_topics: Callable[..., None],
    topic_names: TopicNames,
    page: Page,
    feeder: Feeder,
    watch: Watch,
) -> None:
    # An expired certificate on the certifications topic, under the escaped key.
    create_topics([topic_names.certifications], partitions=1, compact=True)
    cert = {"certified_on": "2024-01-01", "expires_on": "2025-12-31"}
    feeder.producer.send(topic_names.certifications, key=user_key(AGENCY, USER).encode(),
                         value=orjson.dumps(cert)).get(timeout=10)  # fmt: skip
    now = time.time()
    searches = [
        feeder.event(
            make_event(event_id=f"u7-{i}", agency=AGENCY, user=USER, ts=iso(now - 3000 + i * 300),
                       endpoint=PAYLOAD if i == 1 else "https://frt.county.example.gov/search")
        )
        for i in range(6)
    ]  # fmt: skip
    prohibited = feeder.alert(
        make_alert(agency=AGENCY, user=USER, severity="critical", event_count=2,
                   event_ids=["u7-3", "u7-4"], first_seen=searches[3]["ts"],
                   last_seen=searches[4]["ts"], summary="unit/7 searched a prohibited service")
    )  # fmt: skip
    uncertified = feeder.alert(
        make_alert(agency=AGENCY, user=USER, detector="uncertified_user", severity="medium",
                   event_count=2, event_ids=["u7-0", "u7-1"], first_seen=searches[0]["ts"],
                   last_seen=searches[1]["ts"], summary="unit/7 searched without a certificate",
                   details={"reason": "expired", "expires_on": "2025-12-31"})
    )  # fmt: skip
    colleague = feeder.alert(make_alert(agency=AGENCY, user="officer2", severity="low",
                                        last_seen=iso(now - 100)))  # fmt: skip
    elsewhere = feeder.alert(make_alert(agency="SPD", user="spd-9", severity="high"))
    console = console_factory()

    sign_in(page, console.url, "analyst")
    _wait_for_certificate(page, console.url, "expired")
    # The feed ordered by user risk: unit/7's two alerts come before officer2's.
    page.select_option("#f-order", "risk")
    page.click("#f-apply")
    rows = page.locator("#alert-rows tr")
    expect(rows).to_have_count(4)
    expect(rows.first.locator("td.cell-risk")).not_to_have_text("")
    users = [rows.nth(i).locator("td.cell-user").inner_text() for i in range(4)]
    assert users[:2] == [USER, USER] and users[3] == "officer2", users
    # An alert arriving live gets its user's risk too (the list is fetched again).
    late = feeder.alert(make_alert(agency=AGENCY, user="late1", severity="critical",
                                   last_seen=iso(time.time() - 30)))  # fmt: skip
    held = [prohibited, uncertified, colleague, elsewhere, late]
    late_row = page.locator(f'#alert-rows tr[data-alert-id="{late["alert_id"]}"]')
    expect(late_row.locator("td.cell-risk")).to_have_text(
        f"{user_risks(held)[(AGENCY, 'late1')]:g}"
    )
    expect(rows).to_have_count(5)
    assert rows.first.locator("td.cell-user").inner_text() == USER

    # From a row's user name to the user page.
    rows.first.locator("a.user-link").click()
    expect(page).to_have_url(f"{console.url}{_user_path(AGENCY, USER)}")
    expect(page.locator("#u-user")).to_have_text(USER)
    expect(page.locator("#u-agency")).to_have_text(AGENCY)
    alerts = page.locator("#u-alerts tbody tr")
    expect(alerts).to_have_count(2)
    expect(alerts.nth(0)).to_have_attribute("data-alert-id", prohibited["alert_id"])
    expect(alerts.nth(1)).to_have_attribute("data-alert-id", uncertified["alert_id"])
    expect(page.locator("#u-detectors")).to_have_text("prohibited endpoint 1, uncertified user 1")
    risk = user_risks(held)[(AGENCY, USER)]
    expect(page.locator("#u-risk")).to_have_text(f"{risk:g}")

    # The timeline: every search, oldest first, the four evidence searches marked.
    timeline = page.locator("#u-timeline tbody tr")
    expect(timeline).to_have_count(6)
    expect(timeline.first).to_contain_text("u7-0")
    expect(page.locator("#u-timeline tbody tr.evidence-row")).to_have_count(4)
    expect(page.locator("#u-strip circle")).to_have_count(6)
    expect(page.locator("#u-strip circle.strip-evidence")).to_have_count(4)
    expect(timeline.nth(1).locator("td.cell-endpoint")).to_have_text(PAYLOAD)  # text, inert

    # The certificate, from the topic record under the escaped key.
    expect(page.locator("#u-cert-state")).to_have_text("Expired")
    expect(page.locator("#u-cert-note")).to_contain_text("expired on 2025-12-31")
    shot(page, "user")

    # An alert page links back to its user.
    alerts.nth(0).locator("a.summary-link").click()
    expect(page.locator("#a-user-link")).to_have_text(USER)
    page.click("#a-user-link")
    expect(page.locator("#u-alerts tbody tr")).to_have_count(2)

    # mpd-analyst sees MPD only: SPD's user does not exist for it, exactly like a user
    # nobody knows.
    sign_out(page, console.url)
    sign_in(page, console.url, "mpd-analyst")
    for agency, user in (("SPD", "spd-9"), ("MPD", "nobody")):
        response = page.goto(f"{console.url}{_user_path(agency, user)}")
        assert response is not None and response.status == 404
        expect(page.locator("#user-missing")).to_be_visible()
        expect(page.locator("#user-head")).to_be_hidden()
    assert page.request.get(f"{console.url}/api{_user_path('SPD', 'spd-9')}").status == 404
    page.goto(f"{console.url}{_user_path(AGENCY, USER)}")
    expect(page.locator("#u-alerts tbody tr")).to_have_count(2)
    assert page.evaluate("window.__xss") is None
    assert not watch.dialogs and not watch.page_errors and not watch.csp_violations
