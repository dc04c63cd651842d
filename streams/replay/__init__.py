"""Replay: the live detectors over a historical time range, for investigations and backtests.

``frtwatch replay`` is the command; :func:`run_replay` is the same run as a
function (tests, notebooks, the benchmark). See docs/REPLAY.md.
"""

from streams.replay.diff import AlertDiff, diff_alerts
from streams.replay.driver import ReplayDriver
from streams.replay.run import ReplayOptions, ReplayResult, read_manifest, run_replay
from streams.replay.timerange import TimeRange

__all__ = [
    "AlertDiff",
    "ReplayDriver",
    "ReplayOptions",
    "ReplayResult",
    "TimeRange",
    "diff_alerts",
    "read_manifest",
    "run_replay",
]
