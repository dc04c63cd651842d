"""Fixtures for the model tests: a seeded synthetic world and a model trained on it once."""

from __future__ import annotations

from pathlib import Path

import pytest

from models.dataset import EventBatch
from models.train import train_to_file
from tests.unit.models.synthetic_world import World, make_world


@pytest.fixture(scope="session")
def world() -> World:
    return make_world(seed=7, users=200)


@pytest.fixture(scope="session")
def trained_model(tmp_path_factory: pytest.TempPathFactory, world: World) -> Path:
    """Path of a model trained on ``world`` (artifact + card). Tests must not modify it."""
    path = tmp_path_factory.mktemp("model") / "behavior.skops"
    train_to_file(EventBatch(world.events, rejected=0, source="synthetic"), path, seed=7)
    return path


@pytest.fixture
def model_copy(tmp_path: Path, trained_model: Path) -> Path:
    """A private copy of the trained model that a test may tamper with."""
    from models.artifact import card_path

    target = tmp_path / "behavior.skops"
    target.write_bytes(trained_model.read_bytes())
    card_path(target).write_bytes(card_path(trained_model).read_bytes())
    return target
