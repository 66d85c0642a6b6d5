"""Fixtures shared by the whole suite: the anyio backend and real databases.

``postgres_server`` starts one PostgreSQL cluster per session (see
`tests/postgres.py`); ``postgres_url`` is a database on it. ``database_url``
is parametrised over a SQLite file and a fresh PostgreSQL database, so a
test that takes it runs on both. Without PostgreSQL the tests fail with
the reason, unless ``PYOCCI_SKIP_POSTGRES=1`` says to skip them.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from pki import Pki, make_pki
from postgres import SKIP_VARIABLE, PostgresServer, PostgresUnavailableError
from put_receiver import PutReceiver, put_receiver
from pyocci.store.database import Database


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """A test CA with a server and a client certificate, one per module (tests/pki.py)."""
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def receiver(tmp_path_factory: pytest.TempPathFactory, pki: Pki) -> Iterator[PutReceiver]:
    """A loopback HTTPS server taking PUTs with the module's CA (tests/put_receiver.py)."""
    workdir = tmp_path_factory.mktemp("receiver")
    with put_receiver(workdir, pki.server_certificate, pki.server_key, pki.ca) as running:
        yield running


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL server for the session, stopped and deleted at the end."""
    if os.environ.get(SKIP_VARIABLE) == "1":
        pytest.skip(f"{SKIP_VARIABLE}=1: PostgreSQL tests skipped")
    try:
        server = PostgresServer.find_or_install()
        server.start()
    except PostgresUnavailableError as error:
        pytest.fail(f"PostgreSQL unavailable: {error} (set {SKIP_VARIABLE}=1 to skip)")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def postgres_url(postgres_server: PostgresServer) -> str:
    """``postgresql+psycopg://...`` of a database created for the session."""
    return postgres_server.create_database()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    """An empty database of each kind: a SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.sqlite3'}"
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    url = server.create_database()
    try:
        yield url
    finally:
        server.drop_database(url.rsplit("/", 1)[1])


@pytest.fixture
def statements() -> Callable[[Database], contextlib.AbstractContextManager[list[str]]]:
    """``with statements(database) as executed:`` collects the SQL the database runs.

    On SQLite from SQLite's own trace of its connections (with the parameters in the
    text, BEGIN and COMMIT included): the ones it keeps between transactions, and any
    it connects or takes from its pool meanwhile, since the store runs its hot
    statements on the driver; elsewhere from SQLAlchemy's executions.
    """

    @contextlib.contextmanager
    def log(database: Database) -> Iterator[list[str]]:
        executed: list[str] = []
        traced: list[Any] = []
        engine = database.engine
        if database.is_sqlite:

            def trace(driver: Any, *_record: Any) -> None:
                driver.set_trace_callback(executed.append)
                traced.append(driver)

            for driver in database.kept_connections():
                trace(driver)
            hooks = [(engine, "connect", trace), (engine, "checkout", trace)]
        else:

            def record(_conn, _cursor, statement, _parameters, _context, _many) -> None:
                executed.append(statement)

            hooks = [(engine, "before_cursor_execute", record)]
        for target, name, hook in hooks:
            sa.event.listen(target, name, hook)
        try:
            yield executed
        finally:
            for target, name, hook in hooks:
                sa.event.remove(target, name, hook)
            for driver in traced:
                driver.set_trace_callback(None)

    return log


# --- the third-party clients: which renderings run where ----------------------------------------

#: Run rOCCI-cli in every rendering on every backend (a release check), not only on sim.
ALL_RENDERINGS_VARIABLE = "PYOCCI_ALL_RENDERINGS"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """rOCCI-cli runs every rendering on the sim, and its default rendering elsewhere.

    The renderings are the server's, the same code whatever the backend, and a
    backend's behaviour shows in any rendering; each rOCCI-cli run takes minutes (a
    Ruby process per command). The runs left out are deselected, not skipped, and
    the matrix shows them as not run; ``PYOCCI_ALL_RENDERINGS=1`` runs them all.
    """
    if os.environ.get(ALL_RENDERINGS_VARIABLE) == "1":
        return
    kept, left = [], []
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        backend = params.get("backend_name", "openstack" if "openstack" in item.nodeid else "")
        elsewhere = backend != "sim" and params.get("rendering", "default") != "default"
        if getattr(item, "originalname", "") == "test_rocci_cli" and elsewhere:
            left.append(item)
        else:
            kept.append(item)
    if left:
        config.hook.pytest_deselected(items=left)
        items[:] = kept


# --- the third-party clients' compatibility matrix -------------------------------------------

_SESSION_STARTED = "pyocci_session_started"


def pytest_sessionstart(session: pytest.Session) -> None:
    setattr(session.config, _SESSION_STARTED, time.time())


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """When this run drove third-party clients, end with their compatibility matrix (the
    results so far, earlier runs' cells included: CI's two stages make one matrix)."""
    cache = getattr(config, "cache", None)  # absent with -p no:cacheprovider
    if cache is None:
        return
    directory = Path(cache.mkdir("interop"))
    started = getattr(config, _SESSION_STARTED, time.time())
    if not any(path.stat().st_mtime >= started for path in directory.glob("*.json")):
        return
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
    try:
        import interop_matrix
    finally:
        sys.path.pop(0)
    terminalreporter.write_sep("=", "third-party OCCI clients: compatibility matrix")
    terminalreporter.write_line(interop_matrix.matrix(interop_matrix.load(directory)))
