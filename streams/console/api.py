"""JSON views and the live stream the console's scripts use.

Everything here returns data, never markup; the browser writes each string
with ``textContent``. Reads are GET, the only write (triage) is a POST that
the security gate has already checked for a session and a CSRF token.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import re
import time
from typing import Any

import orjson
from aiohttp import web

from streams.console.access import Access
from streams.console.alert_store import STATUS_FILTERS, AlertFilter, StoredAlert
from streams.console.audit import audit
from streams.console.exception_writer import EXCEPTION_ROLES, alert_subject
from streams.console.live import CLOSE
from streams.console.risk import alert_user_risk, user_risks
from streams.console.security import SESSION_KEY
from streams.console.state import CONSOLE_KEY
from streams.console.stats import RANGES, build_stats
from streams.console.triage import ACTIONS, MAX_NOTE, TriageError, new_action, refusal
from streams.console.user_view import user_view
from streams.contract.alert import DETECTORS, SEVERITIES, format_ts

HEARTBEAT_S = 15.0
DISCONNECT_CHECK_S = 0.5
_TAB_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")
"""How soon a stream the browser closed gives its slot back (aiohttp does not cancel it)."""
MAX_LIST = 1000
ORDERS = ("newest", "risk")


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(data), status=status, content_type="application/json")


def _bad_request(message: str) -> web.Response:
    return _json({"error": message}, status=400)


async def _json_object(request: web.Request) -> dict[str, Any] | web.Response:
    """The request's JSON object body, or the 400 response that says what is wrong."""
    if request.content_type != "application/json":
        return _bad_request("send JSON")
    try:
        body = orjson.loads(await request.read())
    except orjson.JSONDecodeError:
        return _bad_request("the body is not valid JSON")
    if not isinstance(body, dict):
        return _bad_request("the body must be a JSON object")
    return body


def _access(request: web.Request) -> Access:
    return request.app[CONSOLE_KEY].access_of(request[SESSION_KEY])


def _filter(request: web.Request) -> AlertFilter:
    """The query's filter, limited to the agencies the signed-in account may see."""
    try:
        flt = AlertFilter.from_query(request.query)
    except ValueError as exc:
        raise web.HTTPBadRequest(
            text=orjson.dumps({"error": str(exc)}).decode(), content_type="application/json"
        ) from None
    return dataclasses.replace(flt, scope=_access(request).agencies)


def _held(request: web.Request, alert_id: str) -> StoredAlert | None:
    """The alert, if this console holds it and the account may see it (else it does not
    exist for them: 404, so the answer does not reveal other agencies' alerts)."""
    stored = request.app[CONSOLE_KEY].alerts.get(alert_id)
    if stored is None or not _access(request).sees(stored.alert.agency):
        return None
    return stored


def scope_risks(console: Any, access: Access) -> dict[tuple[str, str], float]:
    """Risk per user over the alerts the viewer may see (:mod:`streams.console.risk`)."""
    return user_risks(s.alert for s in console.alerts.all() if access.sees(s.alert.agency))


async def list_alerts(request: web.Request) -> web.StreamResponse:
    """The feed; ``order=risk`` puts the riskiest users' alerts first (then newest
    evidence). Every alert carries its user's risk (``user_risk``)."""
    console = request.app[CONSOLE_KEY]
    flt = _filter(request)
    try:
        limit = min(MAX_LIST, max(1, int(request.query.get("limit", "500"))))
    except ValueError:
        return _bad_request("limit must be a whole number")
    order = request.query.get("order") or "newest"
    if order not in ORDERS:
        return _bad_request(f"order must be one of {', '.join(ORDERS)}")
    risks = scope_risks(console, _access(request))
    rank = None
    if order == "risk":

        def rank(s: StoredAlert) -> float:
            return alert_user_risk(s.alert, risks)

    hits, total = console.alerts.query(flt, console.book.status, limit, rank=rank)
    views = []
    for stored in hits:
        view = console.alert_view(stored)
        view["user_risk"] = alert_user_risk(stored.alert, risks)
        views.append(view)
    return _json({"alerts": views, "total": total})


async def get_user(request: web.Request) -> web.StreamResponse:
    """``/api/user?agency=&user=``: one user's alerts, timeline, certificate and risk; 404
    for a user outside the viewer's agencies exactly as for one the console knows nothing of."""
    agency, user = request.query.get("agency"), request.query.get("user")
    if not agency or not user or len(agency) > 256 or len(user) > 256:
        return _bad_request("give agency and user (each 1-256 characters)")
    view = user_view(request.app[CONSOLE_KEY], _access(request), agency, user)
    if view is None:
        return _json({"error": "no such user"}, status=404)
    return _json(view)


def _history(console: Any, alert_id: str) -> list[dict[str, Any]]:
    return [a.to_dict() for a in console.book.history(alert_id)]


async def get_alert(request: web.Request) -> web.StreamResponse:
    console = request.app[CONSOLE_KEY]
    alert_id = request.match_info["alert_id"]
    stored = _held(request, alert_id)
    if stored is None:
        return _json({"error": "no such alert"}, status=404)
    alert = stored.alert
    evidence = set(alert.event_ids)
    activity = console.activity.recent(alert.agency, alert.user)
    for item in activity:
        item["evidence"] = item["event_id"] in evidence
    return _json(
        {
            "alert": console.alert_view(stored),
            "history": _history(console, alert_id),
            "activity": activity,
        }
    )


async def triage(request: web.Request) -> web.StreamResponse:
    console = request.app[CONSOLE_KEY]
    session = request[SESSION_KEY]
    alert_id = request.match_info["alert_id"]
    access = _access(request)
    held = _held(request, alert_id)
    if held is None:
        return _json({"error": "no such alert"}, status=404)
    if not access.actions:
        return _json({"error": f"the {access.role} role cannot change alerts"}, status=403)
    body = await _json_object(request)
    if isinstance(body, web.Response):
        return body
    action_name, note, assignee = body.get("action"), body.get("note", ""), body.get("assignee")
    if not isinstance(action_name, str) or action_name not in ACTIONS:
        return _bad_request(f"action must be one of {', '.join(ACTIONS)}")
    if not isinstance(note, str) or len(note) > MAX_NOTE:
        return _bad_request(f"note must be text of at most {MAX_NOTE} characters")
    if assignee is not None and not isinstance(assignee, str):
        return _bad_request("assignee must be a user name")
    if not access.may(action_name):
        return _json({"error": f"the {access.role} role may not {action_name}"}, status=403)
    if action_name == "assign" and assignee:
        colleague = console.accounts.get(assignee)
        if colleague is None:
            return _bad_request("assignee must be a console user")
        if not (colleague.access.actions and colleague.access.sees(held.alert.agency)):
            return _bad_request("assignee cannot work on this alert (role or agencies)")
    try:
        # The actor is the signed-in account, whatever the body says.
        action = new_action(alert_id, action_name, session.user or "", time.time(), note, assignee)
    except TriageError as exc:
        return _bad_request(str(exc))
    reason = refusal(console.book.state(alert_id), action)
    if reason is not None:
        return _json({"error": reason}, status=409)
    if console.triage_log is None:
        return _json({"error": "triage storage is not connected"}, status=503)
    try:
        state = await console.triage_log.submit(action)
    except TriageError as exc:
        return _json({"error": str(exc)}, status=503)
    audit(
        "triage",
        user=session.user,
        remote=console.client_address(request),
        alert_id=alert_id,
        action=action.action,
        assignee=action.assignee,
        action_id=action.action_id,
    )
    return _json({"triage": state.to_dict(), "history": _history(console, alert_id)})


async def create_exception(request: web.Request) -> web.StreamResponse:
    """Make an exception from an alert: its agency, detector and subject (or any subject),
    for its user or its whole agency, from its first evidence (or ``from``) until ``until``,
    with a reason. Leads and admins only."""
    from kafka.errors import KafkaError

    from streams.exceptions import make_exception

    console = request.app[CONSOLE_KEY]
    session = request[SESSION_KEY]
    alert_id = request.match_info["alert_id"]
    access = _access(request)
    held = _held(request, alert_id)
    if held is None:
        return _json({"error": "no such alert"}, status=404)
    if access.role not in EXCEPTION_ROLES:
        return _json({"error": f"the {access.role} role cannot make exceptions"}, status=403)
    body = await _json_object(request)
    if isinstance(body, web.Response):
        return body
    scope, subject = body.get("scope", "user"), body.get("subject", "alert")
    if scope not in ("user", "agency"):
        return _bad_request("scope must be user or agency")
    if subject not in ("alert", "any"):
        return _bad_request("subject must be alert (this alert's) or any")
    reason = body.get("reason")
    if not isinstance(reason, str):
        return _bad_request("reason is required (text)")
    alert = held.alert
    own = alert_subject(alert.detector, alert.details)
    try:
        record = make_exception(
            scope=scope,
            agency=alert.agency,
            user=alert.user if scope == "user" else None,
            detector=alert.detector,
            subject=own if subject == "alert" and own is not None else "*",
            valid_from=body.get("from") or format_ts(alert.first_seen),
            until=body.get("until"),
            reason=reason,
            author=session.user or "",
        )
    except (ValueError, TypeError) as exc:
        return _bad_request(str(exc))
    writer = console.exception_writer
    if writer is None:
        return _json({"error": "the exceptions topic is not connected"}, status=503)
    try:
        await writer.publish(record)
    except (KafkaError, RuntimeError) as exc:
        return _json({"error": f"the exception was not stored: {exc}"}, status=503)
    audit(
        "exception",
        user=session.user,
        remote=console.client_address(request),
        alert_id=alert_id,
        exception_id=record.id,
    )
    return _json({"exception": record.to_dict()})


async def stats(request: web.Request) -> web.StreamResponse:
    console = request.app[CONSOLE_KEY]
    range_name = request.query.get("range", "24h")
    if range_name not in RANGES:
        return _bad_request(f"range must be one of {', '.join(RANGES)}")
    access = _access(request)
    alerts = [s for s in console.alerts.all() if access.sees(s.alert.agency)]
    sees = None if access.everywhere else access.sees
    risks = user_risks(s.alert for s in alerts)
    return _json(
        build_stats(range_name, time.time(), alerts, console.activity, sees=sees, risks=risks)
    )


async def meta(request: web.Request) -> web.StreamResponse:
    console = request.app[CONSOLE_KEY]
    session = request[SESSION_KEY]
    facets = console.alerts.facets()
    me = console.accounts.get(session.user or "")
    access = _access(request)
    # Only those who assign need the list of colleagues.
    users = (
        [
            {"username": a.username, "name": a.name}
            for a in sorted(console.accounts.values(), key=lambda a: a.username)
            if not a.disabled and a.access.actions
        ]
        if access.may("assign")
        else []
    )
    return _json(
        {
            "me": {
                "username": session.user,
                "name": me.name if me else session.user,
                "role": access.role,
                "agencies": sorted(access.agencies),
                "actions": access.actions,
            },
            "users": users,
            "severities": list(SEVERITIES),
            "detectors": sorted(set(DETECTORS) | set(facets["detectors"])),
            "agencies": access.visible(facets["agencies"]),
            "statuses": list(STATUS_FILTERS),
            "actions": [a for a in ACTIONS if access.may(a)],
            "behavior": await console.worker.behavior(),
        }
    )


def _sse(event: str, data: Any) -> bytes:
    return b"event: " + event.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


async def stream(request: web.Request) -> web.StreamResponse:
    """Server-sent events: each alert change that concerns this feed's filter."""
    console = request.app[CONSOLE_KEY]
    session = request[SESSION_KEY]
    flt = _filter(request)
    tab = request.query.get("tab", "")
    if tab and not _TAB_ID.fullmatch(tab):
        return _json({"error": "tab must be 1 to 32 letters, digits, '-' or '_'"}, status=400)
    limit = console.config.max_streams_per_session
    if console.hub.streams_of(session.sid, tab=tab) >= limit:
        return _json(
            {"error": f"at most {limit} live streams per session; close a tab"}, status=429
        )
    # Subscribed before the first await, so parallel requests cannot pass the limit.
    subscriber = console.hub.subscribe(flt, session.sid, tab)
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "X-Accel-Buffering": "no"}
    )
    try:
        await response.prepare(request)
        await response.write(b"retry: 2000\n" + _sse("hello", {"ready": True}))
        idle = 0.0
        while True:
            if not console.sessions.alive(session):
                await response.write(_sse("expired", {}))
                break
            if subscriber.overflowed:
                while not subscriber.queue.empty():
                    subscriber.queue.get_nowait()
                subscriber.overflowed = False
                await response.write(_sse("reset", {}))
            try:
                message = await asyncio.wait_for(subscriber.queue.get(), DISCONNECT_CHECK_S)
            except TimeoutError:
                transport = request.transport
                if transport is None or transport.is_closing():
                    break  # the browser went away (a new filter, a closed tab): free the slot
                idle += DISCONNECT_CHECK_S
                if idle >= HEARTBEAT_S:
                    idle = 0.0
                    await response.write(b": keep-alive\n\n")
                continue
            idle = 0.0
            if message is CLOSE:
                if subscriber.signed_out:  # tell the page, in every tab of the session
                    await response.write(_sse("signed_out", {}))
                break
            await response.write(_sse("alert", message))
    except (ConnectionResetError, ConnectionError):
        pass
    finally:
        console.hub.unsubscribe(subscriber)
    with contextlib.suppress(ConnectionResetError, ConnectionError, RuntimeError):
        await response.write_eof()
    return response
