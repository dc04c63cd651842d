"""The bound on an event's time: no event may claim to be from the future.

One event dated 2099 would otherwise move its user's clock, and its partition's
watermark frontier, decades ahead: every later search of that user would be
"late" (not counted in rates, so no burst), and its partition's next events would
wait behind it. The reference is the Kafka record's own timestamp: the broker's
append time where the topic uses ``LogAppendTime``, otherwise the time the shipper
sent it. The live worker and ``frtwatch replay`` read the same records, so both
judge the same events as too far ahead. Such an event is dead-lettered with the
reason below (nothing is lost: the original bytes are kept).

>>> ahead_of_record(1_800_000_000.0, 1_799_999_990_000, 300.0) is None
True
>>> ahead_of_record(4_070_908_800.0, 1_799_999_990_000, 300.0)
'event time 2099-01-01T00:00:00Z is 2270908810 s ahead of its Kafka record timestamp 2027-01-15T07:59:50Z (more than the allowed clock skew of 300 s, FRTWATCH_MAX_CLOCK_SKEW)'
>>> ahead_of_record(4_070_908_800.0, -1, 300.0) is None   # no record timestamp: no bound
True
"""

from __future__ import annotations

from datetime import UTC, datetime


def _rfc3339(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def ahead_of_record(event_ts: float, record_timestamp_ms: int | None, skew_s: float) -> str | None:
    """Why an event is too far ahead of its record's timestamp, or None when it is not."""
    if record_timestamp_ms is None or record_timestamp_ms < 0:
        return None
    record_ts = record_timestamp_ms / 1000.0
    ahead = event_ts - record_ts
    if ahead <= skew_s:
        return None
    return (
        f"event time {_rfc3339(event_ts)} is {ahead:.0f} s ahead of its Kafka record "
        f"timestamp {_rfc3339(record_ts)} (more than the allowed clock skew of "
        f"{skew_s:.0f} s, FRTWATCH_MAX_CLOCK_SKEW)"
    )
