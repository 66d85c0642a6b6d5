"""Hashing the secrets of the users file: scrypt for passwords, SHA-256 for bearer tokens."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
import unicodedata
from dataclasses import dataclass

__all__ = ["generate_token", "hash_password", "hash_token", "verify_password"]


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


# --- bearer tokens ---------------------------------------------------------------------------
#
# Tokens are generated here, 256 random bits, so a fast hash is enough to keep a stolen
# users file from yielding them (nobody can guess 2**256 candidates, however fast each
# guess), and it lets a request's token be found by its hash in one dictionary lookup.

_TOKEN_PREFIX = "pyocci_"  # recognisable by secret scanners and by people
_TOKEN_HASH_PREFIX = "sha256$"
_TOKEN_HASH = re.compile(r"sha256\$[A-Za-z0-9+/]{43}\Z")


def generate_token() -> str:
    """A new bearer token: ``pyocci_`` and 256 random bits, URL-safe base64."""
    return _TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """The stored form of a token: ``sha256$<base64 of its SHA-256>``."""
    digest = hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()
    return _TOKEN_HASH_PREFIX + _b64encode(digest)


def _is_token_hash(stored: str) -> bool:
    return bool(_TOKEN_HASH.match(stored))
