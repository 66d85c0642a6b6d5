"""A database that cannot do the work raises typed store errors, and its log has a line
when an incident starts and one when it ends, not one per failure.

Every fault here is real: SQLite's page limit (``max_page_count``, the same
SQLITE_FULL a full disk gives), a database opened read-only, a lock held by
another connection, PostgreSQL made read-only, a port nobody listens on.
"""

from __future__ import annotations

import logging
import sqlite3
import threading

import pytest
import sqlalchemy as sa

from pyocci.backends.sim.tables import sim_usage
from pyocci.store import Database
from pyocci.store.errors import (
    StorageFullError,
    StoreBusyError,
    StoreReadOnlyError,
    StoreUnavailableError,
    StoreUnreachableError,
)
from pyocci.store.faults import Incidents, classify

LOGGER = "pyocci.store"


def add_tenant(database: Database, tenant: str) -> None:
    with database.transaction() as connection:
        connection.execute(sim_usage.insert().values(tenant_id=tenant))


def tenants(database: Database) -> int:
    with database.reading() as connection:
        return connection.scalar(sa.select(sa.func.count()).select_from(sim_usage)) or 0


def store_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name == LOGGER]


@pytest.fixture
def sqlite(tmp_path) -> Database:
    database = Database(f"sqlite:///{tmp_path / 'faults.sqlite3'}")
    database.upgrade()
    yield database
    database.dispose()


def limit_pages(database: Database, pages: int) -> None:
    # Per connection: the thread's writing connection, which the database keeps.
    with database.transaction() as connection:
        connection.exec_driver_sql(f"PRAGMA max_page_count = {pages}")


def test_a_full_database_raises_storage_full_logs_once_and_recovers(sqlite, caplog):
    caplog.set_level(logging.WARNING, logger=LOGGER)
    with sqlite.reading() as connection:
        used = connection.exec_driver_sql("PRAGMA page_count").scalar()
    limit_pages(sqlite, used)
    padding = "x" * 5000  # a row bigger than a page
    failures = []
    for number in range(10):
        with pytest.raises(StorageFullError) as full:
            add_tenant(sqlite, f"t{number}{padding}")
        failures.append(full.value)
    assert failures[0].detail == "database or disk is full"
    assert failures[0].retry_after > 0
    assert "out of disk space" in failures[0].message
    assert "database or disk is full" not in failures[0].message  # the log's, not the client's
    # Reading still works, and does not end the incident; nor does a write
    # transaction that changes nothing.
    assert tenants(sqlite) == 0
    with sqlite.transaction() as connection:
        connection.execute(sim_usage.delete().where(sim_usage.c.tenant_id == "nobody"))
    assert sqlite.incidents.current == "full"
    lines = store_lines(caplog)
    assert len(lines) == 1
    assert "out of disk space (database or disk is full)" in lines[0]

    limit_pages(sqlite, 1_000_000)
    add_tenant(sqlite, "back")
    assert sqlite.incidents.current is None
    lines = store_lines(caplog)
    assert len(lines) == 2
    assert "works again after being out of disk space" in lines[1]
    assert "(10 failures)" in lines[1]

    # A new incident is logged again.
    limit_pages(sqlite, used + 1)
    with pytest.raises(StorageFullError):
        add_tenant(sqlite, padding * 4)
    assert len(store_lines(caplog)) == 3


def test_a_database_opened_read_only_refuses_writes_as_read_only(sqlite, caplog):
    caplog.set_level(logging.WARNING, logger=LOGGER)
    path = sqlite.url.database
    read_only = Database(f"sqlite:///file:{path}?mode=ro&uri=true")
    try:
        for _ in range(3):
            with pytest.raises(StoreReadOnlyError, match="read-only at the moment"):
                add_tenant(read_only, "t")
        assert tenants(read_only) == 0
        assert read_only.incidents.current == "read-only"
        assert len(store_lines(caplog)) == 1
    finally:
        read_only.dispose()


def test_a_writer_waiting_past_the_busy_timeout_gets_busy(tmp_path):
    url = f"sqlite:///{tmp_path / 'busy.sqlite3'}"
    holder, waiter = Database(url), Database(url, busy_timeout_ms=50)
    holder.upgrade()
    try:
        with holder.transaction() as connection:
            connection.execute(sim_usage.insert().values(tenant_id="holding"))
            with pytest.raises(StoreBusyError) as busy:
                add_tenant(waiter, "waiting")
        assert busy.value.detail == "database is locked"
        add_tenant(waiter, "later")  # the lock is free again
        assert waiter.incidents.current is None
    finally:
        holder.dispose()
        waiter.dispose()


def test_an_unreachable_postgresql_is_unreachable_and_a_read_ends_it(caplog):
    caplog.set_level(logging.WARNING, logger=LOGGER)
    database = Database("postgresql+psycopg://nobody:s3cret@127.0.0.1:1/nothing")
    try:
        with (
            pytest.raises(StoreUnreachableError) as unreachable,
            database.reading() as connection,
        ):
            connection.exec_driver_sql("SELECT 1")
        assert "Connection refused" in unreachable.value.detail
        [line] = store_lines(caplog)
        assert "unreachable" in line and "nobody:***@127.0.0.1:1" in line
        assert "s3cret" not in line
        assert database.incidents.current == "unreachable"
    finally:
        database.dispose()


def test_postgresql_made_read_only_refuses_writes_and_still_migrates(postgres_server, caplog):
    caplog.set_level(logging.WARNING, logger=LOGGER)
    url = postgres_server.create_database()
    name = url.rsplit("/", 1)[1]
    database = Database(url)
    database.upgrade()
    with database.engine.connect() as admin:
        admin.execute(sa.text(f"ALTER DATABASE {name} SET default_transaction_read_only = on"))
        admin.commit()
    database.dispose()  # the setting applies to sessions opened from now on
    try:
        # A server starting on a read-only database at the newest schema starts.
        database.upgrade()
        with pytest.raises(StoreReadOnlyError) as refused:
            add_tenant(database, "t")
        assert "read-only" in refused.value.detail
        assert tenants(database) == 0
        assert len(store_lines(caplog)) == 1
    finally:
        database.dispose()
        postgres_server.drop_database(name)


def test_classify_leaves_other_errors_alone():
    # A constraint violated is the caller's to handle; a bug stays a bug.
    assert classify(sqlite3.IntegrityError("UNIQUE constraint failed")) is None
    assert classify(ValueError("no")) is None


def test_incidents_log_a_start_an_end_and_each_new_kind(caplog):
    caplog.set_level(logging.WARNING, logger=LOGGER)
    now = [100.0]
    incidents = Incidents("db", clock=lambda: now[0])
    full = StorageFullError("full", detail="disk full")
    for _ in range(5):
        incidents.failed(full)
    assert (incidents.current, incidents.failures) == ("full", 5)
    incidents.succeeded(wrote=False)  # a read does not show the disk has room
    assert incidents.current == "full"
    incidents.failed(StoreUnreachableError("gone", detail="refused"))  # another kind
    now[0] = 142.0
    incidents.succeeded(wrote=False)  # reaching it again ends "unreachable"
    incidents.succeeded(wrote=True)  # nothing under way: nothing logged
    assert incidents.current is None
    assert store_lines(caplog) == [
        "database db: out of disk space (disk full); "
        "requests that need it are refused until it recovers",
        "database db: unreachable (refused); requests that need it are refused until it recovers",
        "database db: works again after being unreachable for 42 s (1 failures)",
    ]


def test_incidents_count_failures_from_many_threads_once_each():
    incidents = Incidents("db")
    error = StoreUnavailableError("x")
    threads = [
        threading.Thread(target=lambda: [incidents.failed(error) for _ in range(1000)])
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert incidents.failures == 4000
