"""Writes made at the same moment, committed together (SQLite's group commit).

On SQLite every write transaction of a process runs on the event loop, one
after the other, and a commit is most of a small write's cost: the pages it
changed go to the write-ahead log, and every thousand pages or so a
checkpoint copies them into the database file. When several requests write
at the same moment, `WritesTogether` runs their writes in one transaction,
each in a savepoint of its own, and commits once:

- a write that raises is undone alone (``ROLLBACK TO`` its savepoint), and
  its caller gets the error; the others are kept;
- a transaction that fails as a whole (its ``BEGIN`` or ``COMMIT``, a full
  disk) fails every write in it: none was kept, each caller is told;
- every caller resumes once the commit is done, so nothing is answered
  before it is durable, and a read made after sees every write of the batch.

The first write to arrive schedules a flush that waits one more turn of the
event loop before it runs: the requests whose bytes the loop read while
that write was being made (over HTTP, the other clients' next requests,
sent as soon as the previous commit answered them) reach their writes first
and join. Without that turn they came one poll too late, and a server with
four busy writing clients committed one or two writes at a time instead of
four. This rests on uvloop's order, the loop both HTTP servers run: there,
the requests read in a turn are started before the callbacks that turn
scheduled; on asyncio's own loop they start after them, and miss the flush
as before. A lone write pays for no savepoint, only for those turns of the
loop (a few microseconds of latency, no work).
"""

from __future__ import annotations

import asyncio
import contextvars
import weakref
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Connection

#: The name of the savepoint each write of a shared transaction runs in (they never
#: nest: one write's savepoint is released before the next is taken).
SAVEPOINT = "pyocci_write"


#: The most writes one transaction takes: the loop runs none of its other work while a
#: batch runs, so a burst of thousands is cut into turns the reads get between.
MAX_BATCH = 64


@dataclass(slots=True)
class _Write:
    function: Callable[..., Any]
    args: tuple[Any, ...]
    done: asyncio.Future[Any]
    #: The caller's context: the write runs in the flush's task, but sees the context
    #: variables of the request it serves.
    context: contextvars.Context


@dataclass(slots=True)
class _Queue:
    waiting: list[_Write] = field(default_factory=list)
    scheduled: bool = False  # a flush is due in this loop


class WritesTogether:
    """Runs ``function(connection, *args)`` calls in shared write transactions.

    `transaction` opens a write transaction (the store's `Database.transaction`);
    `execute` runs one SQL statement on its connection (the driver's, without
    SQLAlchemy's bookkeeping). One queue per event loop: tests run several loops
    over one database.
    """

    def __init__(
        self,
        transaction: Callable[[], AbstractContextManager[Connection]],
        execute: Callable[[Connection, str], object],
    ) -> None:
        self._transaction = transaction
        self._execute = execute
        self._queues: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Queue] = (
            weakref.WeakKeyDictionary()
        )

    async def write(self, function: Callable[..., Any], *args: Any) -> Any:
        """``function(connection, *args)``'s result once its transaction is committed
        (or its error, its writes undone)."""
        loop = asyncio.get_running_loop()
        queue = self._queues.get(loop)
        if queue is None:
            queue = self._queues[loop] = _Queue()
        done = loop.create_future()
        queue.waiting.append(_Write(function, args, done, contextvars.copy_context()))
        if not queue.scheduled:
            queue.scheduled = True
            loop.call_soon(self._one_turn_later, queue)
        # A caller cancelled meanwhile stops waiting, no more: its write stays in the
        # queue and is committed (or undone) with the others.
        return await done

    def _one_turn_later(self, queue: _Queue) -> None:
        # On uvloop the requests the loop read meanwhile have started before this runs
        # (see the module); scheduled after their first steps, the flush lets them join.
        if len(queue.waiting) >= MAX_BATCH:
            self._flush(queue)
        else:
            asyncio.get_running_loop().call_soon(self._flush, queue)

    def _flush(self, queue: _Queue) -> None:
        batch, queue.waiting = queue.waiting[:MAX_BATCH], queue.waiting[MAX_BATCH:]
        if queue.waiting:
            # The rest in the next turn, after what the loop has already scheduled.
            asyncio.get_running_loop().call_soon(self._flush, queue)
        else:
            queue.scheduled = False
        try:
            self._commit(batch)
        except BaseException:
            # Not an error of a write (those are settled): the flush itself is stopped
            # (an interrupt). No caller may be left waiting for ever.
            for write in batch:
                write.done.cancel()
            raise

    def _commit(self, batch: list[_Write]) -> None:
        if len(batch) == 1:
            [write] = batch
            try:
                with self._transaction() as connection:
                    result = write.context.run(write.function, connection, *write.args)
            except Exception as error:
                _settle(write, error=error)
            else:
                _settle(write, result=result)
            return
        outcomes: list[tuple[_Write, Any, Exception | None]] = []
        try:
            with self._transaction() as connection:
                for write in batch:
                    outcomes.append((write, *self._in_savepoint(connection, write)))
        except Exception as error:
            for write in batch:
                _settle(write, error=error)
            return
        for write, result, error in outcomes:
            _settle(write, result=result, error=error)

    def _in_savepoint(self, connection: Connection, write: _Write) -> tuple[Any, Exception | None]:
        self._execute(connection, f"SAVEPOINT {SAVEPOINT}")
        try:
            result = write.context.run(write.function, connection, *write.args)
        except Exception as error:
            # This write alone is undone; if even that fails, the transaction is
            # broken and the whole batch fails with that error.
            self._execute(connection, f"ROLLBACK TO {SAVEPOINT}")
            self._execute(connection, f"RELEASE {SAVEPOINT}")
            return None, error
        self._execute(connection, f"RELEASE {SAVEPOINT}")
        return result, None


def _settle(write: _Write, *, result: Any = None, error: Exception | None = None) -> None:
    if write.done.done():
        return
    if error is not None:
        write.done.set_exception(error)
    else:
        write.done.set_result(result)
