"""HTML building blocks for a self-contained report: every value escaped, images inline.

The page loads nothing: styles are inline, images are ``data:`` URIs, and
there is no script at all. A Content-Security-Policy meta tag says so to the
browser too, so even a string that slipped through could not fetch or run
anything. Every piece of text from events or alerts goes through
:func:`esc`.

>>> esc('<script>alert("x")</script>')
'&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;'
>>> table(["user"], [["<b>x</b>"]])
'<table><thead><tr><th>user</th></tr></thead><tbody><tr><td>&lt;b&gt;x&lt;/b&gt;</td></tr></tbody></table>'
"""

from __future__ import annotations

import base64
import html
from collections.abc import Iterable, Sequence

CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"

STYLE = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0 auto;
       max-width: 1100px; padding: 1rem 1.5rem 3rem; color: #1d232a; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; }
h2 { font-size: 1.2rem; margin-top: 2.2rem; border-bottom: 1px solid #d0d7de; padding-bottom: .2rem; }
h3 { font-size: 1rem; margin-top: 1.4rem; }
table { border-collapse: collapse; margin: .6rem 0 1rem; font-size: 13px; }
th, td { border: 1px solid #d0d7de; padding: .25rem .5rem; text-align: left; vertical-align: top; }
th { background: #f3f5f7; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
img { max-width: 100%; height: auto; display: block; margin: .6rem 0; }
.note { color: #57606a; }
.warn { background: #fff4e5; border: 1px solid #f0b35a; padding: .5rem .8rem; }
dl { display: grid; grid-template-columns: max-content auto; gap: .15rem 1rem; }
dt { font-weight: 600; }
"""


def esc(value: object) -> str:
    """Text as HTML text (quotes too, so it is safe in attributes as well)."""
    return html.escape("" if value is None else str(value), quote=True)


def _cell(value: object, numeric: bool) -> str:
    if numeric:
        text = f"{value:,}" if isinstance(value, int) else esc(value)
        return f'<td class="n">{text}</td>'
    return f"<td>{esc(value)}</td>"


def table(
    headers: Sequence[str],
    rows: Iterable[Sequence[object]],
    numeric: Sequence[bool] | None = None,
) -> str:
    """An HTML table; ``numeric`` marks right-aligned columns."""
    flags = list(numeric) if numeric is not None else [False] * len(headers)
    head = "".join(
        f'<th class="n">{esc(h)}</th>' if flag else f"<th>{esc(h)}</th>"
        for h, flag in zip(headers, flags, strict=True)
    )
    body = "".join(
        "<tr>" + "".join(_cell(v, f) for v, f in zip(row, flags, strict=True)) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def image(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img alt="{esc(alt)}" src="data:image/png;base64,{data}">'


def paragraph(text: str, css: str | None = None) -> str:
    cls = f' class="{esc(css)}"' if css else ""
    return f"<p{cls}>{esc(text)}</p>"


def facts(pairs: Iterable[tuple[str, object]]) -> str:
    return "<dl>" + "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in pairs) + "</dl>"


def section(title: str, *parts: str, level: int = 2) -> str:
    return f"<section><h{level}>{esc(title)}</h{level}>{''.join(parts)}</section>"


def document(title: str, *parts: str) -> str:
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{esc(CSP)}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{STYLE}</style></head>"
        f"<body><h1>{esc(title)}</h1>{''.join(parts)}</body></html>\n"
    )
