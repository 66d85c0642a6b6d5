"""A SQLite file's write-ahead log is checkpointed by a thread, not by the commits."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pyocci.store import Database
from pyocci.store.checkpoints import BACKSTOP_PAGES, COMMITS_PER_CHECKPOINT, Checkpointer


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    db = Database(f"sqlite:///{tmp_path / 'store.sqlite3'}")
    db.upgrade()
    with db.transaction() as connection:
        connection.exec_driver_sql("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT)")
    try:
        yield db
    finally:
        db.dispose()


def commit_rows(database: Database, count: int) -> None:
    for _ in range(count):
        with database.transaction() as connection:
            connection.exec_driver_sql("INSERT INTO t (body) VALUES (?)", ("x" * 3000,))


def wait_for(condition, seconds: float = 10.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_the_commits_leave_checkpoints_to_the_thread(database: Database) -> None:
    checkpointer = database.checkpointer
    assert checkpointer is not None
    [driver] = database.kept_connections()
    assert driver.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == BACKSTOP_PAGES
    before = checkpointer.done
    commit_rows(database, COMMITS_PER_CHECKPOINT)
    assert wait_for(lambda: checkpointer.done > before)


def test_the_commit_that_completes_a_round_wakes_the_thread(tmp_path: Path) -> None:
    path = str(tmp_path / "store.sqlite3")
    Database(f"sqlite:///{path}").dispose()
    # With an idle wait of an hour, only the count of commits can wake the thread.
    checkpointer = Checkpointer(path, busy_timeout_ms=1000, idle_seconds=3600)
    try:
        for _ in range(COMMITS_PER_CHECKPOINT - 1):
            checkpointer.committed()
        time.sleep(0.3)
        assert checkpointer.done == 0
        checkpointer.committed()
        assert wait_for(lambda: checkpointer.done == 1)
    finally:
        checkpointer.close()


def test_a_checkpoint_follows_a_few_commits_within_a_second_or_so(database: Database) -> None:
    checkpointer = database.checkpointer
    assert checkpointer is not None
    commit_rows(database, 2)
    before = checkpointer.done
    assert wait_for(lambda: checkpointer.done > before)


def test_closing_checkpoints_and_a_later_commit_starts_again(database: Database) -> None:
    checkpointer = database.checkpointer
    assert checkpointer is not None
    commit_rows(database, 3)
    done = checkpointer.done
    database.dispose()  # as a forked worker does, and then goes on
    assert checkpointer.done > done  # the last checkpoint, made on the way out
    stopped = checkpointer.done
    commit_rows(database, COMMITS_PER_CHECKPOINT)
    assert wait_for(lambda: checkpointer.done > stopped)


def test_an_in_memory_database_has_no_checkpoint_thread() -> None:
    database = Database("sqlite://")
    try:
        assert database.checkpointer is None
    finally:
        database.dispose()
