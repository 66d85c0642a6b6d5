"""Sim backend fixtures: a fresh database of each kind, a clock the test moves, backends."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sim_helpers import FakeClock

from pyocci.backends.api import Tenant
from pyocci.backends.sim import SimBackend, SimSettings
from pyocci.model import standard_model
from pyocci.store import Database


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    """A database at the newest schema (SQLite file or fresh PostgreSQL database)."""
    db = Database(database_url)
    db.upgrade()
    try:
        yield db
    finally:
        db.dispose()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_backend(database: Database, clock: FakeClock) -> Callable[..., SimBackend]:
    """``make_backend(**settings)``: a SimBackend over the test database and clock."""

    def make(settings: SimSettings | None = None, **options: Any) -> SimBackend:
        if settings is None:
            settings = SimSettings(**options)
        return SimBackend(model=standard_model(), database=database, settings=settings, clock=clock)

    return make


@pytest.fixture
def backend(make_backend: Callable[..., SimBackend]) -> SimBackend:
    return make_backend()


@pytest.fixture
def tenant() -> Tenant:
    return Tenant("alice")


@pytest.fixture
def other() -> Tenant:
    return Tenant("bob")
