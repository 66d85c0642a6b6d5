"""Changes announced: every process hears of a change made through any other.

PostgreSQL: a statement trigger on each table an entity read shows calls
``pg_notify('pyocci_changes', <topic>)``; PostgreSQL delivers it when the
transaction commits, to every connection listening on the channel, one per
occi-server process on whatever host (see `pyocci.store.changes`). The
topic says what changed: ``entities`` (what an entity read shows: here the
members of user mixins) or ``catalog`` (the categories a tenant sees: here
the user mixins' definitions). Backends with tables of their own add
triggers of their own in their branches.

Both databases: ``occi_change_counts`` counts the changes of each topic but
``entities``, bumped by triggers in the writing transaction, so that a
process on SQLite (where ``data_version`` says only that something changed)
can tell whether its catalogue is still current with one indexed read.

Revision ID: 0004_change_notices
Revises: 0003_usage
Create Date: 2026-12-07 09:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_change_notices"
down_revision: str | None = "0003_usage"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Spelled out here rather than imported: a revision must keep creating what it
# created when it was written.
CHANNEL = "pyocci_changes"
NOTIFY = "pyocci_notify_change"
COUNT = "pyocci_count_change"
#: Each table announcing its changes, and their topic.
TOPICS = {"occi_user_mixins": "catalog", "occi_mixin_members": "entities"}
COUNTED = {"occi_user_mixins": "catalog"}


def upgrade() -> None:
    op.create_table(
        "occi_change_counts",
        sa.Column("topic", sa.String(), nullable=False),
        sa.Column("count", sa.BigInteger(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("topic", name=op.f("pk_occi_change_counts")),
    )
    op.execute("INSERT INTO occi_change_counts (topic, count) VALUES ('catalog', 0)")
    if op.get_bind().dialect.name == "postgresql":
        _postgresql_triggers()
    else:
        _sqlite_triggers()


def _postgresql_triggers() -> None:
    op.execute(
        f"CREATE OR REPLACE FUNCTION {NOTIFY}() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN PERFORM pg_notify('{CHANNEL}', TG_ARGV[0]); RETURN NULL; END $$"
    )
    op.execute(
        f"CREATE OR REPLACE FUNCTION {COUNT}() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN UPDATE occi_change_counts SET count = count + 1 WHERE topic = TG_ARGV[0]; "
        "RETURN NULL; END $$"
    )
    for table, topic in TOPICS.items():
        op.execute(
            f"CREATE TRIGGER {table}_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
            f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION {NOTIFY}('{topic}')"
        )
    for table, topic in COUNTED.items():
        op.execute(
            f"CREATE TRIGGER {table}_count AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
            f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION {COUNT}('{topic}')"
        )


def _sqlite_triggers() -> None:
    for table, topic in COUNTED.items():
        for event in ("INSERT", "UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_count_{event.lower()} AFTER {event} ON {table} "
                f"BEGIN UPDATE occi_change_counts SET count = count + 1 "
                f"WHERE topic = '{topic}'; END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in TOPICS:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_notify ON {table}")
        for table in COUNTED:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_count ON {table}")
        op.execute(f"DROP FUNCTION IF EXISTS {NOTIFY}()")
        op.execute(f"DROP FUNCTION IF EXISTS {COUNT}()")
    else:
        for table in COUNTED:
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_count_{event}")
    op.drop_table("occi_change_counts")
