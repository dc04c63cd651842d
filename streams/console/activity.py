"""What users have been doing, from the search-event topic, in bounded memory.

Two views feed the console: the last few searches of each user (shown on an
alert page next to the evidence) and per-agency search counts in event-time
buckets (the analytics chart). Both have hard bounds, because the event topic
is the busiest topic in the system and its values are untrusted:

* at most ``max_users`` users (least recently active forgotten first), each
  with at most ``per_user`` searches, every string cut to ``field_limit``;
* at most ``max_agencies`` agencies in the counts (later ones are counted
  under ``OTHER_AGENCIES``), each with at most ``retention_s / bucket_s``
  buckets.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import Any

from streams.contract.event import SearchEvent

OTHER_AGENCIES = "(other agencies)"


@dataclass(frozen=True, slots=True)
class Activity:
    """One search as shown in a user's recent activity (strings already cut)."""

    event_id: str
    ts: float
    ts_text: str
    endpoint: str
    host: str
    on_behalf_of: str
    case_number: str | None
    purpose: str | None
    result_count: int | None
    source: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "ts": self.ts_text,
            "endpoint": self.endpoint,
            "host": self.host,
            "on_behalf_of": self.on_behalf_of,
            "case_number": self.case_number,
            "purpose": self.purpose,
            "result_count": self.result_count,
            "source": self.source,
        }


class ActivityStore:
    """Recent searches per user and search counts per agency and time bucket.

    >>> from streams.contract.event import parse_event
    >>> store = ActivityStore(per_user=2, bucket_s=60)
    >>> for i in range(3):
    ...     store.add(parse_event(('{"event_id":"e%d","ts":"2026-03-01T09:00:0%dZ",'
    ...         '"agency":"MPD","user":"u1","endpoint":"frt.example.gov"}' % (i, i)).encode()))
    >>> [a["event_id"] for a in store.recent("MPD", "u1")]
    ['e2', 'e1']
    >>> sum(store.counts(0, 2e9, 60)["MPD"])
    3
    """

    def __init__(
        self,
        *,
        per_user: int = 25,
        max_users: int = 10_000,
        bucket_s: int = 60,
        retention_s: int = 24 * 3600,
        max_agencies: int = 64,
        field_limit: int = 256,
    ) -> None:
        self.per_user = per_user
        self.max_users = max_users
        self.bucket_s = bucket_s
        self.retention_s = retention_s
        self.max_agencies = max_agencies
        self.field_limit = field_limit
        self._recent: OrderedDict[tuple[str, str], deque[Activity]] = OrderedDict()
        self._counts: dict[str, dict[int, int]] = {}
        self._newest_bucket: int | None = None
        self.events_seen = 0
        self.newest_ts: float | None = None

    def _cut(self, text: str | None) -> str | None:
        if text is None or len(text) <= self.field_limit:
            return text
        return text[: self.field_limit - 1] + "\u2026"

    def add(self, event: SearchEvent) -> None:
        """Record one validated search event."""
        self.events_seen += 1
        self._remember(event)
        self._count(event)
        if self.newest_ts is None or event.ts > self.newest_ts:
            self.newest_ts = event.ts

    def _remember(self, event: SearchEvent) -> None:
        key = (event.agency, event.user)
        searches = self._recent.get(key)
        if searches is None:
            searches = self._recent[key] = deque(maxlen=self.per_user)
            while len(self._recent) > self.max_users:
                self._recent.popitem(last=False)
        else:
            self._recent.move_to_end(key)
            if any(a.event_id == event.event_id for a in searches):
                return  # a redelivered duplicate
        cut = self._cut
        searches.append(
            Activity(
                event_id=event.event_id,
                ts=event.ts,
                ts_text=event.ts_text,
                endpoint=cut(event.endpoint) or "",
                host=cut(event.host) or "",
                on_behalf_of=cut(event.on_behalf_of) or "",
                case_number=cut(event.case_number),
                purpose=cut(event.purpose),
                result_count=event.result_count,
                source=cut(event.source),
            )
        )

    def _count(self, event: SearchEvent) -> None:
        bucket = int(event.ts // self.bucket_s) * self.bucket_s
        if self._newest_bucket is not None and bucket <= self._newest_bucket - self.retention_s:
            return  # older than anything kept
        agency = event.agency
        if agency not in self._counts and len(self._counts) >= self.max_agencies:
            agency = OTHER_AGENCIES
        series = self._counts.setdefault(agency, {})
        series[bucket] = series.get(bucket, 0) + 1
        if self._newest_bucket is None or bucket > self._newest_bucket:
            self._newest_bucket = bucket
            self._prune()

    def _prune(self) -> None:
        assert self._newest_bucket is not None
        oldest = self._newest_bucket - self.retention_s
        for series in self._counts.values():
            for bucket in [b for b in series if b <= oldest]:
                del series[bucket]

    def recent(self, agency: str, user: str) -> list[dict[str, Any]]:
        """The user's last searches, newest first (event time)."""
        searches = self._recent.get((agency, user), ())
        return [a.to_dict() for a in sorted(searches, key=lambda a: a.ts, reverse=True)]

    def newest_of(self, agency: str, user: str) -> float | None:
        """The event time of the user's newest held search (None if none is held)."""
        searches = self._recent.get((agency, user))
        return max((a.ts for a in searches), default=None) if searches else None

    def counts(self, start: float, end: float, step: int) -> dict[str, list[int]]:
        """Searches per agency in ``step``-second bins covering ``[start, end)``."""
        bins = max(1, int((end - start + step - 1) // step))
        out: dict[str, list[int]] = {}
        for agency, series in self._counts.items():
            row = [0] * bins
            for bucket, count in series.items():
                index = int((bucket - start) // step)
                if 0 <= index < bins:
                    row[index] += count
            if any(row):
                out[agency] = row
        return out

    def user_count(self) -> int:
        return len(self._recent)
