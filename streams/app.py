"""``faust -A streams.app worker`` finds the worker's Faust app here.

The app lives in :mod:`streams.worker.app`; this module only forwards its
``app`` attribute (built on first access, so importing has no side effects).
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    if name == "app":
        from streams.worker import app as worker_app

        return worker_app.app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
