"""Raw records to ``frt.search.v1`` events and dead letters, for any format.

For a network format (Squid, Zeek, CEF) each record goes through these steps, and
every record ends in exactly one counter of :class:`IngestStats`:

1. parse (a failure is a **dead letter** with the raw line and the reason);
2. keep FRT traffic only: hosts in the catalogue, and the policy's authorised and
   prohibited hosts; anything else is counted (``not_frt``, or ``no_host`` for a
   record that names no host) and dropped, never turned into an event;
3. attribute (:mod:`streams.sources.attribution`; no agency is a dead letter);
4. group into uses (:mod:`streams.sources.uses`): a request continuing a use is
   counted (``same_use``); one starting a use becomes an **event**, whose id is
   derived from that request (:mod:`streams.sources.event_ids`).

A mapped audit record (vendor export) is mapped to an event directly.
Every event is validated by the contract's own :func:`event_from_dict` before it is
written, so the worker never sees an ingest-made event it would reject.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import orjson

from streams.contract.dead_letter import SourceCoordinates
from streams.contract.event import event_from_dict
from streams.errors import ContractError
from streams.policy import Policy
from streams.sources.catalogue import Catalogue, Service
from streams.sources.event_ids import content_id, record_id
from streams.sources.mapping import MappedReader, format_ts, map_record
from streams.sources.records import Observation, ParseError, checked_time, decode_line
from streams.sources.uses import UseGrouper

NETWORK_PURPOSE = "network-observed"
"""The ``purpose`` of every event made from network records: a sensor sees neither case
numbers nor purposes (see docs/SOURCES.md on how the policy judges these events)."""
_CACHE_CAP = 65_536

RawLine = tuple[bytes, SourceCoordinates]


class LineParser(Protocol):
    name: str

    def parse(self, line: str) -> Observation | None: ...


@dataclass(frozen=True, slots=True)
class EventOut:
    """An event for the input topic: key ``<agency>/<user>``, value its JSON."""

    key: bytes
    value: bytes
    ts: float


@dataclass(frozen=True, slots=True)
class DeadOut:
    """A record for the dead-letter topic: the raw bytes, the reason, where they were read."""

    raw: bytes
    reason: str
    origin: SourceCoordinates


Output = EventOut | DeadOut


class IngestStats(Counter[str]):
    """``records`` read, and where each went: ``events``, ``same_use``, ``not_frt``,
    ``no_host``, ``dead_letters`` (and ``skipped``: blank, comment and header lines)."""

    def line(self) -> str:
        return (
            f"{self['records']:,} records: {self['events']:,} events, "
            f"{self['same_use']:,} in a use already reported, {self['not_frt']:,} not FRT, "
            f"{self['no_host']:,} without a host, {self['dead_letters']:,} dead letters, "
            f"{self['skipped']:,} headers or blank"
        )


class HostFilter:
    """Which hosts are FRT traffic, and the service each belongs to (cached per host)."""

    def __init__(self, policy: Policy | None, catalogue: Catalogue) -> None:
        self.policy = policy
        self.catalogue = catalogue
        self._authorised = {ep.host for ep in policy.authorised} if policy else set()
        self._seen: dict[str, tuple[str, Service | None] | None] = {}

    def service(self, host: str) -> tuple[str, Service | None] | None:
        """``(service key, catalogue entry or None)`` for an FRT host, None otherwise."""
        try:
            return self._seen[host]
        except KeyError:
            pass
        found = self.catalogue.match(host)
        verdict: tuple[str, Service | None] | None
        if found is not None:
            verdict = (f"{found[0].vendor}|{found[0].kind}", found[0])
        elif host in self._authorised:
            verdict = (host, None)
        elif self.policy is not None and (suffix := self.policy.is_prohibited(host)):
            verdict = (suffix, None)
        else:
            verdict = None
        if len(self._seen) >= _CACHE_CAP:
            self._seen.clear()
        self._seen[host] = verdict
        return verdict


class NetworkPipeline:
    """Network records (one observation per line) to events of uses."""

    def __init__(
        self,
        parser: LineParser,
        hosts: HostFilter,
        attribution: Any,
        uses: UseGrouper,
        sensor: str | None = None,
    ) -> None:
        self.parser = parser
        self.hosts = hosts
        self.attribution = attribution
        self.uses = uses
        self.sensor = sensor
        self.stats = IngestStats()

    def run(self, lines: Iterator[RawLine]) -> Iterator[Output]:
        stats = self.stats
        for raw, origin in lines:
            stats["records"] += 1
            try:
                out = self._one(raw)
            except ParseError as exc:
                stats["dead_letters"] += 1
                yield DeadOut(raw, exc.reason, origin)
                continue
            if out is not None:
                stats["events"] += 1
                yield out

    def _one(self, raw: bytes) -> EventOut | None:
        obs = self.parser.parse(decode_line(raw))
        stats = self.stats
        if obs is None:
            stats["skipped"] += 1
            return None
        checked_time(obs.ts)
        if not obs.host:
            stats["no_host"] += 1
            return None
        service = self.hosts.service(obs.host)
        if service is None:
            stats["not_frt"] += 1
            return None
        agency, user, how = self.attribution.resolve(obs.client, obs.user, obs.ts)
        if not self.uses.starts_use((agency, user, service[0]), obs.ts):
            stats["same_use"] += 1
            return None
        event: dict[str, Any] = dict(obs.extra)
        event.update(
            event_id=content_id(self.parser.name, raw),
            ts=format_ts(obs.ts),
            agency=agency,
            user=user,
            endpoint=obs.endpoint,
            purpose=NETWORK_PURPOSE,
            source=(self.sensor or obs.sensor or self.parser.name)[:128],
            attribution=how,
        )
        if obs.client:
            event["client_address"] = obs.client
        entry = service[1]
        if entry is not None:
            event["vendor"] = entry.name
            event["service_kind"] = entry.kind
        return _validated(event)


class MappedPipeline:
    """Vendor audit records, through a mapping, to one event each."""

    def __init__(self, reader: MappedReader) -> None:
        self.reader = reader
        self.stats = IngestStats()

    def run(self, lines: Iterator[RawLine]) -> Iterator[Output]:
        stats = self.stats
        mapping = self.reader.mapping
        for raw, origin, record in self.reader.read(lines):
            stats["records"] += 1
            try:
                if isinstance(record, ParseError):
                    raise record
                event = map_record(mapping, record)
                own = event.get("event_id")
                event["event_id"] = (
                    record_id(mapping.source, own) if own else content_id(mapping.source, raw)
                )
                out = _validated(event)
            except ParseError as exc:
                stats["dead_letters"] += 1
                yield DeadOut(raw, exc.reason, origin)
                continue
            stats["events"] += 1
            yield out


def _validated(event: dict[str, Any]) -> EventOut:
    try:
        valid = event_from_dict(event)
    except ContractError as exc:
        raise ParseError(f"the record makes no valid frt.search.v1 event: {exc.reason}") from None
    value = orjson.dumps(event)
    if len(value) > 64 * 1024:
        raise ParseError("the record makes an event larger than 64 KiB")
    return EventOut(valid.user_key.encode("utf-8"), value, valid.ts)
