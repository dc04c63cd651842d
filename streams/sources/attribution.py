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
    return LeaseTable(leases)
