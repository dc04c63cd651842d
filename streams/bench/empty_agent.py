"""An empty Faust agent: the ceiling for any Faust worker on this machine.

``python -m streams.bench.empty_agent --bootstrap B --topic T --app-id G --data-dir D``

One agent reads ``T`` as raw bytes and does nothing with the values. The
app is configured exactly like the worker's (:func:`streams.worker.app.faust_settings`:
same broker settings, memory store, no web server), so the difference between
this and ``frtwatch worker`` is the worker's own work: validation, the
repartition hop, detection, the model, tables and alerts.

It prints ``empty agent ready`` once its partitions are assigned.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

READY_LINE = "empty agent ready"


def build_app(bootstrap: str, topic_name: str, app_id: str, data_dir: Path) -> Any:
    import faust

    from streams.settings import Settings
    from streams.worker.app import NoWebServer, faust_settings

    settings = Settings(bootstrap=bootstrap, app_id=app_id, data_dir=data_dir)
    app = faust.App(app_id, **faust_settings(settings))
    topic = app.topic(
        topic_name,
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
    )

    async def consume(stream: Any) -> None:
        async for _value in stream:
            pass

    app.agent(topic, name="bench.empty")(consume)
    app.web_server(NoWebServer())
    pending: set[asyncio.Future[None]] = set()

    async def announce() -> None:
        print(READY_LINE, flush=True)

    async def on_ready(sender: Any, *args: Any, **kwargs: Any) -> None:
        task = asyncio.ensure_future(announce())
        pending.add(task)
        task.add_done_callback(pending.discard)

    # mode types receivers with mypy_extensions.NamedArg, which no plain def matches.
    app.on_rebalance_complete.connect(on_ready)  # type: ignore[arg-type]
    return app


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m streams.bench.empty_agent")
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--app-id", required=True)
    parser.add_argument("--data-dir", type=Path, required=True)
    args = parser.parse_args(argv)

    import faust

    app = build_app(args.bootstrap, args.topic, args.app_id, args.data_dir)
    worker = faust.Worker(app, loglevel="WARNING", quiet=True)
    worker.spinner = None
    worker.execute_from_commandline()
    return 0  # pragma: no cover - execute_from_commandline exits


if __name__ == "__main__":
    sys.exit(main())
