"""``frtwatch console``: the SOC web console; ``frtwatch console hash-password``: make a hash."""

from __future__ import annotations

import argparse
import getpass
import ipaddress
import logging
import socket
import ssl
import sys
from pathlib import Path

from streams.errors import ConfigError, UsageError


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from streams.console.config import DEFAULT_USERS

    parser = sub.add_parser(
        "console",
        help="the SOC web console: live alerts, triage, analytics (sign-in required)",
        description=(
            "Serve the authenticated SOC console. It reads the alert and event topics, "
            "keeps triage in Kafka (the triage topic and its .history log) and listens on "
            "127.0.0.1 unless told otherwise. Topics and broker come from FRTWATCH_* "
            "variables (README.md); accounts from --users."
        ),
    )
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1: this machine only)",
    )
    parser.add_argument("--port", type=int, default=8080, help="port (default 8080)")
    parser.add_argument(
        "--users",
        type=Path,
        default=DEFAULT_USERS,
        help=f"accounts file with password hashes (default {DEFAULT_USERS})",
    )
    parser.add_argument(
        "--group-id",
        default=None,
        help="consumer group for the alert topic "
        "(default <app id>-console-<host name>-<port>: one per instance)",
    )
    parser.add_argument(
        "--triage-history-topic",
        default=None,
        help="append-only triage action log (default <triage topic>.history)",
    )
    parser.add_argument(
        "--session-idle",
        type=float,
        default=30.0,
        help="minutes of inactivity before a session ends (default 30)",
    )
    parser.add_argument(
        "--tls-cert", type=Path, default=None, help="serve HTTPS with this certificate"
    )
    parser.add_argument("--tls-key", type=Path, default=None, help="private key for --tls-cert")
    parser.add_argument(
        "--secure-cookies",
        action="store_true",
        help="mark cookies Secure even over HTTP (behind an HTTPS proxy)",
    )
    parser.add_argument(
        "--external-url",
        default="",
        metavar="URL",
        help="the URL browsers use, e.g. https://soc.example.org behind a TLS-terminating "
        "proxy (the Origin check of every POST expects it)",
    )
    parser.add_argument(
        "--trusted-proxy",
        action="append",
        default=[],
        metavar="CIDR",
        help="a reverse proxy (address or network) whose X-Forwarded-For names the client; "
        "repeat for several (default: none, the peer address is the client)",
    )
    parser.add_argument(
        "--worker-status",
        default=None,
        metavar="URL",
        help="the worker's /status (e.g. http://127.0.0.1:9100/status; default "
        "FRTWATCH_WORKER_STATUS_URL): the pages say when behaviour detection is warming up",
    )
    parser.add_argument(
        "--allow-demo-accounts",
        action="store_true",
        help="start even when an account has a hash from the example users file "
        "(its password is public); a warning is logged",
    )
    parser.add_argument(
        "--audit-log",
        type=Path,
        default=None,
        help="also append the audit log (sign-ins, triage) to this file",
    )
    parser.set_defaults(func=_serve)
    commands = parser.add_subparsers(dest="console_command", metavar="SUBCOMMAND")
    hasher = commands.add_parser(
        "hash-password",
        help="print a password hash for the users file",
        description=(
            "Read a password (prompted twice on a terminal, else one line from standard "
            "input) and print its salted scrypt hash for config/console-users.yaml."
        ),
    )
    hasher.set_defaults(func=_hash_password)


def _hash_password(args: argparse.Namespace) -> int:
    from streams.console.passwords import hash_password

    if sys.stdin.isatty():
        first = getpass.getpass("New password: ")
        if getpass.getpass("Again: ") != first:
            raise UsageError("the two passwords differ")
    else:
        first = sys.stdin.readline().rstrip("\r\n")
    if len(first) < 8:
        raise UsageError("use a password of at least 8 characters")
    print(hash_password(first))
    return 0


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _logging(audit_file: Path | None) -> None:
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    for noisy in ("aiokafka", "kafka"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    if audit_file is not None:
        handler = logging.FileHandler(audit_file, encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(message)s"))
        logging.getLogger("frtwatch.console.audit").addHandler(handler)


def _serve(args: argparse.Namespace) -> int:
    from aiohttp import web

    from streams.console.app import create_app
    from streams.console.config import EXAMPLE_USERS, ConsoleConfig
    from streams.console.security import parse_networks
    from streams.console.state import Console
    from streams.console.users import demo_accounts, load_users
    from streams.settings import load_settings

    if not 0 < args.port < 65536:
        raise UsageError(f"--port {args.port} is not a TCP port")
    if (args.tls_cert is None) != (args.tls_key is None):
        raise UsageError("--tls-cert and --tls-key go together")
    if args.session_idle <= 0:
        raise UsageError("--session-idle must be positive")
    if args.external_url and not args.external_url.startswith(("http://", "https://")):
        raise UsageError(
            f"--external-url {args.external_url!r} must start with http:// or https://"
        )
    try:
        parse_networks(args.trusted_proxy)
    except ValueError as exc:
        raise UsageError(f"--trusted-proxy: {exc}") from None
    settings = load_settings()
    worker_status = (
        args.worker_status if args.worker_status is not None else settings.worker_status_url
    )
    if worker_status and not worker_status.startswith(("http://", "https://")):
        raise UsageError(f"--worker-status {worker_status!r} must start with http:// or https://")
    accounts = load_users(args.users)
    demo = demo_accounts(accounts, EXAMPLE_USERS)
    if demo and not args.allow_demo_accounts:
        raise ConfigError(
            f"{args.users}: account(s) {', '.join(demo)} use a password hash from the example "
            "file, whose password is public; set new hashes (frtwatch console hash-password) "
            "or pass --allow-demo-accounts for a demo"
        )
    ssl_context = None
    if args.tls_cert is not None:
        ssl_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        try:
            ssl_context.load_cert_chain(args.tls_cert, args.tls_key)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(f"cannot load the TLS certificate or key: {exc}") from None
    from streams.console.certificates import certificate_source, load_csv

    _logging(args.audit_log)
    certificates = certificate_source(settings)
    config = ConsoleConfig(
        certificates=certificates,
        bootstrap=settings.bootstrap,
        topics=settings.topics,
        triage_history_topic=args.triage_history_topic or "",
        group_id=args.group_id or f"{settings.app_id}-console-{socket.gethostname()}-{args.port}",
        partitions=settings.partitions,
        retention=settings.retention,
        host=args.host,
        port=args.port,
        users_path=args.users,
        session_idle_s=args.session_idle * 60,
        secure_cookies=args.secure_cookies
        or ssl_context is not None
        or args.external_url.startswith("https://"),
        external_url=args.external_url,
        trusted_proxies=tuple(args.trusted_proxy),
        worker_status_url=worker_status,
    )
    log = logging.getLogger("frtwatch.console")
    if not _loopback(args.host):
        log.warning("listening on %s: the console is reachable from other machines", args.host)
    if demo:
        log.warning(
            "account(s) %s use the example file's hashes: their password is public",
            ", ".join(demo),
        )
    scheme = "https" if ssl_context else "http"
    shown = f"[{args.host}]" if ":" in args.host else args.host
    app = create_app(Console.build(config, accounts, load_csv(certificates)))
    try:
        web.run_app(
            app,
            host=args.host,
            port=args.port,
            ssl_context=ssl_context,
            access_log=None,
            print=lambda _: print(
                f"frtwatch console on {scheme}://{shown}:{args.port}/", flush=True
            ),
            handle_signals=True,
            shutdown_timeout=3.0,
        )
    except OSError as exc:
        raise ConfigError(f"cannot listen on {args.host}:{args.port}: {exc.strerror}") from None
    return 0
