"""Shared wording for alert summaries, so every detector speaks the same way.

>>> searches(1), searches(3)
('1 search', '3 searches')
>>> span(3600), span(2700), span(90), span(86400)
('1 hour', '45 minutes', '90 seconds', '1 day')
>>> restate_count("MPD user u1 searched pimeyes.com, a prohibited service (2 searches).", 2, 3)
'MPD user u1 searched pimeyes.com, a prohibited service (3 searches).'
"""

from __future__ import annotations

from datetime import UTC, datetime

from streams.contract import SearchEvent
from streams.detectors.state import Fold

NAMED_USERS = 3
"""Members an agency-wide alert's summary names before saying how many more."""


def who(event: SearchEvent, fold: Fold | None = None) -> str:
    """How a summary names the person, ``MPD user mpd-0012``; for an agency-wide alert
    (``fold.users``), its members (:func:`members`)."""
    if fold is not None and fold.users:
        return members(event.agency, list(fold.users), fold.more_users)
    return f"{event.agency} user {event.user}"


def members(agency: str, users: list[str], more: bool) -> str:
    """An agency-wide alert's members as a summary names them.

    >>> members("MPD", ["mpd-0012"], False), members("MPD", ["a", "b"], False)
    ('MPD user mpd-0012', '2 MPD users (a and b)')
    >>> members("MPD", ["a", "b", "c", "d"], False), members("MPD", ["a"], True)
    ('4 MPD users (a, b, c and others)', '1+ MPD users (a and others)')
    """
    if len(users) == 1 and not more:
        return f"{agency} user {users[0]}"
    shown = users[:NAMED_USERS]
    if len(shown) < len(users) or more:
        names = f"{', '.join(shown)} and others"
    else:
        names = f"{', '.join(shown[:-1])} and {shown[-1]}"
    return f"{len(users)}{'+' if more else ''} {agency} users ({names})"


def searches(count: int) -> str:
    return "1 search" if count == 1 else f"{count} searches"


def span(seconds: float) -> str:
    """A duration in the largest whole unit that fits."""
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            n = int(seconds // size)
            return f"1 {unit}" if n == 1 else f"{n} {unit}s"
    n = round(seconds)
    return "1 second" if n == 1 else f"{n} seconds"


def day(epoch: float) -> str:
    """The UTC date of an instant, ``YYYY-MM-DD``."""
    return datetime.fromtimestamp(epoch, tz=UTC).date().isoformat()


def restate_count(summary: str, said: int, count: int) -> str:
    """``summary``, written when an alert had ``said`` searches, restated for ``count``:
    its last ``(N search(es)`` becomes the new count (a summary without one is kept)."""
    old = f"({searches(said)}"
    at = summary.rfind(old)
    if at < 0 or said == count:
        return summary
    return f"{summary[:at]}({searches(count)}{summary[at + len(old) :]}"
