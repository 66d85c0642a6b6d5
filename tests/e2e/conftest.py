"""Fixtures of the end-to-end tests: real ``occi-server`` processes and httpx clients.

A module-scoped server (``server``) is shared by the tests of a module that
only add state of their own; modules that need a clean or specially
configured server start their own with `start_server`. ``database_kind``
runs a module on SQLite and on PostgreSQL (a fresh database per server, on
the session's PostgreSQL cluster from ``tests/conftest.py``).

``backend_name`` runs a module (or a test) once per backend it is marked
for: ``pytestmark = pytest.mark.backends("sim", "ec2")``; unmarked tests
run on sim only. The sim runs twice, on SQLite and on PostgreSQL
(``sim-postgresql``), unless the test chooses databases itself. The ec2
backend is served from a moto EC2 server started for the module
(``moto``), reset before each server starts.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from e2e.occiclient import DEBIAN, LARGE, SMALL, UBUNTU
from e2e.server import EC2_OS_TPL, EC2_RESOURCE_TPL, Offer, RunningServer, StartServer, occi_server
from motoserver import MotoServer, moto_server, toml_settings

DATABASES = ("sqlite", "postgresql")
#: The sim backend with its store on the session's PostgreSQL cluster.
SIM_ON_POSTGRESQL = "sim-postgresql"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "e2e: end-to-end tests driving a real occi-server process over HTTP"
    )
    config.addinivalue_line(
        "markers", "backends(*names): the backends (sim, ec2) a test runs against; sim if unmarked"
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize ``backend_name`` with the backends the test is marked for."""
    if "backend_name" not in metafunc.fixturenames:
        return
    marker = metafunc.definition.get_closest_marker("backends")
    names = marker.args if marker is not None else ("sim",)
    if "database_kind" not in metafunc.fixturenames:
        # The sim keeps everything in the store: serve it from PostgreSQL as well.
        names = tuple(v for n in names for v in ((n, SIM_ON_POSTGRESQL) if n == "sim" else (n,)))
    metafunc.parametrize("backend_name", names, scope="module")


@pytest.fixture(scope="module")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    """A moto EC2 server (with the test AMIs) for the module's ec2 servers."""
    with moto_server(tmp_path_factory.mktemp("moto")) as server:
        yield server


def ec2_config(moto: MotoServer, config: str | None = None, **settings: object) -> str:
    """A configuration serving the ec2 backend on `moto`, after `config`'s other tables."""
    head = 'backend = "ec2"\n'
    return head + (config or "") + "\n" + toml_settings(moto.backend_settings(**settings))


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
def backend_config(request: pytest.FixtureRequest, backend_name: str) -> Callable[..., str | None]:
    """``backend_config(config)``: the module's configuration for its backend. For ec2,
    moto is reset (fresh state, the test AMIs again) and the backend tables added."""

    def build(config: str | None = None, **settings: object) -> str | None:
        if backend_name.startswith("sim"):
            return config
        moto = request.getfixturevalue("moto")
        moto.reset()
        return ec2_config(moto, config, **settings)

    return build


@pytest.fixture(scope="module")
def server(
    request: pytest.FixtureRequest,
    backend_name: str,
    start_server: StartServer,
    backend_config: Callable[..., str | None],
) -> Iterator[RunningServer]:
    """A server on a fresh database (SQLite, or PostgreSQL for ``sim-postgresql``; a clean
    moto for ec2), shared by the module."""
    database_url = None
    if backend_name == SIM_ON_POSTGRESQL:
        database_url = request.getfixturevalue("postgres_server").create_database()
    with start_server(config=backend_config(), database_url=database_url) as running:
        yield running


@pytest.fixture(scope="module")
def offer(request: pytest.FixtureRequest, backend_name: str, server: RunningServer) -> Offer:
    """What the module's server offers (after it started: moto's AMIs are fresh then)."""
    if backend_name.startswith("sim"):
        return Offer(image=DEBIAN, other_image=UBUNTU, small=SMALL, large=LARGE)
    images = request.getfixturevalue("moto").images
    return Offer(
        image=EC2_OS_TPL + images["debian-12"],
        other_image=EC2_OS_TPL + images["ubuntu-24.04"],
        small=EC2_RESOURCE_TPL + "t3.micro",
        large=EC2_RESOURCE_TPL + "m5.large",
        needs_cidr=True,
    )


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
