"""Plain-words reasons for a behaviour score, from where a row sits in the training data.

An isolation forest has no per-feature weights to report, so the reasons
compare each feature of the scored row with the training rows' quantiles
(stored in the model card): a feature above what 99% of training rows
showed (or below what 99% showed), by more than a small margin (2 points for
a share), drove the row into a short branch. The furthest out, measured in
units of the feature's normal spread, come first.

>>> quantiles = {"off_hours_share": {"q01": 0.0, "q50": 0.02, "q99": 0.1},
...              "zero_result_share": {"q01": 0.0, "q50": 0.1, "q99": 0.3}}
>>> explain_row({"off_hours_share": 0.82, "zero_result_share": 0.35}, quantiles)
['82% of recent searches off-hours, 22:00-06:00 local time (normal: up to 10%)', '35% of recent searches found no candidates (normal: up to 30%)']
>>> explain_row({"off_hours_share": 0.4}, {"off_hours_share": {"q01": 0.0, "q50": 0.0, "q99": 0.0}})
['40% of recent searches off-hours, 22:00-06:00 local time (normal: 0%)']
>>> explain_row({"off_hours_share": 0.05, "zero_result_share": 0.2}, quantiles)
['no single feature stands out; the combination of features is unusual']
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

# How each feature reads in a sentence: (text for value, text for a bound).
_Formatter = Callable[[float], str]


def _pct(value: float) -> str:
    return f"{value * 100:.0f}%"


def _points(value: float) -> str:
    return f"{value * 100:.0f} points"


def _times(value: float) -> str:
    return f"{value:.1f}x"


def _count(value: float) -> str:
    return f"{value:.0f}"


def _plain(value: float) -> str:
    return f"{value:.1f}"


# feature -> (sentence with {value}, bound formatter, floor of the normal spread)
_PHRASES: dict[str, tuple[str, _Formatter, float]] = {
    "rate_vs_baseline": ("searching at {value} their own usual rate", _times, 0.25),
    "off_hours_share": (
        "{value} of recent searches off-hours, 22:00-06:00 local time",
        _pct,
        0.02,
    ),
    "distinct_probe_share": ("{value} of recent searches used a new probe image", _pct, 0.02),
    "zero_result_share": ("{value} of recent searches found no candidates", _pct, 0.02),
    "no_case_share": ("{value} of recent searches had no case number", _pct, 0.02),
    "other_agency_share": ("{value} of recent searches were for another agency", _pct, 0.02),
    "distinct_endpoints": ("used {value} different FRT systems in 7 days", _count, 0.5),
    "gap_irregularity": ("irregular timing between searches: {value} on a log scale", _plain, 0.1),
    "off_hours_rise": (
        "off-hours share of recent searches {value} above the user's own usual share",
        _points,
        0.02,
    ),
    "distinct_probe_rise": (
        "new-probe share of recent searches {value} above the user's own usual share",
        _points,
        0.02,
    ),
    "zero_result_rise": (
        "no-candidate share of recent searches {value} above the user's own usual share",
        _points,
        0.02,
    ),
}
MAX_REASONS = 3


def explain_row(
    row: Mapping[str, float], quantiles: Mapping[str, Mapping[str, float]]
) -> list[str]:
    """Reasons, most extreme first; at most :data:`MAX_REASONS`, never empty."""
    scored: list[tuple[float, str]] = []
    for name, value in row.items():
        q = quantiles.get(name)
        if q is None or name not in _PHRASES:
            continue
        sentence, fmt, floor = _PHRASES[name]
        low, mid, high = q["q01"], q["q50"], q["q99"]
        if value >= high + floor:
            distance = (value - mid) / max(high - mid, floor)
            bound = f"up to {fmt(high)}"
        elif value <= low - floor:
            distance = (mid - value) / max(mid - low, floor)
            bound = f"at least {fmt(low)}"
        else:
            continue
        if fmt(low) == fmt(high):  # nearly every training row had the same value
            bound = fmt(high)
        scored.append((distance, f"{sentence.format(value=fmt(value))} (normal: {bound})"))
    scored.sort(key=lambda item: -item[0])
    reasons = [text for _, text in scored[:MAX_REASONS]]
    return reasons or ["no single feature stands out; the combination of features is unusual"]
