"""What the store raises when a value cannot be kept or the database cannot keep anything.

The server maps each to a status: a value no database can store is the
client's to fix (400); a database that is full, read-only or out of reach
is the site's (507 or 503, with Retry-After), and goes away by itself once
the site has fixed it.
"""

from __future__ import annotations

from pyocci.model.errors import OcciError


class StoreError(OcciError):
    """Base class of the errors the store raises on purpose."""


class UnstorableValueError(StoreError):
    """A value the database cannot hold (text with NUL, an unpaired surrogate, a number
    out of range): the same refusal on every database, 400."""


class StoreUnavailableError(StoreError):
    """The database cannot do the work now; asking again later may succeed: 503.

    `kind` names the incident (``full``, ``read-only``, ``unreachable``, ``busy``...),
    `detail` is the database's own words for the operator's log, never sent to
    clients; `retry_after` is the delay in seconds clients are told to wait.
    """

    kind = "unavailable"

    def __init__(self, message: str, *, detail: str = "", retry_after: int = 10) -> None:
        super().__init__(message)
        self.detail = detail
        self.retry_after = retry_after


class StorageFullError(StoreUnavailableError):
    """The disk under the database is full: nothing can be written until space is freed (507)."""

    kind = "full"


class StoreReadOnlyError(StoreUnavailableError):
    """The database (or its file system) refuses writes: 503 until it is writable again."""

    kind = "read-only"


class StoreUnreachableError(StoreUnavailableError):
    """The database cannot be reached or opened (server down, file gone): 503."""

    kind = "unreachable"


class StoreIOError(StoreUnavailableError):
    """The database cannot read or write its files (an I/O error of the disk): 503."""

    kind = "i/o error"


class StoreBusyError(StoreUnavailableError):
    """The database stayed locked by other writers longer than the server waits: 503."""

    kind = "busy"
