"""Hearing of PostgreSQL commits made by any process: the change notices of the store.

Every table whose rows an entity read or a tenant's catalogue shows has a
statement trigger (the migrations ``0004_change_notices`` and the backends'
own) that calls ``pg_notify(CHANNEL, topic)``: ``entities`` or ``catalog``
(see `pyocci.store.topics`). PostgreSQL delivers the notice when the writing transaction
commits, to every connection listening on the channel: one per occi-server
process, on whatever host. `ChangeNotices` keeps that connection and counts
what arrived, in all and by topic; the count is the process's data
version, as SQLite's ``PRAGMA data_version`` is on SQLite.

PostgreSQL signals the listening backends as the writer commits, before
the writer is answered; each listening backend then sends the notice on its
own schedule, which under load can be later than a client's next request to
another process. So before its count is trusted, the listening connection
makes one round trip (``SELECT 1``): PostgreSQL sends a listener every
notice it was signalled for before it answers the listener's query. The
server awaits it as each request begins (`catch_up`, off the event loop's
critical path: concurrent requests share one round trip in flight), and
every check of the request then uses it (see `pyocci.store.freshness`). It
is bounded (`SYNC_SECONDS`): past it, the version is None, and the request
reads the database instead of what was kept.

Until the listening connection is made (in a thread: connecting may wait
on an unreachable database), and when it is lost (PostgreSQL restarted,
the network failed, an error answered the round trip, or the round trip
reached another backend than the one listening: a pooler in transaction
mode), notices may have been missed: the version is None until a new
connection listens, and moves then, so nothing read before is trusted.

Notices are counted as they are read, and read at least once a second
(`DRAIN_SECONDS`) even in a process no request reaches: PostgreSQL keeps
every notice until each listener has read it, for the whole cluster.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import select
import threading
import time
from collections.abc import Callable
from typing import Any

import anyio
import psycopg
from psycopg import pq
from sqlalchemy.engine import URL

from pyocci.store.freshness import READS_SINCE
from pyocci.store.topics import TOPICS

log = logging.getLogger(__name__)

#: The channel the triggers notify on.
CHANNEL = "pyocci_changes"

#: How long to wait before listening again after the connection was lost.
RETRY_SECONDS = 2.0
#: How the listening connections show in ``pg_stat_activity``.
APPLICATION_NAME = "pyocci-change-notices"
#: How long connecting to listen may take (in a thread of its own).
CONNECT_TIMEOUT_SECONDS = 2
#: How long the round trip before a count is trusted may hold up the event loop.
SYNC_SECONDS = 0.05
#: How often arrived notices are read, requests or not.
DRAIN_SECONDS = 1.0
#: How long a round trip waits for its socket before looking at the connection again
#: (another reader may have taken the answer in).
RECHECK_SECONDS = 0.005
#: The round trip: it also names the backend that answers it.
ROUND_TRIP = b"SELECT pg_backend_pid()"
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
    own, made in a thread of its own on first use and again after it is lost: connecting
    may wait seconds on an unreachable database, which the event loop must not."""

    def __init__(
        self, url: URL, *, clock: Callable[[], float] = time.monotonic, channel: str = CHANNEL
    ) -> None:
        self._conninfo = conninfo(url)
        self._channel = channel
        self._clock = clock
        self._connection: psycopg.Connection | None = None
        # A connection the connecting thread made, for `version` to take up.
        self._made: psycopg.Connection | None = None
        self._connecting: threading.Thread | None = None
        # Held while the connecting thread hands over a connection, and while closing.
        self._handing = threading.Lock()
        self._closed = False
        # The backend the listening connection listens on.
        self._backend_pid: int | None = None
        self._drain: Any = None  # the event loop's timer handle, once draining
        self._pid = os.getpid()
        self._heard = 0
        self._heard_of: dict[str, int] = dict.fromkeys(TOPICS, 0)
        # Every connection made starts a new epoch: what was read under an earlier
        # one may have missed notices while no connection listened.
        self._epoch = 0
        self._retry_at = 0.0
        # When the last round trip that completed was sent; whether one is unanswered.
        self._synced_at = -math.inf
        self._awaiting = False
        # The round trip in flight (set when answered), shared by concurrent requests.
        self._flight: anyio.Event | None = None

    def version(self, topic: str | None = None) -> tuple[int, int] | None:
        """A value that changes whenever a change (of `topic`; of anything by default) was
        committed since the last call; None while no connection listens (nothing read
        can be trusted to be current). Never waits in a request (see `catch_up`)."""
        connection = self._listening()
        if connection is None:
            return None
        try:
            pgconn = connection.pgconn
            if not self._synced(pgconn):
                return None
            self._count(pgconn)
        except psycopg.Error as error:
            self._lost(error)
            return None
        return self._epoch, self._heard if topic is None else self._heard_of[topic]

    def _count(self, pgconn: Any) -> None:
        """Count the notices libpq has read (and let it forget them)."""
        while (notice := pgconn.notifies()) is not None:
            self._heard += 1
            said = notice.extra.decode("utf-8", "replace")
            # A topic this version does not know (a newer one wrote): count it under
            # every topic, so that nothing is missed.
            for known in (said,) if said in self._heard_of else TOPICS:
                self._heard_of[known] += 1

    def _synced(self, pgconn: Any) -> bool:
        """Whether every notice of a commit made before the current request began has
        arrived. In a request, the server caught up before answering (`catch_up`): a
        round trip sent since the request began answered, or nothing is trusted; this
        never waits (nor reads: the answer of a round trip in flight is its own to read).
        Outside a request, a round trip now (tools, tests)."""
        since = READS_SINCE.get()
        if since is not None:
            return self._synced_at >= since
        if self._awaiting and not self._answered(pgconn, 0):
            return False  # the last round trip is still unanswered
        sent = self._send_round_trip(pgconn)
        if not self._answered(pgconn, SYNC_SECONDS):
            return False
        self._synced_at = sent
        return True

    async def catch_up(self, since: float) -> None:
        """Wait until a round trip sent at `since` or later has been answered, so that
        every notice of a commit made before `since` is in; at most about `SYNC_SECONDS`.
        Concurrent requests share round trips: one in flight serves every request that
        began before it was sent."""
        self._start_draining()
        with anyio.move_on_after(SYNC_SECONDS):
            while self._synced_at < since:
                flight = self._flight
                if flight is not None:
                    await flight.wait()
                    continue
                connection = self._listening()
                if connection is None:
                    return
                try:
                    await self._round_trip(connection.pgconn)
                except psycopg.Error as error:
                    self._lost(error)
                    return

    async def _round_trip(self, pgconn: Any) -> None:
        flight = self._flight = anyio.Event()
        try:
            while self._awaiting:  # an earlier round trip's answer is still to be read
                await self._readable(pgconn)
            sent = self._send_round_trip(pgconn)
            while self._awaiting:
                await self._readable(pgconn)
            self._synced_at = sent
        finally:
            self._flight = None
            flight.set()

    def _send_round_trip(self, pgconn: Any) -> float:
        """Send a round trip behind every notice sent so far; when it was sent."""
        sent = time.monotonic()
        pgconn.send_query(ROUND_TRIP)
        self._awaiting = True
        return sent

    async def _readable(self, pgconn: Any) -> None:
        """Read what arrived; wait a little for more while the round trip is unanswered
        (briefly: a reader elsewhere may take the answer in before this one wakes)."""
        if self._answered(pgconn, 0):
            return
        with anyio.move_on_after(RECHECK_SECONDS):
            await anyio.wait_readable(pgconn.socket)
        self._answered(pgconn, 0)

    def _answered(self, pgconn: Any, seconds: float) -> bool:
        """Whether the round trip under way was answered within `seconds` (its results
        then read, and every notice sent before them, counted). An answer that is an
        error, or names another backend than the listening one, is a lost connection
        (`psycopg.OperationalError`)."""
        deadline = time.monotonic() + seconds
        while True:
            pgconn.consume_input()
            self._count(pgconn)
            if not pgconn.is_busy():
                break
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            select.select([pgconn.socket], [], [], remaining)
        problem = None
        while (result := pgconn.get_result()) is not None:
            if result.status != pq.ExecStatus.TUPLES_OK:
                problem = (result.error_message or b"").decode("utf-8", "replace").strip()
                problem = problem or f"status {result.status}"
            elif result.ntuples and self._backend_pid is not None:
                answered_by = int(result.get_value(0, 0) or 0)
                if answered_by != self._backend_pid:
                    problem = (
                        f"the round trip was answered by backend {answered_by}, not the "
                        f"listening one ({self._backend_pid}): is a pooler in transaction "
                        "mode in between?"
                    )
        self._awaiting = False
        if problem is None and pgconn.status != pq.ConnStatus.OK:
            problem = "the connection is broken"
        if problem is not None:
            raise psycopg.OperationalError(problem)
        return True

    def _start_draining(self) -> None:
        """Read arrived notices every `DRAIN_SECONDS` from now on, on the running loop."""
        if self._drain is None and not self._closed:
            self._drain = asyncio.get_running_loop().call_later(DRAIN_SECONDS, self._drained)

    def _drained(self) -> None:
        self._drain = None
        connection = self._connection
        if self._closed:
            return
        # A round trip in flight reads for itself; one a request gave up on is read here.
        if connection is not None and self._flight is None:
            try:
                pgconn = connection.pgconn
                if self._awaiting:
                    self._answered(pgconn, 0)
                else:
                    pgconn.consume_input()
                    self._count(pgconn)
            except psycopg.Error as error:
                self._lost(error)
        self._start_draining()

    def _listening(self) -> psycopg.Connection | None:
        """The listening connection, or None (and one being made)."""
        if os.getpid() != self._pid:
            # A forked process must listen on a connection of its own.
            self._connection = self._made = self._connecting = self._drain = None
            self._pid = os.getpid()
        connection = self._connection or self._take_made()
        if connection is None:
            self._start_listening()
        return connection

    def _take_made(self) -> psycopg.Connection | None:
        with self._handing:
            made, self._made = self._made, None
        if made is not None:
            self._connection = made
            self._backend_pid = made.info.backend_pid
            self._epoch += 1
            self._awaiting = False
            self._synced_at = -math.inf
        return made

    def _start_listening(self) -> None:
        connecting = self._connecting
        if connecting is not None and connecting.is_alive():
            return
        if self._clock() < self._retry_at:
            return
        # One attempt per interval, whatever it comes to.
        self._retry_at = self._clock() + RETRY_SECONDS
        self._connecting = threading.Thread(
            target=self._connect, name="pyocci-change-notices", daemon=True
        )
        self._connecting.start()

    def _connect(self) -> None:
        try:
            connection = psycopg.connect(
                self._conninfo,
                autocommit=True,
                connect_timeout=CONNECT_TIMEOUT_SECONDS,
                application_name=APPLICATION_NAME,
                **KEEPALIVES,
            )
            connection.execute(f"LISTEN {self._channel}")
        except psycopg.Error as error:
            log.debug("cannot listen for database changes yet: %s", error)
            return
        with self._handing:
            if not self._closed:
                self._made = connection
                return
        connection.close()

    def _lost(self, error: psycopg.Error) -> None:
        log.warning("stopped hearing of database changes (%s); listening again", error)
        connection, self._connection = self._connection, None
        if connection is not None:
            self._closing(connection)
        self._retry_at = self._clock() + RETRY_SECONDS

    @staticmethod
    def _closing(connection: psycopg.Connection) -> None:
        # A round trip waiting on the socket is woken first: its descriptor may be
        # reused as soon as it is closed.
        with contextlib.suppress(psycopg.Error, RuntimeError):
            anyio.notify_closing(connection.pgconn.socket)
        # Closing a broken connection: nothing is left to do with it.
        with contextlib.suppress(psycopg.Error):
            connection.close()

    def close(self) -> None:
        """Stop listening (at shutdown)."""
        with self._handing:
            self._closed = True
            connections = (self._connection, self._made)
            self._connection = self._made = None
        if self._drain is not None:
            self._drain.cancel()
            self._drain = None
        for connection in connections:
            if connection is not None:
                self._closing(connection)
