"""The Faust application: ``faust -A streams.app worker`` and ``frtwatch worker`` run it.

:func:`create_app` builds a ``faust.App`` from :class:`~streams.settings.Settings`
(``FRTWATCH_*``) and a loaded :class:`~streams.worker.runtime.WorkerRuntime`; the
module attribute ``app`` is built on first access from the environment, so
importing this module has no side effects and ``frtwatch worker`` can build
its app from command-line flags instead.

Choices that matter (see also :mod:`streams.worker.agents`):

* Faust's web server is off unless ``FRTWATCH_WEB_ENABLED`` is set; even then
  it binds to ``FRTWATCH_WEB_HOST`` (default 127.0.0.1) with the table views
  (which would serve per-user state) turned off. ``faust ... worker`` turns
  Faust's web server on by itself (``--with-web`` is its default), so when
  it is off here an HTTP server that serves nothing is registered in its
  place: no port is opened by either entry point.
* Tables live in memory and are rebuilt from their changelogs at start-up
  (``store="memory://"``); ``FRTWATCH_DATA_DIR`` holds Faust's own files.
* ``acks=all`` for every record the worker produces; offsets are read from
  the earliest record when the consumer group has none.
* ``autodiscover`` is off: agents are registered explicitly by
  :func:`streams.worker.agents.install_ingest` and
  :func:`~streams.worker.agents.install_detect`.
"""

from __future__ import annotations

import logging
from typing import Any

import faust
from faust.types import TransportT
from mode import Service

from models.versions import ModelTimeline
from streams.exceptions import Exceptions
from streams.exceptions.records import ExceptionRecords
from streams.retention import MODEL_RECORD_MAX_BYTES
from streams.settings import Settings, load_settings
from streams.worker import observability
from streams.worker.agents import STAGES, install_detect, install_ingest
from streams.worker.certificates_feed import CertificateFeed, CompactedFeed
from streams.worker.consumer_lag import ingest_stage_group
from streams.worker.model_feed import ModelRecords
from streams.worker.runtime import WorkerRuntime, load_runtime
from streams.worker.tables import declare_tables
from streams.worker.topics import declare_topics, ensure_topics
from streams.worker.workarounds.consumer_start import use_worker_consumer

log = logging.getLogger("frtwatch.worker")

COMMIT_INTERVAL_S = 0.5
"""How often Faust commits what the agents acked (its default is 2.8 s). Only
events whose effects are on the broker are acked, and re-read events are
recognised (:mod:`streams.judge.progress_marks`), so this bounds re-reading after a
crash, not correctness."""


def broker_urls(bootstrap: str) -> list[str]:
    """Faust broker URLs for a Kafka bootstrap list.

    >>> broker_urls("10.0.0.1:9092, 10.0.0.2:9092")
    ['kafka://10.0.0.1:9092', 'kafka://10.0.0.2:9092']
    """
    return [f"kafka://{host.strip()}" for host in bootstrap.split(",") if host.strip()]


def faust_settings(settings: Settings) -> dict[str, Any]:
    """The ``faust.App`` configuration for ``settings``."""
    return {
        "broker": broker_urls(settings.bootstrap),
        "broker_credentials": settings.kafka.faust_credentials(),
        "store": "memory://",
        "datadir": str(settings.data_dir),
        "autodiscover": False,
        "topic_partitions": settings.partitions,
        "topic_replication_factor": settings.replication_factor,
        "consumer_auto_offset_reset": "earliest",
        "producer_acks": -1,
        "broker_commit_interval": COMMIT_INTERVAL_S,
        "web_enabled": settings.web_enabled,
        "web_bind": settings.web_host,
        "web_host": settings.web_host,
        "web_port": settings.web_port,
        "web_tables_enabled": False,
        "worker_redirect_stdouts": False,
    }


def create_app(
    settings: Settings | None = None, runtime: WorkerRuntime | None = None, stage: str = "both"
) -> faust.App:
    """Build the worker's Faust app (no broker I/O until it is started).

    ``stage``: ``both`` (the default), or ``ingest`` or ``detect`` alone, for a process
    per stage (``frtwatch worker --stage``): the two groups and the internal topic are the
    same, so one ``ingest`` and one ``detect`` process with the same app id are one worker.
    """
    if stage not in STAGES:
        raise ValueError(f"stage must be one of {', '.join(STAGES)}, not {stage!r}")
    runtime = runtime or load_runtime(settings or load_settings())
    settings = runtime.settings
    # A process of the ingest stage alone must not join the detection stage's group (its
    # Faust consumer would be a member with nothing to do, and rebalance the group).
    faust_id = ingest_stage_group(settings.app_id) if stage == "ingest" else None
    app = WorkerApp(settings, faust_id, **faust_settings(settings))
    topics = declare_topics(app, settings)
    if stage == "ingest":
        install_ingest(app, runtime, topics, announce=True)
    else:
        tables = declare_tables(app, settings)
        runtime = observability.timed_model(runtime)
        models_feed = model_versions_feed(runtime)
        feed = CertificateFeed(
            runtime.engine.certificates,
            runtime.certifications_topic,
            settings.bootstrap,
            client_id=f"{settings.app_id}-certificates",
        )
        if stage == "both":
            install_ingest(app, runtime, topics)
        install_detect(app, runtime, topics, tables, feed, exceptions_feed(runtime), models_feed)
    if not settings.web_enabled:
        app.web_server(NoWebServer())
    return app


def exceptions_feed(runtime: WorkerRuntime) -> CompactedFeed:
    """The exceptions topic's reader: the policy's file's exceptions, the topic's on top,
    each change put in the engine."""
    engine, settings = runtime.engine, runtime.settings

    def use(exceptions: Exceptions) -> None:
        engine.exceptions = exceptions
        log.info("exceptions: %d in force from now on", len(exceptions))

    return CompactedFeed(
        ExceptionRecords(runtime.policy.file_exceptions, on_change=use),
        settings.topics.exceptions,
        settings.bootstrap,
        client_id=f"{settings.app_id}-exceptions",
        label="exceptions",
    )


def model_versions_feed(runtime: WorkerRuntime) -> CompactedFeed:
    """The models topic's reader: each version that loads joins the judge's timeline
    (:mod:`streams.worker.model_feed`), and the behaviour state follows."""
    settings = runtime.settings
    topic = settings.topics.models

    def changed(timeline: ModelTimeline) -> None:
        if runtime.policy.behavior_anomaly.enabled:
            observability.publish_behavior(observability.behavior_status(timeline, topic))

    records = ModelRecords(runtime.models, runtime.policy.local_hours(), on_change=changed,
                           wrap=observability.timed)  # fmt: skip
    return CompactedFeed(records, topic, settings.bootstrap,
                         client_id=f"{settings.app_id}-models", label="models",
                         max_record_bytes=MODEL_RECORD_MAX_BYTES)  # fmt: skip


class WorkerApp(faust.App):
    """The worker's ``faust.App``: its topics exist before any consumer subscribes, and
    its consumer is the one of :mod:`streams.worker.workarounds.consumer_start`."""

    def __init__(self, settings: Settings, faust_id: str | None = None, **options: Any) -> None:
        super().__init__(faust_id or settings.app_id, **options)
        self.frtwatch_settings = settings

    async def on_first_start(self) -> None:
        await super().on_first_start()
        await ensure_topics(self.frtwatch_settings)

    def _new_transport(self) -> TransportT:
        return use_worker_consumer(super()._new_transport())


class NoWebServer(Service):
    """Stands in for Faust's web server: the worker serves no HTTP at all."""

    web_url = "http://127.0.0.1:0/"
    driver_version = "none (FRTWATCH_WEB_ENABLED is off)"


_app: faust.App | None = None


def __getattr__(name: str) -> Any:
    """``streams.worker.app.app`` (and ``streams.app.app``): built once, on first use, from ``FRTWATCH_*``."""
    global _app
    if name == "app":
        if _app is None:
            _app = create_app()
        return _app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
