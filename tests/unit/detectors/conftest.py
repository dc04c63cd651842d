"""Fixtures for detector tests: the shipped policy, certified users, an engine driver."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from streams.detectors import Engine
from streams.policy import CertificateRegistry, Policy, load_policy
from streams.settings import DEFAULT_POLICY
from tests.unit.detectors.factories import Run, certify


@pytest.fixture(scope="session")
def policy() -> Policy:
    return load_policy(DEFAULT_POLICY)


@pytest.fixture
def registry() -> CertificateRegistry:
    """Certificates for the usual test users (anyone else is uncertified)."""
    return certify(
        CertificateRegistry(),
        *(f"MPD/mpd-{i:04d}" for i in range(1, 41)),
        *(f"SPD/spd-{i:04d}" for i in range(1, 41)),
    )


@pytest.fixture
def run(policy: Policy, registry: CertificateRegistry) -> Callable[..., Run]:
    def build(pol: Policy | None = None, **engine_args: Any) -> Run:
        return Run(Engine(pol or policy, registry, **engine_args))

    return build
