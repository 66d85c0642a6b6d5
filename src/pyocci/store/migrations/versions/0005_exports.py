"""Image exports: each export's source, target, state and progress, durable across restarts.

On PostgreSQL the table announces its changes as the others an entity read
shows do (topic ``entities``, with the function ``0004_change_notices``
made), so every process sees an export's progress at once.

Revision ID: 0005_exports
Revises: 0004_change_notices
Create Date: 2026-12-07 09:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_exports"
down_revision: str | None = "0004_change_notices"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Spelled out here rather than imported: a revision must keep creating what it
# created when it was written, whatever `pyocci.store.tables` becomes.
SEQUENCE = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
NOTIFY = "pyocci_notify_change"


def upgrade() -> None:
    op.create_table(
        "occi_exports",
        sa.Column("seq", SEQUENCE, autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.String(), nullable=False),
        sa.Column("export_id", sa.String(), nullable=False),
        sa.Column("tenant_name", sa.String(), nullable=True),
        sa.Column("title", sa.String(), nullable=True),
        sa.Column("summary", sa.String(), nullable=True),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("target", sa.String(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("message", sa.String(), nullable=True),
        sa.Column("bytes_done", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=True),
        sa.Column("disk_format", sa.String(), nullable=True),
        sa.Column("checksum", sa.String(), nullable=True),
        sa.Column("url", sa.String(), nullable=True),
        sa.Column("owner", sa.String(), nullable=True),
        sa.Column("lease_until", sa.Float(), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_occi_exports")),
        sa.UniqueConstraint(
            "tenant_id", "export_id", name=op.f("uq_occi_exports_tenant_id_export_id")
        ),
    )
    op.create_index(op.f("ix_occi_exports_state"), "occi_exports", ["state"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE TRIGGER occi_exports_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
            f"ON occi_exports FOR EACH STATEMENT EXECUTE FUNCTION {NOTIFY}('entities')"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS occi_exports_notify ON occi_exports")
    op.drop_index(op.f("ix_occi_exports_state"), table_name="occi_exports")
    op.drop_table("occi_exports")
