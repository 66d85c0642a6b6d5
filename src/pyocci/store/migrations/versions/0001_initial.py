"""Create the store: user mixins and their members.

The first revision of the store's chain (label ``store``); a backend's
branch depends on it. Until backends had branches of their own it also
created the sim's tables: a database made then has them, and the sim's
first revision takes them over (see `pyocci.backends.sim.migrations`).

Revision ID: 0001_initial
Revises:
Create Date: 2025-01-01 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001_initial"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = ("store",)
depends_on: str | Sequence[str] | None = None

# Spelled out here rather than imported: a revision keeps creating what it
# creates, whatever `pyocci.store.tables` becomes.
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
SEQUENCE = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _sequence_key() -> sa.Column:
    return sa.Column("seq", SEQUENCE, autoincrement=True, nullable=False)


def upgrade() -> None:
    op.create_table(
        "occi_user_mixins",
        _sequence_key(),
        sa.Column("tenant_id", sa.String(), nullable=False),
        sa.Column("mixin_id", sa.String(), nullable=False),
        sa.Column("scheme", sa.String(), nullable=False),
        sa.Column("term", sa.String(), nullable=False),
        sa.Column("title", sa.String(), nullable=True),
        sa.Column("location", sa.String(), nullable=False),
        sa.Column("depends", JSON, nullable=False),
        sa.Column("applies", JSON, nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_occi_user_mixins")),
        sa.UniqueConstraint(
            "tenant_id", "location", name=op.f("uq_occi_user_mixins_tenant_id_location")
        ),
        sa.UniqueConstraint(
            "tenant_id", "mixin_id", name=op.f("uq_occi_user_mixins_tenant_id_mixin_id")
        ),
    )
    op.create_table(
        "occi_mixin_members",
        _sequence_key(),
        sa.Column("tenant_id", sa.String(), nullable=False),
        sa.Column("mixin_id", sa.String(), nullable=False),
        sa.Column("location", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "mixin_id"],
            ["occi_user_mixins.tenant_id", "occi_user_mixins.mixin_id"],
            name=op.f("fk_occi_mixin_members_tenant_id_mixin_id_occi_user_mixins"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_occi_mixin_members")),
        sa.UniqueConstraint(
            "tenant_id",
            "mixin_id",
            "location",
            name=op.f("uq_occi_mixin_members_tenant_id_mixin_id_location"),
        ),
    )
    op.create_index(
        op.f("ix_occi_mixin_members_tenant_id_location"),
        "occi_mixin_members",
        ["tenant_id", "location"],
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_occi_mixin_members_tenant_id_location"), table_name="occi_mixin_members")
    op.drop_table("occi_mixin_members")
    op.drop_table("occi_user_mixins")
