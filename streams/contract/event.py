"""The input contract ``frt.search.v1`` (CONTRACT.md section 1).

One validated model used by the worker, replay, the simulator and the model.
It sits on the hot path of every driver, so :func:`parse_event` first decodes
with a compiled ``msgspec`` decoder whose types and bounds are the contract's
(for an event with only the contract's fields); whatever that decoder refuses
goes through the hand-written validation over ``orjson``
(:func:`event_from_dict`), which alone words the reasons. So a valid event
costs about half of what it did and a bad one gets the same dead-letter
reason as before (``tests/unit/contract/test_fast_decoder.py`` runs both
paths over a corpus of bad and good records).

>>> ev = parse_event(b'{"event_id":"e1","ts":"2026-03-01T09:00:00Z","agency":"MPD",'
...                  b'"user":"u7","endpoint":"HTTPS://FRT.County.gov/search?q=1"}')
>>> ev.host, ev.on_behalf_of, ev.case_number
('frt.county.gov', 'MPD', None)
>>> parse_event(b'{"event_id":"e1"}')
Traceback (most recent call last):
...
streams.errors.ContractError: missing required field 'ts'
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from dataclasses import fields as dataclass_fields
from datetime import datetime
from typing import Annotated, Any

import msgspec
import orjson
from ada_url import URL, HostType

from streams.contract.keys import agency_key, user_key
from streams.errors import ContractError

EVENT_SCHEMA = "frt.search.v1"
MAX_EVENT_BYTES = 64 * 1024

_HEX64 = re.compile(r"[0-9a-fA-F]{64}")
# RFC 3339: full date, 'T' or space, full time, optional fraction, 'Z' or offset.
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})")
# Schemes whose URLs always have a host (the URL Standard's "special" schemes).
_SPECIAL_SCHEMES = frozenset(("http:", "https:", "ws:", "wss:", "ftp:", "file:"))
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+\-.]*:")
# What the URL parser strips from both ends, and removes anywhere, before parsing.
_C0_AND_SPACE = "".join(map(chr, range(0x21)))
_TAB_AND_NEWLINE = str.maketrans("", "", "\t\n\r")

_REQUIRED_STR: tuple[tuple[str, int], ...] = (
    ("event_id", 128),
    ("ts", 64),
    ("agency", 64),
    ("user", 128),
    ("endpoint", 2048),
)


@dataclass(frozen=True, slots=True)
class SearchEvent:
    """A validated ``frt.search.v1`` event.

    ``ts`` is event time as seconds since the epoch (UTC); ``ts_text`` keeps
    the producer's original string. ``host`` is the normalised lower-case host
    of ``endpoint``. ``extra`` keeps unknown fields untouched.
    """

    event_id: str
    ts: float
    ts_text: str
    agency: str
    user: str
    endpoint: str
    host: str
    on_behalf_of: str
    case_number: str | None = None
    purpose: str | None = None
    probe_sha256: str | None = None
    result_count: int | None = None
    source: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def user_key(self) -> str:
        """The per-user state key, ``<agency>/<user>`` with each part escaped
        (:mod:`streams.contract.keys`)."""
        return user_key(self.agency, self.user)

    @property
    def agency_key(self) -> str:
        """The per-agency state key: the escaped agency (:mod:`streams.contract.keys`)."""
        return agency_key(self.agency)

    def to_dict(self) -> dict[str, Any]:
        """The event as ``frt.search.v1`` JSON fields (unknown fields kept)."""
        out: dict[str, Any] = dict(self.extra)
        out.update(
            event_id=self.event_id,
            ts=self.ts_text,
            agency=self.agency,
            user=self.user,
            endpoint=self.endpoint,
            on_behalf_of=self.on_behalf_of,
        )
        for name in ("case_number", "purpose", "probe_sha256", "result_count", "source"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        return out

    def to_json(self) -> bytes:
        return orjson.dumps(self.to_dict())

    def to_fields(self) -> list[Any]:
        """Every attribute in declaration order: the compact form the worker's ingest
        stage passes to its detection stage (:mod:`streams.worker.internal_records`), read
        back by :meth:`from_fields` without validating or parsing again.

        >>> event = parse_event(b'{"event_id":"e1","ts":"2026-03-02T09:00:00Z",'
        ...     b'"agency":"MPD","user":"u1","endpoint":"https://Frt.Example/x","n":1}')
        >>> fields = event.to_fields()
        >>> fields[:7]
        ['e1', 1772442000.0, '2026-03-02T09:00:00Z', 'MPD', 'u1', 'https://Frt.Example/x', 'frt.example']
        >>> back = SearchEvent.from_fields(orjson.loads(orjson.dumps(fields)))
        >>> back == event and back.extra == {"n": 1}
        True
        """
        return [
            self.event_id, self.ts, self.ts_text, self.agency, self.user, self.endpoint,
            self.host, self.on_behalf_of, self.case_number, self.purpose, self.probe_sha256,
            self.result_count, self.source, self.extra,
        ]  # fmt: skip

    @classmethod
    def from_fields(cls, fields: list[Any]) -> SearchEvent:
        """The event :meth:`to_fields` described (trusted input: not validated again)."""
        if len(fields) != _FIELD_COUNT:
            raise ContractError(f"expected {_FIELD_COUNT} event fields, got {len(fields)}")
        return cls(*fields)


def parse_timestamp(text: str) -> float:
    """Parse an RFC 3339 timestamp with an offset or ``Z`` into epoch seconds.

    >>> parse_timestamp("2026-03-01T10:00:00+01:00") == parse_timestamp("2026-03-01T09:00:00Z")
    True
    """
    if not _RFC3339.fullmatch(text):
        raise ContractError(f"'ts' is not an RFC 3339 timestamp with offset: {text[:64]!r}")
    try:
        return datetime.fromisoformat(text.replace("z", "Z")).timestamp()
    except ValueError as exc:
        raise ContractError(f"'ts' is not a valid date-time: {text[:64]!r} ({exc})") from None


def normalise_host(endpoint: str) -> str:
    """The host a browser would connect to for ``endpoint``, as the WHATWG URL Standard reads it.

    The parser is ``ada-url`` (a conforming implementation of the standard), so
    everything a browser does to a host happens here too: UTS-46 mapping to
    lower-case ASCII (full-width letters, ideographic full stops, punycode),
    percent-decoding, ``\\`` read as ``/`` in special schemes, missing or extra
    slashes after the scheme, and IPv4 addresses in every notation (hex, octal,
    fewer than four parts) made dotted decimal. A bare host (``host:port/path``,
    no scheme) is read as ``http://`` + it, as an address bar does. Trailing dots
    are dropped; IPv6 addresses come without brackets.

    >>> normalise_host("https://User@Search.Example.COM:8443/api?x=1")
    'search.example.com'
    >>> normalise_host("frt.county.gov.")
    'frt.county.gov'
    >>> normalise_host("https://clearview.ai\\\\@frt.county.example.gov/")
    'clearview.ai'
    >>> normalise_host("http://0x7f.1/"), normalise_host("[::FFFF:7F00:1]:8443")
    ('127.0.0.1', '::ffff:7f00:1')

    :class:`ContractError` when no browser could reach a host from it.
    """
    host = _whatwg_host(endpoint)
    if host is None:
        raise ContractError(f"'endpoint' has no valid host: {endpoint[:128]!r}")
    return host


def _whatwg_host(endpoint: str) -> str | None:
    url = _parse_url(endpoint)
    if url is None or (not url.hostname and url.protocol not in _SPECIAL_SCHEMES):
        # No scheme, or what looks like one is a bare host with a port
        # ("clearview.ai:443" parses as scheme "clearview.ai"): read it as a host.
        # Never when it starts with a special scheme: "https://" has no host, not "https".
        text = endpoint.strip(_C0_AND_SPACE).translate(_TAB_AND_NEWLINE)
        scheme = _SCHEME.match(text)
        if scheme is not None and scheme.group(0).lower() in _SPECIAL_SCHEMES:
            return None
        url = _parse_url("http://" + text)
    if url is None:
        return None
    host = url.hostname
    if url.host_type == HostType.IPV6:
        host = host[1:-1]
    # Non-special schemes keep an opaque host as written; lower-case it like the rest.
    host = host.lower().rstrip(".")
    return host or None


def _parse_url(text: str) -> URL | None:
    try:
        return URL(text)
    except ValueError:
        return None


_KNOWN_FIELDS = frozenset(
    ("event_id", "ts", "agency", "user", "endpoint", "on_behalf_of",
     "case_number", "purpose", "probe_sha256", "result_count", "source")
)  # fmt: skip
# Endpoints repeat (a handful of systems serve thousands of searches), so their
# normalised hosts are remembered; the cache is bounded and simply cleared when full.
_HOST_CACHE: dict[str, str] = {}
_HOST_CACHE_MAX = 4096


def _host_of(endpoint: str) -> str:
    """``normalise_host``, or the endpoint itself when it has no host a browser could reach.

    An unparseable endpoint is still a search that went somewhere, so it is judged,
    not dead-lettered: as a host that is on no list it gives at least an
    ``unknown_endpoint`` alert that shows the raw value (docs/CONTRACTS.md).
    """
    host = _HOST_CACHE.get(endpoint)
    if host is None:
        host = _whatwg_host(endpoint) or endpoint
        if len(_HOST_CACHE) >= _HOST_CACHE_MAX:
            _HOST_CACHE.clear()
        _HOST_CACHE[endpoint] = host
    return host


_FIELD_COUNT = len(dataclass_fields(SearchEvent))


def _bad_required(obj: dict[str, Any], name: str, limit: int) -> ContractError:
    """The reason a required string field is invalid."""
    if name not in obj:
        return ContractError(f"missing required field {name!r}")
    value = obj[name]
    if not isinstance(value, str):
        return ContractError(f"field {name!r} must be a string, got {type(value).__name__}")
    return ContractError(f"field {name!r} must be 1-{limit} characters, got {len(value)}")


def _optional_str(obj: dict[str, Any], name: str, limit: int) -> str | None:
    value = obj.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ContractError(f"field {name!r} must be a string, got {type(value).__name__}")
    if len(value) > limit:
        raise ContractError(f"field {name!r} is longer than {limit} characters")
    return value


def event_from_dict(obj: Any) -> SearchEvent:
    """Validate a decoded JSON value as a ``frt.search.v1`` event.

    This sits on the hot path of every driver, so the common case (all fields
    present and well-typed) is checked inline; the slow path only builds the reason.
    """
    if not isinstance(obj, dict):
        raise ContractError(f"event must be a JSON object, got {type(obj).__name__}")
    get: Callable[[str], Any] = obj.get
    event_id: str = get("event_id")
    ts_text: str = get("ts")
    agency: str = get("agency")
    user: str = get("user")
    endpoint: str = get("endpoint")
    for value, (name, limit) in zip(
        (event_id, ts_text, agency, user, endpoint), _REQUIRED_STR, strict=True
    ):
        if type(value) is not str or not value or len(value) > limit:
            raise _bad_required(obj, name, limit)
    on_behalf_of = _optional_str(obj, "on_behalf_of", 64)
    if on_behalf_of is not None and not on_behalf_of.strip():
        on_behalf_of = None
    purpose = _optional_str(obj, "purpose", 256)
    source = _optional_str(obj, "source", 128)
    case = get("case_number")
    if case is not None:
        if not isinstance(case, str):
            raise ContractError(
                f"field 'case_number' must be a string or null, got {type(case).__name__}"
            )
        if len(case) > 256:
            raise ContractError("field 'case_number' is longer than 256 characters")
        case = case.strip() or None
    probe = get("probe_sha256")
    if probe is not None:
        if not isinstance(probe, str) or not _HEX64.fullmatch(probe):
            raise ContractError("field 'probe_sha256' must be 64 hexadecimal characters")
        probe = probe.lower()
    count = get("result_count")
    if count is not None and (type(count) is not int or count < 0):
        raise ContractError("field 'result_count' must be an integer >= 0")
    extra = (
        {k: v for k, v in obj.items() if k not in _KNOWN_FIELDS}
        if obj.keys() - _KNOWN_FIELDS
        else {}
    )
    return SearchEvent(
        event_id,
        parse_timestamp(ts_text),
        ts_text,
        agency,
        user,
        endpoint,
        _host_of(endpoint),
        on_behalf_of if on_behalf_of is not None else agency,
        case,
        purpose,
        probe,
        count,
        source,
        extra,
    )


_Id = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]  # event_id, user
_Short = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]  # ts, agency
_Endpoint = Annotated[str, msgspec.Meta(min_length=1, max_length=2048)]
_Upto64 = Annotated[str, msgspec.Meta(max_length=64)]
_Upto128 = Annotated[str, msgspec.Meta(max_length=128)]
_Upto256 = Annotated[str, msgspec.Meta(max_length=256)]
_Probe = Annotated[str, msgspec.Meta(min_length=64, max_length=64)]
_Count = Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)]


class _Wire(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    """An event with only the contract's fields, each of its type and within its bounds
    (lengths are in characters, as ``len`` counts them). ``result_count`` stops at
    2**63 - 1 (msgspec's bound; orjson makes a float above 2**64 - 1, which the contract
    refuses, and the slow path takes what lies between). Left to check in Python:
    ``probe_sha256`` is hexadecimal and ``ts`` an RFC 3339 time."""

    event_id: _Id
    ts: _Short
    agency: _Short
    user: _Id
    endpoint: _Endpoint
    on_behalf_of: _Upto64 | None = None
    case_number: _Upto256 | None = None
    purpose: _Upto256 | None = None
    probe_sha256: _Probe | None = None
    result_count: _Count | None = None
    source: _Upto128 | None = None


_WIRE = msgspec.json.Decoder(_Wire)


def _fast(raw: bytes | bytearray | memoryview) -> SearchEvent | None:
    """The event, or None for anything the slow path must look at (and word)."""
    try:
        wire = _WIRE.decode(raw)
    except msgspec.DecodeError:
        return None
    probe = wire.probe_sha256
    if probe is not None:
        if not _HEX64.fullmatch(probe):
            return None
        probe = probe.lower()
    ts_text = wire.ts
    try:
        ts = parse_timestamp(ts_text)
    except ContractError:
        return None
    agency = wire.agency
    on_behalf_of = wire.on_behalf_of
    if on_behalf_of is None or not on_behalf_of.strip():
        on_behalf_of = agency
    case = wire.case_number
    if case is not None:
        case = case.strip() or None
    endpoint = wire.endpoint
    return SearchEvent(
        wire.event_id,
        ts,
        ts_text,
        agency,
        wire.user,
        endpoint,
        _host_of(endpoint),
        on_behalf_of,
        case,
        wire.purpose,
        probe,
        wire.result_count,
        wire.source,
        {},
    )


def parse_event(raw: bytes | bytearray | memoryview | str | None) -> SearchEvent:
    """Decode and validate one message value; raise :class:`ContractError` with the reason."""
    if raw is None:
        raise ContractError("message has no value (null)")
    if isinstance(raw, str):
        raw = raw.encode("utf-8")
    if len(raw) > MAX_EVENT_BYTES:
        raise ContractError(f"message is {len(raw)} bytes, more than {MAX_EVENT_BYTES}")
    if not raw:
        raise ContractError("message value is empty")
    event = _fast(raw)
    if event is not None:
        return event
    return parse_event_checked(raw)


def parse_event_checked(raw: bytes | bytearray | memoryview) -> SearchEvent:
    """The hand-written path alone (``orjson`` and :func:`event_from_dict`): what
    :func:`parse_event` falls back to, and the reference its fast path is tested against.
    ``raw`` is a non-empty value of at most ``MAX_EVENT_BYTES``."""
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ContractError(f"not valid UTF-8 JSON: {exc}") from None
    return event_from_dict(obj)
