"""The users file of methods ``basic`` and ``token``: who may log in, and as which tenant.

A TOML file (``[users.<name>] tenant = "...", password = "scrypt$...",
token = "sha256$..."``) managed with ``occi-server user add|remove|list``.
`UsersFile` re-reads it when it changes, so adding a user needs no restart.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pyocci.server.auth.base import logger
from pyocci.server.auth.hashing import _is_token_hash, _parse_hash
from pyocci.server.config import ConfigError, toml_key, toml_value

__all__ = [
    "User",
    "UsersFile",
    "check_tenant_id",
    "check_user_name",
    "read_users_file",
    "write_users_file",
]


@dataclass(frozen=True, slots=True)
class User:
    """One entry of the users file: a password (method ``basic``), a token (``token``), or both."""

    name: str
    tenant: str
    password_hash: str | None = None
    token_hash: str | None = None


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def check_user_name(name: str) -> str | None:
    """Why a user name cannot be used (None if it can): Basic credentials are
    ``name:password``, so a name has no colon."""
    if not name:
        return "a user name cannot be empty"
    if ":" in name:
        return "a user name cannot contain ':'"
    if _CONTROL.search(name):
        return "a user name cannot contain control characters"
    if name != name.strip():
        return "a user name cannot start or end with white space"
    return None


def check_tenant_id(tenant: str) -> str | None:
    """Why a tenant id cannot be used (None if it can)."""
    if not tenant or not tenant.strip():
        return "a tenant cannot be empty"
    if _CONTROL.search(tenant):
        return "a tenant cannot contain control characters"
    return None


_USER_KEYS = ("tenant", "password", "token")


def read_users_file(path: Path, *, missing_ok: bool = True) -> dict[str, User]:
    """The users of a users file, by name; ConfigError if it is unreadable or malformed.

    A missing file has no users (with `missing_ok`): a fresh install has none yet.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        if missing_ok:
            return {}
        raise ConfigError(f"users file {path} does not exist") from None
    except OSError as error:
        raise ConfigError(f"cannot read users file {path}: {error.strerror}") from None
    try:
        document = tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"users file {path} is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"users file {path} is not valid TOML: {error}") from None
    unknown = [key for key in document if key != "users"]
    if unknown:
        raise ConfigError(
            f"users file {path}: unknown key {unknown[0]!r}; expected only [users.<name>] tables"
        )
    table = document.get("users", {})
    if not isinstance(table, dict):
        raise ConfigError(f"users file {path}: 'users' must be a table of [users.<name>] tables")
    users: dict[str, User] = {}
    for name, entry in table.items():
        where = f"users file {path}: user {name!r}"
        problem = check_user_name(name)
        if problem:
            raise ConfigError(f"{where}: {problem}")
        if not isinstance(entry, dict):
            raise ConfigError(f"{where}: expected a table with tenant and password")
        for key in entry:
            if key not in _USER_KEYS:
                raise ConfigError(
                    f"{where}: unknown key {key!r}; expected tenant, password and token"
                )
        tenant = entry.get("tenant")
        if not isinstance(tenant, str) or check_tenant_id(tenant):
            raise ConfigError(f"{where}: tenant: expected a non-empty string")
        password = entry.get("password")
        token = entry.get("token")
        if password is not None or token is None:
            try:
                if not isinstance(password, str):
                    raise ValueError("missing")
                _parse_hash(password)
            except ValueError:
                raise ConfigError(
                    f"{where}: password: expected a hash made by 'occi-server user add' "
                    f"(scrypt$n$r$p$salt$hash)"
                    + ("" if token is not None else ", or a token made by 'user add --token'")
                ) from None
        if token is not None and (not isinstance(token, str) or not _is_token_hash(token)):
            raise ConfigError(
                f"{where}: token: expected a hash made by 'occi-server user add --token' "
                f"(sha256$hash)"
            )
        users[name] = User(name=name, tenant=tenant, password_hash=password, token_hash=token)
    return users


_USERS_FILE_HEADER = """\
# pyocci users for HTTP basic and bearer-token authentication
# ([auth] method = "basic" or "token"). Managed with `occi-server user
# add|remove|list`; the server re-reads this file when it changes. Passwords
# are salted scrypt hashes and tokens SHA-256 hashes, never plain text.
"""


def write_users_file(path: Path, users: Mapping[str, User]) -> None:
    """Write a users file atomically (a temporary file renamed over it), mode 0600.

    Atomic because the server may re-read the file at any moment: it must see the
    old file or the new one, never half of one. Comments of a hand-edited file are
    not kept.
    """
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    lines = [_USERS_FILE_HEADER]
    for name in sorted(users):
        user = users[name]
        lines.append(f"[users.{toml_key(name)}]")
        lines.append(f"tenant = {toml_value(user.tenant)}")
        if user.password_hash is not None:
            lines.append(f"password = {toml_value(user.password_hash)}")
        if user.token_hash is not None:
            lines.append(f"token = {toml_value(user.token_hash)}")
        lines.append("")
    text = "\n".join(lines)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix="~")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
            os.chmod(temporary, 0o600)
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


class UsersFile:
    """A users file kept in step with the disk: re-read when it changes.

    It is checked for changes (mtime, size, inode) at each `current` call. A file
    broken by a hand edit is reported in the log and the previous users stay in
    force until it is fixed, since refusing everyone would lock out every client
    for one typo. A missing file means no users.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._users: dict[str, User] = {}
        self._signature: tuple[int, int, int] | None = None
        #: Bumped at each reload, so that what was derived from the users can be dropped.
        self.generation = 0
        self._load(initial=True)

    def current(self) -> dict[str, User]:
        """The users in force now, after re-reading the file if it changed."""
        self._refresh()
        return self._users

    def _stat(self) -> tuple[int, int, int] | None:
        try:
            status = os.stat(self.path)
        except FileNotFoundError:
            return None
        return (status.st_mtime_ns, status.st_size, status.st_ino)

    def _refresh(self) -> None:
        try:
            signature = self._stat()
        except OSError as error:
            # Cannot even stat it (permissions changed?): keep serving the users we have.
            logger.error("cannot check users file %s: %s", self.path, error.strerror)
            return
        if signature != self._signature:
            self._load(initial=False, signature=signature)

    def _load(self, *, initial: bool, signature: Any = ...) -> None:
        if signature is ...:
            try:
                signature = self._stat()
            except OSError:
                signature = None  # reading it fails too, and says why
        try:
            users = read_users_file(self.path)
        except ConfigError as error:
            if initial:
                raise
            # Remember the broken version so the error is logged once, not per request.
            self._signature = signature
            logger.error("%s; the previous users stay in force until it is fixed", error)
            return
        if signature is None:
            logger.warning(
                "users file %s does not exist: no user can log in; "
                "add one with 'occi-server user add'",
                self.path,
            )
        elif not initial:
            logger.info("users file %s changed: %d users", self.path, len(users))
        self._users = users
        self._signature = signature
        self.generation += 1
