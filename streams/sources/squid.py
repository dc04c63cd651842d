"""Squid's native ``access.log`` (``logformat squid``).

The native format is ten space-separated fields::

    %ts.%03tu %6tr %>a %Ss/%03>Hs %<st %rm %ru %[un %Sh/%<a %mt
    1772442000.123    120 10.10.0.11 TCP_TUNNEL/200 5120 CONNECT pimeyes.com:443 - HIER_DIRECT/203.0.113.7 -

time (epoch seconds with milliseconds), elapsed ms, client address, result code/HTTP
status, bytes, method, URL (``host:port`` for ``CONNECT``), the authenticated user
(``-`` when the proxy did not authenticate; URL-quoted), hierarchy code/peer, and MIME
type. No library parses it, and it is simple and fixed, so this is a strict split:
anything else (a custom ``logformat``, a truncated line) is a :class:`ParseError`.

>>> obs = SquidParser().parse("1772442000.123 120 10.10.0.11 TCP_TUNNEL/200 5120 CONNECT "
...                           "pimeyes.com:443 j%20doe HIER_DIRECT/203.0.113.7 -")
>>> obs.host, obs.client, obs.user, obs.ts
('pimeyes.com', '10.10.0.11', 'j doe', 1772442000.123)
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import unquote

from streams.sources.records import Observation, ParseError, host_of

_TIME = re.compile(r"\d{9,11}\.\d{3}")
_RESULT = re.compile(r"[A-Z_]+/\d{3}")
_HIERARCHY = re.compile(r"[A-Z_]+/\S+")
_METHOD = re.compile(r"[A-Z][A-Z_\-]{0,31}")
FIELDS = 10


class SquidParser:
    """One ``logformat squid`` line to an :class:`Observation`."""

    name = "squid"

    def parse(self, line: str) -> Observation | None:
        if not line.strip():
            return None
        parts = line.split()
        if len(parts) != FIELDS:
            raise ParseError(
                f"expected {FIELDS} fields of Squid's native format, found {len(parts)}"
            )
        stamp, elapsed, client, result, size, method, url, user, hierarchy, _mime = parts
        if not _TIME.fullmatch(stamp):
            raise ParseError(f"time {stamp[:40]!r} is not epoch seconds with milliseconds")
        if not elapsed.isdigit() or not size.isdigit():
            raise ParseError("elapsed time and size must be whole numbers")
        try:
            client = str(ipaddress.ip_address(client))
        except ValueError:
            raise ParseError(f"client {client[:64]!r} is not an IP address") from None
        if not _RESULT.fullmatch(result):
            raise ParseError(f"result {result[:40]!r} is not CODE/STATUS")
        if not _METHOD.fullmatch(method):
            raise ParseError(f"method {method[:40]!r} is not an HTTP method")
        if not _HIERARCHY.fullmatch(hierarchy):
            raise ParseError(f"hierarchy {hierarchy[:40]!r} is not CODE/PEER")
        # Squid logs requests it could not parse with method NONE and an "error:" URL:
        # a real line with no host, dropped as such, never an event.
        host = "" if method == "NONE" or url.startswith("error:") else host_of(url)
        name = unquote(user) if user != "-" else None
        return Observation(
            ts=float(stamp),
            host=host,
            endpoint=url,
            client=client,
            user=name or None,
            extra=(("proxy_result", result), ("http_method", method)),
        )
