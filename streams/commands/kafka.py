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
    parser.add_argument("action", choices=("up", "down", "status", "reset", "acls", "topics"),
                        help="up: start and wait until ready; down: stop the broker up started; "
                             "status: what runs where; reset: stop and delete its data; "
                             "acls: print the kafka-configs.sh/kafka-acls.sh commands that give "
                             "each component its user and least-privilege ACLs on a cluster "
                             "(for FRTWATCH_APP_ID and the FRTWATCH_TOPIC_* names); "
                             "topics: the cleanup and retention of each topic frtwatch creates, "
                             "as FRTWATCH_RETENTION_* want it and as the broker at "
                             "FRTWATCH_BOOTSTRAP has it")  # fmt: skip
    parser.add_argument("--apply", action="store_true",
                        help="with topics: set the wanted retention on existing topics that "
                             "differ (the admin client needs AlterConfigs on them)")  # fmt: skip
    parser.add_argument("--timeout", type=float, default=90.0, help="seconds to wait (default 90)")
    parser.add_argument("--secure", action="store_true",
                        help="the secured broker: a SASL_SSL listener (SCRAM-SHA-512), TLS "
                             "certificates made at start, one user per component and the ACLs "
                             "of `frtwatch kafka acls`; data apart from the plaintext one's")  # fmt: skip
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    if args.action == "topics":
        return _topics(args.apply)
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


def _topics(apply: bool) -> int:
    from kafka import KafkaAdminClient
    from kafka.errors import KafkaError

    from streams import retention
    from streams.errors import BrokerError
    from streams.kafka_client import check_connection, kafka_python_kwargs
    from streams.settings import load_settings

    settings = load_settings()
    check_connection(settings.bootstrap, settings.kafka)  # a refused password: one line
    try:
        admin = KafkaAdminClient(bootstrap_servers=settings.bootstrap.split(","),
                                 request_timeout_ms=15000, **kafka_python_kwargs(settings.kafka))  # fmt: skip
    except KafkaError as exc:
        raise BrokerError(f"cannot reach Kafka at {settings.bootstrap}: {exc}") from None
    try:
        if apply:
            changed = retention.apply(admin, settings)
            print(
                f"changed {len(changed)} topic(s)" + (f": {', '.join(changed)}" if changed else "")
            )
        for row in retention.inspect(admin, settings):
            print(row.line())
    finally:
        admin.close()
    return 0
