"""One exception root for everything frtwatch raises on purpose.

The CLI turns any :class:`FrtwatchError` into one line on stderr and exit
status 1; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class FrtwatchError(Exception):
    """Root of every error frtwatch raises deliberately."""


class ConfigError(FrtwatchError):
    """Invalid settings or policy. ``errors`` holds every ``file:line: message``."""

    def __init__(self, message: str, errors: list[str] | None = None) -> None:
        self.errors = list(errors) if errors else [message]
        super().__init__(message if not errors else "\n".join(self.errors))


class ContractError(FrtwatchError):
    """An input message that is not a valid ``frt.search.v1`` event."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class ModelError(FrtwatchError):
    """A behaviour model that is missing, tampered with, or unusable."""


class BrokerError(FrtwatchError):
    """The local Kafka broker could not be fetched, started or reached."""


class UsageError(FrtwatchError):
    """A command-line mistake (exit status 2)."""
