"""No anonymous access: the login page is the only way in, and it refuses wrong passwords."""

from __future__ import annotations

import urllib.error
import urllib.request

from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.conftest import Watch, shot, sign_in, sign_out
from tests.browser.console_harness import ConsoleProcess


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def _status(url: str) -> tuple[int, dict[str, str]]:
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(url, timeout=5) as response:
            return response.status, dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers)


def test_login_is_required_and_wrong_passwords_are_refused(
    console: ConsoleProcess, page: Page, context: BrowserContext, watch: Watch
) -> None:
    # anonymous requests: pages redirect to the login, data answers 401
    status, headers = _status(f"{console.url}/")
    assert status == 302 and headers["Location"].startswith("/login")
    for path in ("/api/alerts", "/api/stream", "/api/stats", "/api/meta"):
        assert _status(f"{console.url}{path}")[0] == 401, path

    # every response carries the locks
    status, headers = _status(f"{console.url}/login")
    assert status == 200
    csp = headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Cache-Control"] == "no-store"

    # the browser lands on the login page; a wrong password is refused
    page.goto(f"{console.url}/alerts/anything")
    expect(page).to_have_url(f"{console.url}/login?next=/alerts/anything")
    shot(page, "login")
    page.fill("#username", "analyst")
    page.fill("#password", "not-the-password")
    page.click("button[type=submit]")
    expect(page.locator("#login-error")).to_have_text("Wrong user name or password.")
    assert page.url.startswith(f"{console.url}/login")
    shot(page, "login-refused")
    assert page.request.get(f"{console.url}/api/alerts").status == 401

    # the right password signs in, with a locked-down session cookie
    sign_in(page, console.url)
    cookie = next(c for c in context.cookies() if c["name"] == "frtwatch_session")
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Strict"
    assert cookie["secure"] is False  # plain http on loopback; Secure under https
    assert page.request.get(f"{console.url}/api/alerts").status == 200

    # a state change without the page's CSRF token (what a forged request looks like) is refused
    for path in ("/api/alerts/x/triage", "/logout"):
        forged = page.request.post(f"{console.url}{path}", data={"action": "acknowledge"})
        assert forged.status == 403, path
    assert page.request.get(f"{console.url}/api/alerts").status == 200  # still signed in

    # signing out ends the session for good
    sign_out(page, console.url)
    assert page.request.get(f"{console.url}/api/alerts").status == 401
    assert not watch.dialogs and not watch.page_errors and not watch.csp_violations


def test_signing_out_in_one_tab_signs_out_the_others(
    console: ConsoleProcess, page: Page, context: BrowserContext, watch: Watch
) -> None:
    sign_in(page, console.url)
    other = watch.attach(context.new_page())  # the same session, in a second tab
    other.goto(f"{console.url}/")
    expect(other.locator("#live-status")).to_have_class("live live-on")

    landed: list[str] = []
    page.on(
        "framenavigated",
        lambda frame: landed.append(frame.url) if frame == page.main_frame else None,
    )
    sign_out(page, console.url)
    # the other tab hears it on its live stream and goes to the login page by itself
    expect(other).to_have_url(f"{console.url}/login?error=signed_out", timeout=5_000)
    # the tab that signed out navigated once: its own stream was closed before the form went
    page.wait_for_timeout(500)
    assert landed == [f"{console.url}/login?error=signed_out"]
    assert not watch.page_errors and not watch.csp_violations
