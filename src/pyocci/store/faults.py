"""When the database cannot do the work: typed errors instead of driver errors, and one
log line per incident instead of one traceback per request.

`classify` reads what the driver says (sqlite3's result code, PostgreSQL's
SQLSTATE) and names the incident: the disk is full, the database is
read-only, out of reach, busy, or failing to read or write its files. Each
becomes a `StoreUnavailableError` whose message tells the client to try
again later, without the database's own words, which go to the log.

`Incidents` keeps that log to one line when an incident starts (not one per
refused request), one when the database works again, and one more whenever
a different incident starts. `watch_faults` makes an engine do both.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from pyocci.store.errors import (
    StorageFullError,
    StoreBusyError,
    StoreIOError,
    StoreReadOnlyError,
    StoreUnavailableError,
    StoreUnreachableError,
    UnstorableValueError,
)

log = logging.getLogger("pyocci.store")

#: What clients are told, per kind of incident; the database's own words go to the log.
MESSAGES: dict[type[StoreUnavailableError], str] = {
    StorageFullError: "the server's database is out of disk space, so nothing can be saved "
    "now (reading still works); try again later",
    StoreReadOnlyError: "the server's database is read-only at the moment, so nothing can be "
    "saved now (reading still works); try again later",
    StoreUnreachableError: "the server cannot reach its database at the moment; try again later",
    StoreBusyError: "the server's database is busy with other changes; try again in a moment",
    StoreIOError: "the server's database cannot read or write its files at the moment; "
    "try again later",
}

#: Seconds a client is told to wait (Retry-After), per kind of incident.
RETRY_AFTER: dict[type[StoreUnavailableError], int] = {
    StorageFullError: 60,
    StoreReadOnlyError: 30,
    StoreUnreachableError: 10,
    StoreBusyError: 1,
    StoreIOError: 30,
}

#: Incidents that only a successful write can show to be over; the others end with
#: any statement that succeeds.
WRITE_INCIDENTS = frozenset({StorageFullError.kind, StoreReadOnlyError.kind, StoreIOError.kind})

# sqlite3 primary result codes (https://sqlite.org/rescode.html).
_SQLITE = {
    5: StoreBusyError,  # SQLITE_BUSY
    6: StoreBusyError,  # SQLITE_LOCKED
    8: StoreReadOnlyError,  # SQLITE_READONLY
    10: StoreIOError,  # SQLITE_IOERR
    13: StorageFullError,  # SQLITE_FULL: the disk, or max_page_count
    14: StoreUnreachableError,  # SQLITE_CANTOPEN
}

# PostgreSQL SQLSTATEs, exact codes first, then classes (their first two characters).
_POSTGRESQL = {
    "53100": StorageFullError,  # disk_full
    "25006": StoreReadOnlyError,  # read_only_sql_transaction
    "58030": StoreIOError,  # io_error
    "53300": StoreBusyError,  # too_many_connections
    "55P03": StoreBusyError,  # lock_not_available (lock_timeout)
    "40001": StoreBusyError,  # serialization_failure
    "40P01": StoreBusyError,  # deadlock_detected
    "57P01": StoreUnreachableError,  # admin_shutdown
    "57P02": StoreUnreachableError,  # crash_shutdown
    "57P03": StoreUnreachableError,  # cannot_connect_now
    "08": StoreUnreachableError,  # connection_exception
    "53": StoreUnavailableError,  # insufficient_resources (out of memory...)
}

#: PostgreSQL's refusals of text it cannot hold; `pyocci.store.values` refuses these
#: before they are sent, this is for whatever it does not foresee.
_UNSTORABLE_TEXT = frozenset({"22021", "22P05"})  # character_not_in_repertoire, untranslatable


def classify(error: BaseException, dbapi: Any = None) -> Exception | None:
    """The store error for a driver error, or None when it is none of the incidents
    (a constraint violated, a bug: left as it is). `dbapi` is the driver module."""
    if isinstance(error, sqlite3.Error):
        code = getattr(error, "sqlite_errorcode", None)
        kind = None if code is None else _SQLITE.get(code & 0xFF)
        return None if kind is None else _unavailable(kind, error)
    sqlstate = getattr(error, "sqlstate", None)
    if isinstance(sqlstate, str):
        if sqlstate in _UNSTORABLE_TEXT:
            return UnstorableValueError(
                f"the request holds text the database cannot store: {_first_line(error)}"
            )
        kind = _POSTGRESQL.get(sqlstate) or _POSTGRESQL.get(sqlstate[:2])
        return None if kind is None else _unavailable(kind, error)
    operational = getattr(dbapi, "OperationalError", None)
    if operational is not None and isinstance(error, operational):
        # No SQLSTATE: the driver's own failure to connect, or a connection lost.
        return _unavailable(StoreUnreachableError, error)
    return None


def _unavailable(kind: type[StoreUnavailableError], error: BaseException) -> StoreUnavailableError:
    message = MESSAGES.get(kind, "the server's database is unavailable; try again later")
    return kind(message, detail=_first_line(error), retry_after=RETRY_AFTER.get(kind, 10))


def _first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[0][:300] if lines else type(error).__name__


class Incidents:
    """The log of one database's incidents: a line when one starts, a line when it ends.

    Thread-safe: PostgreSQL calls run in worker threads.
    """

    def __init__(self, database: str, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.database = database
        self._clock = clock
        self._lock = threading.Lock()
        self._kind: str | None = None
        self._started = 0.0
        self._failures = 0

    @property
    def current(self) -> str | None:
        """The kind of the incident under way, or None when the database works."""
        return self._kind

    @property
    def failures(self) -> int:
        """How many statements have failed in the incident under way so far."""
        return self._failures

    def failed(self, error: StoreUnavailableError) -> None:
        """A statement failed: log it if it starts an incident, count it otherwise."""
        with self._lock:
            if error.kind == self._kind:
                self._failures += 1
                return
            self._kind, self._started, self._failures = error.kind, self._clock(), 1
        log.error(
            "database %s: %s (%s); requests that need it are refused until it recovers",
            self.database,
            _INCIDENT_NAMES.get(error.kind, error.kind),
            error.detail,
        )

    def succeeded(self, *, wrote: bool) -> None:
        """A transaction succeeded (`wrote`: and it wrote): the incident, if any, is over
        when that shows it is (reading from a full disk does not)."""
        kind = self._kind
        if kind is None or (not wrote and kind in WRITE_INCIDENTS):
            return
        with self._lock:
            if self._kind != kind:
                return
            failures, lasted = self._failures, self._clock() - self._started
            self._kind, self._failures = None, 0
        log.warning(
            "database %s: works again after being %s for %.0f s (%d failures)",
            self.database,
            _INCIDENT_NAMES.get(kind, kind),
            lasted,
            failures,
        )


_INCIDENT_NAMES = {
    StorageFullError.kind: "out of disk space",
    StoreReadOnlyError.kind: "read-only",
    StoreUnreachableError.kind: "unreachable",
    StoreBusyError.kind: "busy",
    StoreIOError.kind: "failing to read or write its files",
    StoreUnavailableError.kind: "short of resources",
}


#: Key of `Connection.info` set when, during an incident, a statement changed rows.
WROTE = "pyocci_wrote"


def wrote(connection: sa.Connection) -> bool:
    """Whether `connection` changed rows since the last call (during an incident only:
    a transaction that commits without changing anything does not show that a full
    disk has room again)."""
    return bool(connection.info.pop(WROTE, False))


def translate(
    error: BaseException, dbapi: Any, incidents: Incidents, *, disconnect: bool = False
) -> Exception | None:
    """The store error for a driver error (`classify`; a lost connection, `disconnect`,
    is unreachable), told to `incidents` when it is an unavailability; None otherwise."""
    translated = classify(error, dbapi)
    if translated is None and disconnect:
        translated = _unavailable(StoreUnreachableError, error)
    if isinstance(translated, StoreUnavailableError):
        incidents.failed(translated)
    return translated


def mark_write(connection: sa.Connection, incidents: Incidents, rowcount: int) -> None:
    """Note on `connection` that a statement changed rows, while an incident is under
    way (see `wrote`)."""
    if incidents.current is not None and rowcount > 0:
        connection.info[WROTE] = True


def watch_faults(engine: Engine, incidents: Incidents) -> None:
    """Make `engine` raise store errors for the driver errors `classify` knows, tell
    `incidents` of each unavailability, and mark connections that change rows while
    one is under way (see `wrote`)."""
    dbapi = engine.dialect.loaded_dbapi

    @sa.event.listens_for(engine, "after_cursor_execute")
    def _mark_writes(
        connection: sa.Connection,
        cursor: Any,
        _statement: str,
        _parameters: Any,
        context: Any,
        _executemany: bool,
    ) -> None:
        if incidents.current is None or context is None:
            return  # the common case, settled first
        if context.isinsert or context.isupdate or context.isdelete:
            mark_write(connection, incidents, cursor.rowcount)

    @sa.event.listens_for(engine, "handle_error")
    def _translate(context: sa.engine.ExceptionContext) -> BaseException | None:
        if context.is_pre_ping:
            # The pool found a stale connection and replaces it: not a failure.
            return None
        return translate(
            context.original_exception, dbapi, incidents, disconnect=context.is_disconnect
        )
