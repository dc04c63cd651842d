"""Exceptions from the console in Chromium: a lead resolving a false positive is offered
one, makes it (reason and expiry required), it lands on the exceptions topic, and the
engine reading that topic raises no new alert for its scope; an analyst cannot make one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pytest
from playwright.sync_api import Browser, Page, expect

from streams.contract.alert import format_ts
from streams.contract.event import event_from_dict, parse_timestamp
from streams.detectors import Engine
from streams.exceptions.records import ExceptionRecords
from streams.judge.batch import BatchItem, Judge, ObjectStates
from streams.policy import CertificateRegistry, load_policy
from streams.replay.exceptions import apply_exceptions_topic
from streams.settings import DEFAULT_POLICY, TopicNames
from tests.browser.conftest import Feeder, Watch, shot, sign_in
from tests.browser.console_harness import ConsoleProcess, make_alert

pytestmark = pytest.mark.browser

_POST_EXCEPTION = """async ([alertId, body]) => {
  const token = document.querySelector('meta[name="csrf-token"]').getAttribute('content');
  const response = await fetch('/api/alerts/' + alertId + '/exception', {
    method: 'POST', credentials: 'same-origin',
    headers: {'Content-Type': 'application/json', 'X-CSRF-Token': token},
    body: JSON.stringify(body),
  });
  return response.status;
}"""


def _search(user: str, ts: float) -> BatchItem[None]:
    event = event_from_dict({
        "event_id": f"{user}-{ts}", "ts": format_ts(ts), "agency": "MPD", "user": user,
        "endpoint": "https://app.clearview.ai/search", "case_number": "MPD-2026-000001",
        "purpose": "investigation", "result_count": 1, "source": "audit-log",
    })  # fmt: skip
    return BatchItem(event, None)


def test_a_lead_makes_an_exception_that_stops_new_alerts_for_its_scope(
    console: ConsoleProcess,
    browser: Browser,
    page: Page,
    feeder: Feeder,
    watch: Watch,
    kafka_bootstrap: str,
    topic_names: TopicNames,
) -> None:
    alert = feeder.alert(make_alert(agency="MPD", user="officer1"))
    path = f"{console.url}/alerts/{alert['alert_id']}"
    until = (datetime.now(UTC) + timedelta(days=30)).date().isoformat()

    sign_in(page, console.url, username="lead")
    page.goto(path)
    expect(page.locator("#a-status")).to_have_text("Open")
    expect(page.locator("#exception-panel")).to_be_visible()
    expect(page.locator("#x-offer")).to_be_hidden()
    page.fill("#t-note", "Authorised vendor evaluation under MOU 2026-14.")
    page.click("#t-fp")
    expect(page.locator("#t-msg")).to_have_text("Saved.")
    expect(page.locator("#x-offer")).to_be_visible()  # resolving as false positive offers one

    page.click("#x-create")  # the browser refuses an empty form: nothing is sent
    expect(page.locator("#x-msg")).to_have_text("")
    page.fill("#x-until", until)
    page.fill("#x-reason", "vendor evaluation under MOU 2026-14")
    page.click("#x-create")
    expect(page.locator("#x-msg")).to_contain_text("Exception exc-")
    shot(page, "exception-made")
    made = page.locator("#x-msg").inner_text().split()[1]

    records = ExceptionRecords()
    load = apply_exceptions_topic(records, kafka_bootstrap, topic_names.exceptions)
    assert load.found and load.rejected == 0
    (record,) = records.exceptions()
    assert record.id == made
    assert (record.scope, record.agency, record.user, record.detector, record.subject) == (
        "user", "MPD", "officer1", "prohibited_endpoint", "app.clearview.ai",
    )  # fmt: skip
    assert record.author == "lead" and record.reason == "vendor evaluation under MOU 2026-14"
    assert record.valid_from == parse_timestamp(alert["first_seen"])

    # The engine with the topic's exceptions: officer1's next search of the host raises
    # only a silenced alert that names the exception; a colleague's raises an alert.
    engine = Engine(load_policy(DEFAULT_POLICY), CertificateRegistry(),
                    exceptions=records.exceptions())  # fmt: skip
    ts = parse_timestamp(alert["last_seen"]) + 60
    result = Judge(engine).run([_search("officer1", ts), _search("officer2", ts)], ObjectStates())
    prohibited = {a.user for a in result.alerts
                  if a.detector == "prohibited_endpoint" and not a.silenced}  # fmt: skip
    assert prohibited == {"officer2"} and result.excepted == 1
    (quiet,) = [a for a in result.alerts if a.silenced]
    assert (quiet.user, quiet.exception_id) == ("officer1", made)

    # In the feed the silenced alert is hidden unless the Silenced filter asks for it.
    heard = next(a for a in result.alerts if not a.silenced)
    feeder.alert(heard.to_dict())
    feeder.alert(quiet.to_dict())
    page.goto(console.url + "/")
    page.wait_for_selector(f'#alert-rows tr[data-alert-id="{heard.alert_id}"]')
    expect(page.locator(f'#alert-rows tr[data-alert-id="{quiet.alert_id}"]')).to_have_count(0)
    page.select_option("#f-silenced", "only")
    page.click("#f-apply")
    row = page.locator(f'#alert-rows tr[data-alert-id="{quiet.alert_id}"]')
    expect(row).to_have_count(1)
    expect(row.locator(".tag-silenced")).to_have_text("silenced")
    expect(page.locator(f'#alert-rows tr[data-alert-id="{heard.alert_id}"]')).to_have_count(0)
    shot(page, "exception-silenced-filter")

    # An analyst is not offered the form, and the server refuses them.
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    other = watch.attach(context.new_page())
    try:
        sign_in(other, console.url, username="analyst")
        other.goto(path)
        expect(other.locator("#a-summary")).to_be_visible()
        expect(other.locator("#exception-panel")).to_be_hidden()
        body = {"until": until, "reason": "not mine to say"}
        assert other.evaluate(_POST_EXCEPTION, [alert["alert_id"], body]) == 403
    finally:
        context.close()
    # A lead without a reason or expiry gets a clear refusal.
    assert page.evaluate(_POST_EXCEPTION, [alert["alert_id"], {"until": until}]) == 400
    assert page.evaluate(_POST_EXCEPTION, [alert["alert_id"], {"reason": "x"}]) == 400
    assert len(list(records.exceptions())) == 1
    assert orjson.loads(record.to_json())["id"] == made
    assert not watch.page_errors and not watch.csp_violations
