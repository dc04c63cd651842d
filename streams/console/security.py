"""The console's locks: response headers, sign-in gate, CSRF and origin checks.

Every response, including errors, static files and the live stream, carries
the same headers: a Content-Security-Policy that only lets our own script and
style run (no inline script, no framing, no remote anything), ``nosniff`` and
``no-store``. Every request except the login page, the health check and our
static files needs a signed-in session. Every state change is a POST that
carries the session's CSRF token and, when the browser sends them, a
same-origin ``Origin`` and ``Sec-Fetch-Site``.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Awaitable, Callable, Sequence
from urllib.parse import quote, urlsplit

from aiohttp import web
from aiohttp.typedefs import Middleware

from streams.console.sessions import Session

SESSION_COOKIE = "frtwatch_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "connect-src 'self'",
        "font-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    )
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
    "Pragma": "no-cache",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
}
PUBLIC_PATHS = frozenset({"/login", "/healthz"})
SAFE_METHODS = frozenset({"GET", "HEAD"})

SESSION_KEY = web.RequestKey("session", Session)

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
SessionLookup = Callable[[web.Request], Session | None]


async def add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """``on_response_prepare`` hook: runs for every response, errors included."""
    for name, value in SECURITY_HEADERS.items():
        response.headers[name] = value
    if request.secure:
        response.headers["Strict-Transport-Security"] = "max-age=31536000"


def is_public(path: str) -> bool:
    return path in PUBLIC_PATHS or path.startswith("/static/")


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a local path only, never another site.

    >>> safe_next("/alerts/a1?x=1"), safe_next("//evil.example/"), safe_next("https://evil/")
    ('/alerts/a1?x=1', '/', '/')
    """
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return "/"
    return target


def origin_of(url: str) -> str:
    """The ``scheme://host[:port]`` a browser sends as ``Origin`` for pages under ``url``.

    >>> origin_of("HTTPS://SOC.Example.org:443/console/"), origin_of("http://h:8080")
    ('https://soc.example.org', 'http://h:8080')
    """
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    port = parts.port
    default = {"http": 80, "https": 443}.get(scheme)
    return f"{scheme}://{host}" + (f":{port}" if port and port != default else "")


def same_origin(request: web.Request, external_url: str = "") -> bool:
    """Whether the browser says this request comes from our own pages.

    Behind a TLS-terminating proxy the request reaches us as plain HTTP, so the
    origin to expect is the configured external URL's, not the request's.
    """
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None and site not in ("same-origin", "none"):
        return False
    origin = request.headers.get("Origin")
    if origin is None:
        return True  # not sent by every browser for every request; the token still decides
    expected = origin_of(external_url) if external_url else f"{request.scheme}://{request.host}"
    return origin == expected


def client_address(request: web.Request, trusted: Sequence[IPNetwork]) -> str:
    """The address of the browser: the peer, or, when the peer is a trusted proxy, the
    right-most ``X-Forwarded-For`` entry that is not one of our proxies.

    Entries left of the first untrusted one were written by the client and are ignored.
    """
    peer = request.remote or "?"
    if not trusted or not _is_trusted(peer, trusted):
        return peer
    hops = [h.strip() for v in request.headers.getall("X-Forwarded-For", []) for h in v.split(",")]
    for hop in reversed(hops):
        if not hop:
            continue
        if not _is_trusted(hop, trusted):
            return _normalised(hop)
    return peer


def _normalised(text: str) -> str:
    try:
        return str(ipaddress.ip_address(text.strip("[]")))
    except ValueError:
        return text[:64]  # not an address: still a key, just a bounded one


def _is_trusted(text: str, trusted: Sequence[IPNetwork]) -> bool:
    try:
        address = ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return False
    return any(address in net for net in trusted)


def parse_networks(values: Sequence[str]) -> tuple[IPNetwork, ...]:
    """``--trusted-proxy`` values as networks; ``ValueError`` names a bad one."""
    out = []
    for value in values:
        try:
            out.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError:
            raise ValueError(f"{value!r} is not an IP address or network") from None
    return tuple(out)


USER_ACTION_HEADER = "X-Frtwatch-Action"


def counts_as_activity(request: web.Request) -> bool:
    """Whether this request shows a person at the console (and so keeps the session alive).

    Page loads and POSTs do; data requests only when the page says a person asked for
    them (:data:`USER_ACTION_HEADER`, sent right after a click or key press). Background
    polls, refreshes triggered by the live stream, and the stream itself do not.
    """
    if request.method not in SAFE_METHODS or not request.path.startswith("/api/"):
        return True
    return request.headers.get(USER_ACTION_HEADER) == "1"


async def csrf_token_of(request: web.Request) -> str:
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    if request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.post()
        value = form.get(CSRF_FIELD)
        return value if isinstance(value, str) else ""
    return ""


def make_gate(lookup: SessionLookup, external_url: str = "") -> Middleware:
    """The middleware: sessions in, anonymous users out, CSRF on every state change."""

    @web.middleware
    async def gate(request: web.Request, handler: Handler) -> web.StreamResponse:
        session = lookup(request)
        if session is not None:
            request[SESSION_KEY] = session
        path = request.path
        signed_in = session is not None and session.authenticated
        if not is_public(path) and not signed_in:
            if path.startswith("/api/"):
                return web.json_response({"error": "sign in first"}, status=401)
            if request.method not in SAFE_METHODS:
                return web.json_response({"error": "sign in first"}, status=401)
            raise web.HTTPFound(f"/login?next={quote(request.path_qs, safe='/')}")
        if request.method not in SAFE_METHODS:
            if not same_origin(request, external_url):
                return web.json_response({"error": "cross-site request refused"}, status=403)
            token = await csrf_token_of(request)
            valid = session is not None and hmac.compare_digest(
                token.encode("utf-8"), session.csrf_token.encode("utf-8")
            )
            if not valid and path == "/login":
                raise web.HTTPSeeOther("/login?error=expired")
            if not valid:
                return web.json_response(
                    {"error": "missing or wrong CSRF token; reload the page"}, status=403
                )
        return await handler(request)

    return gate
