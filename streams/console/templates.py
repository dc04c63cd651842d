"""HTML pages from the files in ``templates/``, every value escaped.

Pages carry no event data: they are shells whose scripts fetch JSON and write
it with ``textContent``. The few values a template holds (the signed-in
user's name, the CSRF token, an alert id from the URL, a message) are escaped
here, so nothing substituted can become markup.

>>> render("message.html", message='<img src=x onerror=alert(1)>')
'<p class="notice">&lt;img src=x onerror=alert(1)&gt;</p>\\n'
"""

from __future__ import annotations

import html
from functools import cache
from pathlib import Path
from string import Template

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"


@cache
def _template(name: str) -> Template:
    return Template((TEMPLATE_DIR / name).read_text(encoding="utf-8"))


def render(name: str, **values: str) -> str:
    """One template with every value HTML-escaped (quotes included)."""
    return _template(name).substitute({k: html.escape(v, quote=True) for k, v in values.items()})


def render_page(
    body: str, *, title: str, script: str, nav: str, user_name: str, csrf_token: str, **values: str
) -> str:
    """A signed-in page: the layout around ``body`` (a template name)."""
    content = render(body, csrf_token=csrf_token, **values)
    escaped = {
        k: html.escape(v, quote=True)
        for k, v in {
            "title": title,
            "script": script,
            "user_name": user_name,
            "csrf_token": csrf_token,
            "nav_alerts": "active" if nav == "alerts" else "",
            "nav_analytics": "active" if nav == "analytics" else "",
        }.items()
    }
    return _template("layout.html").substitute(content=content, **escaped)
