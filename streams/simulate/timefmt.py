"""Fast RFC 3339 formatting of simulated event times.

The simulator writes hundreds of thousands of timestamps a second; calling
``datetime.isoformat`` per event would cost more than everything else
together. Times are whole milliseconds since the epoch and every piece of the
text is looked up in tables built once per run.

>>> fmt = TimestampFormatter(start_ms=1_772_409_600_000, days=2)  # 2026-03-02
>>> fmt.format(1_772_409_600_000 + 3_723_004)
'2026-03-02T01:02:03.004Z'
>>> fmt.format(1_772_409_600_000 + 86_400_000)
'2026-03-03T00:00:00.000Z'
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

DAY_MS = 86_400_000
HOUR_MS = 3_600_000
MINUTE_MS = 60_000


class TimestampFormatter:
    """Formats epoch milliseconds in ``[start_ms - 1 day, start_ms + days + 1 day)``."""

    __slots__ = ("_base_day", "_days", "_hms", "_ms")

    def __init__(self, start_ms: int, days: int) -> None:
        if start_ms % DAY_MS:
            raise ValueError("start_ms must fall on a UTC midnight")
        self._base_day = start_ms // DAY_MS - 1
        first = datetime.fromtimestamp(self._base_day * 86_400, tz=UTC)
        self._days = [(first + timedelta(days=n)).strftime("%Y-%m-%dT") for n in range(days + 3)]
        self._hms = [f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}." for s in range(86_400)]
        self._ms = [f"{m:03d}Z" for m in range(1000)]

    def tables(self) -> tuple[int, list[str], list[str], list[str]]:
        """(first day number, day prefixes, ``HH:MM:SS.`` by second, ``mmmZ`` by millisecond).

        For loops that inline :meth:`format` to save a call per event.
        """
        return self._base_day, self._days, self._hms, self._ms

    def format(self, ts_ms: int) -> str:
        day, rest = divmod(ts_ms, DAY_MS)
        seconds, millis = divmod(rest, 1000)
        return self._days[day - self._base_day] + self._hms[seconds] + self._ms[millis]


def format_ms(ts_ms: int) -> str:
    """One-off formatting (truth file, messages) with the same output as the tables.

    >>> format_ms(1_772_409_600_000)
    '2026-03-02T00:00:00.000Z'
    """
    moment = datetime.fromtimestamp(ts_ms // 1000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts_ms % 1000:03d}Z"
