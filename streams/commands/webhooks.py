"""``frtwatch webhooks``: deliver alerts to SIEM, PagerDuty, Slack and other HTTP receivers."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from streams.errors import UsageError
from streams.health import Health, serve
from streams.policy.loader import parse_duration
from streams.settings import load_settings

if TYPE_CHECKING:  # the HTTP and Kafka clients load only when the command runs
    from streams.webhooks.dispatcher import Dispatcher
    from streams.webhooks.routes import Route

DEFAULT_ROUTES = Path("config/webhooks.yaml")


def _seconds(text: str) -> float:
    try:
        value = parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if value < 0:
        raise argparse.ArgumentTypeError("must not be negative")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "webhooks",
        help="deliver alerts to webhooks (signed, retried, routed; OCSF, Slack, PagerDuty)",
        description=(
            "Consume the alert topic in its own consumer group and deliver every alert to the "
            "routes in the routes file: signed per Standard Webhooks, retried with backoff, "
            "dead-lettered to the webhook DLQ topic after the last attempt. Offsets are "
            "committed only after delivery, so a crash re-delivers at most what was in flight, "
            "with the same webhook-id. See docs/WEBHOOKS.md."
        ),
    )
    parser.add_argument(
        "--routes",
        type=Path,
        default=DEFAULT_ROUTES,
        help=f"routes file (default {DEFAULT_ROUTES})",
    )
    parser.add_argument("--group", help="consumer group id (default: <FRTWATCH_APP_ID>-webhooks)")
    parser.add_argument(
        "--from",
        dest="start_from",
        choices=("earliest", "latest"),
        default="earliest",
        help="where a new consumer group starts (default earliest: deliver "
        "alerts already on the topic)",
    )
    parser.add_argument(
        "--max-in-flight",
        type=_positive_int,
        default=256,
        help="alert messages delivered concurrently (default 256)",
    )
    parser.add_argument(
        "--session-timeout",
        type=_seconds,
        default=10.0,
        help="consumer group session timeout (default 10s)",
    )
    parser.add_argument(
        "--drain-timeout",
        type=_seconds,
        default=30.0,
        help="on SIGTERM/SIGINT, wait this long for deliveries (default 30s)",
    )
    parser.add_argument(
        "--seen-lookback",
        type=_seconds,
        default=86400.0,
        help="at start, re-read this much committed history to tell first "
        "messages from updates (default 24h; 0 turns it off)",
    )
    parser.add_argument(
        "--metrics-port",
        type=int,
        default=None,
        help="serve /metrics on this port (default FRTWATCH_METRICS_PORT; 0 = off)",
    )
    parser.add_argument(
        "--check", action="store_true", help="validate the routes file, list the routes and exit"
    )
    parser.add_argument(
        "--new-secret",
        action="store_true",
        help="print a new random signing secret (whsec_...) and exit",
    )
    parser.add_argument(
        "--log-level",
        default="INFO",
        choices=("DEBUG", "INFO", "WARNING", "ERROR"),
        help="default INFO",
    )
    parser.set_defaults(func=_run)  # fmt: skip


def _describe(route: Route) -> str:
    from streams.webhooks.routes import describe_updates

    updates = describe_updates(route.updates or frozenset())
    filters = [f"min_severity={route.min_severity}"]
    if route.detectors is not None:
        filters.append("detectors=" + ",".join(sorted(route.detectors)))
    if route.agencies is not None:
        filters.append("agencies=" + ",".join(sorted(route.agencies)))
    signed = "signed" if route.secret else "unsigned"
    private = " allow_private" if route.allow_private else ""
    return (
        f"{route.name}: {route.format} -> {route.target} ({signed}, updates={updates}, "
        f"{' '.join(filters)}, attempts={route.delivery.max_attempts}{private})"
    )


def _run(args: argparse.Namespace) -> int:
    if args.new_secret:
        from streams.webhooks.signing import new_secret

        print(new_secret())
        return 0
    from streams.webhooks.dispatcher import Dispatcher, DispatcherOptions
    from streams.webhooks.loader import load_routes

    settings = load_settings()
    config = load_routes(args.routes)
    if args.check:
        print(f"{config.source}: {len(config.routes)} route(s)")
        for route in config.routes:
            print("  " + _describe(route))
        return 0
    if args.metrics_port is not None and not 0 <= args.metrics_port <= 65535:
        raise UsageError("--metrics-port must be between 0 and 65535")
    logging.basicConfig(
        level=args.log_level,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if args.log_level != "DEBUG":  # the Kafka client narrates every rebalance at INFO
        logging.getLogger("aiokafka").setLevel(logging.WARNING)
    options = DispatcherOptions(
        group_id=args.group or f"{settings.app_id}-webhooks",
        start_from=args.start_from,
        max_in_flight=args.max_in_flight,
        session_timeout_s=args.session_timeout,
        drain_timeout_s=args.drain_timeout,
        seen_lookback_s=args.seen_lookback,
    )
    port = settings.metrics_port if args.metrics_port is None else args.metrics_port
    health = Health()
    server = serve(settings.metrics_host, port, health) if port else None
    if server is not None:
        logging.getLogger("frtwatch.webhooks").info(
            "metrics on %s/metrics, health on /livez and /readyz", server.url
        )
    try:
        asyncio.run(_serve(Dispatcher(config, settings, options), health))
    finally:
        if server is not None:
            server.close()
    return 0


async def _serve(dispatcher: Dispatcher, health: Health) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    async def beat() -> None:
        while True:
            health.beat()
            health.ready = dispatcher.ready and not stop.is_set()
            await asyncio.sleep(1.0)

    beating = asyncio.create_task(beat())
    try:
        await dispatcher.run(stop)
    finally:
        beating.cancel()
