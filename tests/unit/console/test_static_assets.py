"""Our own JavaScript, CSS and templates: no markup sinks, no inline script, nothing remote."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from streams.console.app import STATIC_DIR
from streams.console.templates import TEMPLATE_DIR

SCRIPTS = sorted(STATIC_DIR.glob("*.js"))
TEMPLATES = sorted(TEMPLATE_DIR.glob("*.html"))
ASSETS = [*SCRIPTS, *sorted(STATIC_DIR.glob("*.css")), *TEMPLATES]


def test_there_is_something_to_check() -> None:
    names = {p.name for p in SCRIPTS}
    assert {"common.js", "feed.js", "alert.js", "analytics.js", "charts.js", "user.js"} <= names
    assert len(TEMPLATES) >= 5


# Anything that turns a string into markup or code.
SINKS = re.compile(
    r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\s*\(|new Function|"
    r"createContextualFragment|DOMParser|setTimeout\(\s*['\"`]|setInterval\(\s*['\"`]|srcdoc"
)


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: p.name)
def test_scripts_never_parse_strings_as_markup_or_code(path: Path) -> None:
    assert not SINKS.findall(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_templates_have_no_inline_script_handlers_or_styles(path: Path) -> None:
    html = path.read_text(encoding="utf-8")
    for tag in re.findall(r"<script\b[^>]*>", html):
        assert re.search(r'src="/static/[^"]+"', tag), tag
    assert not re.search(r"<script\b[^>]*>\s*[^<\s]", html), "script with a body"
    assert not re.search(r"\son[a-z]+\s*=", html), "inline event handler"
    assert not re.search(r"\sstyle\s*=", html), "inline style (blocked by the CSP)"
    assert "javascript:" not in html


@pytest.mark.parametrize("path", ASSETS, ids=lambda p: p.name)
def test_nothing_is_loaded_from_elsewhere(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    urls = re.findall(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}", text, re.IGNORECASE)
    allowed = {"http://www.w3.org"}  # the SVG namespace name, never fetched
    assert not [u for u in urls if u not in allowed]
    assert "@import" not in text and "url(http" not in text
