"""``frtwatch kafka up|down|status|reset``: the local single-node broker."""

from __future__ import annotations

import argparse

from streams import localbroker


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "kafka",
        help="run a local Apache Kafka broker (fetched from Maven Central on first use)",
        description=(
            "Start, stop or inspect a single-node KRaft broker on 127.0.0.1. "
            "Port: FRTWATCH_KAFKA_PORT (default 9092; the controller uses port+1). "
            "Jars and data live under FRTWATCH_CACHE (default ~/.cache/frtwatch)."
        ),
    )
    parser.add_argument("action", choices=("up", "down", "status", "reset", "acls"),
                        help="up: start and wait until ready; down: stop the broker up started; "
                             "status: what runs where; reset: stop and delete its data; "
                             "acls: print the kafka-configs.sh/kafka-acls.sh commands that give "
                             "each component its user and least-privilege ACLs on a cluster "
                             "(for FRTWATCH_APP_ID and the FRTWATCH_TOPIC_* names)")  # fmt: skip
    parser.add_argument("--timeout", type=float, default=90.0, help="seconds to wait (default 90)")
    parser.add_argument("--secure", action="store_true",
                        help="the secured broker: a SASL_SSL listener (SCRAM-SHA-512), TLS "
                             "certificates made at start, one user per component and the ACLs "
                             "of `frtwatch kafka acls`; data apart from the plaintext one's")  # fmt: skip
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    if args.action == "acls":
        from streams.kafka_acls import script
        from streams.settings import load_settings

        print(script(load_settings()))
        return 0
    cfg = localbroker.BrokerConfig.from_env(secure=args.secure)
    if args.action == "up":
        print(localbroker.up(cfg, timeout=args.timeout))
    elif args.action == "down":
        print(localbroker.down(cfg))
    elif args.action == "reset":
        print(localbroker.reset(cfg))
    else:
        print(localbroker.status(cfg))
    return 0
