"""streams/retention.py: the retention of each topic, from FRTWATCH_RETENTION_*."""

from __future__ import annotations

import pytest

from streams.errors import ConfigError
from streams.retention import DAY_MS, TopicRetention, describe, topic_configs
from streams.settings import load_settings


def test_defaults_keep_the_audit_topics_long_and_the_internal_one_short() -> None:
    settings = load_settings({})
    configs = topic_configs(settings)
    t = settings.topics
    assert configs[t.events] == {"cleanup.policy": "delete", "retention.ms": str(1095 * DAY_MS)}
    assert configs[t.alerts]["retention.ms"] == str(1095 * DAY_MS)
    assert (
        configs[t.dlq]["retention.ms"] == configs[t.webhook_dlq]["retention.ms"] == str(90 * DAY_MS)
    )
    assert configs["frtwatch-events-by-agency"]["retention.ms"] == str(7 * DAY_MS)
    assert configs[t.certifications] == configs[t.triage] == {"cleanup.policy": "compact"}
    assert configs[t.exceptions] == {"cleanup.policy": "compact"}
    assert configs[f"{t.triage}.history"]["retention.ms"] == "-1"


def test_each_retention_is_configurable() -> None:
    settings = load_settings({"FRTWATCH_RETENTION_EVENTS": "forever",
                              "FRTWATCH_RETENTION_ALERTS": "5y", "FRTWATCH_RETENTION_DLQ": "2w",
                              "FRTWATCH_RETENTION_INTERNAL": "36h", "FRTWATCH_APP_ID": "soc"})  # fmt: skip
    configs = topic_configs(settings)
    assert configs["frt.search-events"]["retention.ms"] == "-1"
    assert configs["frt.alerts"]["retention.ms"] == str(5 * 365 * DAY_MS)
    assert configs["frt.search-events.dlq"]["retention.ms"] == str(14 * DAY_MS)
    assert configs["soc-events-by-agency"]["retention.ms"] == str(36 * 3_600_000)


@pytest.mark.parametrize("raw", ["", "0d", "3 years", "-5d", "1.5d", "90"])
def test_a_retention_that_is_no_duration_is_one_error_naming_the_variable(raw: str) -> None:
    with pytest.raises(ConfigError, match="FRTWATCH_RETENTION_EVENTS=") as caught:
        load_settings({"FRTWATCH_RETENTION_EVENTS": raw})
    assert len(caught.value.errors) == 1


def test_rows_say_whether_the_broker_matches() -> None:
    wanted = {"cleanup.policy": "delete", "retention.ms": str(90 * DAY_MS)}
    assert TopicRetention("t", wanted, None).line() == "t: missing (created as delete, 90d)"
    ok = TopicRetention("t", wanted, dict(wanted))
    assert ok.in_step and ok.line() == "t: delete, 90d  ok"
    drift = TopicRetention("t", wanted, {"cleanup.policy": "delete", "retention.ms": "604800000"})
    assert not drift.in_step and drift.line() == "t: delete, 7d  WANTED delete, 90d"
    assert describe("-1") == "forever" and describe("5400000") == "90m"


def test_a_topic_with_more_settings_than_retention_is_compared_and_shown_on_all_of_them() -> None:
    wanted = {"cleanup.policy": "compact", "max.message.bytes": "67108864"}
    ok = TopicRetention("m", wanted, dict(wanted))
    assert ok.in_step and ok.line() == "m: compact, max.message.bytes 67108864  ok"
    small = TopicRetention(
        "m", wanted, {"cleanup.policy": "compact", "max.message.bytes": "1048588"}
    )
    assert not small.in_step
    assert small.line() == (
        "m: compact, max.message.bytes 1048588  WANTED compact, max.message.bytes 67108864"
    )
