"""Console accounts, read from a YAML file of user names and password hashes.

The file holds no passwords: each account has a ``password_hash`` made by
``frtwatch console hash-password``. It is validated strictly (duplicate names,
unknown keys, malformed hashes) and every problem is reported as
``file:line: message`` at once, like the policy file.

Each account has a ``role`` and the ``agencies`` it may see (``"*"`` for all);
see :mod:`streams.console.access`.

Example::

    users:
      analyst:
        name: Ana Lyst
        role: analyst
        agencies: [MPD, SPD]
        password_hash: scrypt$16384$8$1$...$...
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from streams.console.access import ALL_AGENCIES as ALL
from streams.console.access import ROLES, Access
from streams.console.passwords import parse_hash
from streams.errors import ConfigError

USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@\-]{0,63}")
AGENCY = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}")
_ACCOUNT_KEYS = {"name", "password_hash", "disabled", "role", "agencies"}


@dataclass(frozen=True, slots=True)
class Account:
    """One person who may sign in to the console, with the role and agencies they may use."""

    username: str
    name: str
    password_hash: str
    disabled: bool = False
    role: str = "auditor"
    agencies: frozenset[str] = frozenset()

    @property
    def access(self) -> Access:
        return Access(self.role, self.agencies)


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _mapping(
    node: yaml.Node, where: str, path: Path, errors: list[str]
) -> list[tuple[str, yaml.Node, yaml.Node]]:
    if not isinstance(node, yaml.MappingNode):
        errors.append(f"{path}:{_line(node)}: {where} must be a mapping")
        return []
    seen: dict[str, int] = {}
    out = []
    for key_node, value_node in node.value:
        key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
        if not isinstance(key, str):
            errors.append(f"{path}:{_line(key_node)}: {where}: keys must be plain strings")
            continue
        if key in seen:
            errors.append(
                f"{path}:{_line(key_node)}: {where}: duplicate key {key!r} "
                f"(first on line {seen[key]})"
            )
            continue
        seen[key] = _line(key_node)
        out.append((key, key_node, value_node))
    return out


def _scalar(node: yaml.Node) -> str | None:
    return node.value if isinstance(node, yaml.ScalarNode) else None


def _agencies(
    node: yaml.Node, username: str, path: Path, errors: list[str]
) -> frozenset[str] | None:
    """An account's agencies: ``"*"``, or a list of agency codes (``["*"]`` also means all)."""
    where = f"{path}:{_line(node)}: user {username!r}"
    if isinstance(node, yaml.ScalarNode) and node.value == "*":
        return ALL
    if not isinstance(node, yaml.SequenceNode) or not node.value:
        errors.append(f'{where}: agencies must be "*" or a list of agency codes')
        return None
    codes: set[str] = set()
    for item in node.value:
        code = _scalar(item)
        if code is None or not (code == "*" or AGENCY.fullmatch(code)):
            errors.append(
                f"{path}:{_line(item)}: user {username!r}: {code!r} is not an agency code"
            )
            return None
        codes.add(code)
    return ALL if "*" in codes else frozenset(codes)


def parse_users(text: str, path: Path) -> dict[str, Account]:
    """Accounts from the text of a users file; :class:`ConfigError` lists every problem."""
    errors: list[str] = []
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        raise ConfigError(f"{path}:{line}: not valid YAML: {exc}") from None
    if root is None:
        raise ConfigError(f"{path}:1: the file is empty; it needs a 'users' mapping")
    accounts: dict[str, Account] = {}
    for key, key_node, value in _mapping(root, "the file", path, errors):
        if key != "users":
            errors.append(f"{path}:{_line(key_node)}: unknown key {key!r} (expected 'users')")
            continue
        for username, name_node, body in _mapping(value, "users", path, errors):
            where = f"{path}:{_line(name_node)}"
            if not USERNAME.fullmatch(username):
                errors.append(
                    f"{where}: user name {username!r} must be 1-64 letters, digits or ._@-"
                )
                continue
            fields: dict[str, str | None] = {}
            agencies: frozenset[str] | None = None
            agencies_given = False
            for field, field_node, field_value in _mapping(
                body, f"user {username!r}", path, errors
            ):
                if field not in _ACCOUNT_KEYS:
                    errors.append(
                        f"{path}:{_line(field_node)}: user {username!r}: unknown key {field!r}"
                    )
                    continue
                if field == "agencies":
                    agencies_given = True
                    agencies = _agencies(field_value, username, path, errors)
                    continue
                fields[field] = _scalar(field_value)
            encoded = fields.get("password_hash")
            if not encoded:
                errors.append(f"{where}: user {username!r} has no password_hash")
                continue
            try:
                parse_hash(encoded)
            except ValueError as exc:
                errors.append(
                    f"{where}: user {username!r}: password_hash is not valid ({exc}); "
                    "make one with 'frtwatch console hash-password'"
                )
                continue
            disabled_text = (fields.get("disabled") or "false").lower()
            if disabled_text not in {"true", "false"}:
                errors.append(f"{where}: user {username!r}: disabled must be true or false")
                continue
            role = fields.get("role")
            if role not in ROLES:
                errors.append(
                    f"{where}: user {username!r}: role must be one of {', '.join(ROLES)}"
                    + (f", not {role!r}" if role else "")
                )
                continue
            if agencies is None:
                if not agencies_given:  # else its error is already listed
                    errors.append(
                        f"{where}: user {username!r}: no 'agencies' (a list of agency codes, "
                        'or "*" for all)'
                    )
                continue
            accounts[username] = Account(
                username=username,
                name=fields.get("name") or username,
                password_hash=encoded,
                disabled=disabled_text == "true",
                role=role,
                agencies=agencies,
            )
    if not errors and not accounts:
        errors.append(f"{path}:1: no accounts under 'users'")
    if errors:
        raise ConfigError(f"{len(errors)} error(s) in {path}", errors)
    return accounts


def load_users(path: Path) -> dict[str, Account]:
    """Read and validate a users file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"users file {path} not found; copy config/console-users.example.yaml and "
            "set hashes made with 'frtwatch console hash-password'"
        ) from None
    except OSError as exc:
        raise ConfigError(f"cannot read users file {path}: {exc.strerror}") from None
    return parse_users(text, path)


def demo_accounts(accounts: dict[str, Account], example: Path) -> list[str]:
    """Enabled accounts whose hash is one of the example file's (a public password)."""
    try:
        public = {a.password_hash for a in load_users(example).values()}
    except ConfigError:
        return []
    return sorted(
        a.username for a in accounts.values() if not a.disabled and a.password_hash in public
    )
