"""Settings come from FRTWATCH_* variables, validated, with safe defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from streams.errors import ConfigError
from streams.settings import load_settings


def test_defaults_are_local_and_safe():
    settings = load_settings({})
    assert settings.bootstrap == "127.0.0.1:9092"
    assert settings.topics.events == "frt.search-events"
    assert settings.topics.dlq == "frt.search-events.dlq"
    assert settings.topics.certifications == "frt.certifications"
    assert settings.topics.alerts == "frt.alerts"
    assert settings.topics.webhook_dlq == "frt.alerts.webhook-dlq"
    assert settings.web_enabled is False
    assert settings.web_host == "127.0.0.1"
    assert settings.metrics_host == "127.0.0.1"


def test_every_topic_can_be_renamed():
    settings = load_settings(
        {
            "FRTWATCH_TOPIC_EVENTS": "a",
            "FRTWATCH_TOPIC_DLQ": "b",
            "FRTWATCH_TOPIC_CERTIFICATIONS": "c",
            "FRTWATCH_TOPIC_ALERTS": "d",
            "FRTWATCH_TOPIC_WEBHOOK_DLQ": "e",
            "FRTWATCH_BOOTSTRAP": "kafka:29092",
            "FRTWATCH_POLICY": "/etc/frt/policy.yaml",
            "FRTWATCH_PARTITIONS": "12",
        }
    )
    assert (settings.topics.events, settings.topics.dlq, settings.topics.certifications) == (
        "a",
        "b",
        "c",
    )
    assert (settings.topics.alerts, settings.topics.webhook_dlq) == ("d", "e")
    assert settings.bootstrap == "kafka:29092"
    assert settings.policy_path == Path("/etc/frt/policy.yaml")
    assert settings.partitions == 12


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("FRTWATCH_PARTITIONS", "four", "not a whole number"),
        ("FRTWATCH_PARTITIONS", "0", "at least 1"),
        ("FRTWATCH_WEB_ENABLED", "maybe", "true or false"),
        ("FRTWATCH_ALLOWED_LATENESS", "-1", "must not be negative"),
        ("FRTWATCH_TOPIC_ALERTS", "", "must not be empty"),
    ],
)
def test_bad_values_name_the_variable(name, value, message):
    with pytest.raises(ConfigError, match=message):
        load_settings({name: value})
