"""The sim's Alembic revisions, oldest first (``sim_0001_tables`` creates every table)."""
