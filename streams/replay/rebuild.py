"""Rebuild a run's report from its files (``frtwatch report RUN_DIR [--diff OTHER]``).

Everything the report shows is in the run directory (the manifest, the
alerts, the search tally, the score sample), so a report can be redrawn,
or compared with another run, without reading Kafka again.
"""

from __future__ import annotations

from pathlib import Path

from streams.errors import FrtwatchError, UsageError
from streams.replay.alert_store import read_alert_records
from streams.replay.diff import DIFF_JSON, diff_alerts
from streams.replay.run import SEARCHES_PARQUET, read_manifest
from streams.replay.scores import SCORES_PARQUET, read_scores
from streams.report.build import ReportInputs, write_report
from streams.report.tally import read_tally


def rebuild_report(run_dir: Path, diff_dir: Path | None = None) -> list[str]:
    """Write ``report.html`` and ``compliance.csv`` (and ``diff.json``); return summary lines."""
    if not run_dir.is_dir():
        raise UsageError(f"{run_dir} is not a replay output directory")
    if diff_dir is not None and diff_dir.resolve() == run_dir.resolve():
        raise UsageError("--diff must name another run's directory")
    manifest = read_manifest(run_dir)
    tally_path = run_dir / SEARCHES_PARQUET
    if not tally_path.is_file():
        raise FrtwatchError(f"{tally_path} is missing: was this run written by frtwatch replay?")
    alerts = read_alert_records(run_dir)
    lines: list[str] = []
    diff_dict = None
    if diff_dir is not None:
        diff = diff_alerts(alerts, read_alert_records(diff_dir))
        diff.write(run_dir / DIFF_JSON, str(run_dir), str(diff_dir))
        diff_dict = diff.to_dict(str(run_dir), str(diff_dir))
        lines += diff.lines()
    model = manifest.get("model") or {}
    files = write_report(
        run_dir,
        ReportInputs(
            tally=read_tally(tally_path),
            alerts=alerts,
            scores=read_scores(run_dir / SCORES_PARQUET),
            threshold=model.get("threshold"),
            run=manifest,
            diff=diff_dict,
        ),
    )
    lines += [f"wrote {path}" for path in files]
    return lines
