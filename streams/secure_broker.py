"""The local broker's secured variant: SASL_SSL, SCRAM users and ACLs.

``frtwatch kafka up --secure`` starts the same KRaft broker as the plaintext one, with

- one client listener, ``SASL_SSL`` on 127.0.0.1 (TLS certificates made at start,
  :mod:`streams.broker_tls`), accepting ``SCRAM-SHA-512`` for the components and
  ``PLAIN`` for the ``admin`` super user, whose password lives only in the broker's
  own 0600 configuration (so no password is ever on a command line);
- the controller listener on 127.0.0.1 with ``SASL_PLAINTEXT``/``PLAIN`` for the same
  admin: nobody else can talk to the controller;
- ``StandardAuthorizer`` with ``allow.everyone.if.no.acl.found=false``: a principal may do
  only what :mod:`streams.kafka_acls` grants it.

At every start the passwords are new: each principal's is written to
``<home>/secrets/<principal>.password`` (0600), beside ``<principal>.env``, the
``FRTWATCH_*`` settings a component needs to connect as that principal.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path
from typing import TYPE_CHECKING

from streams import broker_tls
from streams.errors import BrokerError
from streams.kafka_acls import PRINCIPALS, apply, shared_topics
from streams.kafka_client import KafkaSecurity
from streams.localbroker import single_node_properties
from streams.retention import topic_configs

if TYPE_CHECKING:
    from streams.localbroker import BrokerConfig
    from streams.settings import Settings

ADMIN = "admin"
CLIENT_MECHANISM = "SCRAM-SHA-512"
ADMIN_MECHANISM = "PLAIN"


def secrets_dir(cfg: BrokerConfig) -> Path:
    return cfg.home / "secrets"


def ca_file(cfg: BrokerConfig) -> Path:
    return cfg.home / "tls" / "ca.pem"


def password_file(cfg: BrokerConfig, principal: str) -> Path:
    return secrets_dir(cfg) / f"{principal}.password"


def client_env(cfg: BrokerConfig, principal: str) -> dict[str, str]:
    """The ``FRTWATCH_*`` variables that connect a component as ``principal``."""
    return {
        "FRTWATCH_BOOTSTRAP": cfg.bootstrap,
        "FRTWATCH_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "FRTWATCH_KAFKA_SASL_MECHANISM": ADMIN_MECHANISM
        if principal == ADMIN
        else CLIENT_MECHANISM,
        "FRTWATCH_KAFKA_SASL_USERNAME": principal,
        "FRTWATCH_KAFKA_SASL_PASSWORD_FILE": str(password_file(cfg, principal)),
        "FRTWATCH_KAFKA_SSL_CAFILE": str(ca_file(cfg)),
    }


def client_security(cfg: BrokerConfig, principal: str) -> KafkaSecurity:
    return KafkaSecurity.from_env(client_env(cfg, principal))


def _write_secret(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    os.chmod(path, 0o600)


def _jaas_plain(password: str) -> str:
    return (
        "org.apache.kafka.common.security.plain.PlainLoginModule required "
        f'username="{ADMIN}" password="{password}" user_{ADMIN}="{password}";'
    )


def properties(cfg: BrokerConfig) -> str:
    """Fresh certificates and admin password, and the broker configuration using them.
    The admin password is written to its 0600 file; the result must be written 0600."""
    certs = broker_tls.generate(cfg.home / "tls")
    admin_password = secrets.token_urlsafe(24)
    _write_secret(password_file(cfg, ADMIN), admin_password + "\n")
    _write_secret(
        secrets_dir(cfg) / f"{ADMIN}.env",
        "".join(f"{k}={v}\n" for k, v in client_env(cfg, ADMIN).items()),
    )
    host, port = cfg.host, cfg.port
    return "\n".join(
        [
            "process.roles=broker,controller",
            "node.id=1",
            f"controller.quorum.voters=1@{host}:{port + 1}",
            f"listeners=SASL_SSL://{host}:{port},CONTROLLER://{host}:{port + 1}",
            f"advertised.listeners=SASL_SSL://{host}:{port}",
            "controller.listener.names=CONTROLLER",
            "listener.security.protocol.map=SASL_SSL:SASL_SSL,CONTROLLER:SASL_PLAINTEXT",
            "inter.broker.listener.name=SASL_SSL",
            f"sasl.mechanism.inter.broker.protocol={ADMIN_MECHANISM}",
            f"sasl.mechanism.controller.protocol={ADMIN_MECHANISM}",
            f"listener.name.sasl_ssl.sasl.enabled.mechanisms={ADMIN_MECHANISM},"
            "SCRAM-SHA-256,SCRAM-SHA-512",
            f"listener.name.sasl_ssl.plain.sasl.jaas.config={_jaas_plain(admin_password)}",
            "listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config="
            "org.apache.kafka.common.security.scram.ScramLoginModule required;",
            "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config="
            "org.apache.kafka.common.security.scram.ScramLoginModule required;",
            f"listener.name.controller.sasl.enabled.mechanisms={ADMIN_MECHANISM}",
            f"listener.name.controller.plain.sasl.jaas.config={_jaas_plain(admin_password)}",
            "ssl.keystore.type=PEM",
            f"ssl.keystore.location={certs.server}",
            "ssl.truststore.type=PEM",
            f"ssl.truststore.location={certs.ca}",
            "ssl.client.auth=none",
            "ssl.endpoint.identification.algorithm=https",
            "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
            "allow.everyone.if.no.acl.found=false",
            f"super.users=User:{ADMIN}",
            *single_node_properties(cfg, auto_create_topics=False),
            "",
        ]
    )


def provision(cfg: BrokerConfig, settings: Settings | None = None) -> str:
    """Give each principal a new SCRAM password, apply the ACLs for ``settings``'s topic
    names and app id (default: this process's) and create the shared topics (as the
    admin); returns a one-line summary."""
    from kafka import KafkaAdminClient
    from kafka.admin import NewTopic
    from kafka.admin._users import UserScramCredentialUpsertion
    from kafka.errors import TopicAlreadyExistsError

    from streams.settings import load_settings

    settings = settings or load_settings()
    admin = KafkaAdminClient(
        bootstrap_servers=cfg.bootstrap, client_id="frtwatch-provision",
        request_timeout_ms=15000, **client_security(cfg, ADMIN).kafka_python(),
    )  # fmt: skip
    try:
        upserts = []
        for principal in PRINCIPALS:
            password = secrets.token_urlsafe(24)
            _write_secret(password_file(cfg, principal), password + "\n")
            _write_secret(
                secrets_dir(cfg) / f"{principal}.env",
                "".join(f"{k}={v}\n" for k, v in client_env(cfg, principal).items()),
            )
            upserts.append(UserScramCredentialUpsertion(principal, CLIENT_MECHANISM, password))
        refused = {u: e for u, e in admin.alter_user_scram_credentials(upserts).items() if e}
        if refused:
            raise BrokerError(f"the broker refused SCRAM users: {refused}")
        count = apply(admin, settings)
        existing = set(admin.list_topics())
        configs = topic_configs(settings)
        wanted = [
            NewTopic(name, settings.partitions, 1, topic_configs=configs[name])
            for name in shared_topics(settings)
            if name not in existing
        ]
        if wanted:
            with contextlib.suppress(TopicAlreadyExistsError):
                admin.create_topics(wanted)
    finally:
        admin.close()
    return (
        f"{len(PRINCIPALS)} SCRAM users, {count} ACLs, topics ready; client settings in "
        f"{secrets_dir(cfg)}/<principal>.env"
    )
