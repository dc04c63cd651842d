"""Alert messages read back from the topic: what is deliverable, what is dead-lettered."""

from __future__ import annotations

import orjson
import pytest

from streams.webhooks.alert_message import InvalidAlertError, parse_alert_message
from tests.unit.webhooks.conftest import build_alert


def test_valid_alert_keeps_original_bytes_and_fields():
    raw = build_alert(event_count=3, event_ids=["e1", "e2", "e3"]).to_json()
    msg = parse_alert_message(raw)
    assert msg.raw == raw
    assert msg.event_count == 3 and msg.event_ids == ["e1", "e2", "e3"]
    assert msg.webhook_id == f"frt_{msg.alert_id}_3"
    assert msg.severity_rank == 3


def test_update_of_an_alert_has_a_new_webhook_id_but_a_redelivery_does_not():
    first = parse_alert_message(build_alert(event_count=1).to_json())
    again = parse_alert_message(build_alert(event_count=1).to_json())
    update = parse_alert_message(build_alert(event_count=2).to_json())
    assert first.webhook_id == again.webhook_id
    assert update.alert_id == first.alert_id and update.webhook_id != first.webhook_id


def test_every_published_version_has_its_own_webhook_id():
    """The close may carry the count of the last open version: still a new id, so a
    receiver that de-duplicates by webhook-id never drops it."""
    versions = [build_alert(event_count=n) for n in (1, 2, 4)]
    versions.append(build_alert(event_count=4, status="closed"))
    ids = [parse_alert_message(v.to_json()).webhook_id for v in versions]
    assert len(set(ids)) == len(ids)
    assert ids[-1] == f"frt_{versions[0].alert_id}_4_closed"
    closed = parse_alert_message(versions[-1].to_json())
    assert closed.closed and closed.status == "closed"
    legacy = build_alert(event_count=4).to_dict()
    del legacy["status"]  # a message from before the field is open
    assert parse_alert_message(orjson.dumps(legacy)).status == "open"


def _with(**changes):
    obj = build_alert().to_dict()
    obj.update(changes)
    return orjson.dumps(obj)


@pytest.mark.parametrize(
    ("raw", "needle"),
    [
        (None, "no value"),
        (b"{not json", "not valid UTF-8 JSON"),
        (b"[1, 2]", "JSON object"),
        (_with(schema="frt.alert.v2"), "'schema'"),
        (_with(alert_id="a\r\nX-Evil: 1"), "alert_id"),
        (_with(alert_id=""), "alert_id"),
        (_with(status="resolved"), "'status' must be open or closed"),
        (_with(severity="urgent"), "severity"),
        (_with(event_count=0), "event_count"),
        (_with(event_count=True), "event_count"),
        (_with(first_seen="yesterday"), "first_seen"),
        (_with(agency=7), "agency"),
        (_with(detector="Bad Name"), "detector"),
        (_with(summary=None), "summary"),
    ],
)
def test_invalid_alerts_are_refused_with_a_reason(raw, needle):
    with pytest.raises(InvalidAlertError, match=needle):
        parse_alert_message(raw)
