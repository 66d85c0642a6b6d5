"""PostgreSQL: every change to user mixins and their members is announced to listeners.

A statement trigger calls ``pg_notify('pyocci_changes', '')``; PostgreSQL
delivers it when the transaction commits, to every connection listening on
the channel, in every occi-server process on every host. A process keeps
rendered entities only until it hears of a change (see
`pyocci.store.changes`). Backends with tables of their own add triggers of
their own, on the same channel, in their branches.

SQLite needs nothing: its ``data_version`` tells a reader of any change.

Revision ID: 0004_change_notices
Revises: 0003_usage
Create Date: 2026-12-07 09:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0004_change_notices"
down_revision: str | None = "0003_usage"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Spelled out here rather than imported: a revision must keep creating what it
# created when it was written.
CHANNEL = "pyocci_changes"
FUNCTION = "pyocci_changed"
TABLES = ("occi_user_mixins", "occi_mixin_members")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        f"CREATE OR REPLACE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN PERFORM pg_notify('{CHANNEL}', ''); RETURN NULL; END $$"
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
