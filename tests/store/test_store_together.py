"""Writes made at the same moment share one SQLite transaction, each in a savepoint:
one commit for all, an error undoes its own write alone, a failed commit fails all."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from pyocci.store import Database
from pyocci.store.together import MAX_BATCH

pytestmark = pytest.mark.anyio

MARK: contextvars.ContextVar[str] = contextvars.ContextVar("mark", default="none")


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    db = Database(f"sqlite:///{tmp_path / 'store.sqlite3'}")
    db.upgrade()
    with db.transaction() as connection:
        connection.exec_driver_sql("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
        connection.exec_driver_sql(
            "CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER "
            "REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)"
        )
    try:
        yield db
    finally:
        db.dispose()


@pytest.fixture
def commits(database: Database) -> list[int]:
    """One entry per committed transaction of the engine (reads commit too)."""
    seen: list[int] = []
    sa.event.listen(database.engine, "commit", lambda _: seen.append(1))
    return seen


def insert(connection: sa.Connection, row: int) -> int:
    connection.exec_driver_sql(f"INSERT INTO parent (id) VALUES ({row})")
    return row


def insert_then_fail(connection: sa.Connection, row: int) -> int:
    insert(connection, row)
    raise ValueError(f"row {row} refused")


def orphan(connection: sa.Connection, row: int) -> int:
    # Passes at once; the deferred foreign key fails the COMMIT.
    connection.exec_driver_sql(f"INSERT INTO child (id, parent_id) VALUES ({row}, 999)")
    return row


def rows(database: Database) -> list[int]:
    with database.reading() as connection:
        return sorted(connection.exec_driver_sql("SELECT id FROM parent").scalars())


async def test_writes_at_the_same_moment_share_one_commit(
    database: Database, commits: list[int]
) -> None:
    results = await asyncio.gather(*(database.write(insert, n) for n in range(1, 6)))
    assert results == [1, 2, 3, 4, 5]
    assert len(commits) == 1
    assert rows(database) == [1, 2, 3, 4, 5]


async def test_a_request_started_while_the_first_write_was_made_joins_its_commit(
    database: Database, commits: list[int]
) -> None:
    loop = asyncio.get_running_loop()
    started: list[asyncio.Task[int]] = []

    def request_read() -> None:
        # What an HTTP server on uvloop does for a request it read while the first one
        # ran: the request's task starts before the callbacks that turn scheduled.
        started.append(loop.create_task(database.write(insert, 2)))

    async def first_request() -> int:
        loop.call_soon(request_read)
        return await database.write(insert, 1)

    assert await first_request() == 1
    assert await started[0] == 2
    assert len(commits) == 1
    assert rows(database) == [1, 2]


async def test_a_write_that_fails_is_undone_alone(database: Database, commits: list[int]) -> None:
    outcomes = await asyncio.gather(
        database.write(insert, 1),
        database.write(insert_then_fail, 2),
        database.write(insert, 3),
        return_exceptions=True,
    )
    assert outcomes[0] == 1 and outcomes[2] == 3
    assert isinstance(outcomes[1], ValueError) and "row 2 refused" in str(outcomes[1])
    assert len(commits) == 1
    assert rows(database) == [1, 3]


async def test_a_failed_commit_fails_every_write_of_it(database: Database) -> None:
    outcomes = await asyncio.gather(
        database.write(insert, 1), database.write(orphan, 7), return_exceptions=True
    )
    assert all(isinstance(o, sa.exc.IntegrityError) for o in outcomes), outcomes
    assert rows(database) == []
    # The next write has a transaction of its own again.
    assert await database.write(insert, 4) == 4
    assert rows(database) == [4]


async def test_a_lone_write_takes_no_savepoint(database: Database) -> None:
    await database.write(insert, 1)  # makes the kept writing connection
    statements: list[str] = []
    for driver in database.kept_connections():
        driver.set_trace_callback(statements.append)
    await database.write(insert, 2)
    assert not [s for s in statements if "SAVEPOINT" in s]
    await asyncio.gather(database.write(insert, 3), database.write(insert, 4))
    assert [s for s in statements if s.startswith("SAVEPOINT")] == ["SAVEPOINT pyocci_write"] * 2
    for driver in database.kept_connections():
        driver.set_trace_callback(None)


async def test_a_cancelled_caller_still_has_its_write_committed(database: Database) -> None:
    task = asyncio.ensure_future(database.write(insert, 1))
    await asyncio.sleep(0)  # queued; its flush has not run yet
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await database.write(insert, 2)  # after the flush that held the first
    assert rows(database) == [1, 2]


async def test_a_write_sees_its_callers_context(database: Database) -> None:
    def marked(connection: sa.Connection, _: int) -> str:
        return MARK.get()

    async def as_request(mark: str) -> str:
        MARK.set(mark)
        return await database.write(marked, 0)

    assert await asyncio.gather(as_request("first"), as_request("second")) == ["first", "second"]


class Stopped(BaseException):
    """What stops a flush without being an error of its write (as an interrupt does;
    a real KeyboardInterrupt would stop the test's event loop too)."""


async def test_a_flush_stopped_by_an_interrupt_leaves_no_caller_waiting(
    database: Database,
) -> None:
    def interrupted(connection: sa.Connection, _: int) -> int:
        raise Stopped

    caller = asyncio.ensure_future(database.write(interrupted, 0))
    with pytest.raises(asyncio.CancelledError):
        await caller
    assert rows(database) == []


async def test_a_burst_is_cut_into_transactions_of_at_most_max_batch(
    database: Database, commits: list[int]
) -> None:
    count = 2 * MAX_BATCH + 1
    assert await asyncio.gather(*(database.write(insert, n) for n in range(1, count + 1))) == list(
        range(1, count + 1)
    )
    assert len(commits) == 3
    assert rows(database) == list(range(1, count + 1))
