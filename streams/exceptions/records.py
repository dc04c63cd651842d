"""Records of the exceptions topic, decoded and kept as the current set of exceptions.

The topic is compacted: key = the exception's id (``exc-`` and 16 hex digits), value =
its JSON (:meth:`ExceptionRecord.to_dict`), or null (a tombstone: withdrawn). A value
must hash to its key, so a record cannot claim another exception's id. The live
worker's feed and ``frtwatch replay`` both hand every record to :class:`ExceptionRecords`,
which starts from the policy's exceptions file, so both judge with the same set.

>>> from streams.exceptions.record import make_exception
>>> one = make_exception(scope="agency", agency="MPD", user=None, detector="burst",
...     subject="*", valid_from="2026-03-01", until="2026-03-31", reason="load test")
>>> records = ExceptionRecords()
>>> records.apply(one.id.encode(), one.to_json()), len(records.exceptions())
(True, 1)
>>> records.apply(b"exc-0000000000000000", one.to_json()), records.rejected
(False, 1)
>>> records.apply(one.id.encode(), None), len(records.exceptions())
(True, 0)
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

import orjson

from streams.exceptions.index import Exceptions
from streams.exceptions.record import ExceptionRecord, is_exception_id, record_from_dict

log = logging.getLogger(__name__)


class ExceptionRecords:
    """Applies exceptions-topic records on top of ``base`` (the policy's file) and counts them.

    ``on_change`` is called with the new :class:`Exceptions` after each call of
    :meth:`apply_all` (or :meth:`apply`) that changed them (the worker sets
    ``engine.exceptions`` with it).
    """

    def __init__(
        self,
        base: Iterable[ExceptionRecord] = (),
        on_change: Callable[[Exceptions], None] | None = None,
    ) -> None:
        self.base = tuple(base)
        self.topic: dict[str, ExceptionRecord] = {}
        self.on_change = on_change
        self.applied = 0
        self.rejected = 0
        self._current = Exceptions(self.base)

    def exceptions(self) -> Exceptions:
        """The exceptions now: the file's and the topic's."""
        return self._current

    def apply(self, key: bytes | None, value: bytes | None) -> bool:
        """Apply one topic record; False (and logged) if it is invalid."""
        changed = self._apply(key, value)
        if changed is None:
            return False
        if changed:
            self._publish()
        return True

    def apply_all(self, records: Iterable[tuple[bytes | None, bytes | None]]) -> None:
        changed = False
        for key, value in records:
            changed = bool(self._apply(key, value)) or changed
        if changed:
            self._publish()

    def _apply(self, key: bytes | None, value: bytes | None) -> bool | None:
        """Whether the record changed the set; None if it is invalid."""
        try:
            if not key:
                raise ValueError("record has no key")
            exception_id = key.decode("utf-8")
            if not is_exception_id(exception_id):
                raise ValueError("the key is not an exception id (exc- and 16 hex digits)")
            if value is None:
                changed = self.topic.pop(exception_id, None) is not None
            else:
                record = record_from_dict(orjson.loads(value))
                if record.id != exception_id:
                    raise ValueError(f"the value is exception {record.id}, not its key's")
                changed = self.topic.get(exception_id) != record
                self.topic[exception_id] = record
        except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
            self.rejected += 1
            log.warning("exceptions: skipped an invalid record (key %r): %s", key, exc)
            return None
        self.applied += 1
        return changed

    def _publish(self) -> None:
        self._current = Exceptions((*self.base, *self.topic.values()))
        if self.on_change is not None:
            self.on_change(self._current)
