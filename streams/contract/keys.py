"""State keys: one unambiguous text for an agency, and for a user within an agency.

Per-user state, certificates and producer keys are ``<agency>/<user>``. A name may
contain ``/`` itself, so each part is escaped first: ``%`` is written ``%25`` and ``/``
is written ``%2F`` (percent-encoding, upper-case hex, nothing else touched). The one
raw ``/`` of a user key is then the separator, and agency ``A/B`` with user ``c``
never shares a key with agency ``A`` and user ``B/c``. A part without ``%`` or ``/``
is unchanged, so ordinary keys are byte for byte what earlier versions stored.

>>> user_key("MPD", "u7")
'MPD/u7'
>>> user_key("A/B", "c"), user_key("A", "B/c")
('A%2FB/c', 'A/B%2Fc')
>>> parse_user_key("A%2FB/c"), parse_user_key("MPD/u7")
(('A/B', 'c'), ('MPD', 'u7'))
>>> user_key("50%", "x"), agency_key("A/B")
('50%25/x', 'A%2FB')
>>> parse_user_key("A/B/c")
Traceback (most recent call last):
...
ValueError: key 'A/B/c' is not <agency>/<user>: 2 unescaped '/' (a '/' in a name is written %2F)
"""

from __future__ import annotations

import re

SEPARATOR = "/"
_ESCAPE = re.compile(r"%(25|2F)")
_ESCAPED = {"%25": "%", "%2F": "/"}


def escape_part(text: str) -> str:
    """One part of a key: ``%`` as ``%25``, ``/`` as ``%2F``; anything else as it is."""
    if "%" in text or "/" in text:
        return text.replace("%", "%25").replace("/", "%2F")
    return text


def unescape_part(text: str) -> str:
    """The name :func:`escape_part` wrote as ``text``; ValueError for text it never writes."""
    if "%" not in text:
        if "/" in text:
            raise ValueError(f"{text[:200]!r} has an unescaped '/'")
        return text
    if "/" in text or text.count("%") != len(_ESCAPE.findall(text)):
        raise ValueError(f"{text[:200]!r} is not escaped as %25 and %2F only")
    return _ESCAPE.sub(lambda match: _ESCAPED[match.group(0)], text)


def user_key(agency: str, user: str) -> str:
    """The key of ``user`` of ``agency``: ``<agency>/<user>``, each part escaped."""
    return f"{escape_part(agency)}{SEPARATOR}{escape_part(user)}"


def agency_key(agency: str) -> str:
    """The key of an agency's own state: the escaped agency, never containing a ``/``
    (so it is never equal to a user key: both share the judge's maps)."""
    return escape_part(agency)


def parse_user_key(key: str) -> tuple[str, str]:
    """``(agency, user)`` of a key :func:`user_key` wrote; ValueError with the reason."""
    slashes = key.count(SEPARATOR)
    if slashes != 1:
        raise ValueError(
            f"key {key[:200]!r} is not <agency>/<user>: {slashes} unescaped '/' "
            "(a '/' in a name is written %2F)"
        )
    agency, user = key.split(SEPARATOR)
    try:
        return unescape_part(agency), unescape_part(user)
    except ValueError as exc:
        raise ValueError(f"key {key[:200]!r} is not <agency>/<user>: {exc}") from None
