"""The database behind the store: one engine per URL, SQLite tuned for a server, migrations.

The schema has a branch of migrations per owner: the store's own, and one
per installed backend that keeps tables of its own (`pyocci.store.schema`);
`Database.upgrade` brings them all to their heads.

SQLite (the default, a file in the user's data directory) runs in WAL mode
with foreign keys enforced, a busy timeout so concurrent workers wait
rather than fail, and SQLAlchemy in charge of ``BEGIN``: write transactions
start with ``BEGIN IMMEDIATE`` so a read-then-write transaction (check a
quota, then insert) holds the write lock from its first statement and can
never be invalidated half-way. PostgreSQL (``postgresql+psycopg://...``)
is used as is; writers serialise per tenant with row locks (see the sim
backend) and on shared pools with `Database.lock`.

Whatever the database, every statement's parameters are checked first for
values one of them could not keep (`pyocci.store.values`), and the driver
errors of a full disk, a read-only or unreachable database become store
errors, logged once per incident (`pyocci.store.faults`).
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import anyio.to_thread
import orjson
import platformdirs
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from anyio import CapacityLimiter
from sqlalchemy.engine import URL, Connection, Engine, make_url

from pyocci.store.checkpoints import BACKSTOP_PAGES, Checkpointer
from pyocci.store.errors import StoreBusyError
from pyocci.store.faults import Incidents, mark_write, translate, watch_faults, wrote
from pyocci.store.freshness import READS_SINCE
from pyocci.store.prepared import Changed, Prepared
from pyocci.store.schema import STORE, Migrations, installed
from pyocci.store.together import WritesTogether
from pyocci.store.topics import ENTITIES
from pyocci.store.values import guard_values

if TYPE_CHECKING:
    from pyocci.store.changes import ChangeNotices

T = TypeVar("T")

#: Where the Alembic environment lives, as a package resource (the revisions: see
#: `pyocci.store.schema`).
MIGRATIONS = "pyocci.store:migrations"

#: SQLite ``synchronous`` values. In WAL mode NORMAL makes a committed
#: transaction survive a crash of the process (the WAL is written at commit;
#: only the fsync waits for the next checkpoint) but not of the machine; FULL
#: also survives power loss at the cost of an fsync per commit.
SQLITE_SYNCHRONOUS = ("OFF", "NORMAL", "FULL", "EXTRA")
DEFAULT_SQLITE_SYNCHRONOUS = "NORMAL"
DEFAULT_BUSY_TIMEOUT_MS = 5000

# Execution option marking a connection whose transactions write (BEGIN IMMEDIATE).
_WRITE_OPTION = "pyocci_write"

#: How long `Database.upgrade` waits for another process's migration to finish.
MIGRATION_WAIT_SECONDS = 600
#: The name of the lock migrations hold (see `Database.lock`).
MIGRATION_LOCK = "pyocci:store:migrations"


def default_database_url() -> str:
    """A SQLite file in the user's data directory (created if missing)."""
    directory = Path(platformdirs.user_data_dir("pyocci"))
    directory.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{directory / 'pyocci.sqlite3'}"


def _json_text(value: Any) -> str:
    """The text of a JSON column's value: orjson's (a fraction of the json module's
    time, on every write of an entity), or the json module's for what orjson refuses
    (integers beyond 64 bits, keys that are not strings). Values no database keeps
    (NaN, lone surrogates) are refused before this (`pyocci.store.values`)."""
    try:
        return orjson.dumps(value).decode()
    except (orjson.JSONEncodeError, TypeError):
        return json.dumps(value)


def _use_wal(cursor: sqlite3.Cursor, patience: float) -> None:
    """Put the database in WAL mode (kept in the file: a no-op once done).

    Processes opening a new database at the same moment all try to switch it;
    SQLite refuses all but one at once, without waiting (its busy handler is not
    asked), so the others try again, for up to `patience` seconds.
    """
    deadline = time.monotonic() + patience
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() >= deadline:
                raise
            time.sleep(0.01)


#: How long connecting to PostgreSQL may take, unless the URL says (libpq's
#: ``connect_timeout``).
CONNECT_TIMEOUT_SECONDS = 5


class Database:
    """An engine for one database URL, with transactions, locks and migrations.

    SQLite's ``synchronous`` is NORMAL unless `sqlite_synchronous` (or a
    ``?synchronous=`` query parameter of the URL) says otherwise: committed
    writes survive the process being killed; FULL also survives power loss.

    Store calls are blocking; from async code go through `run`, which keeps
    SQLite on the event loop (a local file answers in microseconds, less
    than a thread hop costs) and sends PostgreSQL calls to a thread.

    `migrations` are the backends' branches of the schema `upgrade` migrates
    besides the store's own: every installed backend's unless given (see
    `pyocci.store.schema`).
    """

    def __init__(
        self,
        url: str | URL | None = None,
        *,
        sqlite_synchronous: str = DEFAULT_SQLITE_SYNCHRONOUS,
        busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS,
        pool_size: int = 10,
        echo: bool = False,
        migrations: Sequence[Migrations] | None = None,
    ) -> None:
        self.url: URL = make_url(url if url is not None else default_database_url())
        # ``sqlite:///file?synchronous=FULL`` lets a configuration file choose.
        if "synchronous" in self.url.query:
            sqlite_synchronous = str(self.url.query["synchronous"])
            self.url = self.url.difference_update_query(["synchronous"])
        synchronous = sqlite_synchronous.upper()
        if synchronous not in SQLITE_SYNCHRONOUS:
            raise ValueError(
                f"sqlite_synchronous must be one of {', '.join(SQLITE_SYNCHRONOUS)}; "
                f"got {sqlite_synchronous!r}"
            )
        self.sqlite_synchronous = synchronous
        self.busy_timeout_ms = busy_timeout_ms
        self._migrations = (
            None
            if migrations is None
            else (STORE, *(branch for branch in migrations if branch != STORE))
        )
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        self.is_postgresql = self.url.get_backend_name() == "postgresql"
        # A file SQLite database is checkpointed by a thread, not by its commits.
        self._checkpointer = (
            Checkpointer(self.url.database or "", busy_timeout_ms=int(self.busy_timeout_ms))
            if self._watchable()
            else None
        )
        if self.is_sqlite:
            self.engine: Engine = self._sqlite_engine(echo)
        else:
            self.engine = sa.create_engine(
                self.url,
                echo=echo,
                pool_size=pool_size,
                max_overflow=pool_size,
                pool_pre_ping=True,
                json_serializer=_json_text,
                # libpq would otherwise wait on an unreachable host as long as TCP does
                # (minutes); the URL's own connect_timeout wins.
                connect_args={}
                if "connect_timeout" in self.url.query
                else {"connect_timeout": CONNECT_TIMEOUT_SECONDS},
            )
        guard_values(self.engine)
        self.incidents = Incidents(self.url.render_as_string(hide_password=True))
        watch_faults(self.engine, self.incidents)
        # More threads than pooled connections would only queue in the pool.
        self._limiter = CapacityLimiter(pool_size)
        self._writer = self.engine.execution_options(**{_WRITE_OPTION: True})
        self._watcher: sqlite3.Cursor | None = None
        self._change_notices: ChangeNotices | None = None
        # SQLite: the last data version read, and when it was asked.
        self._watched: tuple[float, int] = (-math.inf, 0)
        # SQLite: each topic's count, as of a data version.
        self._counted: dict[str, tuple[int, int | None]] = {}
        #: Write transactions committed through this object: an in-memory database's
        #: data version (no other process can reach it).
        self._committed = 0
        self._together = WritesTogether(
            self.transaction, lambda connection, sql: self._on_driver(connection, sql, ())
        )
        # SQLite: each thread keeps its writing and its reading connection checked out
        # between transactions (see `_kept`); every one made is listed to be closed.
        self._kept_here = threading.local()
        self._kept_all: list[Connection] = []
        self._kept_lock = threading.Lock()
        self._kept_pid = os.getpid()

    def __repr__(self) -> str:
        return f"Database({self.url.render_as_string(hide_password=True)!r})"

    @property
    def migrations(self) -> tuple[Migrations, ...]:
        """The branches of the schema `upgrade` migrates: the store's, then the backends'."""
        if self._migrations is None:
            # Looked up when first needed: reading the installed entry points takes
            # milliseconds, and most databases made never migrate.
            self._migrations = installed()
        return self._migrations

    @property
    def checkpointer(self) -> Checkpointer | None:
        """The thread checkpointing a SQLite file's write-ahead log (None elsewhere)."""
        return self._checkpointer

    @property
    def dialect(self) -> str:
        """The SQLAlchemy dialect name: ``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    # --- engines -----------------------------------------------------------------------

    def _sqlite_engine(self, echo: bool) -> Engine:
        database = self.url.database
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(self.url, echo=echo, json_serializer=_json_text)
        synchronous = self.sqlite_synchronous
        busy_timeout = int(self.busy_timeout_ms)

        @sa.event.listens_for(engine, "connect")
        def _configure(dbapi_connection: Any, _record: Any) -> None:
            # Take BEGIN away from the sqlite3 module (it would skip it before
            # SELECTs); `_begin` below emits it.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            try:
                cursor.execute(f"PRAGMA busy_timeout={busy_timeout}")
                _use_wal(cursor, busy_timeout / 1000)
                cursor.execute("PRAGMA foreign_keys=ON")
                cursor.execute(f"PRAGMA synchronous={synchronous}")
                if self._checkpointer is not None:
                    # The thread checkpoints; a commit does only if it falls far behind.
                    cursor.execute(f"PRAGMA wal_autocheckpoint={BACKSTOP_PAGES}")
            finally:
                cursor.close()

        @sa.event.listens_for(engine, "begin")
        def _begin(connection: Connection) -> None:
            writes = connection.get_execution_options().get(_WRITE_OPTION, False)
            # On the driver: a third of the cost of a whole SQLAlchemy execution.
            self._on_driver(connection, "BEGIN IMMEDIATE" if writes else "BEGIN", ())

        return engine

    # --- transactions ----------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A write transaction, committed when the block ends, rolled back on error.

        On SQLite it holds the write lock from the start (``BEGIN IMMEDIATE``).
        """
        with self._begun(writes=True) as connection:
            wrote(connection)  # forget what an earlier transaction on it did
            yield connection
            changed = wrote(connection)
        self._committed += 1
        if self._checkpointer is not None:
            self._checkpointer.committed()
        self.incidents.succeeded(wrote=changed)

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """A read-only transaction: one consistent snapshot, no write lock."""
        with self._begun(writes=False) as connection:
            yield connection
        self.incidents.succeeded(wrote=False)

    @contextmanager
    def _begun(self, *, writes: bool) -> Iterator[Connection]:
        """A transaction on a connection: on SQLite, the thread's kept connection (its
        writing one for `writes`); elsewhere, one from the pool for the transaction."""
        if not self.is_sqlite:
            with (self._writer if writes else self.engine).begin() as connection:
                yield connection
            return
        connection = self._kept(writes)
        try:
            with connection.begin():
                yield connection
        except BaseException:
            # A COMMIT that fails (a deferred constraint, say) leaves SQLite's transaction
            # open, and the kept connection could begin no other: end it here.
            driver = connection.connection.driver_connection
            if isinstance(driver, sqlite3.Connection) and driver.in_transaction:
                driver.rollback()
            raise

    def kept_connections(self) -> list[Any]:
        """The SQLite driver connections kept between transactions (by every thread so
        far), for tools that trace what runs on them."""
        with self._kept_lock:
            kept = list(self._kept_all)
        return [c.connection.driver_connection for c in kept if not c.closed]

    def _kept(self, writes: bool) -> Connection:
        """This thread's SQLite connection for writing (or reading), made on first use and
        kept checked out: a transaction then costs SQLite's BEGIN and COMMIT, not the
        pool's checkout, reset and return around them (several times SQLite's own time).
        A connection SQLAlchemy invalidated (a lost file, say) reconnects on next use."""
        if os.getpid() != self._kept_pid:
            # A forked process must not share its parent's SQLite connections: it
            # forgets them (unclosed: closing would end the parent's) and makes its own.
            with self._kept_lock:
                self._kept_all, self._kept_here = [], threading.local()
                self._kept_pid = os.getpid()
        slot = "writer" if writes else "reader"
        connection: Connection | None = getattr(self._kept_here, slot, None)
        if connection is None or connection.closed:
            connection = (self._writer if writes else self.engine).connect()
            setattr(self._kept_here, slot, connection)
            with self._kept_lock:
                self._kept_all.append(connection)
        return connection

    # --- prepared statements ------------------------------------------------------------

    def fetch(
        self, connection: Connection, prepared: Prepared, parameters: Mapping[str, Any]
    ) -> Sequence[Sequence[Any]]:
        """The rows of a prepared SELECT, in its column order, within the transaction
        `connection` is in (see `pyocci.store.prepared`)."""
        if not self.is_sqlite:
            return connection.execute(prepared.statement, parameters).all()
        return self._prepared(connection, prepared, parameters).fetchall()

    def change(
        self, connection: Connection, prepared: Prepared, parameters: Mapping[str, Any]
    ) -> Changed:
        """Run a prepared INSERT, UPDATE or DELETE within the transaction `connection`
        is in; how many rows it changed, and the key of the row an INSERT added."""
        if not self.is_sqlite:
            result = connection.execute(prepared.statement, parameters)
            inserted = result.inserted_primary_key[0] if prepared.statement.is_insert else None
            return Changed(result.rowcount, inserted)
        cursor = self._prepared(connection, prepared, parameters)
        return Changed(cursor.rowcount, cursor.lastrowid if prepared.statement.is_insert else None)

    def _prepared(
        self, connection: Connection, prepared: Prepared, parameters: Mapping[str, Any]
    ) -> sqlite3.Cursor:
        if not connection.in_transaction():
            # Without SQLAlchemy's autobegin, the statement would run in autocommit.
            raise RuntimeError("prepared statements run within Database.transaction or reading")
        compiled = prepared.compiled(connection.dialect, tuple(parameters))
        cursor = self._on_driver(connection, compiled.sql, compiled.values(parameters))
        if compiled.is_dml:
            mark_write(connection, self.incidents, cursor.rowcount)
        return cursor

    def _on_driver(self, connection: Connection, sql: str, values: Sequence[Any]) -> sqlite3.Cursor:
        """Execute on SQLite's own connection; its errors become what the engine's
        events make of them (store errors, else SQLAlchemy's exception classes)."""
        driver = connection.connection.driver_connection
        assert isinstance(driver, sqlite3.Connection)
        try:
            return driver.execute(sql, values)
        except sqlite3.Error as error:
            translated = translate(error, sqlite3, self.incidents)
            if translated is None:
                translated = sa.exc.DBAPIError.instance(sql, values, error, sqlite3.Error)
            raise translated from error

    def lock(self, connection: Connection, name: str) -> None:
        """Serialise writers on `name` until the transaction ends (a shared address pool).

        PostgreSQL takes a transaction-scoped advisory lock; SQLite needs
        nothing, its write transactions are already exclusive.
        """
        if self.is_postgresql:
            digest = hashlib.blake2b(name.encode(), digest_size=8).digest()
            key = int.from_bytes(digest, "big", signed=True)
            connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})

    def ping(self) -> None:
        """Ask the database the cheapest question (``SELECT 1``); its failure is raised as
        the store error it is (blocking: call it through `run`)."""
        with self.reading() as connection:
            connection.exec_driver_sql("SELECT 1").scalar()

    def data_version(self, topic: str | None = None) -> Hashable | None:
        """A value that changes whenever any connection, of this process or another,
        commits a change (of `topic`, ``entities`` or ``catalog``: see
        `pyocci.store.changes`; of anything by default), so readers can keep what they
        read until it does; None when the database cannot tell (SQLite named by a
        ``file:`` URI; PostgreSQL while no connection listens or a request could not
        catch up): keep nothing then. It never waits on another process.

        SQLite: ``PRAGMA data_version``, asked on a connection of its own that never
        writes (every write of the store goes through the engine's connections, so
        every committed change moves the number); for the catalogue, the count its
        triggers keep, read again only when that number moved. PostgreSQL: the change
        notices this process heard.
        """
        if self.is_postgresql:
            return self._notices().version(topic)
        watcher = self._watcher
        if watcher is None:
            if not self._watchable():
                # In memory, only this object's transactions write; a file named by a
                # URI may be shared with other processes, and cannot tell.
                return ("committed", self._committed) if self._in_memory() else None
            connection = sqlite3.connect(
                self.url.database or "", isolation_level=None, check_same_thread=False
            )
            # One cursor, reused: half the cost of a new one per call.
            watcher = self._watcher = connection.cursor()
        since = READS_SINCE.get()
        watched_at, version = self._watched
        if since is None or since > watched_at:
            # Asked after the request arrived, the answer serves it (and every request that
            # had arrived by then: see pyocci.store.freshness).
            watched_at = time.monotonic()
            watcher.execute("PRAGMA data_version")
            version = watcher.fetchone()[0]
            self._watched = (watched_at, version)
        if topic is None or topic == ENTITIES:
            return version
        seen, count = self._counted.get(topic, (None, None))
        if seen != version:
            # Read after the version: a commit in between moves it again, and the next
            # call reads again; an older count is never kept under a newer version.
            watcher.execute("SELECT count FROM occi_change_counts WHERE topic = ?", (topic,))
            row = watcher.fetchone()
            count = row[0] if row is not None else None
            self._counted[topic] = (version, count)
        return count

    async def catch_up(self) -> None:
        """Before a request's reads (PostgreSQL): wait, briefly and without holding up the
        event loop, until every change committed before the request began has been heard
        (see `pyocci.store.changes`). Nothing to do on SQLite."""
        since = READS_SINCE.get()
        if self.is_postgresql and since is not None:
            await self._notices().catch_up(since)

    def _notices(self) -> ChangeNotices:
        if self._change_notices is None:
            # Imported here: psycopg is installed only where PostgreSQL is used.
            from pyocci.store.changes import ChangeNotices

            self._change_notices = ChangeNotices(self.url)
        return self._change_notices

    def _in_memory(self) -> bool:
        return self.is_sqlite and self.url.database in (None, "", ":memory:")

    def _watchable(self) -> bool:
        database = self.url.database
        return (
            self.is_sqlite
            and bool(database)
            and database != ":memory:"
            and (not database.startswith("file:"))
        )

    async def write(self, function: Callable[..., T], *args: Any) -> T:
        """``function(connection, *args)`` in a write transaction, committed before this
        returns; its error rolls its writes back.

        SQLite: writes made at the same moment share one transaction, each in a savepoint
        of its own, and one commit (see `pyocci.store.together`). PostgreSQL: a
        transaction of its own, in a worker thread.
        """
        if self.is_sqlite:
            return await self._together.write(function, *args)
        return await self.run(self._written, function, *args)

    def _written(self, function: Callable[..., T], *args: Any) -> T:
        with self.transaction() as connection:
            return function(connection, *args)

    async def run(self, function: Callable[..., T], *args: Any) -> T:
        """Run a blocking store call from async code.

        SQLite: directly, on the event loop. PostgreSQL: in a worker thread,
        never more at once than the pool has connections.
        """
        if self.is_sqlite:
            return function(*args)
        return await anyio.to_thread.run_sync(
            functools.partial(function, *args), limiter=self._limiter
        )

    # --- schema ------------------------------------------------------------------------------

    def alembic_config(self) -> Config:
        """An Alembic configuration for this database and its branches, without any
        alembic.ini: the store's environment, every branch's revisions."""
        config = Config()
        config.set_main_option("script_location", MIGRATIONS)
        config.set_main_option("path_separator", "newline")
        config.set_main_option(
            "version_locations",
            "\n".join(branch.version_location for branch in self.migrations).replace("%", "%%"),
        )
        config.set_main_option(
            "sqlalchemy.url", self.url.render_as_string(hide_password=False).replace("%", "%%")
        )
        config.attributes["migrations"] = self.migrations
        return config

    def upgrade(self, revision: str = "heads") -> None:
        """Bring the schema to `revision` (every branch's newest by default); a no-op
        when it is there.

        Processes that start together (a server's workers, servers on several hosts)
        take turns: each migrates holding a database lock, PostgreSQL's advisory
        lock `MIGRATION_LOCK` or SQLite's write lock, so the first one migrates and
        the others find the schema done. Each waits up to `MIGRATION_WAIT_SECONDS`
        for the one before it (`StoreBusyError` after that).
        """
        config = self.alembic_config()
        try:
            with (
                self._writer.connect() as connection,
                self._waiting_for_migrations(connection),
                connection.begin(),
            ):
                if self.is_postgresql:
                    connection.exec_driver_sql(
                        f"SET LOCAL lock_timeout = '{MIGRATION_WAIT_SECONDS}s'"
                    )
                self.lock(connection, MIGRATION_LOCK)
                config.attributes["connection"] = connection
                command.upgrade(config, revision)
        except StoreBusyError as error:
            raise StoreBusyError(
                f"the schema could not be upgraded: the database stayed locked by another "
                f"process (a migration waits up to {MIGRATION_WAIT_SECONDS} s): {error.detail}",
                detail=error.detail,
            ) from error

    @contextmanager
    def _waiting_for_migrations(self, connection: Connection) -> Iterator[None]:
        """On SQLite, wait for the write lock as long as a migration may take (the
        busy timeout of requests is much shorter), on this connection only."""
        if not self.is_sqlite:
            yield
            return
        driver = connection.connection.driver_connection
        assert driver is not None
        driver.execute(f"PRAGMA busy_timeout={MIGRATION_WAIT_SECONDS * 1000}")
        try:
            yield
        finally:
            driver.execute(f"PRAGMA busy_timeout={int(self.busy_timeout_ms)}")

    def head_revisions(self) -> tuple[str, ...]:
        """The newest revision of each branch this version of pyocci migrates to, sorted."""
        from alembic.script import ScriptDirectory

        return tuple(sorted(ScriptDirectory.from_config(self.alembic_config()).get_heads()))

    def current_revisions(self) -> tuple[str, ...]:
        """The revision of each branch the database is at, sorted; () before the first
        upgrade."""
        from alembic.runtime.migration import MigrationContext

        with self.reading() as connection:
            return tuple(sorted(MigrationContext.configure(connection).get_current_heads()))

    def head_revision(self) -> str:
        """`head_revisions` as one string (joined by spaces), to compare with
        `current_revision`."""
        return " ".join(self.head_revisions())

    def current_revision(self) -> str | None:
        """`current_revisions` as one string (joined by spaces), or None before the first
        upgrade."""
        return " ".join(self.current_revisions()) or None

    def dispose(self) -> None:
        """Close every pooled connection (at shutdown, or in a forked worker)."""
        with self._kept_lock:
            kept, self._kept_all = self._kept_all, []
            self._kept_here = threading.local()
        for connection in kept:
            try:
                connection.close()
            except (sa.exc.SQLAlchemyError, sqlite3.Error):
                continue  # closing at shutdown: nothing is left to do with it
        self.engine.dispose()
        if self._checkpointer is not None:
            self._checkpointer.close()
        if self._watcher is not None:
            self._watcher.connection.close()
            self._watcher = None
        if self._change_notices is not None:
            self._change_notices.close()
            # A forked worker disposes of its parent's: it listens anew on first use.
            self._change_notices = None

    def close(self) -> None:
        """Release the database at shutdown (the same as `dispose`)."""
        self.dispose()
