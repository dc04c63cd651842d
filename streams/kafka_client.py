"""How every frtwatch Kafka client connects: TLS, SASL and client certificates.

One :class:`KafkaSecurity`, read once from ``FRTWATCH_KAFKA_*`` variables, gives the
keyword arguments of each client library frtwatch uses:

- :meth:`KafkaSecurity.kafka_python` for kafka-python's ``KafkaConsumer``,
  ``KafkaProducer`` and ``KafkaAdminClient``;
- :meth:`KafkaSecurity.aiokafka` for aiokafka's consumer, producer and admin client;
- :meth:`KafkaSecurity.confluent` for confluent-kafka's (librdkafka's) consumer, which
  ``frtwatch replay`` reads with;
- :meth:`KafkaSecurity.faust_credentials` for ``faust.App(broker_credentials=...)``,
  which Faust turns into the same aiokafka arguments.

Secrets (the SASL password, the key's password) come from the environment or from files
named there, never from the command line; ``repr`` hides them and nothing here logs them.
A setting that cannot work (an unknown protocol, a missing file) is a
:class:`~streams.errors.ConfigError` naming the variable; a broker that refuses the
password or a certificate that is not trusted is reported by :func:`check_connection` in
one line naming the setting to look at.
"""

from __future__ import annotations

import functools
import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from streams.errors import ConfigError, FrtwatchError

PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")

PROTOCOL = "FRTWATCH_KAFKA_SECURITY_PROTOCOL"
MECHANISM = "FRTWATCH_KAFKA_SASL_MECHANISM"
USERNAME = "FRTWATCH_KAFKA_SASL_USERNAME"
PASSWORD = "FRTWATCH_KAFKA_SASL_PASSWORD"  # noqa: S105 - a variable name, not a secret
PASSWORD_FILE = "FRTWATCH_KAFKA_SASL_PASSWORD_FILE"  # noqa: S105 - a variable name, not a secret
CAFILE = "FRTWATCH_KAFKA_SSL_CAFILE"
CERTFILE = "FRTWATCH_KAFKA_SSL_CERTFILE"
KEYFILE = "FRTWATCH_KAFKA_SSL_KEYFILE"
KEY_PASSWORD = "FRTWATCH_KAFKA_SSL_KEY_PASSWORD"  # noqa: S105 - a variable name, not a secret
KEY_PASSWORD_FILE = "FRTWATCH_KAFKA_SSL_KEY_PASSWORD_FILE"  # noqa: S105 - a variable name, not a secret

SASL_VARIABLES = (MECHANISM, USERNAME, PASSWORD, PASSWORD_FILE)
SSL_VARIABLES = (CAFILE, CERTFILE, KEYFILE, KEY_PASSWORD, KEY_PASSWORD_FILE)


class KafkaAuthError(FrtwatchError):
    """The broker refused the credentials, or TLS could not be established."""


@dataclass(frozen=True, slots=True)
class KafkaSecurity:
    """How to authenticate to the brokers and protect the connection."""

    protocol: str = "PLAINTEXT"
    mechanism: str | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    cafile: Path | None = None
    certfile: Path | None = None
    keyfile: Path | None = None
    key_password: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.protocol not in PROTOCOLS:
            raise ConfigError(f"{PROTOCOL}={self.protocol!r} is not one of {', '.join(PROTOCOLS)}")
        if self.uses_sasl:
            if self.mechanism not in MECHANISMS:
                shown = "unset" if self.mechanism is None else repr(self.mechanism)
                raise ConfigError(
                    f"{MECHANISM} is {shown}; with {self.protocol} it must be one of "
                    f"{', '.join(MECHANISMS)}"
                )
            if not self.username:
                raise ConfigError(f"{USERNAME} must be set with {self.protocol}")
            if self.password is None:
                raise ConfigError(f"{PASSWORD} or {PASSWORD_FILE} must be set with {self.protocol}")
        if (self.certfile is None) != (self.keyfile is None):
            raise ConfigError(f"{CERTFILE} and {KEYFILE} go together: set both or neither")

    @property
    def uses_sasl(self) -> bool:
        return self.protocol.startswith("SASL_")

    @property
    def uses_tls(self) -> bool:
        return self.protocol.endswith("SSL")

    @property
    def secured(self) -> bool:
        return self.protocol != "PLAINTEXT"

    def describe(self) -> str:
        """One line for logs and status output; never a secret."""
        parts = [self.protocol]
        if self.uses_sasl:
            parts.append(f"{self.mechanism} as {self.username}")
        if self.uses_tls:
            parts.append(f"CA {self.cafile or 'system default'}")
            if self.certfile:
                parts.append(f"client certificate {self.certfile}")
        return ", ".join(parts)

    def ssl_context(self) -> ssl.SSLContext | None:
        """A verifying TLS context (hostname checked), or None without TLS."""
        if not self.uses_tls:
            return None
        return _ssl_context(self.cafile, self.certfile, self.keyfile, self.key_password)

    def kafka_python(self) -> dict[str, Any]:
        """Keyword arguments for kafka-python's consumer, producer and admin client."""
        return self._client_kwargs()

    def aiokafka(self) -> dict[str, Any]:
        """Keyword arguments for aiokafka's consumer, producer and admin client (aiokafka
        took kafka-python's names, so they are the same today; two methods, so that each
        call site says which library it configures)."""
        return self._client_kwargs()

    def confluent(self) -> dict[str, Any]:
        """librdkafka configuration properties for confluent-kafka's clients: the same
        protocol, mechanism and credentials, and TLS that verifies the broker's certificate
        and host name against the same CA (librdkafka's own TLS stack reads the files; it
        is given no ``SSLContext``). With TLS and no CA file, the system's CAs are used."""
        config: dict[str, Any] = {"security.protocol": self.protocol.lower()}
        if self.uses_sasl:
            config |= {
                "sasl.mechanism": self.mechanism,
                "sasl.username": self.username,
                "sasl.password": self.password,
            }
        if self.uses_tls:
            config |= {
                "ssl.ca.location": str(self.cafile) if self.cafile else "probe",
                "ssl.endpoint.identification.algorithm": "https",
            }
            if self.certfile is not None and self.keyfile is not None:
                config |= {
                    "ssl.certificate.location": str(self.certfile),
                    "ssl.key.location": str(self.keyfile),
                }
                if self.key_password is not None:
                    config["ssl.key.password"] = self.key_password
        return config

    def _client_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"security_protocol": self.protocol}
        if self.uses_sasl:
            kwargs |= {
                "sasl_mechanism": self.mechanism,
                "sasl_plain_username": self.username,
                "sasl_plain_password": self.password,
            }
        if self.uses_tls:
            kwargs["ssl_context"] = self.ssl_context()
        return kwargs

    def faust_credentials(self) -> Any:
        """``broker_credentials`` for ``faust.App``: None in plaintext, else Faust's
        SASL or SSL credentials (Faust passes them on to aiokafka unchanged)."""
        if not self.secured:
            return None
        from faust.auth import SASLCredentials, SSLCredentials

        if self.uses_sasl:
            return SASLCredentials(
                username=self.username,
                password=self.password,
                ssl_context=self.ssl_context(),
                mechanism=self.mechanism,
            )
        return SSLCredentials(self.ssl_context())

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> KafkaSecurity:
        env = os.environ if env is None else env
        protocol = (env.get(PROTOCOL) or "PLAINTEXT").strip().upper()
        if protocol not in PROTOCOLS:
            raise ConfigError(f"{PROTOCOL}={env[PROTOCOL]!r} is not one of {', '.join(PROTOCOLS)}")
        unused: tuple[str, ...] = SSL_VARIABLES if not protocol.endswith("SSL") else ()
        unused += SASL_VARIABLES if not protocol.startswith("SASL_") else ()
        for name in unused:
            if env.get(name):
                raise ConfigError(
                    f"{name} is set but {PROTOCOL}={protocol} does not use it "
                    "(a setting that is silently ignored is a connection less protected "
                    "than intended)"
                )
        mechanism = env.get(MECHANISM)
        security = cls(
            protocol=protocol,
            mechanism=mechanism.strip().upper() if mechanism else None,
            username=env.get(USERNAME) or None,
            password=_secret(env, PASSWORD, PASSWORD_FILE),
            cafile=_file(env, CAFILE),
            certfile=_file(env, CERTFILE),
            keyfile=_file(env, KEYFILE),
            key_password=_secret(env, KEY_PASSWORD, KEY_PASSWORD_FILE),
        )
        security.ssl_context()  # unreadable certificates or keys fail here, named
        return security


def _secret(env: Mapping[str, str], name: str, file_name: str) -> str | None:
    value, path = env.get(name), env.get(file_name)
    if value and path:
        raise ConfigError(f"set {name} or {file_name}, not both")
    if value:
        return value
    if not path:
        return None
    try:
        text = Path(path).expanduser().read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{file_name}={path!r} cannot be read: {_reason(exc)}") from None
    secret = text.rstrip("\r\n")
    if not secret:
        raise ConfigError(f"{file_name}={path!r} is empty")
    return secret


def _file(env: Mapping[str, str], name: str) -> Path | None:
    raw = env.get(name)
    if not raw:
        return None
    path = Path(raw).expanduser()
    if not path.is_file():
        raise ConfigError(f"{name}={raw!r} is not a readable file")
    return path


def _reason(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


@functools.lru_cache(maxsize=16)
def _ssl_context(
    cafile: Path | None, certfile: Path | None, keyfile: Path | None, key_password: str | None
) -> ssl.SSLContext:
    from aiokafka.helpers import create_ssl_context

    try:
        context = create_ssl_context(cafile=cafile) if cafile else create_ssl_context()
    except (ssl.SSLError, OSError) as exc:
        raise ConfigError(
            f"{CAFILE}={str(cafile)!r} holds no usable CA certificate: {exc}"
        ) from None
    if certfile is not None:
        try:
            context.load_cert_chain(certfile, keyfile, key_password)
        except (ssl.SSLError, OSError) as exc:
            raise ConfigError(
                f"{CERTFILE}/{KEYFILE} ({certfile}, {keyfile}) cannot be loaded as a "
                f"certificate and its key (is {KEY_PASSWORD} right?): {_reason(exc)}"
            ) from None
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


@functools.cache
def process_security() -> KafkaSecurity:
    """This process's Kafka security settings, read from the environment once."""
    return KafkaSecurity.from_env()


def kafka_python_kwargs(security: KafkaSecurity | None = None) -> dict[str, Any]:
    """kafka-python keyword arguments of ``security`` (default: this process's)."""
    return (security or process_security()).kafka_python()


def aiokafka_kwargs(security: KafkaSecurity | None = None) -> dict[str, Any]:
    """aiokafka keyword arguments of ``security`` (default: this process's)."""
    return (security or process_security()).aiokafka()


def confluent_config(security: KafkaSecurity | None = None) -> dict[str, Any]:
    """confluent-kafka configuration properties of ``security`` (default: this process's)."""
    return (security or process_security()).confluent()


def explain_failure(exc: BaseException, security: KafkaSecurity, bootstrap: str) -> str | None:
    """The one line that says which setting a connection failure points at, or None when
    ``exc`` is not an authentication or TLS failure (e.g. the broker is not reachable)."""
    from aiokafka.errors import SaslAuthenticationFailed, UnsupportedSaslMechanismError

    if isinstance(exc, ssl.SSLCertVerificationError):
        return (
            f"the broker's TLS certificate at {bootstrap} is not trusted "
            f"({exc.verify_message}): check {CAFILE} "
            f"({security.cafile or 'unset: the system CAs are used'})"
        )
    if isinstance(exc, ssl.SSLError):
        return (
            f"TLS with the broker at {bootstrap} failed ({exc.reason or exc}): check "
            f"{PROTOCOL}={security.protocol} and {CERTFILE}/{KEYFILE}"
        )
    if isinstance(exc, SaslAuthenticationFailed):
        return (
            f"the broker at {bootstrap} refused {security.mechanism} authentication as "
            f"{security.username!r}: check {USERNAME} and {PASSWORD} or {PASSWORD_FILE}"
        )
    if isinstance(exc, UnsupportedSaslMechanismError):
        return (
            f"the broker at {bootstrap} does not offer {MECHANISM}={security.mechanism} "
            "on this listener"
        )
    return None


async def probe(bootstrap: str, security: KafkaSecurity, timeout_s: float = 10.0) -> None:
    """Open one connection to the first reachable bootstrap server and authenticate.
    Raises :class:`KafkaAuthError` (one line naming the setting) when the broker refuses
    the credentials or TLS fails; returns quietly when no server can be reached."""
    import asyncio

    from aiokafka.conn import create_conn

    for server in bootstrap.split(","):
        host, _, port = server.strip().rpartition(":")
        if not host or not port.isdigit():
            raise ConfigError(f"FRTWATCH_BOOTSTRAP: {server!r} is not host:port")
        try:
            conn = await asyncio.wait_for(
                create_conn(
                    host.strip("[]"),
                    int(port),
                    client_id="frtwatch-connection-check",
                    request_timeout_ms=int(timeout_s * 1000),
                    **security.aiokafka(),
                ),
                timeout_s,
            )
        except Exception as exc:
            line = explain_failure(exc, security, server)
            if line is not None:
                raise KafkaAuthError(line) from None
            continue
        conn.close()
        return


def check_connection(
    bootstrap: str, security: KafkaSecurity | None = None, timeout_s: float = 10.0
) -> None:
    """:func:`probe` for a command line entry point, before it starts its own clients
    (kafka-python and aiokafka otherwise retry a refused password until their timeout
    and report only that the bootstrap failed). Plaintext is not checked."""
    import asyncio

    security = security or process_security()
    if security.secured:
        asyncio.run(probe(bootstrap, security, timeout_s))
