"""Authentication plug-ins: who is asking, and which tenant the request acts for.

The app calls `Authenticator.authenticate` with the request headers (names in
lower case) before anything else and gets a `Tenant`, or catches
`AuthenticationError` and answers 401 with ``WWW-Authenticate:
<error.challenge>`` and the error's message. Every entity and user mixin
belongs to a tenant; the tenant is all the rest of the server knows of the
caller.

Two methods exist (``[auth] method``):

* ``none`` - `NoAuth`: every request acts for one tenant (``[auth] tenant``,
  default ``default``). For development and single-user sites behind
  something that already authenticates.
* ``basic`` - `BasicAuth`: HTTP basic (RFC 7617) against a TOML users file
  (``[users.<name>] tenant = "...", password = "scrypt$..."``) managed with
  ``occi-server user add|remove|list``. The file is re-read when it
  changes, so adding a user needs no restart.

Adding a method - the shape is made for a Keystone one (extensions.md §1)::

    class KeystoneAuth(Authenticator):
        def __init__(self, keystone_url: str) -> None:
            self._challenge = f"Keystone uri='{keystone_url}'"   # single quotes: rOCCI-cli

        @property
        def challenge(self) -> str:
            return self._challenge

        async def authenticate(self, headers):
            token = headers.get("x-auth-token")
            if not token:
                raise AuthenticationError("a Keystone token is needed", challenge=self._challenge)
            project = await self._validate(token)   # GET /v3/auth/tokens, cached by token
            return Tenant(id=project.id, name=project.name, token=token)

        async def close(self) -> None:
            await self._http.aclose()

The challenge travels with the error because it is what tells a client how
to authenticate (clients such as rOCCI-cli probe ``GET /-/`` without
credentials and read it); the token rides on the `Tenant` so that a backend
whose cloud checks it itself (OpenStack) can pass it on. Then add the
method's name to ``AUTH_METHODS`` and its settings to `AuthConfig`, and a
branch to `build_authenticator`.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import logging
import os
import re
import secrets
import tempfile
import time
import tomllib
import unicodedata
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio.to_thread
from anyio import CapacityLimiter

from pyocci.backends.base import Tenant
from pyocci.model.errors import OcciError
from pyocci.server.config import AuthConfig, ConfigError, toml_key, toml_value

__all__ = [
    "AuthenticationError",
    "Authenticator",
    "BasicAuth",
    "NoAuth",
    "User",
    "basic_challenge",
    "build_authenticator",
    "check_tenant_id",
    "check_user_name",
    "hash_password",
    "parse_basic_authorization",
    "read_users_file",
    "verify_password",
    "write_users_file",
]

logger = logging.getLogger("pyocci.server.auth")


class AuthenticationError(OcciError):
    """The request carries no valid credentials: 401 with ``WWW-Authenticate: <challenge>``.

    The message is for the client and says what to send; it never tells an
    unknown user from a wrong password.
    """

    def __init__(self, message: str, *, challenge: str) -> None:
        super().__init__(message)
        self.challenge = challenge


class Authenticator(ABC):
    """Turns request headers into the tenant the request acts for."""

    @property
    @abstractmethod
    def challenge(self) -> str | None:
        """The ``WWW-Authenticate`` value that tells clients how to authenticate
        (None for a method that never refuses)."""

    @abstractmethod
    async def authenticate(self, headers: Mapping[str, str]) -> Tenant:
        """The tenant of a request, from its headers (lower-case names).

        Raises AuthenticationError, and nothing else, when the credentials are
        missing, malformed or wrong.
        """

    async def close(self) -> None:  # noqa: B027 - optional hook, nothing to do by default
        """Release what the method holds (HTTP clients to an identity service); at shutdown."""


class NoAuth(Authenticator):
    """No authentication: every request acts for the one configured tenant."""

    def __init__(self, tenant: str = "default") -> None:
        self._tenant = Tenant(id=tenant)

    @property
    def challenge(self) -> None:
        return None

    async def authenticate(self, headers: Mapping[str, str]) -> Tenant:
        return self._tenant


# --- passwords ------------------------------------------------------------------------------
#
# scrypt (RFC 7914) from the standard library: memory-hard, so guessing a stolen users
# file's passwords on GPUs is expensive. The parameters are stored with each hash, so
# they can be raised later without invalidating existing users.

SCRYPT_N = 2**14  # 16 MiB (128 * n * r bytes) and about 50 ms per verification
SCRYPT_R = 8
SCRYPT_P = 1
_SALT_BYTES = 16
_KEY_BYTES = 32
# Bounds for hashes read from a users file: a mistyped or hostile file must not make
# each login take seconds or gigabytes.
_MAX_SCRYPT_MEMORY = 64 * 1024 * 1024
_MAX_SCRYPT_P = 16
_HASH_PREFIX = "scrypt"


@dataclass(frozen=True, slots=True)
class _ScryptHash:
    n: int
    r: int
    p: int
    salt: bytes
    key: bytes


def _b64encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii").rstrip("=")


def _b64decode(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


def _check_parameters(n: int, r: int, p: int) -> None:
    if n < 2 or n & (n - 1):
        raise ValueError(f"scrypt n must be a power of 2 greater than 1, got {n}")
    if r < 1 or p < 1 or p > _MAX_SCRYPT_P:
        raise ValueError(f"scrypt r must be >= 1 and p from 1 to {_MAX_SCRYPT_P}")
    if 128 * n * r > _MAX_SCRYPT_MEMORY:
        raise ValueError(f"scrypt n * r too large: at most {_MAX_SCRYPT_MEMORY} bytes of memory")


def _parse_hash(stored: str) -> _ScryptHash:
    """The parts of ``scrypt$n$r$p$salt$key``; ValueError if it is not one."""
    parts = stored.split("$")
    if len(parts) != 6 or parts[0] != _HASH_PREFIX:
        raise ValueError("not a scrypt$n$r$p$salt$hash string")
    if not all(part.isascii() and part.isdigit() for part in parts[1:4]):
        raise ValueError("scrypt parameters must be decimal integers")
    n, r, p = (int(part) for part in parts[1:4])
    _check_parameters(n, r, p)
    try:
        salt, key = _b64decode(parts[4]), _b64decode(parts[5])
    except (binascii.Error, ValueError):
        raise ValueError("salt and hash must be base64") from None
    if not 8 <= len(salt) <= 64 or not 16 <= len(key) <= 64:
        raise ValueError("salt must be 8 to 64 bytes and hash 16 to 64 bytes")
    return _ScryptHash(n, r, p, salt, key)


def _password_bytes(password: str) -> bytes:
    # NFC, so that the same password typed on two systems that compose accents
    # differently is the same password (RFC 8265's OpaqueString does this too);
    # surrogatepass, so that no string at all can make hashing raise.
    return unicodedata.normalize("NFC", password).encode("utf-8", "surrogatepass")


def _scrypt(password: str, n: int, r: int, p: int, salt: bytes, length: int) -> bytes:
    return hashlib.scrypt(
        _password_bytes(password),
        salt=salt,
        n=n,
        r=r,
        p=p,
        dklen=length,
        maxmem=128 * n * r * (p + 2) + 1024 * 1024,
    )


def hash_password(password: str, *, n: int = SCRYPT_N, r: int = SCRYPT_R, p: int = SCRYPT_P) -> str:
    """A salted scrypt hash of a password, as ``scrypt$n$r$p$salt$hash`` (base64 parts)."""
    _check_parameters(n, r, p)
    salt = secrets.token_bytes(_SALT_BYTES)
    key = _scrypt(password, n, r, p, salt, _KEY_BYTES)
    return f"{_HASH_PREFIX}${n}${r}${p}${_b64encode(salt)}${_b64encode(key)}"


def verify_password(password: str, stored: str) -> bool:
    """Whether a password matches a hash made by `hash_password` (constant-time).

    A malformed or out-of-bounds stored hash matches nothing; it never raises.
    """
    try:
        parsed = _parse_hash(stored)
    except ValueError:
        return False
    key = _scrypt(password, parsed.n, parsed.r, parsed.p, parsed.salt, len(parsed.key))
    return hmac.compare_digest(key, parsed.key)


# --- the users file ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class User:
    """One entry of the users file."""

    name: str
    tenant: str
    password_hash: str


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


_USER_KEYS = ("tenant", "password")


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
                raise ConfigError(f"{where}: unknown key {key!r}; expected tenant and password")
        tenant = entry.get("tenant")
        if not isinstance(tenant, str) or check_tenant_id(tenant):
            raise ConfigError(f"{where}: tenant: expected a non-empty string")
        password = entry.get("password")
        try:
            if not isinstance(password, str):
                raise ValueError("missing")
            _parse_hash(password)
        except ValueError:
            raise ConfigError(
                f"{where}: password: expected a hash made by 'occi-server user add' "
                f"(scrypt$n$r$p$salt$hash)"
            ) from None
        users[name] = User(name=name, tenant=tenant, password_hash=password)
    return users


_USERS_FILE_HEADER = """\
# pyocci users for HTTP basic authentication ([auth] method = "basic").
# Managed with `occi-server user add|remove|list`; the server re-reads this
# file when it changes. Passwords are salted scrypt hashes, never plain text.
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
        lines.append(f"password = {toml_value(user.password_hash)}")
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


# --- HTTP basic ----------------------------------------------------------------------------

# Longer Authorization values are refused before decoding: nobody's credentials are
# this long, and the server should not base64-decode megabytes for an attacker.
_MAX_CREDENTIALS = 4096


def basic_challenge(realm: str = "pyocci") -> str:
    """The ``WWW-Authenticate`` value of HTTP basic for a realm."""
    escaped = realm.replace("\\", "\\\\").replace('"', '\\"')
    return f'Basic realm="{escaped}"'


def parse_basic_authorization(
    value: str, *, challenge: str = 'Basic realm="pyocci"'
) -> tuple[str, str]:
    """The user name and password of an ``Authorization: Basic`` value.

    Anything else - another scheme, bad base64, not UTF-8, no colon - raises
    AuthenticationError carrying `challenge`, never another exception.
    """

    def refuse(reason: str) -> AuthenticationError:
        return AuthenticationError(
            f"malformed credentials: {reason}; send 'Authorization: Basic "
            f"<base64 of user:password>'",
            challenge=challenge,
        )

    if not isinstance(value, str):
        raise refuse("the Authorization header is not text")
    if len(value) > _MAX_CREDENTIALS:
        raise refuse("the Authorization header is too long")
    words = value.split(None, 1)
    if not words or words[0].lower() != "basic":
        raise refuse("this server takes HTTP basic credentials only")
    token = words[1].strip() if len(words) > 1 else ""
    if not token:
        raise refuse("no credentials after 'Basic'")
    if not token.isascii():
        raise refuse("the credentials are not base64")
    try:
        decoded = _b64decode(token)
    except (binascii.Error, ValueError):
        raise refuse("the credentials are not base64") from None
    try:
        text = decoded.decode("utf-8")
    except UnicodeDecodeError:
        raise refuse("the credentials are not UTF-8") from None
    user, colon, password = text.partition(":")
    if not colon:
        raise refuse("the credentials have no ':' between user name and password")
    if not user:
        raise refuse("the user name is empty")
    if _CONTROL.search(user) or _CONTROL.search(password):
        raise refuse("the credentials contain control characters")
    return user, password


@dataclass(frozen=True, slots=True)
class _Verdict:
    expires: float
    #: The tenant of a successful verification; None for a failed one.
    tenant: str | None


class BasicAuth(Authenticator):
    """HTTP basic authentication against a users file of scrypt hashes.

    The file is checked for changes (mtime, size, inode) on each request and
    re-read when it changed; a file broken by a hand edit is reported in the log
    and the previous users stay in force until it is fixed, since refusing
    everyone would lock out every client for one typo. A missing file means no
    users.
    """

    def __init__(
        self,
        users_file: Path,
        *,
        realm: str = "pyocci",
        cache_seconds: float = 60.0,
        cache_size: int = 1024,
        hashing_threads: int = 4,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.users_file = Path(users_file)
        self._challenge = basic_challenge(realm)
        self._cache_seconds = cache_seconds
        self._cache_size = cache_size
        self._clock = clock
        # scrypt takes ~16 MiB and ~50 ms per verification: run it off the event loop,
        # and only a few at once, so a burst of bad logins cannot exhaust memory.
        self._limiter = CapacityLimiter(hashing_threads)
        self._users: dict[str, User] = {}
        self._signature: tuple[int, int, int] | None = None
        # Bumped at each reload; a verification that straddles a reload is not cached.
        self._generation = 0
        # The verification cache. Security trade-off: a request costs scrypt only the
        # first time a (user, password) pair is seen in `cache_seconds`, which is what
        # makes basic auth affordable per request. The cache is keyed by an HMAC of the
        # password under a random per-process key, so it holds no password and nothing
        # that exists outside this process; someone who can read this process's
        # memory could brute-force that fast HMAC more easily than scrypt, but could
        # equally read the passwords of incoming requests. Failures are cached too, so
        # a client retrying a wrong password does not make the server pay scrypt each
        # time; and the whole cache is dropped when the users file changes, so a
        # removed user or changed password takes effect at once, not after the TTL.
        self._cache: OrderedDict[tuple[str, bytes], _Verdict] = OrderedDict()
        self._cache_secret = secrets.token_bytes(32)
        # Verified against for unknown users, so that they cost the same time as known
        # ones and response times do not reveal which user names exist.
        self._decoy_hash: str | None = None
        self._load(initial=True)

    @property
    def challenge(self) -> str:
        return self._challenge

    @property
    def users(self) -> Mapping[str, User]:
        """The users currently in force."""
        return dict(self._users)

    async def authenticate(self, headers: Mapping[str, str]) -> Tenant:
        value = headers.get("authorization")
        if value is None:
            raise AuthenticationError(
                "authentication required: send 'Authorization: Basic <base64 of user:password>'",
                challenge=self._challenge,
            )
        user_name, password = parse_basic_authorization(value, challenge=self._challenge)
        self._refresh()
        generation = self._generation
        cache_key = (
            user_name,
            hmac.new(self._cache_secret, _password_bytes(password), hashlib.sha256).digest(),
        )
        verdict = self._cached(cache_key)
        if verdict is None:
            user = self._users.get(user_name)
            if user is not None:
                stored = user.password_hash
            else:
                stored = await self._decoy()
            matched = await anyio.to_thread.run_sync(
                verify_password, password, stored, limiter=self._limiter
            )
            tenant = user.tenant if matched and user is not None else None
            verdict = _Verdict(self._clock() + self._cache_seconds, tenant)
            if generation == self._generation:
                self._remember(cache_key, verdict)
        if verdict.tenant is None:
            raise AuthenticationError("unknown user or wrong password", challenge=self._challenge)
        return Tenant(id=verdict.tenant)

    # The verification cache.

    def _cached(self, key: tuple[str, bytes]) -> _Verdict | None:
        verdict = self._cache.get(key)
        if verdict is None:
            return None
        if verdict.expires <= self._clock():
            del self._cache[key]
            return None
        self._cache.move_to_end(key)
        return verdict

    def _remember(self, key: tuple[str, bytes], verdict: _Verdict) -> None:
        if self._cache_seconds <= 0 or self._cache_size <= 0:
            return
        self._cache[key] = verdict
        self._cache.move_to_end(key)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)

    async def _decoy(self) -> str:
        if self._decoy_hash is None:
            self._decoy_hash = await anyio.to_thread.run_sync(
                hash_password, secrets.token_hex(16), limiter=self._limiter
            )
        return self._decoy_hash

    # The users file.

    def _stat(self) -> tuple[int, int, int] | None:
        try:
            status = os.stat(self.users_file)
        except FileNotFoundError:
            return None
        return (status.st_mtime_ns, status.st_size, status.st_ino)

    def _refresh(self) -> None:
        """Re-read the users file if it changed since it was last read."""
        try:
            signature = self._stat()
        except OSError as error:
            # Cannot even stat it (permissions changed?): keep serving the users we have.
            logger.error("cannot check users file %s: %s", self.users_file, error.strerror)
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
            users = read_users_file(self.users_file)
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
                self.users_file,
            )
        elif not initial:
            logger.info("users file %s changed: %d users", self.users_file, len(users))
        self._users = users
        self._signature = signature
        self._generation += 1
        self._cache.clear()


def build_authenticator(config: AuthConfig) -> Authenticator:
    """The authenticator an `AuthConfig` describes; ConfigError if it cannot be built
    (an unknown method, a malformed users file)."""
    if config.method == "none":
        return NoAuth(config.tenant)
    if config.method == "basic":
        return BasicAuth(
            config.effective_users_file,
            realm=config.realm,
            cache_seconds=config.cache_seconds,
            cache_size=config.cache_size,
        )
    raise ConfigError(f"auth.method: expected one of 'none', 'basic', got {config.method!r}")
