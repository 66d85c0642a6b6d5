"""Accounting: each compute's life (created, deleted) and its intervals of state and size.

Revision ID: 0003_usage
Revises: 0002_listing_index
Create Date: 2026-12-07 06:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_usage"
down_revision: str | None = "0002_listing_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Spelled out here rather than imported: a revision must keep creating what it
# created when it was written, whatever `pyocci.store.tables` becomes.
SEQUENCE = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "occi_usage_computes",
        sa.Column("seq", SEQUENCE, autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.String(), nullable=False),
        sa.Column("entity_id", sa.String(), nullable=False),
        sa.Column("tenant_name", sa.String(), nullable=True),
        sa.Column("machine_name", sa.String(), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("deleted_at", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_occi_usage_computes")),
        sa.UniqueConstraint(
            "tenant_id", "entity_id", name=op.f("uq_occi_usage_computes_tenant_id_entity_id")
        ),
    )
    op.create_index(
        op.f("ix_occi_usage_computes_created_at"), "occi_usage_computes", ["created_at"]
    )
    op.create_table(
        "occi_usage_intervals",
        sa.Column("seq", SEQUENCE, autoincrement=True, nullable=False),
        sa.Column("compute_seq", SEQUENCE, nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("cores", sa.Integer(), nullable=True),
        sa.Column("memory", sa.Float(), nullable=True),
        sa.Column("disk", sa.Float(), nullable=True),
        sa.Column("image", sa.String(), nullable=True),
        sa.Column("started_at", sa.Float(), nullable=False),
        sa.Column("ended_at", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["compute_seq"],
            ["occi_usage_computes.seq"],
            name=op.f("fk_occi_usage_intervals_compute_seq_occi_usage_computes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_occi_usage_intervals")),
    )
    op.create_index(
        op.f("ix_occi_usage_intervals_compute_seq_started_at"),
        "occi_usage_intervals",
        ["compute_seq", "started_at"],
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_occi_usage_intervals_compute_seq_started_at"), table_name="occi_usage_intervals"
    )
    op.drop_table("occi_usage_intervals")
    op.drop_index(op.f("ix_occi_usage_computes_created_at"), table_name="occi_usage_computes")
    op.drop_table("occi_usage_computes")
