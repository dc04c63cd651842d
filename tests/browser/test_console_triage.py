"""Triage lives in Kafka: shared by two console instances and intact after a restart."""

from __future__ import annotations

import time
from collections.abc import Callable

import orjson
from kafka import KafkaConsumer, TopicPartition
from playwright.sync_api import Browser, Page, expect

from streams.console.config import history_topic_for
from streams.settings import TopicNames
from tests.browser.conftest import Feeder, Watch, shot, sign_in
from tests.browser.console_harness import ConsoleProcess, make_alert

NOTES = [
    "Called the officer's supervisor; checking the case file.",
    "Lee owns this one.",
    "Authorised vendor evaluation under MOU 2026-14.",
]


def _act(page: Page, button: str, note: str, assignee: str | None = None) -> None:
    page.fill("#t-note", note)
    if assignee is not None:
        page.select_option("#t-assignee", assignee)
    page.click(button)
    expect(page.locator("#t-msg")).to_have_text("Saved.")


def _history(page: Page) -> list[str]:
    return page.locator("#a-history li").all_inner_texts()


def _read_all(bootstrap: str, topic: str) -> list[tuple[bytes, dict]]:
    """Every record now on ``topic``, in partition order (stops at the end offsets)."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        partitions = [
            TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic))
        ]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        ends = consumer.end_offsets(partitions)
        records: list[tuple[bytes, dict]] = []
        deadline = time.monotonic() + 10
        while any(consumer.position(tp) < ends[tp] for tp in partitions):
            assert time.monotonic() < deadline, f"could not read {topic} to its end"
            for batch in consumer.poll(timeout_ms=200).values():
                records.extend((m.key, orjson.loads(m.value)) for m in batch)
        return records
    finally:
        consumer.close()


def test_triage_is_shared_between_instances_and_survives_a_restart(
    console_factory: Callable[[], ConsoleProcess],
    browser: Browser,
    page: Page,
    feeder: Feeder,
    watch: Watch,
    kafka_bootstrap: str,
    topic_names: TopicNames,
) -> None:
    first, second = console_factory(), console_factory()
    alert = feeder.alert(make_alert(summary="officer1 searched app.clearview.ai (prohibited)"))
    alert_path = f"/alerts/{alert['alert_id']}"

    sign_in(page, first.url, username="lead")  # a lead assigns and resolves
    page.goto(first.url + alert_path)
    expect(page.locator("#a-status")).to_have_text("Open")
    expect(page.locator("#a-history-empty")).to_be_visible()

    # another analyst watches the same alert on the other instance
    other_context = browser.new_context(viewport={"width": 1440, "height": 900})
    other = watch.attach(other_context.new_page())
    try:
        sign_in(other, second.url, username="analyst")
        other.goto(second.url + alert_path)
        expect(other.locator("#a-status")).to_have_text("Open")

        _act(page, "#t-ack", NOTES[0])
        expect(page.locator("#a-status")).to_have_text("Acknowledged")
        expect(page.locator("#t-ack")).to_be_disabled()
        _act(page, "#t-assign", NOTES[1], assignee="analyst")
        expect(page.locator("#a-assignee")).to_have_text("analyst")
        _act(page, "#t-fp", NOTES[2])
        expect(page.locator("#a-status")).to_have_text("Resolved · false positive")
        expect(page.locator("#t-reopen")).to_be_enabled()
        history = _history(page)
        assert len(history) == 3
        # newest first; who, what, when and the note
        assert history[0].startswith("lead resolved as false positive") and NOTES[2] in history[0]
        assert history[1].startswith("lead assigned to analyst") and NOTES[1] in history[1]
        assert history[2].startswith("lead acknowledged") and NOTES[0] in history[2]
        assert all("UTC" in entry for entry in history)
        shot(page, "triage")

        # the other instance saw every step live, without a reload
        expect(other.locator("#a-status")).to_have_text("Resolved · false positive")
        expect(other.locator("#a-history li")).to_have_count(3)
        assert _history(other) == history
        shot(other, "triage-second-instance")
    finally:
        other_context.close()

    # the feed shows the triage, and the status filter uses it
    page.goto(first.url + "/?status=resolved")
    row = page.locator(f'#alert-rows tr[data-alert-id="{alert["alert_id"]}"]')
    expect(row.locator(".badge-status")).to_have_text("Resolved · false positive")
    expect(row.locator(".cell-assignee")).to_have_text("analyst")
    page.goto(first.url + "/?status=open")
    expect(page.locator("#alert-empty")).to_be_visible()

    # restart: a new process rebuilds alerts and triage from Kafka; sessions do not survive
    first.restart()
    page.goto(first.url + alert_path)
    expect(page).to_have_url(f"{first.url}/login?next={alert_path}")
    sign_in(page, first.url, username="lead")
    page.goto(first.url + alert_path)
    expect(page.locator("#a-status")).to_have_text("Resolved · false positive")
    expect(page.locator("#a-assignee")).to_have_text("analyst")
    expect(page.locator("#a-history li")).to_have_count(3)
    assert _history(page) == history
    shot(page, "triage-after-restart")

    # and the next action still works after the restart
    _act(page, "#t-reopen", "Reopened: the MOU expired last month.")
    expect(page.locator("#a-status")).to_have_text("Open")
    expect(page.locator("#a-history li")).to_have_count(4)

    # Kafka holds both views: every action in the append-only log, the latest state compacted
    log = _read_all(kafka_bootstrap, history_topic_for(topic_names.triage))
    assert [v["action"] for _, v in log] == [
        "acknowledge", "assign", "resolve_false_positive", "reopen"
    ]  # fmt: skip
    assert [v["note"] for _, v in log][:3] == NOTES
    assert {k for k, _ in log} == {alert["alert_id"].encode()}
    states = _read_all(kafka_bootstrap, topic_names.triage)
    assert states and states[-1][1]["status"] == "open" and states[-1][1]["assignee"] == "analyst"
    assert not watch.dialogs and not watch.page_errors and not watch.csp_violations
