"""A model version as a record of the compacted models topic (``frt.models``).

Key: the version's name (UTF-8). Value: one JSON object, readable by any client
(``kcat -C -t frt.models | jq .card``)::

    {"schema": "frtwatch.model-version.v1",
     "version": "2026-03-09-3f2a9c1e0b7d4a65",
     "role": "active" | "shadow",
     "applies_from": "2026-03-09T01:00:00Z",
     "published_at": "...", "reason": "first model: 7 days of history, 212 users",
     "card": {... the model card, with artifact_sha256 ...},
     "artifact": {"encoding": "zlib+base64", "data": "..."}}

A null value (a tombstone) withdraws the version. The artifact is the skops
archive ``frtwatch model train`` writes, compressed; decoding it goes through every
check of :mod:`models.artifact` (a skops zip, not a pickle; its sha256 equals the
card's; the installed scikit-learn; allow-listed types only; the current features)
and :func:`models.scoring.load_model` (feature version, time zones). A record that
fails any of them is refused with its reason, and the versions already in force stay.

Nothing here talks to Kafka (:mod:`streams.model_topic` does).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import re
import tempfile
import zlib
from pathlib import Path
from typing import Any

from models.artifact import CARD_SCHEMA, card_path, read_card
from models.features import LocalHours
from models.versions import ROLES, ModelVersion
from streams.contract.alert import format_ts
from streams.contract.event import parse_timestamp
from streams.errors import ContractError, ModelError

RECORD_SCHEMA = "frtwatch.model-version.v1"
ENCODING = "zlib+base64"
MAX_ARTIFACT_BYTES = 256 * 1024 * 1024
"""A decompressed artifact at most (a 200-tree forest is about 12 MiB): a record cannot
make a reader allocate without bound."""
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:+-]{0,127}")


def version_name(card: dict[str, Any], label: str = "") -> str:
    """A version's name: ``label-`` (if any) and the artifact's first 16 hex digits.

    >>> version_name({"artifact_sha256": "ab" * 32}, "2026-03-09")
    '2026-03-09-abababababababab'
    """
    digest = str(card.get("artifact_sha256", ""))[:16]
    if not digest:
        raise ModelError("the model card has no artifact_sha256")
    return f"{label}-{digest}" if label else digest


def encode(
    artifact: str | Path,
    *,
    role: str,
    applies_from: float,
    version: str | None = None,
    reason: str = "",
    published_at: float | None = None,
) -> tuple[bytes, bytes]:
    """The (key, value) of the record publishing ``artifact`` (and the card beside it)."""
    if role not in ROLES:
        raise ModelError(f"a version's role is one of {', '.join(ROLES)}, not {role!r}")
    if math.isinf(applies_from) or math.isnan(applies_from):
        raise ModelError("a published version needs the event time it applies from")
    path = Path(artifact)
    card = read_card(path)
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != card.get("artifact_sha256"):
        raise ModelError(f"{path} does not match its model card: retrain it")
    name = version or str(card.get("model_version") or "") or version_name(card)
    if not _NAME.fullmatch(name):
        raise ModelError(f"version name {name!r}: letters, digits and ._:+- only, 128 at most")
    card = dict(card, model_version=name)
    value: dict[str, Any] = {
        "schema": RECORD_SCHEMA,
        "version": name,
        "role": role,
        "applies_from": format_ts(applies_from),
        "published_at": format_ts(published_at) if published_at is not None else None,
        "reason": reason,
        "card": card,
        "artifact": {
            "encoding": ENCODING,
            "data": base64.b64encode(zlib.compress(data, 6)).decode("ascii"),
        },
    }
    return name.encode("utf-8"), json.dumps(value, separators=(",", ":")).encode("utf-8")


def _parse(value: bytes) -> dict[str, Any]:
    try:
        record = json.loads(value)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"not JSON: {exc}") from None
    if not isinstance(record, dict) or record.get("schema") != RECORD_SCHEMA:
        raise ModelError(f"not a {RECORD_SCHEMA} record")
    return record


def header(value: bytes) -> dict[str, Any]:
    """The record's fields other than the artifact (for listings)."""
    record = _parse(value)
    record.pop("artifact", None)
    return record


def decode(key: bytes | None, value: bytes, hours: LocalHours | None = None) -> ModelVersion:
    """Verify and load one record's version; :class:`ModelError` with the reason if not."""
    from models.scoring import load_model

    record = _record(value)
    name = record["version"]
    if key is not None and key != name.encode("utf-8"):
        raise ModelError(f"record key {key!r} is not its version {name!r}")
    card = record["card"]
    if card.get("model_version") != name:
        raise ModelError(f"the card names version {card.get('model_version')!r}, not {name!r}")
    data = _artifact(record["artifact"])
    with tempfile.TemporaryDirectory(prefix="frtwatch-model-") as tmp:
        path = Path(tmp) / "behavior.skops"
        path.write_bytes(data)
        card_path(path).write_text(json.dumps(card), encoding="utf-8")
        try:
            model = load_model(path, hours)
        except ModelError as exc:
            raise ModelError(str(exc).replace(str(path), f"version {name}")) from None
    return ModelVersion(name, record["applies_from"], record["role"], model)


def _record(value: bytes) -> dict[str, Any]:
    record = _parse(value)
    name, role = record.get("version"), record.get("role")
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ModelError(f"bad version name {name!r}")
    if role not in ROLES:
        raise ModelError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
    try:
        record["applies_from"] = parse_timestamp(str(record.get("applies_from")))
    except ContractError as exc:
        raise ModelError(f"applies_from: {exc}") from None
    card = record.get("card")
    if not isinstance(card, dict) or card.get("schema") != CARD_SCHEMA:
        raise ModelError(f"the record holds no {CARD_SCHEMA} card")
    return record


def _artifact(field: Any) -> bytes:
    if not isinstance(field, dict) or field.get("encoding") != ENCODING:
        raise ModelError(f"the artifact must be {ENCODING}")
    try:
        packed = base64.b64decode(str(field.get("data", "")), validate=True)
        inflater = zlib.decompressobj()
        data = inflater.decompress(packed, MAX_ARTIFACT_BYTES)
        if inflater.unconsumed_tail:
            raise ModelError(f"the artifact is over {MAX_ARTIFACT_BYTES} bytes unpacked")
    except (binascii.Error, ValueError, zlib.error) as exc:
        raise ModelError(f"the artifact is not {ENCODING}: {exc}") from None
    return data
