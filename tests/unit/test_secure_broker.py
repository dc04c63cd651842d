"""streams/secure_broker.py and streams/broker_tls.py: the secured broker's configuration."""

from __future__ import annotations

import ipaddress
import stat
from pathlib import Path

from streams import broker_tls, secure_broker
from streams.kafka_client import KafkaSecurity
from streams.localbroker import BrokerConfig


def _props(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if line)


def test_only_sasl_ssl_faces_clients_and_nothing_is_allowed_without_an_acl(tmp_path: Path) -> None:
    cfg = BrokerConfig(port=19393, cache=tmp_path, secure=True)
    props = _props(secure_broker.properties(cfg))
    assert props["listeners"] == "SASL_SSL://127.0.0.1:19393,CONTROLLER://127.0.0.1:19394"
    assert props["advertised.listeners"] == "SASL_SSL://127.0.0.1:19393"
    assert props["listener.security.protocol.map"] == "SASL_SSL:SASL_SSL,CONTROLLER:SASL_PLAINTEXT"
    assert "PLAINTEXT://" not in props["listeners"].replace("SASL_PLAINTEXT", "")
    assert props["authorizer.class.name"].endswith("StandardAuthorizer")
    assert props["allow.everyone.if.no.acl.found"] == "false"
    assert props["super.users"] == "User:admin"
    assert props["auto.create.topics.enable"] == "false"
    assert "SCRAM-SHA-512" in props["listener.name.sasl_ssl.sasl.enabled.mechanisms"]
    assert props["ssl.keystore.type"] == props["ssl.truststore.type"] == "PEM"
    assert "0.0.0.0" not in "\n".join(props.values())


def test_each_start_makes_new_secrets_kept_to_the_owner(tmp_path: Path) -> None:
    cfg = BrokerConfig(port=19393, cache=tmp_path, secure=True)
    first = _props(secure_broker.properties(cfg))
    admin_password = secure_broker.password_file(cfg, "admin").read_text().strip()
    assert f'password="{admin_password}"' in first["listener.name.sasl_ssl.plain.sasl.jaas.config"]
    second = _props(secure_broker.properties(cfg))
    assert (
        second["listener.name.sasl_ssl.plain.sasl.jaas.config"]
        != first["listener.name.sasl_ssl.plain.sasl.jaas.config"]
    )
    for path in (secure_broker.password_file(cfg, "admin"), cfg.home / "tls" / "server.pem"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert stat.S_IMODE(secure_broker.secrets_dir(cfg).stat().st_mode) == 0o700


def test_a_principals_settings_point_at_its_password_file_not_the_password(tmp_path: Path) -> None:
    cfg = BrokerConfig(port=19393, cache=tmp_path, secure=True)
    secure_broker.properties(cfg)  # writes the CA and the admin password
    env = secure_broker.client_env(cfg, "admin")
    assert env["FRTWATCH_KAFKA_SASL_PASSWORD_FILE"].endswith("secrets/admin.password")
    assert "FRTWATCH_KAFKA_SASL_PASSWORD" not in env
    security = KafkaSecurity.from_env(env)
    assert security.protocol == "SASL_SSL" and security.mechanism == "PLAIN"
    assert KafkaSecurity.from_env(
        {**secure_broker.client_env(cfg, "frtwatch-worker"),
         "FRTWATCH_KAFKA_SASL_PASSWORD_FILE": env["FRTWATCH_KAFKA_SASL_PASSWORD_FILE"]}
    ).mechanism == "SCRAM-SHA-512"  # fmt: skip


def test_the_server_certificate_names_loopback_and_is_signed_by_the_ca(tmp_path: Path) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import ec

    made = broker_tls.generate(tmp_path)
    ca = x509.load_pem_x509_certificate(made.ca.read_bytes())
    server = x509.load_pem_x509_certificate(made.server.read_bytes())  # after the key
    san = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1")]
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    assert server.issuer == ca.subject
    public_key = ca.public_key()
    assert isinstance(public_key, ec.EllipticCurvePublicKey)
    server.verify_directly_issued_by(ca)
    assert b"PRIVATE KEY" not in made.ca.read_bytes()
    assert not list(tmp_path.glob("*ca*key*"))  # the CA's key is never written
