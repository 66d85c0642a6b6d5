"""Alembic migrations of the store (run by `Database.upgrade`; no alembic.ini needed).

``env.py`` is the environment of every branch of the schema (see
`pyocci.store.schema`); ``versions/`` holds the store's own chain, which
creates `metadata`'s tables.
"""

from pyocci.store.tables import metadata

__all__ = ["metadata"]
