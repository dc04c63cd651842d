"""The ``frtwatch`` command line.

Each sub-command lives in its own module under :mod:`streams.commands` and
exposes ``register(subparsers)``. User mistakes print one line to stderr:
exit status 2 for usage errors, 1 for any other :class:`FrtwatchError`.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from streams import __version__
from streams.errors import ConfigError, FrtwatchError, UsageError

# One line per sub-command module; each defines register(subparsers).
COMMAND_MODULES = (
    "streams.commands.kafka",
    "streams.commands.simulate",
    "streams.commands.produce",
    "streams.commands.worker",
    "streams.commands.alerts",
    "streams.commands.model",
    "streams.commands.webhooks",
    "streams.commands.console",
    "streams.commands.replay",
    "streams.commands.policy",
    "streams.commands.ingest",
    "streams.commands.catalogue",
    "streams.commands.exceptions",
)

# Sub-commands that talk to Kafka: with TLS or SASL configured, their connection is checked
# once before they start, so a refused password or an untrusted certificate is one line.
KAFKA_COMMANDS = frozenset(
    {
        "produce",
        "worker",
        "alerts",
        "model",
        "webhooks",
        "console",
        "replay",
        "ingest",
        "simulate",
        "exceptions",
    }
)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message} (see --help)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="frtwatch",
        description=(
            "Watch facial-recognition (FRT) search events on Kafka and alert on misuse: "
            "prohibited or unknown systems, outside-agency searches, uncertified users, "
            "missing case numbers, bursts and unusual behaviour."
        ),
        epilog="Environment variables (FRTWATCH_*) are listed in README.md.",
    )
    parser.add_argument("--version", action="version", version=f"frtwatch {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue  # a command not built yet
            raise
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if not getattr(args, "func", None):
            parser.print_help()
            return 2
        if args.command in KAFKA_COMMANDS:
            _check_kafka(args)
        result = args.func(args)
        return int(result or 0)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ConfigError as exc:
        if len(exc.errors) == 1:
            print(f"error: {exc.errors[0]}", file=sys.stderr)
        else:
            print(f"error: {len(exc.errors)} problems:", file=sys.stderr)
            for line in exc.errors:
                print(line, file=sys.stderr)
        return 1
    except FrtwatchError as exc:
        lines = str(exc).splitlines() or [type(exc).__name__]
        print(f"error: {lines[0]}", file=sys.stderr)
        for line in lines[1:]:
            print(f"  {line}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (e.g. `frtwatch ... | head`): not an error worth a traceback.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


def _check_kafka(args: argparse.Namespace) -> None:
    from streams.kafka_client import check_connection, process_security

    security = process_security()  # a misconfiguration is a ConfigError naming the variable
    if security.secured:
        from streams.settings import load_settings

        check_connection(getattr(args, "bootstrap", None) or load_settings().bootstrap, security)


if __name__ == "__main__":
    sys.exit(main())
