"""Listings read locations from the index alone: entity_id joins the kind index.

As pyocci shipped it before each backend had a branch of the schema of its
own: the tests build a database made then with it (`test_store_schema`).

A location-only listing (text/plain, text/occi, uri-list) reads the id of
every entity of a kind in creation order; with the id in the index that is
a covering-index scan, no table row is read.

Revision ID: 0002_listing_index
Revises: 0001_initial
Create Date: 2026-12-06 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0002_listing_index"
down_revision: str | None = "0001_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        op.f("ix_sim_entities_tenant_id_kind_seq_entity_id"),
        "sim_entities",
        ["tenant_id", "kind", "seq", "entity_id"],
    )
    # The new index serves every query the old one did.
    op.drop_index(op.f("ix_sim_entities_tenant_id_kind_seq"), table_name="sim_entities")


def downgrade() -> None:
    op.create_index(
        op.f("ix_sim_entities_tenant_id_kind_seq"), "sim_entities", ["tenant_id", "kind", "seq"]
    )
    op.drop_index(op.f("ix_sim_entities_tenant_id_kind_seq_entity_id"), table_name="sim_entities")
