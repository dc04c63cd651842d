"""The detector fixtures, for tests that follow a parsed host to its alert."""

from tests.unit.detectors.conftest import policy, registry, run

__all__ = ["policy", "registry", "run"]
