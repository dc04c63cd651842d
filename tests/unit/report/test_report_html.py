"""The HTML report is one self-contained file, and text from events is shown as text."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from streams.replay import ReplayOptions, TimeRange, run_replay
from streams.settings import DEFAULT_POLICY
from tests.unit.report.handmade import COUNTY, EVENTS, make_event, write_world

HOSTILE_USER = "<script>alert('pwned')</script>"
HOSTILE_PURPOSE = '<img src="https://evil.example/x.png" onerror="alert(1)">'
HOSTILE_AGENCY = "A$x^2$&<b>"


class _Collector(HTMLParser):
    """Every tag and attribute, and all text, of a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.styles: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        (self.styles if self._in_style else self.text).append(data)


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> str:
    base = tmp_path_factory.mktemp("hostile")
    events = [
        *EVENTS,
        # An uncertified user with a script for a name, through a prohibited service, no case.
        make_event("x1", "2026-03-02T13:00:00Z", "MPD", HOSTILE_USER, "https://pimeyes.com/s",
               case_number=None, purpose=HOSTILE_PURPOSE),
        make_event("x2", "2026-03-02T13:05:00Z", HOSTILE_AGENCY, "u9", COUNTY),
    ]  # fmt: skip
    events_path, certs = write_world(base, events)
    out = base / "run"
    run_replay(
        ReplayOptions(
            out_dir=out,
            time_range=TimeRange(),
            policy_path=DEFAULT_POLICY,
            from_file=events_path,
            certifications=certs,
            progress=False,
        )
    )
    return (out / "report.html").read_text(encoding="utf-8")


def test_untrusted_strings_are_escaped(report: str) -> None:
    assert HOSTILE_USER not in report
    assert "&lt;script&gt;alert(&#x27;pwned&#x27;)&lt;/script&gt;" in report
    assert HOSTILE_PURPOSE.lower() not in report.lower()
    assert "<b>" not in report


def test_the_page_shows_the_hostile_text_as_text(report: str) -> None:
    page = _Collector()
    page.feed(report)
    text = "".join(page.text)
    assert HOSTILE_USER in text  # the analyst sees the name as written
    assert HOSTILE_AGENCY in text
    assert not [
        t for t, _ in page.tags if t in {"script", "iframe", "object", "embed", "link", "b"}
    ]
    assert not [a for _, attrs in page.tags for a in attrs if a.startswith("on")]


def test_report_is_self_contained(report: str) -> None:
    page = _Collector()
    page.feed(report)
    references = [
        (tag, name, value)
        for tag, attrs in page.tags
        for name, value in attrs.items()
        if name in {"src", "href", "srcset", "action", "data", "poster", "background"}
    ]
    assert references, "the report should carry its charts"
    for tag, name, value in references:
        assert tag == "img" and name == "src" and (value or "").startswith("data:image/png;base64,")
    assert "url(" not in "".join(page.styles)
    assert "@import" not in "".join(page.styles)
    csp = [
        a for t, a in page.tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"
    ]
    assert csp and "default-src 'none'" in (csp[0].get("content") or "")


def test_report_has_every_section(report: str) -> None:
    for heading in (
        "Per agency per day",
        "Per system (endpoint host)",
        "Top 25 users by searches",
        "Alerts",
        "Behaviour model scores",
        "Compliance rollup",
    ):
        assert f">{heading}</h" in report
    assert report.count("data:image/png;base64,") >= 4
