"""What a parser makes of one raw record: an observation of a request, or a reason it cannot.

Parsers are pure functions of the line (plus, for Zeek TSV, the header lines before it):
they never talk to Kafka, never attribute, never filter. Every way a line can be
malformed is a :class:`ParseError` with a one-line reason, which the ingest pipeline
turns into a dead letter carrying the raw line.
"""

from __future__ import annotations

from dataclasses import dataclass

from streams.contract.event import normalise_host
from streams.errors import ContractError, FrtwatchError

MAX_LINE_BYTES = 64 * 1024
"""Longer raw records are dead letters: one log line cannot make the pipeline buffer more."""


class ParseError(FrtwatchError):
    """A raw record this format cannot read; ``reason`` is one line for the dead letter."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True, slots=True)
class Observation:
    """One network request as a sensor saw it.

    ``host`` is the normalised lower-case host (empty when the record names none, such
    as a TLS connection without SNI); ``client`` the client's address; ``user`` the
    name the sensor authenticated, if any; ``extra`` sensor facts kept in the event.
    """

    ts: float
    host: str
    endpoint: str
    client: str | None
    user: str | None = None
    sensor: str | None = None
    extra: tuple[tuple[str, str | int], ...] = ()


def host_of(endpoint: str) -> str:
    """The event contract's normalised host, or a :class:`ParseError` naming the endpoint.

    >>> host_of("pimeyes.com:443")
    'pimeyes.com'
    >>> host_of("http://exa mple/")
    Traceback (most recent call last):
    ...
    streams.sources.records.ParseError: 'endpoint' has no valid host: 'http://exa mple/'
    """
    try:
        return normalise_host(endpoint)
    except ContractError as exc:
        raise ParseError(exc.reason) from None


LATEST_TS = 253402300799.0  # 9999-12-31T23:59:59Z, the last time RFC 3339 can write


def checked_time(ts: float) -> float:
    """``ts`` if it is a time an event can carry (1970 to 9999), else a :class:`ParseError`.

    >>> checked_time(1772442000.0)
    1772442000.0
    >>> checked_time(1e300)
    Traceback (most recent call last):
    ...
    streams.sources.records.ParseError: time 1e+300 is outside 1970-9999
    """
    if not 0 <= ts <= LATEST_TS:  # NaN fails too
        raise ParseError(f"time {ts:.6g} is outside 1970-9999")
    return ts


def decode_line(raw: bytes) -> str:
    """The line as text: UTF-8, without its line ending; a :class:`ParseError` otherwise."""
    if len(raw) > MAX_LINE_BYTES:
        raise ParseError(f"record is {len(raw)} bytes, more than {MAX_LINE_BYTES}")
    try:
        return raw.decode("utf-8").rstrip("\r\n")
    except UnicodeDecodeError as exc:
        raise ParseError(f"not UTF-8 text (byte {exc.start})") from None
