"""Reading composed YAML nodes with ``file:line`` errors, all collected at once.

The routes file is composed into nodes (which keep their line numbers) rather
than loaded into plain dicts, so every mistake can be reported where it is,
and duplicate keys, which a plain ``yaml.safe_load`` silently merges, are
errors. Errors are gathered and raised together so an operator fixes the file
in one pass.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import yaml

T = TypeVar("T")
_STR_TAG = "tag:yaml.org,2002:str"


class NodeReader:
    """Typed access to YAML nodes that records ``file:line: message`` errors."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.errors: list[str] = []

    def error(self, node: yaml.Node | None, message: str) -> None:
        line = node.start_mark.line + 1 if node is not None else 1
        self.errors.append(f"{self.path}:{line}: {message}")

    def mapping(
        self, node: yaml.Node, where: str, allowed: set[str] | None = None
    ) -> dict[str, tuple[yaml.Node, yaml.Node]]:
        """A mapping's entries by key; duplicate and unknown keys are reported and dropped."""
        if not isinstance(node, yaml.MappingNode):
            self.error(node, f"{where} must be a mapping")
            return {}
        out: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            if not isinstance(key, str):
                self.error(key_node, f"{where}: keys must be plain strings")
                continue
            if key in out:
                first = out[key][0].start_mark.line + 1
                self.error(
                    key_node, f"{where}: duplicate key {key!r} (first defined on line {first})"
                )
                continue
            if allowed is not None and key not in allowed:
                expected = ", ".join(sorted(allowed))
                self.error(key_node, f"{where}: unknown key {key!r} (expected one of {expected})")
                continue
            out[key] = (key_node, value_node)
        return out

    def scalar(self, node: yaml.Node, where: str) -> Any:
        """The Python value of a scalar node (strings stay strings, numbers become numbers)."""
        if not isinstance(node, yaml.ScalarNode):
            self.error(node, f"{where} must be a single value")
            return None
        if node.tag == _STR_TAG:
            return node.value
        return yaml.safe_load(yaml.serialize(node))

    def string(self, node: yaml.Node, where: str) -> str | None:
        value = self.scalar(node, where)
        if value is None:
            if isinstance(node, yaml.ScalarNode):
                self.error(node, f"{where} must not be empty")
            return None
        if not isinstance(value, str):
            self.error(node, f"{where} must be text, got {value!r}")
            return None
        if not value.strip():
            self.error(node, f"{where} must not be empty")
            return None
        return value

    def strings(self, node: yaml.Node, where: str) -> list[str]:
        if not isinstance(node, yaml.SequenceNode):
            self.error(node, f"{where} must be a list")
            return []
        out: list[str] = []
        for index, item in enumerate(node.value):
            value = self.string(item, f"{where}[{index}]")
            if value is not None:
                out.append(value)
        return out

    def convert(self, node: yaml.Node, where: str, fn: Callable[[Any], T], default: T) -> T:
        """Apply ``fn`` to a scalar; its ValueError/TypeError becomes an error at the node."""
        value = self.scalar(node, where)
        try:
            return fn(value)
        except (ValueError, TypeError) as exc:
            self.error(node, f"{where}: {exc}")
            return default
