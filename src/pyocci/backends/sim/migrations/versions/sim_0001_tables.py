"""Create the simulated cloud: entities, addresses, saved images, quota usage.

The first revision of the sim's branch. The store's chain created these
tables until the sim had a branch of its own, so a database made then has
them already, with its rows: there each table is kept as it is, and only
what the store's chain had not yet done is done (the listing index of
``0002_listing_index``, for a database that stopped at ``0001_initial``).
A fresh database gets the tables as the store's chain left them.

Revision ID: sim_0001_tables
Revises:
Depends on: 0001_initial
Create Date: 2026-12-07 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "sim_0001_tables"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = ("sim",)
# The store exists before any backend's tables.
depends_on: str | Sequence[str] | None = "0001_initial"

# Spelled out here rather than imported: a revision must keep creating what it
# created when it was written, whatever `pyocci.backends.sim.tables` becomes.
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
SEQUENCE = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

#: The kind index of the first schema, and the covering one that replaced it.
OLD_LISTING_INDEX = "ix_sim_entities_tenant_id_kind_seq"
LISTING_INDEX = "ix_sim_entities_tenant_id_kind_seq_entity_id"


def _sequence_key() -> sa.Column:
    return sa.Column("seq", SEQUENCE, autoincrement=True, nullable=False)


def upgrade() -> None:
    present = set(sa.inspect(op.get_bind()).get_table_names())
    if "sim_entities" in present:
        _cover_listings()
    else:
        _create_entities()
    if "sim_addresses" not in present:
        _create_addresses()
    if "sim_images" not in present:
        _create_images()
    if "sim_usage" not in present:
        _create_usage()


def downgrade() -> None:
    op.drop_table("sim_usage")
    op.drop_table("sim_images")
    op.drop_index(op.f("ix_sim_addresses_tenant_id_pool"), table_name="sim_addresses")
    op.drop_index(op.f("ix_sim_addresses_pool_ordinal"), table_name="sim_addresses")
    op.drop_index(op.f("ix_sim_addresses_holder_seq"), table_name="sim_addresses")
    op.drop_table("sim_addresses")
    op.drop_index(op.f(LISTING_INDEX), table_name="sim_entities")
    op.drop_index(op.f("ix_sim_entities_target_seq"), table_name="sim_entities")
    op.drop_index(op.f("ix_sim_entities_source_seq"), table_name="sim_entities")
    op.drop_table("sim_entities")


def _cover_listings() -> None:
    """What ``0002_listing_index`` did, where it has not been done: a location-only
    listing reads the ids from the kind index, which now holds them."""
    indexes = {index["name"] for index in sa.inspect(op.get_bind()).get_indexes("sim_entities")}
    if LISTING_INDEX not in indexes:
        op.create_index(
            op.f(LISTING_INDEX), "sim_entities", ["tenant_id", "kind", "seq", "entity_id"]
        )
    if OLD_LISTING_INDEX in indexes:
        # The new index serves every query the old one did.
        op.drop_index(op.f(OLD_LISTING_INDEX), table_name="sim_entities")


def _create_entities() -> None:
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
    op.create_index(op.f(LISTING_INDEX), "sim_entities", ["tenant_id", "kind", "seq", "entity_id"])


def _create_addresses() -> None:
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


def _create_images() -> None:
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


def _create_usage() -> None:
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
