"""Who made a request: the proxy's authenticated user, a lease, or nobody known.

Two tables, both CSV, both validated with every error as ``file:line: message``:

* **address ranges** ``network,agency`` — which agency owns an address (the longest
  matching prefix wins);
* **leases** ``address,agency,user,start,end`` — who held an address over a time
  interval (DHCP or VPN leases); ``start`` inclusive, ``end`` exclusive, RFC 3339,
  ``end`` empty for a lease still held. A lease is applied by the record's *event*
  time, so re-reading old logs (or replaying) attributes them exactly as live.

An address neither leased nor in a range cannot be given to an agency: such a record
is a dead letter, never an event nobody would see.

>>> table = Attribution(AddressRanges([("10.10.0.0/16", "MPD")]), LeaseTable(
...     [("10.10.0.11", "MPD", "mpd-0001", 1772409600.0, None)]))
>>> table.resolve("10.10.0.11", None, 1772442000.0)
('MPD', 'mpd-0001', 'lease')
>>> table.resolve("10.10.0.99", None, 1772442000.0)
('MPD', 'unattributed@10.10.0.99', 'unattributed')
>>> table.resolve("10.10.0.99", "jdoe", 1772442000.0)
('MPD', 'jdoe', 'proxy-auth')
"""

from __future__ import annotations

import bisect
import csv
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from streams.contract.event import parse_timestamp
from streams.errors import ConfigError, ContractError
from streams.kafka_client import kafka_python_kwargs
from streams.sources.records import ParseError

UNATTRIBUTED = "unattributed"
"""The prefix of the user of a record nobody can be named for: ``unattributed@<address>``."""
_CACHE_CAP = 65_536

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class AddressRanges:
    """Agency by address, longest prefix first."""

    def __init__(self, ranges: Iterable[tuple[str, str]] = ()) -> None:
        nets = [(ipaddress.ip_network(net, strict=False), agency) for net, agency in ranges]
        self._nets: list[tuple[IPNetwork, str]] = sorted(nets, key=lambda n: -n[0].prefixlen)
        self._cache: dict[str, str | None] = {}

    def __len__(self) -> int:
        return len(self._nets)

    def agency_of(self, address: str) -> str | None:
        try:
            return self._cache[address]
        except KeyError:
            pass
        ip = ipaddress.ip_address(address)
        found = next((agency for net, agency in self._nets if ip in net), None)
        if len(self._cache) >= _CACHE_CAP:
            self._cache.clear()
        self._cache[address] = found
        return found


@dataclass(slots=True)
class _Leases:
    starts: list[float] = field(default_factory=list)
    rows: list[tuple[float, float | None, str, str]] = field(default_factory=list)


class LeaseTable:
    """Who held each address when: ``(address, agency, user, start, end or None)`` rows."""

    def __init__(self, leases: Iterable[tuple[str, str, str, float, float | None]] = ()) -> None:
        self._by_address: dict[str, _Leases] = {}
        self.count = 0
        for address, agency, user, start, end in sorted(leases, key=lambda r: (r[0], r[3])):
            held = self._by_address.setdefault(str(ipaddress.ip_address(address)), _Leases())
            held.starts.append(start)
            held.rows.append((start, end, agency, user))
            self.count += 1

    def __len__(self) -> int:
        return self.count

    def at(self, address: str, ts: float) -> tuple[str, str] | None:
        """``(agency, user)`` holding ``address`` at ``ts``: the latest lease begun by then."""
        held = self._by_address.get(address)
        if held is None:
            return None
        index = bisect.bisect_right(held.starts, ts) - 1
        while index >= 0:
            _start, end, agency, user = held.rows[index]
            if end is None or ts < end:
                return agency, user
            index -= 1
            # an earlier lease can only still cover ts if it is longer; keep looking
        return None


class Attribution:
    """Applies the tables to one record: ``(agency, user, how)``."""

    def __init__(
        self,
        ranges: AddressRanges | None = None,
        leases: LeaseTable | None = None,
        default_agency: str | None = None,
    ) -> None:
        self.ranges = ranges or AddressRanges()
        self.leases = leases or LeaseTable()
        self.default_agency = default_agency

    def resolve(
        self, client: str | None, proxy_user: str | None, ts: float
    ) -> tuple[str, str, str]:
        """Raise :class:`ParseError` when no agency can be named for the record."""
        lease = self.leases.at(client, ts) if client else None
        agency = lease[0] if lease else None
        if agency is None and client:
            agency = self.ranges.agency_of(client)
        agency = agency or self.default_agency
        if agency is None:
            where = f"address {client}" if client else "a record without a client address"
            raise ParseError(f"no agency for {where}: no lease at that time and no address range")
        if proxy_user:
            return agency, proxy_user[:128], "proxy-auth"
        if lease:
            return agency, lease[1], "lease"
        if not client:
            raise ParseError("no user and no client address to attribute the record by")
        return agency, f"{UNATTRIBUTED}@{client}", UNATTRIBUTED


def _rows(path: Path, header: list[str], what: str) -> Iterable[tuple[int, list[str]]]:
    try:
        handle = path.open(encoding="utf-8", newline="")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read {what}: {exc.strerror or exc}") from None
    with handle:
        reader = csv.reader(handle)
        try:
            first = next(reader, None)
            if first is None or [c.strip() for c in first] != header:
                raise ConfigError(f"{path}:1: {what} must start with the header {','.join(header)}")
            for row in reader:
                if row and any(cell.strip() for cell in row):
                    yield reader.line_num, [cell.strip() for cell in row]
        except (csv.Error, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}:{reader.line_num}: not a readable CSV: {exc}") from None


def load_ranges(path: str | Path, agencies: Iterable[str] | None = None) -> AddressRanges:
    """``network,agency`` rows; unknown agencies (when ``agencies`` is given) are errors."""
    path = Path(path)
    known = set(agencies) if agencies is not None else None
    errors: list[str] = []
    ranges: list[tuple[str, str]] = []
    for line, row in _rows(path, ["network", "agency"], "address ranges"):
        if len(row) != 2:
            errors.append(f"{path}:{line}: expected 2 columns, found {len(row)}")
            continue
        network, agency = row
        try:
            ipaddress.ip_network(network, strict=False)
        except ValueError:
            errors.append(f"{path}:{line}: {network!r} is not an address range")
            continue
        if known is not None and agency not in known:
            errors.append(f"{path}:{line}: agency {agency!r} is not in the policy")
            continue
        ranges.append((network, agency))
    if errors:
        raise ConfigError(f"{path}: {len(errors)} error(s)", errors)
    return AddressRanges(ranges)


def load_leases(path: str | Path, agencies: Iterable[str] | None = None) -> LeaseTable:
    """``address,agency,user,start,end`` rows (times RFC 3339, ``end`` may be empty)."""
    return LeaseTable(read_leases_csv(path, agencies))


def read_leases_csv(
    path: str | Path, agencies: Iterable[str] | None = None
) -> list[tuple[str, str, str, float, float | None]]:
    """The rows of a leases CSV, validated; every error as ``file:line: message``."""
    path = Path(path)
    known = set(agencies) if agencies is not None else None
    errors: list[str] = []
    leases: list[tuple[str, str, str, float, float | None]] = []
    for line, row in _rows(path, ["address", "agency", "user", "start", "end"], "leases"):
        if len(row) != 5:
            errors.append(f"{path}:{line}: expected 5 columns, found {len(row)}")
            continue
        address, agency, user, start_text, end_text = row
        try:
            address = str(ipaddress.ip_address(address))
        except ValueError:
            errors.append(f"{path}:{line}: {address!r} is not an IP address")
            continue
        if known is not None and agency not in known:
            errors.append(f"{path}:{line}: agency {agency!r} is not in the policy")
            continue
        if not user or len(user) > 128:
            errors.append(f"{path}:{line}: user must be 1-128 characters")
            continue
        try:
            start = parse_timestamp(start_text)
            end = parse_timestamp(end_text) if end_text else None
        except ContractError as exc:
            errors.append(f"{path}:{line}: {exc.reason.replace(chr(39) + 'ts' + chr(39), 'time')}")
            continue
        if end is not None and end <= start:
            errors.append(f"{path}:{line}: the lease ends before it starts")
            continue
        leases.append((address, agency, user, start, end))
    if errors:
        raise ConfigError(f"{path}: {len(errors)} error(s)", errors)
    return leases


def lease_from_record(value: bytes) -> tuple[str, str, str, float, float | None]:
    """One lease record of a leases topic: JSON ``{"address", "agency", "user", "start",
    "end"}`` (``end`` null or absent for a lease still held); ValueError says what is wrong.

    >>> lease_from_record(b'{"address":"10.0.0.1","agency":"MPD","user":"u1","start":"2026-03-02T08:00:00Z"}')
    ('10.0.0.1', 'MPD', 'u1', 1772438400.0, None)
    """
    import orjson

    try:
        obj = orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"not JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise ValueError("not a JSON object")
    address, agency, user = obj.get("address"), obj.get("agency"), obj.get("user")
    start, end = obj.get("start"), obj.get("end")
    if not all(isinstance(v, str) and v for v in (address, agency, user, start)):
        raise ValueError("address, agency, user and start must be non-empty strings")
    assert isinstance(address, str) and isinstance(agency, str) and isinstance(user, str)
    assert isinstance(start, str)
    if end is not None and not isinstance(end, str):
        raise ValueError("end must be a string or null")
    try:
        address = str(ipaddress.ip_address(address))
    except ValueError:
        raise ValueError(f"{address[:64]!r} is not an IP address") from None
    if len(user) > 128:
        raise ValueError("user is longer than 128 characters")
    try:
        begins = parse_timestamp(start)
        ends = parse_timestamp(end) if end else None
    except ContractError as exc:
        raise ValueError(exc.reason) from None
    if ends is not None and ends <= begins:
        raise ValueError("the lease ends before it starts")
    return address, agency, user, begins, ends


def read_leases_topic(
    bootstrap: str, topic: str, agencies: Iterable[str] | None = None, timeout_s: float = 60.0
) -> list[tuple[str, str, str, float, float | None]]:
    """Every lease on a (compacted) leases topic, read to its end once, at start-up.

    The last record per key counts, as after compaction, and a null value (tombstone)
    removes the key's lease; key leases by ``<address>/<start>`` so that history is kept
    and replay attributes old records as they were. Invalid records are errors
    (``topic:partition:offset: message``), all listed.
    """
    import time

    from kafka import KafkaConsumer, TopicPartition
    from kafka.errors import KafkaError

    from streams.errors import BrokerError

    known = set(agencies) if agencies is not None else None
    latest: dict[bytes | None, tuple[str, bytes | None]] = {}
    try:
        consumer = KafkaConsumer(
            bootstrap_servers=bootstrap, **kafka_python_kwargs(), enable_auto_commit=False
        )
    except KafkaError as exc:
        raise BrokerError(f"cannot reach Kafka at {bootstrap}: {exc}") from None
    try:
        partitions = consumer.partitions_for_topic(topic)
        if not partitions:
            raise BrokerError(f"leases topic {topic} does not exist at {bootstrap}")
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        ends = consumer.end_offsets(tps)
        deadline = time.monotonic() + timeout_s
        while any(consumer.position(tp) < end for tp, end in ends.items()):
            if time.monotonic() > deadline:
                raise BrokerError(f"leases topic {topic} not read to its end in {timeout_s:g} s")
            for records in consumer.poll(timeout_ms=500).values():
                for r in records:
                    latest[r.key] = (f"{topic}:{r.partition}:{r.offset}", r.value)
    except KafkaError as exc:
        raise BrokerError(f"cannot read leases topic {topic}: {exc}") from None
    finally:
        consumer.close()
    errors: list[str] = []
    leases = []
    for where, value in latest.values():
        if value is None:
            continue
        try:
            lease = lease_from_record(value)
        except ValueError as exc:
            errors.append(f"{where}: {exc}")
            continue
        if known is not None and lease[1] not in known:
            errors.append(f"{where}: agency {lease[1]!r} is not in the policy")
            continue
        leases.append(lease)
    if errors:
        raise ConfigError(f"{topic}: {len(errors)} error(s)", sorted(errors))
    return leases
