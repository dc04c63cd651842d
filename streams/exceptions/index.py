"""The exceptions in force, indexed for the engine: immutable, looked up once per finding.

The engine asks, for an event's (agency, user, detector, subject) at the event's own
time, which exception (if any) covers it. Lookups go by (agency, user, detector) and
(agency, any user, detector); when several exceptions cover a finding the one with
the smallest id applies, so every driver picks the same one.

>>> from streams.exceptions.record import make_exception
>>> one = make_exception(scope="agency", agency="MPD", user=None, detector="burst",
...     subject="*", valid_from="2026-03-01", until="2026-03-31", reason="load test")
>>> exceptions = Exceptions([one])
>>> exceptions.match("MPD", "u9", "burst", "", 1772582400.0) is one  # 2026-03-04
True
>>> exceptions.match("MPD", "u9", "burst", "", 1775606400.0)  # 2026-04-08: expired
>>> exceptions.match("CPD", "u9", "burst", "", 1772582400.0)
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from streams.exceptions.record import ExceptionRecord

_Key = tuple[str, str | None, str]


class Exceptions:
    """An immutable set of exceptions, by id, indexed by (agency, user or None, detector)."""

    __slots__ = ("_by_id", "_index")

    def __init__(self, records: Iterable[ExceptionRecord] = ()) -> None:
        by_id = {record.id: record for record in records}
        self._by_id = dict(sorted(by_id.items()))
        index: dict[_Key, list[ExceptionRecord]] = {}
        for record in self._by_id.values():
            index.setdefault((record.agency, record.user, record.detector), []).append(record)
        self._index: dict[_Key, tuple[ExceptionRecord, ...]] = {
            key: tuple(found) for key, found in index.items()
        }

    def match(
        self, agency: str, user: str, detector: str, subject: str, ts: float
    ) -> ExceptionRecord | None:
        """The exception covering this finding at event time ``ts``, or None."""
        if not self._index:
            return None
        best: ExceptionRecord | None = None
        for key in ((agency, user, detector), (agency, None, detector)):
            for record in self._index.get(key, ()):
                if (
                    record.in_force(ts)
                    and record.covers_subject(subject)
                    and (best is None or record.id < best.id)
                ):
                    best = record
        return best

    def get(self, exception_id: str) -> ExceptionRecord | None:
        return self._by_id.get(exception_id)

    def __len__(self) -> int:
        return len(self._by_id)

    def __bool__(self) -> bool:
        return bool(self._by_id)

    def __iter__(self) -> Iterator[ExceptionRecord]:
        return iter(self._by_id.values())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Exceptions) and self._by_id == other._by_id

    def __hash__(self) -> int:
        return hash(tuple(self._by_id))

    def __repr__(self) -> str:
        return f"Exceptions({len(self)} exception(s))"


NO_EXCEPTIONS = Exceptions()
