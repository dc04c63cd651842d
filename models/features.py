"""Behaviour features: one bounded accumulator per user, the same code for training and stream.

:class:`BehaviorWindow` summarises a user's recent searches as exponentially
weighted sums, so it needs no list of past events: the state is a fixed
handful of numbers. Two kinds of weight are used, each where it fits:

* **rates** decay in event time: a search ``age`` seconds old weighs
  ``exp(-age / tau)``, so a late event counts as if it had come in order;
* **shares and gaps** decay per search: the search ``k`` searches ago weighs
  ``(1 - 1/RECENT_SEARCHES) ** k``. Ten, not more: a change shows after a few
  changed searches (see ``RECENT_SEARCHES``). The shares also fade in event
  time (:data:`SHARE_HALF_LIFE_S`, one day), so they forget a behaviour that
  stopped once the user searches normally again, even if that is days later;
  and each share adds :data:`SHARE_PRIOR` pseudo-searches at the user's own
  long-run share (the last ~50 searches, :data:`LONG_SEARCHES`), so a share
  over a day's two or three searches leans on the user's history instead of
  being noise.

Training replays each user's events through this class in time order, and
the stream updates the same class per event, so a model never sees features
computed two different ways.

Features (``FEATURE_NAMES`` order), each a plain number an analyst can read:

``rate_vs_baseline``
    Searches in the short window (1-day half-life) against the number the
    user's own long-run rate (7-day half-life) predicts for it, each side with
    :data:`RATE_PRIOR` pseudo-searches added. 1.0 is "as usual". Both rates are
    corrected for how long the user has been seen, so a new user does not start
    at 7x, and the pseudo-searches keep a user with one search a week who runs
    three in a day from reading as "10x" (a count that small says little).
``off_hours_share``
    Share of recent searches run off-hours: 22:00 to 06:00 in the agency's own
    time zone (hour 22 up to, not including, hour 6; the policy's
    ``agencies.<CODE>.timezone``, else its ``default_timezone``, else UTC;
    daylight-saving time included, see :class:`LocalHours`).
``distinct_probe_share``
    Share of recent searches whose probe image (``probe_sha256``) differs from
    each of the user's last 8 probes. Searches without a probe hash count as
    not distinct.
``zero_result_share``
    Share of recent searches that returned ``result_count == 0`` (absent counts
    are not zero).
``no_case_share``
    Share of recent searches without a case number.
``other_agency_share``
    Share of recent searches run on behalf of another agency.
``distinct_endpoints``
    Number of distinct FRT hosts the user used in the last 7 days (up to 6 are
    tracked).
``gap_irregularity``
    Standard deviation of ``ln(1 + gap seconds)`` over recent gaps between
    searches: about 1-2 for a steady working pattern, higher when searches come
    in bursts separated by long silences. A log scale makes it independent of
    how busy the user is.
``off_hours_rise``, ``distinct_probe_rise``, ``zero_result_rise``
    How far the recent share stands above the user's own long-run share (the
    last ~50 searches), 0 when it does not: the user against their own history.
    An evening-shift user whose searches are always late, or a user who always
    finds little, reads 0; a user who starts searching at night reads the jump.
    The global forest alone sees only where a share sits among all users'.

"Recent" for the shares and gaps means the last ~10 searches (for the shares, of
about the last day or two). ``features()`` is
``None`` until the user has :data:`MIN_EVENTS` searches, because shares over a
handful of searches say more about chance than about behaviour.

>>> import hashlib, random
>>> from streams.contract import SearchEvent
>>> rng = random.Random(7)
>>> def search(day, hour, *, case="C-1", results=3):
...     ts = 1_772_409_600.0 + day * 86_400 + hour * 3_600 + rng.randrange(3_600)
...     probe = hashlib.sha256(str(rng.random()).encode()).hexdigest()
...     return SearchEvent(event_id=f"e{day}-{hour}", ts=ts, ts_text="", agency="MPD",
...                        user="u1", endpoint="https://frt.county.example.gov/s",
...                        host="frt.county.example.gov", on_behalf_of="MPD",
...                        case_number=case, probe_sha256=probe, result_count=results)
>>> window = BehaviorWindow()      # every agency on UTC; see LocalHours for others
>>> for day in range(5):               # a steady week: three searches a working day
...     for hour in (9, 11, 14):
...         window.update(search(day, hour))
>>> def show(row):
...     return {name: round(value, 2) for name, value in zip(FEATURE_NAMES, row)}
>>> show(window.features())            # doctest: +NORMALIZE_WHITESPACE
{'rate_vs_baseline': 1.08, 'off_hours_share': 0.0, 'distinct_probe_share': 1.0,
 'zero_result_share': 0.0, 'no_case_share': 0.0, 'other_agency_share': 0.0,
 'distinct_endpoints': 1.0, 'gap_irregularity': 0.99, 'off_hours_rise': 0.0,
 'distinct_probe_rise': 0.0, 'zero_result_rise': 0.0}
>>> for hour in (0, 1, 2, 3, 4):       # then a night of searches, no case, nothing found
...     window.update(search(5, hour, case=None, results=0))
>>> show(window.features())            # doctest: +NORMALIZE_WHITESPACE
{'rate_vs_baseline': 1.29, 'off_hours_share': 0.62, 'distinct_probe_share': 1.0,
 'zero_result_share': 0.62, 'no_case_share': 0.62, 'other_agency_share': 0.0,
 'distinct_endpoints': 1.0, 'gap_irregularity': 1.3, 'off_hours_rise': 0.33,
 'distinct_probe_rise': 0.0, 'zero_result_rise': 0.33}
>>> window.update(search(8, 9))        # three quiet days, then one ordinary search (v4: 0.41)
>>> show(window.features())["off_hours_share"], show(window.features())["off_hours_rise"]
(0.26, 0.0)
>>> BehaviorWindow.from_list(window.to_list()).features() == window.features()
True
>>> BehaviorWindow().features() is None        # no history yet
True
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from streams.contract import SearchEvent

FEATURE_NAMES: tuple[str, ...] = (
    "rate_vs_baseline",
    "off_hours_share",
    "distinct_probe_share",
    "zero_result_share",
    "no_case_share",
    "other_agency_share",
    "distinct_endpoints",
    "gap_irregularity",
    "off_hours_rise",
    "distinct_probe_rise",
    "zero_result_rise",
)

MIN_EVENTS = 10
"""Searches a user needs before :meth:`BehaviorWindow.features` returns a row."""

OFF_HOURS_START = 22
OFF_HOURS_END = 6
"""Off-hours are local hours ``>= 22`` or ``< 6`` (the agency's time zone, see :class:`LocalHours`)."""

_LN2 = math.log(2.0)
SHORT_HALF_LIFE_S = 1 * 86_400.0
LONG_HALF_LIFE_S = 7 * 86_400.0
ENDPOINT_HORIZON_S = 7 * 86_400.0
RECENT_SEARCHES = 10
"""Shares and gaps weigh each search by ``(1 - 1/RECENT_SEARCHES) ** searches_since``.

The memory decides how soon a changed user is flagged. On five simulated
worlds (1,800 users, 21 days, seeds 11-15, each model trained on its first
week; ``frtwatch replay`` then ``python -m models.evaluate``), 20 searches
gave a median time to the first behaviour alert of 0.33-0.81 days and a 90th
percentile of 1.41-3.02; 10 give 0.02-0.52 and 1.00-2.19, with 76 normal
users flagged over the five worlds against 79, and every incident found
either way. 6 and 8 flagged more normal users on some worlds or left the
slowest incident slower."""
_KEEP = 1.0 - 1.0 / RECENT_SEARCHES
SHARE_HALF_LIFE_S = 1 * 86_400.0
"""The recent shares also fade in event time: a search a day old weighs half as much.

Without it a share remembered the last ~10 searches however old they were, so a user
who stopped a changed behaviour and then searched little (a weekend, an occasional
user) kept reading "84% of recent searches off-hours" for days."""
_TAU_SHARE = SHARE_HALF_LIFE_S / _LN2
LONG_SEARCHES = 50
"""The long memory of the user's own shares (the ``*_rise`` features' reference)."""
_KEEP_LONG = 1.0 - 1.0 / LONG_SEARCHES
SHARE_PRIOR = 1.5
"""Pseudo-searches at the user's own long-run share added to every recent share, so a
share over a day's two or three searches (the fading leaves no more) is not noise."""
RATE_PRIOR = 2.0
_TAU_SHORT = SHORT_HALF_LIFE_S / _LN2
_TAU_LONG = LONG_HALF_LIFE_S / _LN2

PROBE_MEMORY = 8
"""Recent probe hashes remembered to decide whether a probe is new."""
ENDPOINT_MEMORY = 6
"""Distinct hosts remembered (least recently used is forgotten first)."""

FEATURE_VERSION = 5
"""Version of the feature definitions and of their stored form; a model card and a
stored window name it (3: ten-search memory; 4: off-hours in the agency's local time;
5: shares fade in event time and lean on the user's own long-run share, and three
``*_rise`` features compare the recent shares with it).
A window stored under another version starts afresh; a model trained under another is
refused."""
_FORMAT_VERSION = FEATURE_VERSION
# Indexes of the decayed sums in BehaviorWindow._sums.
_TOTAL, _OFF, _DISTINCT, _ZERO, _NOCASE, _OTHER, _SHORT, _LONG, _G0, _G1, _G2 = range(11)
# The same total and five shares over the long memory (LONG_SEARCHES, no time decay).
_L_TOTAL, _L_OFF, _L_DISTINCT, _L_ZERO, _L_NOCASE, _L_OTHER = range(11, 17)
_N_SUMS = 17


def _probe_key(probe: str) -> int:
    """The first 32 bits of a probe hash: enough to tell recent probes apart, 10 digits in JSON."""
    return int(probe[:8], 16)


def _host_key(host: str) -> int:
    """A stable 32-bit key for a host name (``hash()`` differs between processes)."""
    return zlib.crc32(host.encode("utf-8"))


def _rate(decayed_count: float, tau: float, age: float) -> float:
    """Events per second from a decayed count, corrected for a history shorter than ``tau``.

    A steady rate ``r`` seen for ``age`` seconds gives a decayed count of
    ``r * tau * (1 - exp(-age / tau))``; dividing by that factor undoes it.
    """
    span = tau * -math.expm1(-age / tau) if age > 0 else 0.0
    return decayed_count / span if span > 0 else 0.0


class LocalHours:
    """The local hour of day of an event time in its agency's time zone (IANA, ``zoneinfo``).

    ``zones`` maps agency codes to zone names; any other agency uses ``default``.
    Offsets are looked up once per zone and UTC hour and cached, so the hot path
    pays a dictionary lookup, not a ``zoneinfo`` conversion. An hour in which the
    zone's offset changes (a daylight-saving switch, at whatever minute) is not
    cached: each time in it is converted exactly. An unknown zone name raises
    ``zoneinfo.ZoneInfoNotFoundError`` (the policy loader reports it as
    ``file:line``).

    >>> hours = LocalHours({"NYPD": "America/New_York"})
    >>> hours.hour("NYPD", 1_772_935_200.0)    # 2026-03-08 02:00 UTC: 21:00 EST, the day before
    21
    >>> hours.hour("NYPD", 1_773_025_200.0)    # 2026-03-09 03:00 UTC: 23:00 EDT
    23
    >>> hours.hour("ANY", 1_773_025_200.0)     # another agency: the default, UTC
    3
    """

    __slots__ = ("_by_agency", "_default", "default", "zones")

    _CACHE_LIMIT = 100_000
    """Cached hours per zone (over 11 years); the cache is emptied beyond it."""

    def __init__(self, zones: Mapping[str, str] | None = None, default: str = "UTC") -> None:
        self.zones: dict[str, str] = dict(zones or {})
        self.default = default
        caches: dict[str, tuple[ZoneInfo, dict[int, int]]] = {}
        for name in {default, *self.zones.values()}:
            caches[name] = (ZoneInfo(name), {})
        self._default = caches[default]
        self._by_agency = {agency: caches[name] for agency, name in self.zones.items()}

    def zone_of(self, agency: str) -> str:
        """The zone name ``agency``'s hours are read in."""
        return self.zones.get(agency, self.default)

    def describe(self) -> dict[str, Any]:
        """The zones as a model card records them: ``{"default": ..., "agencies": {...}}``."""
        return {"default": self.default, "agencies": dict(sorted(self.zones.items()))}

    def hour(self, agency: str, ts: float) -> int:
        """The hour of day (0-23) at ``ts`` (seconds since the epoch, UTC) in ``agency``'s zone."""
        return int((ts + self.offset(agency, ts)) // 3600.0) % 24

    def day(self, agency: str, ts: float) -> int:
        """The agency's local calendar day at ``ts``, as days since 1970-01-01.

        >>> LocalHours({"LAPD": "America/Los_Angeles"}).day("LAPD", 1_772_409_600.0)  # 16:00 PST
        20513
        >>> LocalHours().day("LAPD", 1_772_409_600.0)  # 2026-03-02 00:00 UTC
        20514
        """
        return int((ts + self.offset(agency, ts)) // 86_400.0)

    def offset(self, agency: str, ts: float) -> int:
        """Seconds the agency's local clock is ahead of UTC at ``ts`` (negative: behind)."""
        zone, cache = self._by_agency.get(agency, self._default)
        bucket = int(ts // 3600.0)
        offset = cache.get(bucket)
        if offset is None:
            offset = self._offset(zone, bucket * 3600)
            if offset == self._offset(zone, bucket * 3600 + 3599):
                if len(cache) >= self._CACHE_LIMIT:
                    cache.clear()
                cache[bucket] = offset
            else:  # the offset changes inside this hour: convert this time exactly
                offset = self._offset(zone, int(ts // 1.0))
        return offset

    @staticmethod
    def _offset(zone: ZoneInfo, second: int) -> int:
        """The zone's UTC offset in seconds at a whole second since the epoch."""
        delta = datetime.fromtimestamp(second, tz=zone).utcoffset()
        return int(delta.total_seconds()) if delta is not None else 0


UTC_HOURS = LocalHours()
"""Every agency on UTC: what :meth:`BehaviorWindow.update` uses unless given the policy's."""


class BehaviorWindow:
    """A user's recent behaviour as a fixed-size set of decayed sums (see the module doc).

    ``to_list()`` is about 430 bytes of JSON; nothing in it grows with the
    number of events.
    """

    __slots__ = ("_endpoints", "_first_ts", "_last_ts", "_n", "_probes", "_sums")

    def __init__(self) -> None:
        self._n = 0
        self._first_ts = 0.0
        self._last_ts = 0.0
        self._sums = [0.0] * _N_SUMS
        self._probes: list[int] = []
        self._endpoints: list[list[float]] = []  # [host key, last seen ts]

    @property
    def event_count(self) -> int:
        """Searches seen so far (not decayed)."""
        return self._n

    def update(self, event: SearchEvent, hours: LocalHours = UTC_HOURS) -> None:
        """Fold one search into the window. Call once per distinct event (dedupe before).

        ``hours`` reads the event's local hour in its agency's zone (the policy's,
        ``Policy.local_hours()``); training and scoring must pass the same.
        """
        ts = event.ts
        sums = self._sums
        keep = _KEEP
        share_weight = 1.0
        if self._n == 0:
            self._first_ts = self._last_ts = ts
        elif ts > self._last_ts:
            dt = ts - self._last_ts
            sums[_SHORT] *= math.exp(-dt / _TAU_SHORT)
            sums[_LONG] *= math.exp(-dt / _TAU_LONG)
            fade = math.exp(-dt / _TAU_SHARE)
            sums[_TOTAL] *= fade
            sums[_OFF] *= fade
            sums[_DISTINCT] *= fade
            sums[_ZERO] *= fade
            sums[_NOCASE] *= fade
            sums[_OTHER] *= fade
            gap = math.log1p(dt)
            sums[_G0] = sums[_G0] * keep + 1.0
            sums[_G1] = sums[_G1] * keep + gap
            sums[_G2] = sums[_G2] * keep + gap * gap
            self._last_ts = ts
        if ts >= self._last_ts:
            short_weight = long_weight = 1.0
        else:  # a late event counts in the rates with the weight it would have had in order
            age = self._last_ts - ts
            short_weight = math.exp(-age / _TAU_SHORT)
            long_weight = math.exp(-age / _TAU_LONG)
            share_weight = math.exp(-age / _TAU_SHARE)
            self._first_ts = min(self._first_ts, ts)
        self._n += 1
        sums[_SHORT] += short_weight
        sums[_LONG] += long_weight

        hour = int((ts + hours.offset(event.agency, ts)) // 3600.0) % 24  # local, as hours.hour
        off = 1.0 if hour >= OFF_HOURS_START or hour < OFF_HOURS_END else 0.0
        distinct = 0.0
        probe = event.probe_sha256
        if probe is not None:
            key = _probe_key(probe)
            probes = self._probes
            if key not in probes:
                distinct = 1.0
                probes.append(key)
                if len(probes) > PROBE_MEMORY:
                    del probes[0]
        zero = 1.0 if event.result_count == 0 else 0.0
        nocase = 1.0 if event.case_number is None else 0.0
        other = 1.0 if event.on_behalf_of != event.agency else 0.0
        w = share_weight
        sums[_TOTAL] = sums[_TOTAL] * keep + w
        sums[_OFF] = sums[_OFF] * keep + w * off
        sums[_DISTINCT] = sums[_DISTINCT] * keep + w * distinct
        sums[_ZERO] = sums[_ZERO] * keep + w * zero
        sums[_NOCASE] = sums[_NOCASE] * keep + w * nocase
        sums[_OTHER] = sums[_OTHER] * keep + w * other
        keep = _KEEP_LONG
        sums[_L_TOTAL] = sums[_L_TOTAL] * keep + 1.0
        sums[_L_OFF] = sums[_L_OFF] * keep + off
        sums[_L_DISTINCT] = sums[_L_DISTINCT] * keep + distinct
        sums[_L_ZERO] = sums[_L_ZERO] * keep + zero
        sums[_L_NOCASE] = sums[_L_NOCASE] * keep + nocase
        sums[_L_OTHER] = sums[_L_OTHER] * keep + other
        self._touch_endpoint(_host_key(event.host), ts)

    def _touch_endpoint(self, key: int, ts: float) -> None:
        endpoints = self._endpoints
        for entry in endpoints:
            if entry[0] == key:
                if ts > entry[1]:
                    entry[1] = ts
                return
        endpoints.append([key, ts])
        if len(endpoints) > ENDPOINT_MEMORY:
            endpoints.remove(min(endpoints, key=lambda e: e[1]))

    def features(self) -> list[float] | None:
        """The row in ``FEATURE_NAMES`` order, or ``None`` with fewer than ``MIN_EVENTS`` searches."""
        if self._n < MIN_EVENTS:
            return None
        sums = self._sums
        total = sums[_TOTAL]
        age = self._last_ts - self._first_ts
        span = _TAU_SHORT * -math.expm1(-age / _TAU_SHORT) if age > 0 else 0.0
        expected = _rate(sums[_LONG], _TAU_LONG, age) * span
        g0 = sums[_G0]
        if g0 > 0:
            mean = sums[_G1] / g0
            irregularity = math.sqrt(max(0.0, sums[_G2] / g0 - mean * mean))
        else:
            irregularity = 0.0
        horizon = self._last_ts - ENDPOINT_HORIZON_S
        per = 1.0 / sums[_L_TOTAL]  # long-run share = long sum * per
        prior = SHARE_PRIOR * per  # SHARE_PRIOR pseudo-searches at the long-run share
        denominator = total + SHARE_PRIOR
        off = (sums[_OFF] + prior * sums[_L_OFF]) / denominator
        distinct = (sums[_DISTINCT] + prior * sums[_L_DISTINCT]) / denominator
        zero = (sums[_ZERO] + prior * sums[_L_ZERO]) / denominator
        return [
            (sums[_SHORT] + RATE_PRIOR) / (expected + RATE_PRIOR),
            off,
            distinct,
            zero,
            (sums[_NOCASE] + prior * sums[_L_NOCASE]) / denominator,
            (sums[_OTHER] + prior * sums[_L_OTHER]) / denominator,
            float(sum(1 for _, seen in self._endpoints if seen >= horizon)),
            irregularity,
            max(0.0, off - sums[_L_OFF] * per),
            max(0.0, distinct - sums[_L_DISTINCT] * per),
            max(0.0, zero - sums[_L_ZERO] * per),
        ]

    def to_list(self) -> list[Any]:
        """A compact JSON-able form: ``[version, n, first_ts, last_ts, sums, probes, endpoints]``."""
        return [
            _FORMAT_VERSION,
            self._n,
            self._first_ts,
            self._last_ts,
            list(self._sums),
            list(self._probes),
            [list(e) for e in self._endpoints],
        ]

    @classmethod
    def from_list(cls, data: list[Any]) -> BehaviorWindow:
        """Rebuild a window from :meth:`to_list` output; a foreign format starts empty.

        Starting empty (rather than failing) keeps a worker running across a
        format change: the user simply rebuilds history from new events.
        """
        window = cls()
        if not data or data[0] != _FORMAT_VERSION or len(data) != 7:
            return window
        _, n, first_ts, last_ts, sums, probes, endpoints = data
        if len(sums) != _N_SUMS:
            return window
        window._n = int(n)
        window._first_ts = float(first_ts)
        window._last_ts = float(last_ts)
        window._sums = [float(v) for v in sums]
        window._probes = [int(p) for p in probes][-PROBE_MEMORY:]
        window._endpoints = [[int(k), float(t)] for k, t in endpoints][:ENDPOINT_MEMORY]
        return window
