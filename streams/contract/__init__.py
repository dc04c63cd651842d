"""The wire contracts: ``frt.search.v1`` events in, ``frt.alert.v1`` alerts out."""

from streams.contract.alert import ALERT_SCHEMA, DETECTORS, SEVERITIES, Alert, make_alert_id
from streams.contract.event import EVENT_SCHEMA, MAX_EVENT_BYTES, SearchEvent, parse_event

__all__ = [
    "ALERT_SCHEMA",
    "DETECTORS",
    "EVENT_SCHEMA",
    "MAX_EVENT_BYTES",
    "SEVERITIES",
    "Alert",
    "SearchEvent",
    "make_alert_id",
    "parse_event",
]
