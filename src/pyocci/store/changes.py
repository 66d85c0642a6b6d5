"""Hearing of PostgreSQL commits made by any process: the change notices of the store.

Every table whose rows an entity read or a tenant's catalogue shows has a
statement trigger (the migrations ``0004_change_notices`` and the backends'
own) that calls ``pg_notify(CHANNEL, topic)``: ``entities`` or ``catalog``
(see `pyocci.store.topics`). PostgreSQL delivers the notice when the writing transaction
commits, to every connection listening on the channel: one per occi-server
process, on whatever host. `ChangeNotices` keeps that connection and counts
what arrived, in all and by topic; the count is the process's data
version, as SQLite's ``PRAGMA data_version`` is on SQLite.

Reading the count never waits: the connection's socket is read without
blocking (libpq's ``PQconsumeInput``), so it can be asked on the event loop
before every entity read. A notice is queued by the writer's commit before
the writer is answered; it reaches the listening connection within
microseconds, long before a client told of the change can send its next
request through a load balancer to another process.

When the listening connection is lost (PostgreSQL restarted, the network
failed), notices may have been missed: the version is None until a new
connection listens again, and moves then, so nothing read before is trusted.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Callable

import psycopg
from sqlalchemy.engine import URL

from pyocci.store.topics import TOPICS

log = logging.getLogger(__name__)

#: The channel the triggers notify on.
CHANNEL = "pyocci_changes"

#: How long to wait before listening again after the connection was lost.
RETRY_SECONDS = 2.0
#: Connecting to listen must not hold up the event loop for long.
CONNECT_TIMEOUT_SECONDS = 2
#: TCP keepalives, so that a silently dead connection (a host cut off without a reset)
#: is noticed within about half a minute rather than hours.
KEEPALIVES = {
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 5,
    "keepalives_count": 3,
}


def conninfo(url: URL) -> str:
    """The libpq connection string of a SQLAlchemy PostgreSQL URL (any driver named)."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


class ChangeNotices:
    """A count of the change notices one process heard, on a listening connection of its
    own (made on first use, again after it is lost)."""

    def __init__(
        self, url: URL, *, clock: Callable[[], float] = time.monotonic, channel: str = CHANNEL
    ) -> None:
        self._conninfo = conninfo(url)
        self._channel = channel
        self._clock = clock
        self._connection: psycopg.Connection | None = None
        self._pid = os.getpid()
        self._heard = 0
        self._heard_of: dict[str, int] = dict.fromkeys(TOPICS, 0)
        # Every connection made starts a new epoch: what was read under an earlier
        # one may have missed notices while no connection listened.
        self._epoch = 0
        self._retry_at = 0.0

    def version(self, topic: str | None = None) -> tuple[int, int] | None:
        """A value that changes whenever a change (of `topic`; of anything by default) was
        committed since the last call; None while no connection listens (nothing read
        can be trusted to be current)."""
        if os.getpid() != self._pid:
            # A forked process must listen on a connection of its own.
            self._connection, self._pid = None, os.getpid()
        connection = self._connection
        if connection is None:
            connection = self._listen()
            if connection is None:
                return None
        try:
            pgconn = connection.pgconn
            pgconn.consume_input()
            while (notice := pgconn.notifies()) is not None:
                self._heard += 1
                said = notice.extra.decode("utf-8", "replace")
                # A topic this version does not know (a newer one wrote): count it under
                # every topic, so that nothing is missed.
                for known in (said,) if said in self._heard_of else TOPICS:
                    self._heard_of[known] += 1
        except psycopg.Error as error:
            self._lost(error)
            return None
        return self._epoch, self._heard if topic is None else self._heard_of[topic]

    def _listen(self) -> psycopg.Connection | None:
        if self._clock() < self._retry_at:
            return None
        try:
            connection = psycopg.connect(
                self._conninfo,
                autocommit=True,
                connect_timeout=CONNECT_TIMEOUT_SECONDS,
                **KEEPALIVES,
            )
            connection.execute(f"LISTEN {self._channel}")
        except psycopg.Error as error:
            self._lost(error)
            return None
        self._connection = connection
        self._epoch += 1
        return connection

    def _lost(self, error: psycopg.Error) -> None:
        if self._connection is not None:
            log.warning("stopped hearing of database changes (%s); listening again", error)
            self.close()
        self._retry_at = self._clock() + RETRY_SECONDS

    def close(self) -> None:
        """Stop listening (at shutdown)."""
        connection, self._connection = self._connection, None
        if connection is not None:
            # Closing a broken connection: nothing is left to do with it.
            with contextlib.suppress(psycopg.Error):
                connection.close()
