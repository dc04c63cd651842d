"""``/metrics``, ``/livez`` and ``/readyz`` of the worker and the webhook dispatcher.

One small HTTP server in a daemon thread (so a stuck event loop cannot hide itself):

- ``/metrics``: every metric of :mod:`streams.metrics` (the default Prometheus registry);
- ``/livez``: 200 while the process's event loop has beaten within ``max_silence_s``
  (:meth:`Health.beat`, called by a timer on the loop), else 503: a loop blocked that long
  serves nothing and should be restarted;
- ``/readyz``: 200 once the component serves (the worker: partitions assigned, tables
  recovered, certificates loaded; the dispatcher: its consumer started), 503 before
  and during a rebalance;
- ``/status``: JSON ``{"live", "ready", ...}`` with what the component adds to
  :attr:`Health.status` (the worker: ``behavior``, its behaviour detector's state,
  e.g. ``{"state": "warmup", "detail": "..."}``); always 200.

It binds ``FRTWATCH_METRICS_HOST`` (127.0.0.1 by default) and ``FRTWATCH_METRICS_PORT``.
"""

from __future__ import annotations

import http.server
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

MAX_SILENCE_S = 30.0


@dataclass(slots=True)
class Health:
    """What ``/livez`` and ``/readyz`` report; updated from the component's event loop."""

    max_silence_s: float = MAX_SILENCE_S
    ready: bool = False
    last_beat: float = field(default_factory=time.monotonic)
    status: dict[str, Any] = field(default_factory=dict)
    """What ``/status`` adds to ``live`` and ``ready`` (JSON values)."""

    def beat(self) -> None:
        self.last_beat = time.monotonic()

    def live(self) -> bool:
        return time.monotonic() - self.last_beat <= self.max_silence_s


@dataclass(slots=True)
class OpsServer:
    """A running server; ``close()`` stops it."""

    host: str
    port: int
    _server: http.server.ThreadingHTTPServer
    _thread: threading.Thread

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def serve(host: str, port: int, health: Health) -> OpsServer:
    """Serve the endpoints on ``host:port`` (port 0: a free one, see ``.port``)."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                self._reply(200, generate_latest(REGISTRY), CONTENT_TYPE_LATEST)
            elif path == "/livez":
                ok = health.live()
                self._reply(200 if ok else 503, b"live\n" if ok else b"event loop silent\n")
            elif path == "/readyz":
                ok = health.ready and health.live()
                self._reply(200 if ok else 503, b"ready\n" if ok else b"not ready\n")
            elif path == "/status":
                body = {"live": health.live(), "ready": health.ready, **health.status}
                self._reply(200, json.dumps(body).encode() + b"\n", "application/json")
            else:
                self._reply(404, b"not found\n")

        def _reply(self, status: int, body: bytes, content_type: str = "text/plain") -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            return  # scrapes every few seconds are not worth a log line

    server = http.server.ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="frtwatch-ops", daemon=True)
    thread.start()
    return OpsServer(host, int(server.server_address[1]), server, thread)
