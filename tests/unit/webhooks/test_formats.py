"""Payload shapes: native pass-through, OCSF Detection Finding, Slack, PagerDuty Events v2."""

from __future__ import annotations

import orjson
import pytest

from streams import __version__
from streams.webhooks.formats import render
from streams.webhooks.formats.ocsf import ocsf_detection_finding
from streams.webhooks.formats.pagerduty import pagerduty_event
from streams.webhooks.formats.slack import slack_message
from streams.webhooks.routes import Route
from tests.unit.webhooks.conftest import T0

# Attributes OCSF 1.3 marks "required" for Detection Finding (class 2004) and its
# base event, with the objects' own required attributes.
OCSF_REQUIRED = ("activity_id", "category_uid", "class_uid", "finding_info", "metadata",
                 "severity_id", "time", "type_uid")  # fmt: skip


def test_native_is_the_original_alert_bytes(make_message):
    msg = make_message()
    route = Route(name="n", url="https://x.example/", format="native", secret="whsec_x")
    assert render(route, msg, first=True) == msg.raw


@pytest.mark.parametrize(
    ("severity", "severity_id"), [("low", 2), ("medium", 3), ("high", 4), ("critical", 5)]
)
def test_ocsf_carries_every_required_field(make_message, severity, severity_id):
    msg = make_message(severity=severity, event_count=3, event_ids=["e1", "e2", "e3"])
    finding = ocsf_detection_finding(msg, first=True)
    for name in OCSF_REQUIRED:
        assert name in finding, name
    assert finding["class_uid"] == 2004 and finding["category_uid"] == 2
    assert finding["activity_id"] == 1 and finding["type_uid"] == 200401
    assert finding["severity_id"] == severity_id
    assert finding["time"] == (T0 + 60) * 1000 and isinstance(finding["time"], int)
    assert finding["metadata"]["version"] == "1.3.0"
    assert finding["metadata"]["product"]["name"] == "frtwatch"
    assert finding["metadata"]["product"]["vendor_name"] == "frtwatch"
    assert finding["metadata"]["product"]["version"] == __version__
    info = finding["finding_info"]
    assert info["uid"] == msg.alert_id
    assert info["title"] == "Search on a prohibited facial-recognition service"
    assert info["analytic"]["type_id"] == 1 and info["analytic"]["name"] == "prohibited_endpoint"
    assert info["first_seen_time"] == T0 * 1000
    assert [e["uid"] for e in info["related_events"]] == ["e1", "e2", "e3"]
    assert finding["count"] == 3
    user = finding["evidences"][0]["actor"]["user"]
    assert user == {"uid": "MPD/u7", "name": "u7", "org": {"uid": "MPD", "name": "MPD"}}
    assert finding["evidences"][0]["url"]["hostname"] == "app.clearview.ai"
    assert finding["unmapped"]["frt_alert"]["alert_id"] == msg.alert_id


def test_ocsf_update_is_activity_2_of_the_same_finding(make_message):
    first = ocsf_detection_finding(make_message(event_count=1), first=True)
    update = ocsf_detection_finding(make_message(event_count=4), first=False)
    assert update["activity_id"] == 2 and update["type_uid"] == 200402
    assert update["activity_name"] == "Update"
    assert update["finding_info"]["uid"] == first["finding_info"]["uid"]
    assert update["metadata"]["uid"] != first["metadata"]["uid"]


def test_ocsf_analytic_type_follows_the_detector(make_message):
    burst = ocsf_detection_finding(make_message(detector="burst", severity="high"), first=True)
    model = ocsf_detection_finding(make_message(detector="behavior_anomaly"), first=True)
    assert burst["finding_info"]["analytic"]["type_id"] == 3
    assert model["finding_info"]["analytic"]["type_id"] == 4


def test_slack_message_shape_and_escaping(make_message):
    msg = make_message(user="<!channel>", summary="ping <!here> & <https://evil|click>")
    payload = slack_message(msg, first=True)
    assert payload["text"].startswith("[CRITICAL] ")
    assert "<!" not in orjson.dumps(payload).decode()
    assert "&lt;!here&gt; &amp; &lt;https://evil|click&gt;" in payload["blocks"][1]["text"]["text"]
    header = payload["blocks"][0]
    assert header["type"] == "header" and header["text"]["type"] == "plain_text"
    assert header["text"]["text"] == "CRITICAL: Search on a prohibited facial-recognition service"
    fields = payload["blocks"][2]["fields"]
    assert fields[1]["text"] == "*User*\n&lt;!channel&gt;"
    assert len(fields) <= 10
    assert msg.alert_id in payload["blocks"][3]["elements"][0]["text"]


def test_slack_update_is_marked_and_long_text_is_cut(make_message):
    payload = slack_message(make_message(event_count=9, summary="x" * 5000), first=False)
    assert payload["blocks"][0]["text"]["text"].startswith("Update (9 events) ")
    assert len(payload["blocks"][1]["text"]["text"]) <= 3000
    assert len(payload["blocks"][0]["text"]["text"]) <= 150


@pytest.mark.parametrize(
    ("severity", "pd_severity"),
    [("low", "info"), ("medium", "warning"), ("high", "error"), ("critical", "critical")],
)
def test_pagerduty_event_v2_shape(make_message, severity, pd_severity):
    msg = make_message(severity=severity)
    event = pagerduty_event(msg, routing_key="R0UT1NGKEY")
    assert event["routing_key"] == "R0UT1NGKEY"
    assert event["event_action"] == "trigger"
    assert event["dedup_key"] == msg.alert_id
    payload = event["payload"]
    assert payload["severity"] == pd_severity
    assert payload["source"] == "frtwatch/MPD"
    assert payload["summary"] and len(payload["summary"]) <= 1024
    assert payload["timestamp"] == "2026-03-01T09:01:00Z"
    assert payload["custom_details"]["event_count"] == 1


def test_pagerduty_updates_share_the_dedup_key(make_message):
    assert (
        pagerduty_event(make_message(event_count=1), routing_key="k")["dedup_key"]
        == pagerduty_event(make_message(event_count=7), routing_key="k")["dedup_key"]
    )


def test_render_is_deterministic_for_redelivery(make_message):
    msg = make_message()
    for fmt in ("ocsf", "slack", "pagerduty"):
        route = Route(name="r", url="https://x.example/", format=fmt, routing_key="k")
        assert render(route, msg, first=True) == render(route, msg, first=True)


def test_ocsf_close_is_activity_3_of_the_same_finding(make_message):
    update = ocsf_detection_finding(make_message(event_count=4), first=False)
    close = ocsf_detection_finding(make_message(event_count=4, status="closed"), first=False)
    assert (close["activity_id"], close["activity_name"], close["type_uid"]) == (3, "Close", 200403)
    assert close["type_name"] == "Detection Finding: Close"
    assert close["finding_info"]["uid"] == update["finding_info"]["uid"]
    assert close["metadata"]["uid"] != update["metadata"]["uid"]  # the webhook-ids differ
    assert close["count"] == 4 and close["unmapped"]["frt_alert"]["status"] == "closed"


def test_pagerduty_resolves_the_incident_on_close(make_message):
    opened = pagerduty_event(make_message(event_count=3), routing_key="k")
    closed = pagerduty_event(make_message(event_count=5, status="closed"), routing_key="k")
    assert closed == {"routing_key": "k", "event_action": "resolve",
                      "dedup_key": opened["dedup_key"], "client": "frtwatch"}  # fmt: skip
    assert opened["event_action"] == "trigger"


def test_slack_close_is_marked_with_the_final_count(make_message):
    payload = slack_message(make_message(event_count=12, status="closed"), first=False)
    assert payload["blocks"][0]["text"]["text"].startswith("Closed (12 events) ")
