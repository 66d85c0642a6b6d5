"""SQLite connections kept between transactions: one for writing and one for reading per
thread, none shared with another thread or a forked process, all closed by dispose."""

from __future__ import annotations

import os
import sys
import threading

import pytest

from pyocci.store.database import Database


@pytest.fixture
def database(tmp_path) -> Database:
    made = Database(f"sqlite:///{tmp_path / 'kept.sqlite3'}")
    made.upgrade()
    with made.transaction() as connection:
        connection.exec_driver_sql("CREATE TABLE t (x INTEGER)")
    yield made
    made.dispose()


def driver_of(connection) -> object:
    return connection.connection.driver_connection


def test_a_thread_keeps_one_connection_for_writing_and_one_for_reading(database) -> None:
    with database.transaction() as first:
        writer = driver_of(first)
    with database.transaction() as second:
        assert driver_of(second) is writer
    with database.reading() as read:
        reader = driver_of(read)
    with database.reading() as again:
        assert driver_of(again) is reader
    assert reader is not writer
    assert set(map(id, database.kept_connections())) == {id(writer), id(reader)}


def test_a_failed_transaction_rolls_back_and_the_connection_serves_the_next(database) -> None:
    with pytest.raises(RuntimeError), database.transaction() as connection:
        connection.exec_driver_sql("INSERT INTO t VALUES (1)")
        raise RuntimeError("refused")
    with database.transaction() as connection:
        connection.exec_driver_sql("INSERT INTO t VALUES (2)")
    with database.reading() as connection:
        assert connection.exec_driver_sql("SELECT x FROM t").scalars().all() == [2]


def test_each_thread_has_its_own(database) -> None:
    with database.transaction() as connection:
        mine = driver_of(connection)
    theirs = []

    def work() -> None:
        with database.transaction() as connection:
            theirs.append(driver_of(connection))

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    assert theirs and theirs[0] is not mine


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork is POSIX only")
def test_a_forked_process_makes_its_own(database) -> None:
    with database.transaction() as connection:
        parent = driver_of(connection)
    pid = os.fork()
    if pid == 0:  # the child: a new connection, and its write reaches the file
        code = 0
        try:
            with database.transaction() as connection:
                code = 3 if driver_of(connection) is parent else 0
                connection.exec_driver_sql("INSERT INTO t VALUES (7)")
        except BaseException:
            code = 4
        sys.stdout.flush()
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    with database.reading() as connection:
        assert connection.exec_driver_sql("SELECT x FROM t").scalars().all() == [7]
    with database.transaction() as connection:
        assert driver_of(connection) is parent


def test_dispose_closes_them(database) -> None:
    with database.transaction():
        pass
    with database.reading():
        pass
    assert len(database.kept_connections()) == 2
    database.dispose()
    assert database.kept_connections() == []
    with database.transaction() as connection:  # made again on first use
        connection.exec_driver_sql("INSERT INTO t VALUES (1)")
