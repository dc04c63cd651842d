"""What "normal" looked like in a simulated world: its history before the incidents.

Models are trained on it (``make demo``, ``make bench``, the end-to-end test). The burst
in the deployment's first days (``early_burst``) comes before that history ends, so its
searches are left out by id rather than by time.
"""

from __future__ import annotations

from typing import Any

EARLY_KIND = "early_burst"


def baseline_end(truth: dict[str, Any]) -> str:
    """RFC 3339 start of the first incident other than the early burst."""
    return min(str(i["start"]) for i in truth["incidents"] if i["kind"] != EARLY_KIND)


def not_normal(truth: dict[str, Any]) -> set[str]:
    """Event ids before :func:`baseline_end` that are evidence of an incident."""
    return {str(e) for i in truth["incidents"] if i["kind"] == EARLY_KIND for e in i["event_ids"]}
