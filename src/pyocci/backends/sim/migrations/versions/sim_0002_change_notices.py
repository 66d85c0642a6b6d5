"""PostgreSQL: every change to the simulated cloud is announced to listeners.

As the store's ``0004_change_notices`` does for its tables, on the channel
`pyocci.store.changes` listens to: the sim's entities, addresses and saved
images call a trigger function of the sim's own (the branches stay
independent: either can be taken down alone), so that every occi-server
process hears of a change made through any other. Quota usage changes only
with entities, and no read shows it: it announces nothing. The topic is
``entities`` (saved images reach other processes' catalogues within their
time to live, as on SQLite).

Revision ID: sim_0002_change_notices
Revises: sim_0001_tables
Create Date: 2026-12-07 09:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "sim_0002_change_notices"
down_revision: str | None = "sim_0001_tables"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Spelled out here rather than imported: a revision must keep creating what it
# created when it was written.
CHANNEL = "pyocci_changes"
FUNCTION = "pyocci_sim_changed"
TABLES = ("sim_entities", "sim_addresses", "sim_images")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        f"CREATE OR REPLACE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN PERFORM pg_notify('{CHANNEL}', 'entities'); RETURN NULL; END $$"
    )
    for table in TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
            f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION {FUNCTION}()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_changed ON {table}")
    op.execute(f"DROP FUNCTION IF EXISTS {FUNCTION}()")
