"""A models-topic record loads only what a model file would: tampered, pickled or
mislabelled artifacts are refused with their reason."""

from __future__ import annotations

import base64
import json
import pickle
import zlib
from pathlib import Path

import pytest
from sklearn.ensemble import IsolationForest

from models.artifact import sha256_file
from models.features import LocalHours
from models.version_record import decode, encode, header
from models.versions import ACTIVE, SHADOW
from streams.contract.event import parse_timestamp
from streams.errors import ModelError

T = parse_timestamp("2026-03-09T01:00:00Z")


def _record(value: bytes) -> dict:
    return json.loads(value)


def _with(value: bytes, **changes: object) -> bytes:
    record = _record(value)
    record.update(changes)
    return json.dumps(record).encode()


def _with_artifact(value: bytes, data: bytes, *, fix_hash: bool) -> bytes:
    import hashlib

    record = _record(value)
    record["artifact"]["data"] = base64.b64encode(zlib.compress(data)).decode()
    if fix_hash:
        record["card"]["artifact_sha256"] = hashlib.sha256(data).hexdigest()
    return json.dumps(record).encode()


def test_a_published_version_loads_with_its_name_role_and_time(trained_model: Path) -> None:
    key, value = encode(trained_model, role=SHADOW, applies_from=T, version="2026-03-09-a")
    assert key == b"2026-03-09-a"
    version = decode(key, value)
    assert (version.version, version.role, version.applies_from) == ("2026-03-09-a", SHADOW, T)
    assert version.model.version == "2026-03-09-a"  # what behaviour alerts name
    assert header(value)["card"]["artifact_sha256"] == sha256_file(trained_model)
    assert "artifact" not in header(value)


def test_the_default_name_is_the_artifacts_hash(trained_model: Path) -> None:
    key, _ = encode(trained_model, role=ACTIVE, applies_from=T)
    assert key.decode() == sha256_file(trained_model)[:16]


def test_a_changed_byte_is_refused(trained_model: Path) -> None:
    key, value = encode(trained_model, role=ACTIVE, applies_from=T, version="v1")
    data = bytearray(trained_model.read_bytes())
    data[len(data) // 2] ^= 0x01
    with pytest.raises(ModelError, match="does not match its model card"):
        decode(key, _with_artifact(value, bytes(data), fix_hash=False))


def test_a_pickle_is_refused_even_with_a_matching_hash(trained_model: Path) -> None:
    key, value = encode(trained_model, role=ACTIVE, applies_from=T, version="v1")
    forest = IsolationForest(n_estimators=2, random_state=0).fit([[0.0] * 3, [1.0] * 3])
    with pytest.raises(ModelError, match="not a skops archive"):
        decode(key, _with_artifact(value, pickle.dumps(forest), fix_hash=True))


def test_a_record_under_another_key_is_refused(trained_model: Path) -> None:
    _, value = encode(trained_model, role=ACTIVE, applies_from=T, version="v1")
    with pytest.raises(ModelError, match="is not its version"):
        decode(b"v2", value)


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"schema": "something.else"}, "not a frtwatch.model-version.v1 record"),
        ({"role": "boss"}, "role must be one of"),
        ({"applies_from": "next tuesday"}, "applies_from"),
        ({"version": "../../etc"}, "bad version name"),
        ({"artifact": {"encoding": "raw", "data": ""}}, "must be zlib\\+base64"),
        ({"artifact": {"encoding": "zlib+base64", "data": "%%%"}}, "not zlib\\+base64"),
    ],
)
def test_malformed_records_are_refused_with_their_reason(
    trained_model: Path, changes: dict, reason: str
) -> None:
    key, value = encode(trained_model, role=ACTIVE, applies_from=T, version="v1")
    with pytest.raises(ModelError, match=reason):
        decode(key if "version" not in changes else None, _with(value, **changes))


def test_a_model_of_other_time_zones_is_refused(trained_model: Path) -> None:
    key, value = encode(trained_model, role=ACTIVE, applies_from=T, version="v1")
    with pytest.raises(ModelError, match="America/New_York"):
        decode(key, value, LocalHours({"MPD": "America/New_York"}))


def test_not_json_is_refused() -> None:
    with pytest.raises(ModelError, match="not JSON"):
        decode(b"v1", b"\x80\x04pickle")


def test_a_decompression_bomb_is_bounded(trained_model: Path, monkeypatch) -> None:
    import models.version_record as record

    key, value = encode(trained_model, role=ACTIVE, applies_from=T, version="v1")
    monkeypatch.setattr(record, "MAX_ARTIFACT_BYTES", 1024)
    with pytest.raises(ModelError, match="over 1024 bytes"):
        decode(key, value)
