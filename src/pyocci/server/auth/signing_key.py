"""The secret the Keystone-like handshake signs its tokens with: `SigningKeyFile`.

Every worker process, and every host serving the same tenants, must accept
the tokens any of them issued, without asking each other: so the key lives
in a file they all read (``[auth] handshake_key_file``). The first process
that finds no file creates it (32 random bytes, base64url on one line, mode
0600); processes that start at the same moment all end up with the one that
was linked into place first.

Replacing the file (`SigningKeyFile.replace`, ``occi-server tokens revoke``)
revokes every token signed with the old key: each process looks at the file
again at most `recheck_seconds` after its last look, and reads it anew when
it changed.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import secrets
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pyocci.server.auth.base import logger
from pyocci.server.config import ConfigError

__all__ = ["KEY_BYTES", "SigningKey", "SigningKeyFile"]

#: The size of a key: HMAC-SHA256 gains nothing from more.
KEY_BYTES = 32


@dataclass(frozen=True, slots=True)
class SigningKey:
    """One key: its bytes and a short id that tokens name it by (not secret)."""

    secret: bytes
    id: str

    @classmethod
    def of(cls, secret: bytes) -> SigningKey:
        """The key of `secret`, its id derived from it (a hash: it reveals nothing)."""
        digest = hashlib.sha256(b"pyocci handshake key id\0" + secret).digest()
        return cls(secret, base64.urlsafe_b64encode(digest[:9]).decode("ascii"))


class SigningKeyFile:
    """The signing key kept in a file, created when missing, read again when replaced."""

    def __init__(
        self,
        path: Path,
        *,
        recheck_seconds: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = Path(path)
        self._recheck = recheck_seconds
        self._clock = clock
        self._key: SigningKey | None = None
        self._stamp: tuple[int, int, int] | None = None
        self._checked = float("-inf")

    def current(self) -> SigningKey:
        """The key in the file now (created if there is none); ConfigError when the file
        cannot be read, written or holds no key."""
        now = self._clock()
        if self._key is not None and now - self._checked < self._recheck:
            return self._key
        self._checked = now
        try:
            stamp = self._stat()
            if stamp is None:
                self._create()
                stamp = self._stat()
            if self._key is None or stamp != self._stamp:
                self._key = self._read()
                self._stamp = stamp
        except ConfigError as error:
            if self._key is None:
                raise
            # Serving goes on with the key already read: a file that became unreadable
            # (a botched copy, a full disk) must not turn every request into an error.
            logger.error("%s; the key read before is still used", error)
        return self._key

    def replace(self) -> SigningKey:
        """Put a new key in the file, atomically: every token signed with the old one
        stops being accepted (by each process at its next look at the file)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self._write_temporary()
        try:
            os.replace(temporary, self.path)
        except OSError as error:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise self._error("cannot replace", error) from None
        self._key = None
        self._checked = float("-inf")
        return self.current()

    # ---

    def _stat(self) -> tuple[int, int, int] | None:
        try:
            found = os.stat(self.path)
        except FileNotFoundError:
            return None
        except OSError as error:
            raise self._error("cannot read", error) from None
        return (found.st_ino, found.st_mtime_ns, found.st_size)

    def _create(self) -> None:
        """Link a new key file into place unless another process did first."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise self._error("cannot create the directory of", error) from None
        temporary = self._write_temporary()
        try:
            # A link never replaces: of processes starting together, one wins, and
            # every one of them then reads the winner's key.
            os.link(temporary, self.path)
        except FileExistsError:
            pass
        except OSError as error:
            raise self._error("cannot create", error) from None
        finally:
            with contextlib.suppress(OSError):
                os.unlink(temporary)

    def _write_temporary(self) -> str:
        """A complete key file beside the real one, mode 0600, to be moved into place."""
        secret = secrets.token_bytes(KEY_BYTES)
        try:
            handle, name = tempfile.mkstemp(prefix=".handshake-key-", dir=self.path.parent)
        except OSError as error:
            raise self._error("cannot write beside", error) from None
        with os.fdopen(handle, "w", encoding="ascii") as file:
            file.write(base64.urlsafe_b64encode(secret).decode("ascii") + "\n")
            file.flush()
            os.fsync(file.fileno())
        return name

    def _read(self) -> SigningKey:
        try:
            text = self.path.read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError) as error:
            raise self._error("cannot read", error) from None
        try:
            secret = base64.urlsafe_b64decode(text.encode("ascii"))
        except ValueError:
            secret = b""
        if len(secret) < KEY_BYTES:
            raise ConfigError(
                f"auth.handshake_key_file: {self.path} holds no key (expected {KEY_BYTES} "
                f"random bytes in base64url); delete it and occi-server makes a new one"
            )
        return SigningKey.of(secret)

    def _error(self, what: str, error: Exception) -> ConfigError:
        reason = getattr(error, "strerror", None) or str(error)
        return ConfigError(f"auth.handshake_key_file: {what} {self.path}: {reason}")
