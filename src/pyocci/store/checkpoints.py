"""SQLite's checkpoints, in a thread of their own instead of in a request.

In WAL mode every commit appends the pages it changed to the write-ahead log.
By default the commit that takes the log past 1,000 pages also copies the log
into the database file and syncs both (a checkpoint): milliseconds of writes
and fsyncs, on the event loop, in the middle of whichever request committed.

`Checkpointer` does that work in a daemon thread, on a connection of its own,
with SQLite's ``PASSIVE`` checkpoint (it never waits for, nor blocks, a
reader or a writer; the file I/O releases the GIL): woken after every
`COMMITS_PER_CHECKPOINT` commits of the process, and at least every
`IDLE_SECONDS` while commits come. The engine's connections keep SQLite's
automatic checkpoint only as a backstop (`BACKSTOP_PAGES`), should the thread
fall behind. Durability is the same either way: a commit is in the log, on
disk as ``synchronous`` says, before it returns.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from dataclasses import dataclass

__all__ = ["BACKSTOP_PAGES", "COMMITS_PER_CHECKPOINT", "IDLE_SECONDS", "Checkpointer"]

log = logging.getLogger(__name__)

#: Commits after which the thread checkpoints (a create writes some 5 to 15 pages).
COMMITS_PER_CHECKPOINT = 64
#: How long a commit may wait for its checkpoint when fewer come.
IDLE_SECONDS = 1.0
#: The log size, in pages, past which a commit checkpoints itself (the thread is late).
BACKSTOP_PAGES = 10_000


class Checkpointer:
    """Checkpoints the SQLite database at `path` in a daemon thread (started on the
    first commit of each process: a thread does not survive a fork)."""

    def __init__(
        self, path: str, *, busy_timeout_ms: int, idle_seconds: float = IDLE_SECONDS
    ) -> None:
        self._path = path
        self._busy_timeout_ms = busy_timeout_ms
        self._idle_seconds = idle_seconds
        self._lock = threading.Lock()
        self._running: _Running | None = None
        self._pending = 0
        #: Checkpoints done (for tests and the curious).
        self.done = 0

    def committed(self) -> None:
        """A write transaction of this process committed."""
        self._pending += 1  # a lost increment under threads only delays a checkpoint
        running = self._running
        if running is None or running.pid != os.getpid():
            running = self._start()
        if self._pending >= COMMITS_PER_CHECKPOINT:
            running.wake.set()

    def close(self) -> None:
        """Stop the thread after a last checkpoint (at shutdown, or in a forked process,
        which has no thread to stop); a later commit starts another."""
        with self._lock:
            running, self._running = self._running, None
        if running is not None and running.pid == os.getpid() and running.thread is not None:
            running.stopping = True
            running.wake.set()
            running.thread.join(timeout=10)

    def _start(self) -> _Running:
        with self._lock:
            running = self._running
            if running is not None and running.pid == os.getpid():
                return running
            running = self._running = _Running(os.getpid(), threading.Event())
            running.thread = threading.Thread(
                target=self._run, args=(running,), name="pyocci-sqlite-checkpoints", daemon=True
            )
            running.thread.start()
            return running

    def _run(self, running: _Running) -> None:
        try:
            connection = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as error:
            log.warning("SQLite checkpoints stay with the commits: %s", error)
            return
        try:
            connection.execute(f"PRAGMA busy_timeout={self._busy_timeout_ms}")
            while True:
                running.wake.wait(self._idle_seconds)
                running.wake.clear()
                stopping = running.stopping
                if self._pending or stopping:
                    self._pending = 0
                    self._checkpoint(connection)
                if stopping:
                    return
        finally:
            connection.close()

    def _checkpoint(self, connection: sqlite3.Connection) -> None:
        try:
            connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except sqlite3.Error as error:
            # Busy (another process checkpoints) or a passing I/O error: the next
            # round, or the backstop, checkpoints instead.
            log.debug("SQLite checkpoint skipped: %s", error)
            return
        self.done += 1


@dataclass
class _Running:
    """The checkpoint thread of one process."""

    pid: int
    wake: threading.Event
    thread: threading.Thread | None = None
    stopping: bool = False
