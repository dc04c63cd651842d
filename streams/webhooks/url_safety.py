"""Where a webhook may point: only http/https, and only public addresses unless allowed.

A routes file is configuration, but a webhook dispatcher that posts wherever
it is told is a server-side request forgery tool: a typo or a hostile edit
could aim it at the loopback admin port of another service or at a cloud
metadata endpoint. So loopback, link-local, private and other non-global
addresses are refused unless the route says ``allow_private: true`` (a SOC
that runs its receivers on an internal network says so explicitly).
Unspecified and multicast addresses are never valid targets. An IPv6 address
that carries an IPv4 address (IPv4-mapped, -compatible or -translated, NAT64
``64:ff9b::/96``, 6to4 ``2002::/16``, Teredo ``2001::/32``) is judged by that
IPv4 address as well, since that is where its packets end up.

Host names are checked where it matters: :class:`GuardedResolver` sits in
the HTTP client's connector and vets *every* address a name resolves to, at
connect time, so a name that later re-resolves to a private address (DNS
rebinding) is refused too. Literal IP addresses never reach a resolver, so
:func:`url_problem` checks them when the route is loaded.

>>> url_problem("ftp://example.org/x", allow_private=False)
"scheme 'ftp' is not allowed (use http or https)"
>>> url_problem("http://10.1.2.3/hook", allow_private=False)
'10.1.2.3 is a private address (set allow_private: true to allow it)'
>>> url_problem("http://10.1.2.3/hook", allow_private=True) is None
True
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver

from streams.errors import FrtwatchError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class TargetRefusedError(FrtwatchError):
    """A webhook target that resolves to an address the route may not reach."""


def address_problem(address: IPAddress, *, allow_private: bool) -> str | None:
    """Why ``address`` may not be a webhook target, or None when it may.

    >>> address_problem(ipaddress.ip_address("8.8.8.8"), allow_private=False) is None
    True
    >>> address_problem(ipaddress.ip_address("::ffff:127.0.0.1"), allow_private=False)
    '127.0.0.1 is a loopback address (set allow_private: true to allow it)'
    >>> address_problem(ipaddress.ip_address("0.0.0.0"), allow_private=True)
    '0.0.0.0 is the unspecified address'
    """
    if isinstance(address, ipaddress.IPv6Address):
        for form, embedded in embedded_ipv4(address):
            problem = address_problem(embedded, allow_private=allow_private)
            if problem is not None and form == "IPv4-mapped":
                return problem  # the same address, written the IPv6 way
            if problem is not None:
                return f"{address} is the {form} form of {embedded}; {problem}"
        if address.ipv4_mapped is not None:
            return None  # the mapped address itself was allowed above
    if address.is_unspecified:
        return f"{address} is the unspecified address"
    if address.is_multicast:
        return f"{address} is a multicast address"
    if allow_private:
        return None
    if address.is_loopback:
        kind = "a loopback"
    elif address.is_link_local:
        kind = "a link-local"
    elif address.is_private:
        kind = "a private"
    elif not address.is_global:
        kind = "a non-public (reserved or shared)"
    else:
        return None
    return f"{address} is {kind} address (set allow_private: true to allow it)"


_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
_IPV4_TRANSLATED = ipaddress.ip_network("::ffff:0:0:0/96")


def embedded_ipv4(address: ipaddress.IPv6Address) -> list[tuple[str, ipaddress.IPv4Address]]:
    """The IPv4 addresses an IPv6 address reaches through a transition mechanism.

    A packet to any of these forms ends up at the IPv4 address inside it (through
    the host's own stack, a NAT64 gateway, a 6to4 or Teredo relay), so the check
    must judge that address too: ``64:ff9b::10.0.0.1`` is 10.0.0.1 behind NAT64.

    >>> embedded_ipv4(ipaddress.IPv6Address("64:ff9b::a00:1"))
    [('NAT64', IPv4Address('10.0.0.1'))]
    >>> [form for form, _ in embedded_ipv4(ipaddress.IPv6Address("2002:7f00:1::1"))]
    ['6to4']
    """
    found: list[tuple[str, ipaddress.IPv4Address]] = []
    low32 = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.ipv4_mapped is not None:
        found.append(("IPv4-mapped", address.ipv4_mapped))
    elif address in _IPV4_TRANSLATED:
        found.append(("IPv4-translated", low32))
    elif address in _IPV4_COMPATIBLE and int(address) > 1:
        found.append(("IPv4-compatible", low32))
    if any(address in net for net in _NAT64):
        found.append(("NAT64", low32))
    if address.sixtofour is not None:
        found.append(("6to4", address.sixtofour))
    if address.teredo is not None:
        server, client = address.teredo
        found += [("Teredo", client), ("Teredo server", server)]
    return found


def literal_address(host: str) -> IPAddress | None:
    """The IP address when ``host`` is an IP literal (brackets and zone stripped), else None."""
    text = host.strip("[]").split("%", 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def url_problem(url: str, *, allow_private: bool) -> str | None:
    """What is wrong with ``url`` as a webhook target (syntax and literal IPs), or None."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        return f"not a valid URL ({exc})"
    if parts.scheme not in ("http", "https"):
        return f"scheme {parts.scheme!r} is not allowed (use http or https)"
    host = parts.hostname
    if not host:
        return "the URL has no host"
    if parts.username is not None or parts.password is not None:
        return (
            "credentials in the URL are not allowed (use headers_env for an Authorization header)"
        )
    if port == 0:
        return "port 0 is not a valid target port"
    address = literal_address(host)
    if address is not None:
        return address_problem(address, allow_private=allow_private)
    return None


def redacted_target(url: str) -> str:
    """``scheme://host[:port]`` only: paths often carry secrets (Slack, some SIEM tokens).

    >>> redacted_target("https://hooks.slack.com/services/T0/B0/secret")
    'https://hooks.slack.com'
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "<invalid url>"
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    return f"{parts.scheme}://{host}" + (f":{port}" if port else "")


class GuardedResolver(AbstractResolver):
    """Resolve like the default resolver, then refuse if any address is not allowed.

    Every address is checked, not just the first: the HTTP client may try
    each of them (happy eyeballs), so one bad address is enough to refuse.
    """

    def __init__(self, *, allow_private: bool) -> None:
        self._allow_private = allow_private
        self._inner = ThreadedResolver(asyncio.get_running_loop())

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        for result in results:
            address = literal_address(result["host"])
            problem = (
                f"{result['host']} is not an IP address"
                if address is None
                else address_problem(address, allow_private=self._allow_private)
            )
            if problem is not None:
                raise TargetRefusedError(f"{host} resolves to {problem}")
        return results

    async def close(self) -> None:
        await self._inner.close()
