"""Create the store: user mixins and their members, and the simulated cloud.

As pyocci shipped it before each backend had a branch of the schema of its
own: the tests build a database made then with it (`test_store_schema`).

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
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Spelled out here rather than imported: a revision must keep creating what it
# created when it was written, whatever `pyocci.store.tables` becomes.
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

    op.create_table(
        "sim_entities",
        _sequence_key(),
        sa.Column("tenant_id", sa.String(), nullable=False),
        sa.Column("entity_id", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("mixins", JSON, nullable=False),
        sa.Column("attributes", JSON, nullable=False),
        sa.Column("state", sa.String(), nullable=True),
        sa.Column("target_state", sa.String(), nullable=True),
        sa.Column("ready_at", sa.Float(), nullable=True),
        sa.Column("source_seq", SEQUENCE, nullable=True),
        sa.Column("target_seq", SEQUENCE, nullable=True),
        sa.Column("source", sa.String(), nullable=True),
        sa.Column("target", sa.String(), nullable=True),
        sa.Column("cores", sa.Integer(), nullable=True),
        sa.Column("memory", sa.Float(), nullable=True),
        sa.Column("storage_size", sa.Float(), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_seq"],
            ["sim_entities.seq"],
            name=op.f("fk_sim_entities_source_seq_sim_entities"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["target_seq"],
            ["sim_entities.seq"],
            name=op.f("fk_sim_entities_target_seq_sim_entities"),
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_sim_entities")),
        sa.UniqueConstraint(
            "tenant_id", "entity_id", name=op.f("uq_sim_entities_tenant_id_entity_id")
        ),
    )
    op.create_index(op.f("ix_sim_entities_source_seq"), "sim_entities", ["source_seq"])
    op.create_index(op.f("ix_sim_entities_target_seq"), "sim_entities", ["target_seq"])
    op.create_index(
        op.f("ix_sim_entities_tenant_id_kind_seq"), "sim_entities", ["tenant_id", "kind", "seq"]
    )

    op.create_table(
        "sim_addresses",
        _sequence_key(),
        sa.Column("pool", sa.String(), nullable=False),
        sa.Column("address", sa.String(), nullable=False),
        sa.Column("ordinal", sa.BigInteger(), nullable=False),
        sa.Column("tenant_id", sa.String(), nullable=False),
        sa.Column("holder_seq", SEQUENCE, nullable=False),
        sa.ForeignKeyConstraint(
            ["holder_seq"],
            ["sim_entities.seq"],
            name=op.f("fk_sim_addresses_holder_seq_sim_entities"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_sim_addresses")),
        sa.UniqueConstraint("pool", "address", name=op.f("uq_sim_addresses_pool_address")),
    )
    op.create_index(op.f("ix_sim_addresses_holder_seq"), "sim_addresses", ["holder_seq"])
    op.create_index(op.f("ix_sim_addresses_pool_ordinal"), "sim_addresses", ["pool", "ordinal"])
    op.create_index(op.f("ix_sim_addresses_tenant_id_pool"), "sim_addresses", ["tenant_id", "pool"])

    op.create_table(
        "sim_images",
        _sequence_key(),
        sa.Column("tenant_id", sa.String(), nullable=False),
        sa.Column("scheme", sa.String(), nullable=False),
        sa.Column("term", sa.String(), nullable=False),
        sa.Column("title", sa.String(), nullable=True),
        sa.Column("location", sa.String(), nullable=False),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("base_image", sa.String(), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_sim_images")),
        sa.UniqueConstraint("tenant_id", "term", name=op.f("uq_sim_images_tenant_id_term")),
    )

    op.create_table(
        "sim_usage",
        sa.Column("tenant_id", sa.String(), nullable=False),
        sa.Column("computes", sa.Integer(), server_default="0", nullable=False),
        sa.Column("cores", sa.Integer(), server_default="0", nullable=False),
        sa.Column("memory", sa.Float(), server_default="0", nullable=False),
        sa.Column("storage", sa.Float(), server_default="0", nullable=False),
        sa.Column("networks", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_sim_usage")),
    )


def downgrade() -> None:
    op.drop_table("sim_usage")
    op.drop_table("sim_images")
    op.drop_index(op.f("ix_sim_addresses_tenant_id_pool"), table_name="sim_addresses")
    op.drop_index(op.f("ix_sim_addresses_pool_ordinal"), table_name="sim_addresses")
    op.drop_index(op.f("ix_sim_addresses_holder_seq"), table_name="sim_addresses")
    op.drop_table("sim_addresses")
    op.drop_index(op.f("ix_sim_entities_tenant_id_kind_seq"), table_name="sim_entities")
    op.drop_index(op.f("ix_sim_entities_target_seq"), table_name="sim_entities")
    op.drop_index(op.f("ix_sim_entities_source_seq"), table_name="sim_entities")
    op.drop_table("sim_entities")
    op.drop_index(op.f("ix_occi_mixin_members_tenant_id_location"), table_name="occi_mixin_members")
    op.drop_table("occi_mixin_members")
    op.drop_table("occi_user_mixins")
