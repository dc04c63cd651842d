"""Loading refuses anything but the untouched isolation forest its card describes."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest
import sklearn
import skops.io as sio
from sklearn.ensemble import IsolationForest
from sklearn.pipeline import Pipeline

from models.artifact import card_path, load_forest, sha256_file
from models.scoring import BehaviorModel, load_model
from streams.errors import ModelError


def _rewrite_card(artifact: Path, **changes: object) -> None:
    path = card_path(artifact)
    card = json.loads(path.read_text())
    card.update(changes)
    path.write_text(json.dumps(card))


def _swap_artifact(artifact: Path, content: bytes) -> None:
    """Replace the artifact and make the card's hash match, so only the type checks remain."""
    artifact.write_bytes(content)
    _rewrite_card(artifact, artifact_sha256=sha256_file(artifact))


def test_untouched_model_loads(model_copy: Path) -> None:
    model = load_model(model_copy)
    assert isinstance(model, BehaviorModel)
    assert model.threshold > 0
    # The version alerts name: the artifact's checked hash, unless the card names one.
    assert model.version == f"sha256:{sha256_file(model_copy)[:16]}"
    _rewrite_card(model_copy, model_version="2026-w10")
    assert load_model(model_copy).version == "2026-w10"


def test_flipped_byte_is_refused(model_copy: Path) -> None:
    data = bytearray(model_copy.read_bytes())
    data[len(data) // 2] ^= 0x01
    model_copy.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="does not match its model card"):
        load_model(model_copy)


def test_pickle_renamed_to_skops_is_refused(model_copy: Path) -> None:
    forest = IsolationForest(n_estimators=3, random_state=0).fit([[0.0] * 8, [1.0] * 8])
    _swap_artifact(model_copy, pickle.dumps(forest))
    with pytest.raises(ModelError, match="not a skops archive"):
        load_model(model_copy)


def test_skops_file_with_a_type_outside_the_allow_list_is_refused(model_copy: Path) -> None:
    # skops itself trusts a Pipeline by default; an isolation forest never needs one.
    forest, _ = load_forest(model_copy)
    sio.dump(Pipeline([("forest", forest)]), model_copy)
    _rewrite_card(model_copy, artifact_sha256=sha256_file(model_copy))
    with pytest.raises(ModelError, match=r"sklearn\.pipeline\.Pipeline"):
        load_model(model_copy)


def test_skops_file_holding_a_function_is_refused(model_copy: Path) -> None:
    forest, _ = load_forest(model_copy)
    forest.callback_ = print  # a function: skops would rebuild it by import on load
    sio.dump(forest, model_copy)
    _rewrite_card(model_copy, artifact_sha256=sha256_file(model_copy))
    with pytest.raises(ModelError, match="types an isolation forest does not need"):
        load_model(model_copy)


def test_other_scikit_learn_version_is_refused(model_copy: Path) -> None:
    _rewrite_card(model_copy, sklearn_version="0.24.2")
    with pytest.raises(
        ModelError, match=rf"trained with scikit-learn 0\.24\.2 but {sklearn.__version__}"
    ):
        load_model(model_copy)


def test_same_minor_version_with_other_patch_loads(model_copy: Path) -> None:
    major, minor = sklearn.__version__.split(".")[:2]
    _rewrite_card(model_copy, sklearn_version=f"{major}.{minor}.99")
    assert load_model(model_copy).threshold > 0


def test_missing_model_says_how_to_train_one(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="frtwatch model train"):
        load_model(tmp_path / "absent.skops")


def test_missing_card_is_refused(model_copy: Path) -> None:
    card_path(model_copy).unlink()
    with pytest.raises(ModelError, match="no model card"):
        load_model(model_copy)


def test_card_for_other_features_is_refused(model_copy: Path) -> None:
    _rewrite_card(model_copy, features=["a", "b"])
    with pytest.raises(ModelError, match="trained on features"):
        load_model(model_copy)


def test_a_model_of_other_features_is_refused(model_copy: Path) -> None:
    """Features of another version mean other numbers under the same names."""
    _rewrite_card(model_copy, feature_version=2)
    with pytest.raises(ModelError, match=r"features of version 2.*train it again"):
        load_model(model_copy)


def test_a_model_trained_in_other_time_zones_is_refused(model_copy: Path) -> None:
    from models.features import LocalHours

    assert load_model(model_copy, LocalHours()).card["timezones"] == {
        "default": "UTC",
        "agencies": {},
    }
    with pytest.raises(ModelError, match="trained with agency MPD on UTC, the policy puts it on"):
        load_model(model_copy, LocalHours({"MPD": "America/Chicago"}))
    with pytest.raises(ModelError, match="trained with default_timezone UTC"):
        load_model(model_copy, LocalHours(default="Europe/Paris"))
    # an agency put explicitly on the zone the model read it in is the same clock
    load_model(model_copy, LocalHours({"MPD": "UTC"}))
    _rewrite_card(model_copy, timezones=None)
    with pytest.raises(ModelError, match="does not say which time zones"):
        load_model(model_copy, LocalHours())
