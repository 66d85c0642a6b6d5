"""The Database: URLs, SQLite tuning, transactions, locks, running calls, migrations."""

from __future__ import annotations

import fnmatch
import subprocess
import sys
import threading
import time
import tomllib
from importlib import resources
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from pyocci.store import Database, default_database_url, metadata
from pyocci.store.database import DEFAULT_BUSY_TIMEOUT_MS, MIGRATION_LOCK
from pyocci.store.freshness import READS_SINCE

REPOSITORY = Path(__file__).resolve().parents[2]


def test_default_url_is_a_sqlite_file_in_the_user_data_directory(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    url = default_database_url()
    assert url == f"sqlite:///{tmp_path / 'data' / 'pyocci' / 'pyocci.sqlite3'}"
    assert (tmp_path / "data" / "pyocci").is_dir()


def test_data_version_moves_on_every_commit_from_any_connection(tmp_path):
    url = f"sqlite:///{tmp_path / 'v.sqlite3'}"
    database, elsewhere = Database(url), Database(url)
    try:
        with database.transaction() as connection:
            connection.exec_driver_sql("CREATE TABLE t (x INTEGER)")
        first = database.data_version()
        assert first is not None
        assert database.data_version() == first  # nothing committed since
        with database.reading() as connection:
            connection.exec_driver_sql("SELECT * FROM t").all()
        assert database.data_version() == first  # reads change nothing
        with database.transaction() as connection:
            connection.exec_driver_sql("INSERT INTO t VALUES (1)")
        second = database.data_version()
        assert second != first
        with elsewhere.transaction() as connection:  # another process, as far as SQLite sees
            connection.exec_driver_sql("INSERT INTO t VALUES (2)")
        assert database.data_version() not in (first, second)
    finally:
        database.dispose()
        elsewhere.dispose()


def test_data_version_is_unknown_where_sqlite_cannot_tell(tmp_path):
    # A file named by a URI may be shared with other processes: nothing tells of theirs.
    database = Database(f"sqlite:///file:{tmp_path / 'shared.sqlite3'}?uri=true")
    try:
        assert database.data_version() is None
    finally:
        database.dispose()


def test_an_in_memory_database_moves_its_version_with_each_write_transaction():
    # Only this process reaches it: its own write transactions are every change.
    database = Database("sqlite://")
    try:
        before = database.data_version()
        assert before is not None and database.data_version() == before
        with database.reading() as connection:
            connection.exec_driver_sql("SELECT 1")
        assert database.data_version() == before
        with database.transaction() as connection:
            connection.exec_driver_sql("CREATE TABLE t (x INTEGER)")
        assert database.data_version() not in (None, before)
    finally:
        database.dispose()


def test_sqlite_is_tuned_for_a_server(tmp_path):
    database = Database(f"sqlite:///{tmp_path / 'a' / 'b.sqlite3'}")
    with database.reading() as connection:
        pragma = connection.exec_driver_sql
        assert pragma("PRAGMA journal_mode").scalar() == "wal"
        assert pragma("PRAGMA foreign_keys").scalar() == 1
        assert pragma("PRAGMA busy_timeout").scalar() == DEFAULT_BUSY_TIMEOUT_MS
        # NORMAL (1): in WAL mode a commit survives the process being killed.
        assert pragma("PRAGMA synchronous").scalar() == 1
    assert database.sqlite_synchronous == "NORMAL"
    database.dispose()


@pytest.mark.parametrize(
    ("argument", "query", "expected"),
    [("FULL", "", 2), ("normal", "", 1), ("NORMAL", "?synchronous=FULL", 2), ("OFF", "", 0)],
)
def test_sqlite_synchronous_can_be_chosen(tmp_path, argument, query, expected):
    database = Database(f"sqlite:///{tmp_path / 'x.sqlite3'}{query}", sqlite_synchronous=argument)
    with database.reading() as connection:
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == expected
    assert "synchronous" not in database.url.query
    database.dispose()


def test_an_unknown_synchronous_setting_is_refused(tmp_path):
    with pytest.raises(ValueError, match="sqlite_synchronous must be one of"):
        Database(f"sqlite:///{tmp_path / 'x.sqlite3'}", sqlite_synchronous="sometimes")


def test_sqlite_write_transactions_take_the_write_lock_first(tmp_path, statements):
    database = Database(f"sqlite:///{tmp_path / 'x.sqlite3'}")
    with statements(database) as executed:
        with database.transaction() as connection:
            connection.exec_driver_sql("SELECT 1")
        with database.reading() as connection:
            connection.exec_driver_sql("SELECT 1")
    assert executed == ["BEGIN IMMEDIATE", "SELECT 1", "COMMIT", "BEGIN", "SELECT 1", "COMMIT"]
    database.dispose()


def test_a_write_transaction_rolls_back_on_error(database):
    with pytest.raises(RuntimeError), database.transaction() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO sim_usage (tenant_id, computes, cores, memory, storage, networks) "
                "VALUES ('t', 0, 0, 0, 0, 0)"
            )
        )
        raise RuntimeError("abandon")
    with database.reading() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM sim_usage").scalar() == 0


def test_upgrade_creates_every_table_and_is_idempotent(database):
    assert "0001_initial" not in database.head_revisions()  # later revisions are applied too
    assert database.current_revision() == database.head_revision()
    database.upgrade()
    assert database.current_revision() == database.head_revision()
    assert database.current_revisions() == database.head_revisions()
    tables = set(sa.inspect(database.engine).get_table_names())
    for branch in database.migrations:
        assert set(branch.metadata().tables) <= tables, branch.label


def test_the_migration_heads_match_the_metadata_of_every_branch(database):
    branches = [branch.metadata() for branch in database.migrations]
    assert [branch.label for branch in database.migrations] == ["store", "sim"]
    with database.reading() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, branches) == []


def test_the_stores_chain_matches_the_stores_metadata(database_url):
    database = Database(database_url, migrations=())
    database.upgrade()
    try:
        with database.reading() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, metadata) == []
    finally:
        database.dispose()


def test_a_fresh_database_reports_no_revision(database_url):
    database = Database(database_url)
    assert database.current_revision() is None
    database.dispose()


@pytest.mark.parametrize(
    ("package", "first"),
    [("pyocci.store.migrations", "0001_initial.py"), ("pyocci.backends.sim.migrations", None)],
)
def test_migrations_ship_as_package_data(package, first):
    migrations = resources.files(package)
    if first is not None:
        assert (migrations / "env.py").is_file()
        assert (migrations / "script.py.mako").is_file()
    revisions = [p.name for p in (migrations / "versions").iterdir() if p.name.endswith(".py")]
    assert first is None or first in revisions
    assert len(revisions) > 1  # __init__.py and at least one revision
    # setuptools installs only what package-data names: every migration file must match.
    pyproject = tomllib.loads((REPOSITORY / "pyproject.toml").read_text())
    patterns = pyproject["tool"]["setuptools"]["package-data"]["pyocci"]
    root = REPOSITORY / "src" / "pyocci"
    for path in (REPOSITORY / "src" / Path(*package.split("."))).rglob("*"):
        if path.is_file() and "__pycache__" not in path.parts:
            relative = path.relative_to(root).as_posix()
            assert any(fnmatch.fnmatch(relative, pattern) for pattern in patterns), relative


def test_the_sim_declares_its_migrations_in_pyproject():
    pyproject = tomllib.loads((REPOSITORY / "pyproject.toml").read_text())
    declared = pyproject["project"]["entry-points"]["pyocci.migrations"]
    assert declared == {"sim": "pyocci.backends.sim.migrations"}


def test_alembic_needs_no_ini_file(database):
    config = database.alembic_config()
    assert config.config_file_name is None
    assert config.get_main_option("script_location") == "pyocci.store:migrations"
    assert config.get_version_locations_list() == [
        branch.version_location for branch in database.migrations
    ]


@pytest.mark.anyio
async def test_run_stays_on_the_loop_for_sqlite_and_uses_a_thread_for_postgresql(database):
    caller = threading.get_ident()
    ran_on = await database.run(threading.get_ident)
    if database.is_sqlite:
        assert ran_on == caller
    else:
        assert ran_on != caller
    assert await database.run(lambda a, b: a + b, 2, 3) == 5


def test_lock_is_an_advisory_lock_on_postgresql(database):
    with database.transaction() as connection:
        database.lock(connection, "sim:pool:public")
        if database.is_postgresql:
            held = connection.exec_driver_sql(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
            ).scalar()
            assert held == 1
    if database.is_postgresql:
        with database.reading() as connection:
            released = connection.exec_driver_sql(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
            ).scalar()
            assert released == 0


_CHILD = """
import os, signal, sys
from pyocci.store import Database
from sqlalchemy import text
database = Database(sys.argv[1])
database.upgrade()
with database.transaction() as connection:
    connection.execute(text(
        "INSERT INTO sim_usage (tenant_id, computes, cores, memory, storage, networks) "
        "VALUES ('survivor', 1, 2, 3, 4, 5)"
    ))
print("committed", flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_committed_write_survives_the_process_being_killed(tmp_path):
    url = f"sqlite:///{tmp_path / 'killed.sqlite3'}"
    child = subprocess.run(
        [sys.executable, "-c", _CHILD, url], capture_output=True, text=True, timeout=60
    )
    assert child.stdout.strip() == "committed"
    assert child.returncode == -9
    database = Database(url)
    with database.reading() as connection:
        row = connection.exec_driver_sql(
            "SELECT computes, networks FROM sim_usage WHERE tenant_id = 'survivor'"
        ).one()
    assert tuple(row) == (1, 5)
    database.dispose()


def test_upgrade_waits_for_another_process_migrating_longer_than_requests_wait(database_url):
    # The holder stands for another worker in the middle of a migration: it holds the
    # migration lock (SQLite: the write lock) well past the upgrader's busy timeout.
    holder = Database(database_url)
    upgrader = Database(database_url, busy_timeout_ms=100)
    events: list[str] = []
    locked = threading.Event()

    def hold() -> None:
        with holder.transaction() as connection:
            holder.lock(connection, MIGRATION_LOCK)
            connection.exec_driver_sql("CREATE TABLE migrated_first (x INTEGER)")
            locked.set()
            time.sleep(1)  # what a migration takes; not asserted on
            events.append("holder commits")

    thread = threading.Thread(target=hold)
    thread.start()
    try:
        assert locked.wait(timeout=30)
        upgrader.upgrade()
        events.append("upgraded")
    finally:
        thread.join(timeout=30)
        holder.dispose()
    try:
        assert events == ["holder commits", "upgraded"]
        assert upgrader.current_revision() == upgrader.head_revision()
        assert "migrated_first" in sa.inspect(upgrader.engine).get_table_names()
    finally:
        upgrader.dispose()


def test_one_data_version_read_serves_every_request_that_had_arrived(tmp_path):
    database = Database(f"sqlite:///{tmp_path / 'store.sqlite3'}")
    elsewhere = Database(database.url)
    try:
        database.upgrade()
        database.data_version()
        asked: list[str] = []
        database._watcher.connection.set_trace_callback(asked.append)
        arrived = time.monotonic()
        READS_SINCE.set(arrived)
        first = database.data_version()
        assert database.data_version() == first  # the same request: asked once
        assert len(asked) == 1
        with elsewhere.transaction() as connection:
            connection.exec_driver_sql(
                "INSERT INTO occi_change_counts (topic, count) VALUES ('test', 0)"
            )
        # A request that arrived before the first read shares it; one that arrived after
        # the commit reads again, and sees it.
        assert database.data_version() == first and len(asked) == 1
        READS_SINCE.set(time.monotonic())
        assert database.data_version() != first and len(asked) == 2
    finally:
        READS_SINCE.set(None)
        database.dispose()
        elsewhere.dispose()
