"""The local broker command: clear errors when Java or Maven are missing, pid-scoped stop."""

from __future__ import annotations

import pytest

from streams import localbroker
from streams.errors import BrokerError


def test_missing_java_names_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # nothing on PATH
    cfg = localbroker.BrokerConfig(port=1, cache=tmp_path)
    with pytest.raises(BrokerError, match="java is not installed: install Java 17"):
        localbroker.up(cfg)


def test_missing_maven_names_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    cfg = localbroker.BrokerConfig(port=1, cache=tmp_path)
    with pytest.raises(BrokerError, match="mvn is not installed: install Maven"):
        localbroker.fetch_jars(cfg)


def test_down_ignores_a_pid_that_is_not_our_broker(tmp_path):
    cfg = localbroker.BrokerConfig(port=1, cache=tmp_path)
    cfg.home.mkdir(parents=True)
    cfg.pid_file.write_text("1")  # pid 1 is not a kafka.Kafka process
    assert localbroker.running_pid(cfg) is None
    assert "no broker started by frtwatch" in localbroker.down(cfg)
    assert not cfg.pid_file.exists()


def test_properties_listen_on_loopback_only(tmp_path):
    cfg = localbroker.BrokerConfig(port=19092, cache=tmp_path)
    text = localbroker._properties(cfg)
    assert "listeners=PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093" in text
    assert "0.0.0.0" not in text


def test_status_describes_a_stopped_broker(tmp_path):
    cfg = localbroker.BrokerConfig(port=1, cache=tmp_path)
    text = localbroker.status(cfg)
    assert "not running" in text and "not fetched yet" in text
