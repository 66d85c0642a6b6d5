"""Store fixtures: an upgraded `Database` on each kind of database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

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
