"""Route filters: minimum severity, detectors, agencies, and the phases a route asks for."""

from __future__ import annotations

import pytest

from streams.webhooks.routes import Route

OPEN, UPDATE, CLOSE = frozenset({"open"}), frozenset({"update"}), frozenset({"close"})
ALL = OPEN | UPDATE | CLOSE


@pytest.mark.parametrize(
    ("route_kwargs", "alert_kwargs", "first", "wanted"),
    [
        ({}, {"severity": "low"}, True, True),
        ({"min_severity": "high"}, {"severity": "medium"}, True, False),
        ({"min_severity": "high"}, {"severity": "high"}, True, True),
        ({"min_severity": "high"}, {"severity": "critical"}, True, True),
        ({"detectors": frozenset({"burst"})}, {"detector": "prohibited_endpoint"}, True, False),
        ({"detectors": frozenset({"burst"})}, {"detector": "burst"}, True, True),
        ({"agencies": frozenset({"CSO"})}, {"agency": "MPD"}, True, False),
        ({"agencies": frozenset({"CSO", "MPD"})}, {"agency": "MPD"}, True, True),
        ({"updates": OPEN}, {}, False, False),
        ({"updates": OPEN}, {}, True, True),
        ({"updates": OPEN}, {"status": "closed"}, False, False),
        ({"updates": ALL}, {}, False, True),
        ({"updates": ALL}, {"status": "closed"}, False, True),
        ({"updates": CLOSE}, {}, True, False),
        ({"updates": CLOSE}, {}, False, False),
        ({"updates": CLOSE}, {"status": "closed"}, False, True),
        ({"updates": CLOSE}, {"status": "closed"}, True, True),  # the close is never an open
        ({"updates": UPDATE}, {}, False, True),
        ({"updates": UPDATE}, {}, True, False),
        ({"updates": UPDATE}, {"status": "closed"}, False, False),
        ({"format": "slack"}, {}, False, False),  # slack: the opening and the close
        ({"format": "slack"}, {"status": "closed"}, False, True),
        ({"updates": ALL}, {"exception_id": "exc-1"}, True, False),  # silenced: no route
        ({"updates": ALL}, {"exception_id": "exc-1", "status": "closed"}, False, False),
    ],
)
def test_route_wants(make_message, route_kwargs, alert_kwargs, first, wanted):
    route = Route(name="r", url="https://example.org/h", **route_kwargs)
    assert route.wants(make_message(**alert_kwargs), first=first) is wanted


def test_route_repr_hides_secrets_and_url():
    route = Route(
        name="r",
        url="https://hooks.slack.com/services/T/B/topsecret",
        secret="whsec_c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0",
        routing_key="rk-secret",
        headers=(("Authorization", "Bearer tok"),),
    )
    text = repr(route)
    for secret in ("topsecret", "whsec_", "rk-secret", "Bearer"):
        assert secret not in text
    assert route.target == "https://hooks.slack.com"
