"""Shared metrics: bounded reason classes and a loopback /metrics endpoint."""

from __future__ import annotations

import urllib.request

import pytest

from streams import metrics
from streams.contract import parse_event
from streams.errors import ContractError
from streams.settings import Settings
from tests.conftest import FILES


@pytest.mark.parametrize(
    "path", sorted((FILES / "events" / "invalid").iterdir()), ids=lambda p: p.name
)
def test_every_known_reject_reason_has_a_class(path):
    with pytest.raises(ContractError) as info:
        parse_event(path.read_bytes())
    assert metrics.reject_reason_class(info.value.reason) in metrics.REJECT_REASON_CLASSES
    assert metrics.reject_reason_class(info.value.reason) != "other", info.value.reason


def test_metrics_server_is_off_by_default_and_on_loopback_when_asked():
    assert metrics.start_metrics_server(Settings()) is None
    assert Settings().metrics_host == "127.0.0.1"
    server = metrics.serve_metrics("127.0.0.1", 0)
    try:
        metrics.record_events_in(3)
        metrics.record_rejected("missing required field 'ts'")
        metrics.record_alert("burst", "high")
        metrics.record_alert("burst", "high", update=True)
        metrics.set_consumer_lag("g", "frt.search-events", 0, 12)
        with metrics.model_scoring_timer(500):
            pass
        metrics.record_webhook_delivery("siem", 0.2)
        metrics.record_webhook_failure("siem", "retries_exhausted")
        metrics.record_webhook_retry("siem", "http_503")
        metrics.set_webhook_route_enabled("siem", False)
        assert server.url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(server.url, timeout=5) as response:
            text = response.read().decode()
    finally:
        server.close()
    for line in (
        'frtwatch_events_rejected_total{reason="missing_field"}',
        'frtwatch_alerts_total{detector="burst",kind="update",severity="high"}',
        'frtwatch_consumer_lag{group="g",partition="0",topic="frt.search-events"} 12.0',
        'frtwatch_webhook_failures_total{reason="retries_exhausted",route="siem"}',
        'frtwatch_webhook_retries_total{cause="http_503",route="siem"}',
        'frtwatch_webhook_route_enabled{route="siem"} 0.0',
        "frtwatch_model_batch_size_bucket",
        "frtwatch_model_scoring_seconds_bucket",
        "frtwatch_webhook_delivery_seconds_bucket",
        "frtwatch_events_in_total",
    ):
        assert line in text, line


def test_an_event_from_the_future_is_counted_as_such():
    from streams.contract.event_time import ahead_of_record

    reason = ahead_of_record(4_070_908_800.0, 1_799_999_990_000, 300.0)  # 2099 vs 2027
    assert reason is not None
    assert metrics.reject_reason_class(reason) == "future_time"
