"""Fixtures of the end-to-end tests: real ``occi-server`` processes and httpx clients.

A module-scoped server (``server``) is shared by the tests of a module that
only add state of their own; modules that need a clean or specially
configured server start their own with `start_server`. ``database_kind``
runs a module on SQLite and on PostgreSQL (a fresh database per server, on
the session's PostgreSQL cluster from ``tests/conftest.py``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from e2e.server import RunningServer, StartServer, occi_server

DATABASES = ("sqlite", "postgresql")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "e2e: end-to-end tests driving a real occi-server process over HTTP"
    )


@pytest.fixture(scope="module")
def start_server(tmp_path_factory: pytest.TempPathFactory) -> StartServer:
    """``with start_server(config=..., database_url=..., workdir=...) as server:``.

    Without `workdir`, each server gets a new directory (and so, by default,
    a new SQLite database).
    """

    def start(
        *,
        workdir: Path | None = None,
        database_url: str | None = None,
        config: str | None = None,
        environ: dict[str, str] | None = None,
    ) -> contextlib.AbstractContextManager[RunningServer]:
        directory = workdir or tmp_path_factory.mktemp("occi-server")
        return occi_server(directory, database_url=database_url, config=config, environ=environ)

    return start


@pytest.fixture(scope="module")
def server(start_server: StartServer) -> Iterator[RunningServer]:
    """A server on a fresh SQLite database, shared by the module."""
    with start_server() as running:
        yield running


@pytest.fixture(scope="module")
def http(server: RunningServer) -> Iterator[httpx.Client]:
    """An httpx client of the module's server."""
    with server.client() as client:
        yield client


@pytest.fixture(scope="module", params=DATABASES)
def database_kind(request: pytest.FixtureRequest) -> str:
    """Run the module once on SQLite, once on PostgreSQL."""
    return request.param


@pytest.fixture(scope="module")
def new_database_url(request: pytest.FixtureRequest, database_kind: str) -> Callable[[Path], str]:
    """``new_database_url(workdir)``: a fresh, empty database of the module's kind (a SQLite
    file in `workdir`, or a new database on the session's PostgreSQL cluster)."""

    def create(workdir: Path) -> str:
        if database_kind == "sqlite":
            return f"sqlite:///{workdir / 'occi.db'}"
        return request.getfixturevalue("postgres_server").create_database()

    return create
