"""HTML views: sign-in, sign-out, and the shells of the feed, alert and analytics pages."""

from __future__ import annotations

import asyncio

from aiohttp import web

from streams.console.audit import audit
from streams.console.exception_writer import EXCEPTION_ROLES
from streams.console.passwords import DUMMY_HASH, verify_password
from streams.console.ratelimit import Slot
from streams.console.security import SESSION_COOKIE, SESSION_KEY, safe_next
from streams.console.sessions import Session
from streams.console.state import CONSOLE_KEY
from streams.console.templates import render, render_page

_ERRORS = {
    "expired": "The sign-in form expired. Please try again.",
    "signed_out": "You are signed out.",
}


def _html(text: str, status: int = 200) -> web.Response:
    return web.Response(text=text, status=status, content_type="text/html", charset="utf-8")


def set_session_cookie(request: web.Request, response: web.StreamResponse, sid: str) -> None:
    console = request.app[CONSOLE_KEY]
    response.set_cookie(
        SESSION_COOKIE,
        sid,
        httponly=True,
        samesite="Strict",
        secure=console.config.secure_cookies or request.secure,
        path="/",
    )


def _login_page(
    session: Session,
    *,
    error: str = "",
    next_path: str = "/",
    username: str = "",
    status: int = 200,
) -> web.Response:
    page = render(
        "login.html",
        csrf_token=session.csrf_token,
        error=error,
        next=next_path,
        username=username,
    )
    return _html(page, status)


async def login_form(request: web.Request) -> web.StreamResponse:
    console = request.app[CONSOLE_KEY]
    session = request.get(SESSION_KEY)
    next_path = safe_next(request.query.get("next"))
    if session is not None and session.authenticated:
        raise web.HTTPFound(next_path)
    fresh = session is None
    if session is None:
        session = console.sessions.create(None)
    response = _login_page(
        session, error=_ERRORS.get(request.query.get("error", ""), ""), next_path=next_path
    )
    if fresh:
        set_session_cookie(request, response, session.sid)
    return response


async def login_submit(request: web.Request) -> web.StreamResponse:
    console = request.app[CONSOLE_KEY]
    session = request[SESSION_KEY]  # the gate guarantees a session with a valid CSRF token
    form = await request.post()
    username = str(form.get("username", ""))[:64].strip()
    password = str(form.get("password", ""))[:1024]
    next_path = safe_next(str(form.get("next", "/")))
    address = console.client_address(request)
    slot = console.limiter.reserve(username, address)  # before the slow hash: atomic
    if not isinstance(slot, Slot):
        wait = slot
        audit("login_throttled", user=username, remote=address)
        response = _login_page(
            session,
            error=f"Too many failed attempts. Try again in {int(wait) + 1} seconds.",
            next_path=next_path,
            username=username,
            status=429,
        )
        response.headers["Retry-After"] = str(int(wait) + 1)
        return response
    account = console.accounts.get(username)
    stored_hash = account.password_hash if account is not None else DUMMY_HASH
    loop = asyncio.get_running_loop()
    try:
        matches = await loop.run_in_executor(None, verify_password, password, stored_hash)
    except BaseException:
        slot.cancel()
        raise
    if account is None or account.disabled or not matches:
        slot.failed()
        audit("login_failed", user=username, remote=address)
        return _login_page(
            session,
            error="Wrong user name or password.",
            next_path=next_path,
            username=username,
            status=401,
        )
    slot.succeeded()
    console.sessions.drop(session.sid)
    signed_in = console.sessions.create(account.username)
    audit("login", user=account.username, remote=address)
    response = web.HTTPSeeOther(next_path)
    set_session_cookie(request, response, signed_in.sid)
    raise response


async def logout(request: web.Request) -> web.StreamResponse:
    console = request.app[CONSOLE_KEY]
    session = request[SESSION_KEY]
    console.sessions.drop(session.sid)
    console.hub.close_session(session.sid)  # its live streams end now, not at a heartbeat
    audit("logout", user=session.user, remote=console.client_address(request))
    response = web.HTTPSeeOther("/login?error=signed_out")
    response.del_cookie(SESSION_COOKIE, path="/")
    raise response


def _page(
    request: web.Request, body: str, title: str, script: str, nav: str, **values: str
) -> web.Response:
    console = request.app[CONSOLE_KEY]
    session = request[SESSION_KEY]
    account = console.accounts.get(session.user or "")
    return _html(
        render_page(
            body,
            title=title,
            script=script,
            nav=nav,
            user_name=account.name if account else (session.user or ""),
            csrf_token=session.csrf_token,
            **values,
        )
    )


async def feed_page(request: web.Request) -> web.StreamResponse:
    return _page(request, "feed.html", "Alerts", "feed.js", "alerts")


async def alert_page(request: web.Request) -> web.StreamResponse:
    """One alert; 404 when this console does not hold it or it is outside the viewer's scope
    (the two look the same, so the answer does not tell whether it exists)."""
    console = request.app[CONSOLE_KEY]
    alert_id = request.match_info["alert_id"]
    access = console.access_of(request[SESSION_KEY])
    stored = console.alerts.get(alert_id)
    held = stored is not None and access.sees(stored.alert.agency)
    hide = {True: "", False: "hidden"}
    page = _page(
        request, "alert.html", "Alert", "alert.js", "alerts", alert_id=alert_id,
        hide_triage=hide[held and bool(access.actions)],
        hide_notes=hide[access.may("acknowledge") or access.may("comment")],
        hide_resolve=hide[access.may("resolve_true_positive")],
        hide_assign=hide[access.may("assign")],
        hide_exception=hide[held and access.role in EXCEPTION_ROLES],
    )  # fmt: skip
    if not held:
        # The page says the alert is not held (its script gets 404 too); it still
        # follows the live stream, which shows the alert if it arrives and is in scope.
        page.set_status(404)
    return page


async def user_page(request: web.Request) -> web.StreamResponse:
    """One user (``/user?agency=&user=``); 404 when the viewer may not see the user's
    agency or the console holds nothing about them (the two look the same)."""
    from streams.console.user_view import user_view

    console = request.app[CONSOLE_KEY]
    agency, user = request.query.get("agency", ""), request.query.get("user", "")
    access = console.access_of(request[SESSION_KEY])
    held = bool(agency and user) and user_view(console, access, agency, user) is not None
    page = _page(request, "user.html", "User", "user.js", "alerts")
    if not held:
        page.set_status(404)  # the script gets 404 from the API too and says so
    return page


async def analytics_page(request: web.Request) -> web.StreamResponse:
    return _page(request, "analytics.html", "Analytics", "analytics.js", "analytics")


async def healthz(request: web.Request) -> web.StreamResponse:
    """Readiness for scripts and tests: no data, only whether the stores are loaded."""
    console = request.app[CONSOLE_KEY]
    ready = {name: event.is_set() for name, event in console.readiness.items()}
    return web.json_response({"ready": all(ready.values()), "parts": ready})
