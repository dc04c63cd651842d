"""The model file on disk: a skops archive plus a JSON model card beside it.

Never pickle or joblib: unpickling runs arbitrary code. skops stores the
forest as JSON plus numpy arrays and, on load, builds only types it is told
to trust. We go further than skops' defaults (which trust many scikit-learn
estimators): every type named in the archive must be on
:data:`ALLOWED_TYPES`, the handful an isolation forest is made of, and
``skops.io.load`` is given that list and nothing wholesale.

Loading checks, in order, and refuses with a :class:`ModelError` that says
what to do:

1. the artifact and its card exist;
2. the artifact is a skops archive (a zip with ``schema.json``), not a pickle;
3. its sha256 equals the one in the card (a changed byte is refused);
4. it was trained with the installed scikit-learn ``major.minor``;
5. it names no type outside :data:`ALLOWED_TYPES`;
6. what loads is an ``IsolationForest`` over the current feature set.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sklearn
import skops.io as sio
from sklearn.ensemble import IsolationForest

from models.features import FEATURE_NAMES
from streams.errors import ModelError
from streams.policy.loader import load_policy
from streams.settings import Settings, load_settings

CARD_SCHEMA = "frtwatch.model-card.v1"
CARD_SUFFIX = ".card.json"

# (module, class) of every object an IsolationForest archive holds. Plain JSON
# values (numbers, strings, None) are not objects and need no entry.
ALLOWED_TYPES: frozenset[tuple[str, str]] = frozenset(
    {
        ("sklearn.ensemble._iforest", "IsolationForest"),
        ("sklearn.tree._classes", "ExtraTreeRegressor"),
        ("sklearn.tree._tree", "Tree"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy", "float64"),
        ("numpy", "int64"),
        ("builtins", "dict"),
        ("builtins", "list"),
        ("builtins", "tuple"),
        ("builtins", "str"),
        ("builtins", "int"),
        ("builtins", "float"),
        ("builtins", "bool"),
    }
)
# skops node loaders that rebuild data, never call code (no FunctionNode, MethodNode, ...).
ALLOWED_LOADERS: frozenset[str] = frozenset(
    {"ObjectNode", "TreeNode", "NdArrayNode", "DictNode", "ListNode", "TupleNode", "JsonNode",
     "TypeNode", "NumpyScalarNode", "DTypeNode"}
)  # fmt: skip
TRUSTED_FOR_SKOPS: list[str] = sorted(f"{m}.{c}" for m, c in ALLOWED_TYPES)


def card_path(artifact: str | Path) -> Path:
    """``behavior.skops`` -> ``behavior.card.json`` in the same directory."""
    path = Path(artifact)
    return path.with_name(path.stem + CARD_SUFFIX)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def major_minor(version: str) -> str:
    """``"1.9.1"`` -> ``"1.9"``.

    >>> major_minor("1.9.1"), major_minor("1.10.0rc1")
    ('1.9', '1.10')
    """
    return ".".join(version.split(".")[:2])


def save_artifact(
    forest: IsolationForest, path: str | Path, card: dict[str, Any]
) -> dict[str, Any]:
    """Write the skops archive and its card (with the archive's sha256); return the card."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    sio.dump(forest, tmp)
    tmp.replace(target)
    card = dict(card)
    card["schema"] = CARD_SCHEMA
    card["artifact"] = target.name
    card["artifact_sha256"] = sha256_file(target)
    card_file = card_path(target)
    card_tmp = card_file.with_name(card_file.name + ".tmp")
    card_tmp.write_text(json.dumps(card, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    card_tmp.replace(card_file)
    return card


def read_card(artifact: str | Path) -> dict[str, Any]:
    """The model card beside ``artifact``; a clear error when it is missing or unreadable."""
    path = card_path(artifact)
    if not path.is_file():
        raise ModelError(
            f"no model card at {path}: a model needs the card written beside it by "
            "'frtwatch model train'"
        )
    try:
        card = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"model card {path} is not readable JSON: {exc}") from None
    if not isinstance(card, dict) or card.get("schema") != CARD_SCHEMA:
        raise ModelError(f"{path} is not a frtwatch model card ({CARD_SCHEMA})")
    return card


def _schema_objects(node: Any) -> Iterator[tuple[str, str, str]]:
    """Every (module, class, loader) named anywhere in a skops schema."""
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if "__class__" in item or "__loader__" in item:
                yield (
                    str(item.get("__module__", "")),
                    str(item.get("__class__", "")),
                    str(item.get("__loader__", "")),
                )
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def _audit_schema(path: Path) -> None:
    """Refuse an archive that names anything outside the allow-lists."""
    try:
        with zipfile.ZipFile(path) as archive:
            schema = json.loads(archive.read("schema.json"))
    except (KeyError, zipfile.BadZipFile, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelError(f"{path} is not a valid skops archive: {exc}") from None
    bad = sorted(
        {f"{m}.{c} ({loader})" for m, c, loader in _schema_objects(schema)
         if (m, c) not in ALLOWED_TYPES or loader not in ALLOWED_LOADERS}
    )  # fmt: skip
    if bad:
        raise ModelError(
            f"{path} holds types an isolation forest does not need: {', '.join(bad[:5])}; "
            "refusing to load it"
        )


def load_forest(path: str | Path) -> tuple[IsolationForest, dict[str, Any]]:
    """Load and verify an artifact (see the module doc); return the forest and its card."""
    artifact = Path(path)
    if not artifact.is_file():
        raise ModelError(
            f"no model at {artifact}: train one with "
            f"'frtwatch model train --from-file events.jsonl --out {artifact}'"
        )
    card = read_card(artifact)
    if not zipfile.is_zipfile(artifact):
        raise ModelError(
            f"{artifact} is not a skops archive (a pickle or other file?): refusing to load it"
        )
    expected = str(card.get("artifact_sha256", ""))
    actual = sha256_file(artifact)
    if actual != expected:
        raise ModelError(
            f"{artifact} does not match its model card (sha256 {actual[:12]}..., card says "
            f"{expected[:12] or 'nothing'}...): the file changed after training; retrain it"
        )
    trained_with = str(card.get("sklearn_version", "unknown"))
    if major_minor(trained_with) != major_minor(sklearn.__version__):
        raise ModelError(
            f"{artifact} was trained with scikit-learn {trained_with} but {sklearn.__version__} "
            "is installed; retrain it with 'frtwatch model train'"
        )
    _audit_schema(artifact)
    try:
        forest = sio.load(artifact, trusted=TRUSTED_FOR_SKOPS)
    except Exception as exc:  # skops raises many types for a malformed archive
        raise ModelError(f"{artifact} could not be loaded safely: {exc}") from None
    if not isinstance(forest, IsolationForest):
        raise ModelError(f"{artifact} holds a {type(forest).__name__}, not an IsolationForest")
    names = tuple(card.get("features", ()))
    if names != FEATURE_NAMES or getattr(forest, "n_features_in_", None) != len(FEATURE_NAMES):
        raise ModelError(
            f"{artifact} was trained on features {list(names)}, but this version computes "
            f"{list(FEATURE_NAMES)}; retrain it with 'frtwatch model train'"
        )
    return forest, card


FALLBACK_MODEL_PATH = Path(__file__).resolve().parent / "artifacts" / "behavior.skops"


def default_model_path(settings: Settings | None = None) -> Path:
    """Where the model lives unless a command says otherwise.

    ``FRTWATCH_MODEL`` (``Settings.model_path``) first, then the policy's
    ``detectors.behavior_anomaly.model``, then ``models/artifacts/behavior.skops``.
    """
    settings = settings if settings is not None else load_settings()
    if settings.model_path is not None:
        return settings.model_path
    policy = load_policy(settings.policy_path)
    return policy.behavior_anomaly.model_path or FALLBACK_MODEL_PATH
