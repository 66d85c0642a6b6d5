"""Alembic migrations of the store (run by `Database.upgrade`; no alembic.ini needed)."""
