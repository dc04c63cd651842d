"""The live feed: an alert produced to Kafka shows up within 2 s, and the filters work."""

from __future__ import annotations

import datetime as dt
import time

from playwright.sync_api import Page, expect

from streams.console.risk import user_risks
from tests.browser.conftest import Feeder, Watch, shot, sign_in
from tests.browser.console_harness import ConsoleProcess, iso, make_alert, make_event


def _local(epoch: float) -> str:
    """A ``datetime-local`` input value in UTC, as the feed's time filter expects."""
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")


def _rows(page: Page) -> set[str]:
    return set(
        page.locator("#alert-rows tr").evaluate_all("rows => rows.map(r => r.dataset.alertId)")
    )


def _expect_rows(page: Page, expected: set[str]) -> None:
    expect(page.locator("#alert-rows tr")).to_have_count(len(expected))
    assert _rows(page) == expected


def _apply(page: Page, **values: str) -> None:
    for name, value in values.items():
        field = page.locator(f"#f-{name}")
        if field.evaluate("e => e.tagName") == "SELECT":
            field.select_option(value)
        else:
            field.fill(value)
    page.click("#f-apply")


def test_live_alert_appears_within_two_seconds_and_filters_work(
    console: ConsoleProcess, page: Page, feeder: Feeder, watch: Watch
) -> None:
    sign_in(page, console.url)
    expect(page.locator("#alert-empty")).to_be_visible()

    # a live alert, produced with kafka-python, appears without a reload
    live = make_alert(severity="critical", agency="MPD", user="officer1")
    started = time.monotonic()
    feeder.alert(live)
    page.wait_for_selector(f'#alert-rows tr[data-alert-id="{live["alert_id"]}"]', timeout=2000)
    elapsed = time.monotonic() - started
    assert elapsed < 2.0, f"alert took {elapsed:.2f}s to appear"
    row = page.locator(f'#alert-rows tr[data-alert-id="{live["alert_id"]}"]')
    expect(row).to_contain_text("officer1 searched a prohibited commercial FRT service")
    expect(row.locator(".badge").first).to_have_text("critical")

    # an update of the same alert (same id, more evidence) changes the row, not the row count;
    # an older version arriving late does not roll it back
    now = time.time()
    feeder.alert(
        {
            **live,
            "event_count": 3,
            "event_ids": ["ev-1", "ev-2", "ev-3"],
            "last_seen": iso(now - 30),
        }
    )
    expect(row.locator("td.num")).to_have_text("3")
    feeder.alert({**live, "event_count": 2})

    others = {
        "burst": make_alert(severity="high", detector="burst", agency="CSO", user="deputy7",
                            summary="deputy7 ran 42 searches in 10 minutes (baseline 3)",
                            first_seen=iso(now - 4 * 3600), last_seen=iso(now - 3 * 3600)),
        "case": make_alert(severity="medium", detector="missing_case_number", agency="MPD",
                           summary="jsmith searched without a case number",
                           user="jsmith", first_seen=iso(now - 1900), last_seen=iso(now - 1800)),
        "cert": make_alert(severity="low", detector="uncertified_user", agency="TPD",
                           summary="officer9's FRT training certificate expired on 2026-01-31",
                           user="officer9", first_seen=iso(now - 700), last_seen=iso(now - 600)),
        "unknown": make_alert(severity="high", detector="unknown_endpoint", agency="SPD",
                              summary="trooper2 searched faces.unlisted-vendor.example, not an approved system",
                              user="trooper2", first_seen=iso(now - 2 * 86400),
                              last_seen=iso(now - 2 * 86400 + 60)),
    }  # fmt: skip
    for alert in others.values():
        feeder.alert(alert)
    ids = {name: a["alert_id"] for name, a in others.items()} | {"live": live["alert_id"]}
    _expect_rows(page, set(ids.values()))
    expect(row.locator("td.num")).to_have_text("3")
    expect(page.locator("#k-critical")).to_have_text("1")
    expect(page.locator("#k-high")).to_have_text("2")
    shot(page, "feed")

    # filters: severity, agency, detector, user, time; each combination narrows the list
    _apply(page, severity="high")
    _expect_rows(page, {ids["burst"], ids["unknown"]})
    assert "severity=high" in page.url
    _apply(page, agency="CSO")
    _expect_rows(page, {ids["burst"]})
    page.click("#f-reset")
    _expect_rows(page, set(ids.values()))
    _apply(page, detector="missing_case_number")
    _expect_rows(page, {ids["case"]})
    page.click("#f-reset")
    _apply(page, user="officer")
    _expect_rows(page, {ids["live"], ids["cert"]})
    page.click("#f-reset")
    _apply(page, since=_local(now - 3600))
    _expect_rows(page, {ids["live"], ids["case"], ids["cert"]})
    _apply(page, since="", until=_local(now - 2 * 3600))
    _expect_rows(page, {ids["burst"], ids["unknown"]})
    page.click("#f-reset")

    # a filtered feed still updates live, with only what matches
    _apply(page, severity="critical")
    _expect_rows(page, {ids["live"]})
    quiet = feeder.alert(make_alert(severity="low", user="quiet1", summary="quiet1 low-severity"))
    loud = feeder.alert(
        make_alert(severity="critical", user="loud1", summary="loud1 searched again")
    )
    page.wait_for_selector(f'#alert-rows tr[data-alert-id="{loud["alert_id"]}"]', timeout=2000)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:  # the low one has reached the console too …
        known = page.request.get(f"{console.url}/api/alerts?alert_id={quiet['alert_id']}").json()
        if known["total"]:
            break
        time.sleep(0.1)
    assert known["total"] == 1
    assert quiet["alert_id"] not in _rows(page)  # … but is not shown in a critical-only feed
    shot(page, "feed-filtered")

    # a reload keeps the filter (it lives in the URL)
    page.reload()
    expect(page.locator("#f-severity")).to_have_value("critical")
    _expect_rows(page, {ids["live"], loud["alert_id"]})
    assert not watch.dialogs and not watch.page_errors and not watch.csp_violations


def test_alert_page_and_analytics(
    console: ConsoleProcess, page: Page, feeder: Feeder, watch: Watch
) -> None:
    now = time.time()
    searches = []
    for i, (agency, user) in enumerate(
        [("MPD", "officer1")] * 6 + [("CSO", "deputy7")] * 3 + [("TPD", "officer9")] * 2
    ):
        searches.append(
            feeder.event(
                make_event(event_id=f"ev-{i}", agency=agency, user=user, ts=iso(now - 3000 + i * 240),
                           endpoint="https://app.clearview.ai/search" if i == 4 else
                           "https://frt.county.example.gov/search")
            )
        )  # fmt: skip
    anomaly = feeder.alert(
        make_alert(
            detector="behavior_anomaly",
            severity="medium",
            event_count=2,
            event_ids=["ev-4", "ev-5"],
            first_seen=iso(now - 3000 + 4 * 240),
            last_seen=iso(now - 3000 + 5 * 240),
            summary="officer1's searching is unusual for them and their peers",
            details={"score": 0.7312, "threshold": 0.6, "reasons": ["14x usual rate", "new host"]},
        )
    )
    deputy = feeder.alert(make_alert(agency="CSO", user="deputy7", last_seen=iso(now - 1500)))
    officer = feeder.alert(make_alert(agency="MPD", user="officer1", last_seen=iso(now - 1200)))

    sign_in(page, console.url)
    expect(page.locator("#alert-rows tr")).to_have_count(3)
    page.click(f'#alert-rows tr[data-alert-id="{anomaly["alert_id"]}"] a.summary-link')
    expect(page.locator("#a-summary")).to_have_text(anomaly["summary"])
    expect(page.locator("#a-explain")).to_contain_text(
        "Model score 0.7312 against a threshold of 0.6"
    )
    expect(page.locator("#a-explain")).to_contain_text("Reasons: 14x usual rate; new host.")
    details = page.locator("#a-details")
    expect(details).to_contain_text("score")
    expect(details).to_contain_text("14x usual rate")
    expect(page.locator("#a-evidence li")).to_have_text(["ev-4", "ev-5"])
    # the user's recent activity, with the evidence highlighted
    activity = page.locator("#a-activity tbody tr")
    expect(activity).to_have_count(6)
    expect(page.locator("#a-activity tbody tr.evidence-row")).to_have_count(2)
    expect(activity.first).to_contain_text("ev-5")
    shot(page, "alert")

    page.click("nav.mainnav a[href='/analytics']")
    page.click("[data-range='1h']")
    expect(page.locator("#s-searches")).to_have_text(str(len(searches)))
    expect(page.locator("#chart-searches svg rect")).not_to_have_count(0)
    expect(page.locator("#chart-searches .legend")).to_contain_text("MPD (6)")
    expect(page.locator("#chart-alerts .legend")).to_contain_text("CSO (1)")
    top = page.locator("#chart-users text.bar-label")
    expect(top.first).to_have_text("MPD / officer1")
    # Ranked by risk (docs/CONSOLE.md): officer1's critical and medium alerts outweigh
    # deputy7's one critical; the bar shows the figure.
    risk = user_risks([anomaly, deputy, officer])[("MPD", "officer1")]
    assert risk > user_risks([anomaly, deputy, officer])[("CSO", "deputy7")]
    expect(page.locator("#chart-users text.bar-value").first).to_have_text(f"{risk:g}")
    shot(page, "analytics")
    assert not watch.dialogs and not watch.page_errors and not watch.csp_violations
