"""Where a webhook may point: only http/https, and only public addresses unless allowed.

A routes file is configuration, but a webhook dispatcher that posts wherever
it is told is a server-side request forgery tool: a typo or a hostile edit
could aim it at the loopback admin port of another service or at a cloud
metadata endpoint. So loopback, link-local, private and other non-global
addresses are refused unless the route says ``allow_private: true`` (a SOC
that runs its receivers on an internal network says so explicitly).
Unspecified and multicast addresses are never valid targets.

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
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
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
