"""streams/kafka_client.py: reading the Kafka security settings, and what each client gets."""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
from pathlib import Path

import pytest

from streams import broker_tls
from streams.errors import ConfigError
from streams.kafka_client import (
    KafkaAuthError,
    KafkaSecurity,
    check_connection,
    explain_failure,
    probe,
)
from streams.settings import load_settings


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> broker_tls.BrokerCertificates:
    return broker_tls.generate(tmp_path_factory.mktemp("tls"))


def sasl_ssl(ca: Path, **extra: str) -> dict[str, str]:
    return {
        "FRTWATCH_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "FRTWATCH_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
        "FRTWATCH_KAFKA_SASL_USERNAME": "frtwatch-worker",
        "FRTWATCH_KAFKA_SASL_PASSWORD": "s3cret-value",
        "FRTWATCH_KAFKA_SSL_CAFILE": str(ca),
        **extra,
    }


def test_nothing_set_is_plaintext_and_adds_nothing_but_the_protocol() -> None:
    security = KafkaSecurity.from_env({})
    assert security.protocol == "PLAINTEXT" and not security.secured
    assert security.kafka_python() == {"security_protocol": "PLAINTEXT"}
    assert security.aiokafka() == {"security_protocol": "PLAINTEXT"}
    assert security.faust_credentials() is None
    assert load_settings({}).kafka == security


def test_sasl_ssl_gives_each_library_its_own_arguments(
    certs: broker_tls.BrokerCertificates,
) -> None:
    security = KafkaSecurity.from_env(sasl_ssl(certs.ca))
    for kwargs in (security.kafka_python(), security.aiokafka()):
        assert kwargs["security_protocol"] == "SASL_SSL"
        assert kwargs["sasl_mechanism"] == "SCRAM-SHA-512"
        assert kwargs["sasl_plain_username"] == "frtwatch-worker"
        assert kwargs["sasl_plain_password"] == "s3cret-value"
        context = kwargs["ssl_context"]
        assert isinstance(context, ssl.SSLContext)
        assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
        assert context.get_ca_certs()[0]["subject"] == (
            (("commonName", "frtwatch local broker CA"),),
        )


def test_faust_gets_credentials_that_become_the_same_aiokafka_arguments(
    certs: broker_tls.BrokerCertificates,
) -> None:
    from faust.transport.drivers.aiokafka import credentials_to_aiokafka_auth

    security = KafkaSecurity.from_env(sasl_ssl(certs.ca))
    auth = credentials_to_aiokafka_auth(security.faust_credentials())
    assert auth["security_protocol"] == "SASL_SSL"
    assert auth["sasl_mechanism"] == "SCRAM-SHA-512"
    assert (auth["sasl_plain_username"], auth["sasl_plain_password"]) == (
        "frtwatch-worker",
        "s3cret-value",
    )
    assert auth["ssl_context"].verify_mode == ssl.CERT_REQUIRED

    tls_only = KafkaSecurity.from_env(
        {"FRTWATCH_KAFKA_SECURITY_PROTOCOL": "ssl", "FRTWATCH_KAFKA_SSL_CAFILE": str(certs.ca)}
    )
    auth = credentials_to_aiokafka_auth(tls_only.faust_credentials())
    assert auth["security_protocol"] == "SSL" and "sasl_mechanism" not in auth


def test_confluent_kafka_gets_the_same_settings_as_librdkafka_properties(
    certs: broker_tls.BrokerCertificates,
) -> None:
    from confluent_kafka import Consumer

    assert KafkaSecurity.from_env({}).confluent() == {"security.protocol": "plaintext"}
    config = KafkaSecurity.from_env(sasl_ssl(certs.ca)).confluent()
    assert config == {
        "security.protocol": "sasl_ssl",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": "frtwatch-worker",
        "sasl.password": "s3cret-value",
        "ssl.ca.location": str(certs.ca),
        "ssl.endpoint.identification.algorithm": "https",  # the host name is checked
    }
    mutual = KafkaSecurity.from_env(
        {
            "FRTWATCH_KAFKA_SECURITY_PROTOCOL": "SSL",
            "FRTWATCH_KAFKA_SSL_CERTFILE": str(certs.server),
            "FRTWATCH_KAFKA_SSL_KEYFILE": str(certs.server),
        }
    ).confluent()
    assert mutual["ssl.ca.location"] == "probe"  # no CA file: the system's CAs
    assert mutual["ssl.certificate.location"] == str(certs.server)
    assert mutual["ssl.key.location"] == str(certs.server)
    assert "sasl.username" not in mutual
    # librdkafka accepts them all (it reads the files when the client is created).
    Consumer({"bootstrap.servers": "127.0.0.1:1", "group.id": "g", **config}).close()


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-256", "scram-sha-512"])
def test_every_sasl_mechanism_is_accepted_over_plaintext_too(mechanism: str) -> None:
    security = KafkaSecurity.from_env(
        {
            "FRTWATCH_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
            "FRTWATCH_KAFKA_SASL_MECHANISM": mechanism,
            "FRTWATCH_KAFKA_SASL_USERNAME": "u",
            "FRTWATCH_KAFKA_SASL_PASSWORD": "p",
        }
    )
    assert security.kafka_python()["sasl_mechanism"] == mechanism.upper()
    assert "ssl_context" not in security.aiokafka()


def test_the_password_comes_from_a_file_without_its_newline(
    tmp_path: Path, certs: broker_tls.BrokerCertificates
) -> None:
    secret = tmp_path / "pw"
    secret.write_text("from-a-file\n", encoding="utf-8")
    env = sasl_ssl(certs.ca, FRTWATCH_KAFKA_SASL_PASSWORD_FILE=str(secret))
    del env["FRTWATCH_KAFKA_SASL_PASSWORD"]
    assert KafkaSecurity.from_env(env).password == "from-a-file"


def test_secrets_never_show_in_repr_or_describe(certs: broker_tls.BrokerCertificates) -> None:
    security = KafkaSecurity.from_env(sasl_ssl(certs.ca))
    assert "s3cret-value" not in repr(security)
    assert "s3cret-value" not in security.describe()
    assert "s3cret-value" not in repr(load_settings(sasl_ssl(certs.ca)))
    assert "SCRAM-SHA-512 as frtwatch-worker" in security.describe()


def test_mutual_tls_loads_the_client_certificate(tmp_path: Path) -> None:
    """A certificate and its key in one PEM file (as the server's is) serve as a client's."""
    made = broker_tls.generate(tmp_path)
    security = KafkaSecurity.from_env(
        {
            "FRTWATCH_KAFKA_SECURITY_PROTOCOL": "SSL",
            "FRTWATCH_KAFKA_SSL_CAFILE": str(made.ca),
            "FRTWATCH_KAFKA_SSL_CERTFILE": str(made.server),
            "FRTWATCH_KAFKA_SSL_KEYFILE": str(made.server),
        }
    )
    assert security.certfile == made.server
    assert "client certificate" in security.describe()


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"FRTWATCH_KAFKA_SECURITY_PROTOCOL": "TLS"}, "FRTWATCH_KAFKA_SECURITY_PROTOCOL='TLS'"),
        (
            {"FRTWATCH_KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "FRTWATCH_KAFKA_SASL_USERNAME": "u",
             "FRTWATCH_KAFKA_SASL_PASSWORD": "p"},
            "FRTWATCH_KAFKA_SASL_MECHANISM is unset",
        ),
        (
            {"FRTWATCH_KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "FRTWATCH_KAFKA_SASL_MECHANISM": "GSSAPI",
             "FRTWATCH_KAFKA_SASL_USERNAME": "u", "FRTWATCH_KAFKA_SASL_PASSWORD": "p"},
            "FRTWATCH_KAFKA_SASL_MECHANISM is 'GSSAPI'",
        ),
        (
            {"FRTWATCH_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
             "FRTWATCH_KAFKA_SASL_MECHANISM": "PLAIN", "FRTWATCH_KAFKA_SASL_PASSWORD": "p"},
            "FRTWATCH_KAFKA_SASL_USERNAME must be set",
        ),
        (
            {"FRTWATCH_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
             "FRTWATCH_KAFKA_SASL_MECHANISM": "PLAIN", "FRTWATCH_KAFKA_SASL_USERNAME": "u"},
            "FRTWATCH_KAFKA_SASL_PASSWORD or FRTWATCH_KAFKA_SASL_PASSWORD_FILE must be set",
        ),
        (
            {"FRTWATCH_KAFKA_SECURITY_PROTOCOL": "SSL",
             "FRTWATCH_KAFKA_SSL_CAFILE": "/nonexistent/ca.pem"},
            "FRTWATCH_KAFKA_SSL_CAFILE='/nonexistent/ca.pem' is not a readable file",
        ),
        (
            {"FRTWATCH_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
             "FRTWATCH_KAFKA_SASL_MECHANISM": "PLAIN", "FRTWATCH_KAFKA_SASL_USERNAME": "u",
             "FRTWATCH_KAFKA_SASL_PASSWORD_FILE": "/nonexistent/pw"},
            "FRTWATCH_KAFKA_SASL_PASSWORD_FILE='/nonexistent/pw' cannot be read",
        ),
        (
            {"FRTWATCH_KAFKA_SASL_USERNAME": "u"},
            "FRTWATCH_KAFKA_SASL_USERNAME is set but FRTWATCH_KAFKA_SECURITY_PROTOCOL=PLAINTEXT",
        ),
        (
            {"FRTWATCH_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
             "FRTWATCH_KAFKA_SSL_CAFILE": "/etc/hostname"},
            "FRTWATCH_KAFKA_SSL_CAFILE is set but FRTWATCH_KAFKA_SECURITY_PROTOCOL=SASL_PLAINTEXT",
        ),
        (
            {"FRTWATCH_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
             "FRTWATCH_KAFKA_SASL_MECHANISM": "PLAIN", "FRTWATCH_KAFKA_SASL_USERNAME": "u",
             "FRTWATCH_KAFKA_SASL_PASSWORD": "p", "FRTWATCH_KAFKA_SASL_PASSWORD_FILE": "/etc/hostname"},
            "not both",
        ),
    ],
)  # fmt: skip
def test_a_setting_that_cannot_work_is_one_error_naming_it(env: dict[str, str], names: str) -> None:
    with pytest.raises(ConfigError) as caught:
        KafkaSecurity.from_env(env)
    assert len(caught.value.errors) == 1
    assert names in caught.value.errors[0]


def test_a_file_that_is_no_certificate_is_named(tmp_path: Path) -> None:
    junk = tmp_path / "ca.pem"
    junk.write_text("not a certificate\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="FRTWATCH_KAFKA_SSL_CAFILE"):
        KafkaSecurity.from_env(
            {"FRTWATCH_KAFKA_SECURITY_PROTOCOL": "SSL", "FRTWATCH_KAFKA_SSL_CAFILE": str(junk)}
        )
    with pytest.raises(
        ConfigError, match="FRTWATCH_KAFKA_SSL_CERTFILE and FRTWATCH_KAFKA_SSL_KEYFILE"
    ):
        KafkaSecurity.from_env(
            {"FRTWATCH_KAFKA_SECURITY_PROTOCOL": "SSL", "FRTWATCH_KAFKA_SSL_CERTFILE": str(junk)}
        )


def test_explain_failure_names_the_setting_of_each_kind_of_refusal(
    certs: broker_tls.BrokerCertificates,
) -> None:
    from aiokafka.errors import KafkaConnectionError, SaslAuthenticationFailed

    security = KafkaSecurity.from_env(sasl_ssl(certs.ca))
    line = explain_failure(SaslAuthenticationFailed("invalid credentials"), security, "b:9093")
    assert (
        line is not None and "FRTWATCH_KAFKA_SASL_PASSWORD" in line and "'frtwatch-worker'" in line
    )
    verify = ssl.SSLCertVerificationError(1, "certificate verify failed")
    verify.verify_message = "self-signed certificate"
    line = explain_failure(verify, security, "b:9093")
    assert line is not None and "FRTWATCH_KAFKA_SSL_CAFILE" in line and "not trusted" in line
    assert explain_failure(KafkaConnectionError("refused"), security, "b:9093") is None


def _tls_server(certs: broker_tls.BrokerCertificates) -> tuple[socket.socket, int]:
    """A TLS listener on loopback with the test server certificate (no Kafka behind it)."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certs.server)
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            try:
                with context.wrap_socket(conn, server_side=True):
                    pass
            except (ssl.SSLError, OSError):
                pass

    threading.Thread(target=serve, daemon=True).start()
    return listener, port


def test_a_server_certificate_from_another_ca_is_one_line_naming_the_ca_file(
    tmp_path: Path, certs: broker_tls.BrokerCertificates
) -> None:
    other = broker_tls.generate(tmp_path / "other")
    listener, port = _tls_server(certs)
    try:
        security = KafkaSecurity.from_env(sasl_ssl(other.ca))
        with pytest.raises(KafkaAuthError) as caught:
            check_connection(f"127.0.0.1:{port}", security, timeout_s=5)
    finally:
        listener.close()
    assert "\n" not in str(caught.value)
    assert "not trusted" in str(caught.value) and str(other.ca) in str(caught.value)


def test_an_unreachable_broker_is_left_to_the_command(certs: broker_tls.BrokerCertificates) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    security = KafkaSecurity.from_env(sasl_ssl(certs.ca))
    asyncio.run(probe(f"127.0.0.1:{port}", security, timeout_s=2))  # returns, raises nothing
    with pytest.raises(ConfigError, match="not host:port"):
        asyncio.run(probe("no-port-here", security, timeout_s=2))


def test_the_cli_prints_one_line_for_a_kafka_setting_that_cannot_work(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from streams.cli import main
    from streams.kafka_client import process_security

    monkeypatch.setenv("FRTWATCH_KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("FRTWATCH_KAFKA_SASL_MECHANISM", "SCRAM-SHA-512")
    monkeypatch.setenv("FRTWATCH_KAFKA_SASL_USERNAME", "frtwatch-replay")
    monkeypatch.setenv("FRTWATCH_KAFKA_SASL_PASSWORD_FILE", "/nonexistent/replay.password")
    process_security.cache_clear()
    try:
        assert main(["alerts", "summary"]) == 1
    finally:
        process_security.cache_clear()
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "error: FRTWATCH_KAFKA_SASL_PASSWORD_FILE='/nonexistent/replay.password' cannot be read: "
        "No such file or directory"
    ]
