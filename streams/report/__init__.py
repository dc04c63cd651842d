"""The replay report: search tally, compliance rollup, charts and the self-contained HTML page."""

from streams.report.build import ReportInputs, render_report, write_report
from streams.report.compliance import compliance_rollup
from streams.report.tally import SearchTally, read_tally, tally_frame

__all__ = [
    "ReportInputs",
    "SearchTally",
    "compliance_rollup",
    "read_tally",
    "render_report",
    "tally_frame",
    "write_report",
]
