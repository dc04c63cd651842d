"""The replay progress bar: how much of the range is read, events per second, time left."""

from __future__ import annotations

import sys
import time
from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskProgressColumn,
    TextColumn,
    TimeRemainingColumn,
)
from rich.text import Text


class _EventRate(ProgressColumn):
    """Events judged per second since the start (the number the replay is measured by)."""

    def __init__(self, view: ProgressView) -> None:
        super().__init__()
        self._view = view

    def render(self, task: Task) -> Text:
        elapsed = max(time.perf_counter() - self._view.started, 1e-9)
        rate = self._view.events / elapsed
        return Text(f"{self._view.events:,} ev {rate:,.0f} ev/s", style="progress.data.speed")


class ProgressView:
    """A rich progress bar on stderr; silent when ``enabled`` is False."""

    def __init__(self, total: int, unit: str, *, enabled: bool = True) -> None:
        self.events = 0
        self.started = time.perf_counter()
        self._enabled = enabled
        self._progress: Progress | None = None
        self._task = None
        if enabled:
            amount: ProgressColumn = (
                DownloadColumn()
                if unit == "B"
                else TextColumn(f"{{task.completed:,}}/{{task.total:,}} {unit}")
            )
            self._progress = Progress(
                TextColumn("[bold]replay[/bold]"),
                BarColumn(bar_width=16),
                TaskProgressColumn(),
                amount,
                _EventRate(self),
                TextColumn("ETA"),
                TimeRemainingColumn(),
                console=Console(file=sys.stderr),
                refresh_per_second=4,
            )
            self._task = self._progress.add_task("replay", total=max(total, 1))

    def __enter__(self) -> ProgressView:
        if self._progress is not None:
            self._progress.start()
        self.started = time.perf_counter()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._progress is not None:
            self._progress.stop()

    def update(self, done: int, events: int) -> None:
        self.events = events
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, completed=done)
