"""Every table of the store, in one `MetaData` (the migrations create exactly these).

Two families:

- ``occi_*``: OCCI-only state every backend needs (user mixins and which
  entities are associated with them), per tenant.
- ``sim_*``: the simulated cloud of the ``sim`` backend (its entities, the
  addresses it handed out, the images tenants saved, quota usage).

Times are seconds since the epoch (floats): portable, and what an injected
clock returns.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# Names constraints so migrations can refer to them on every database.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)

#: JSON everywhere; JSONB on PostgreSQL so values compare by content.
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

#: An auto-incrementing key that orders rows by creation. SQLite only
#: auto-increments an INTEGER PRIMARY KEY (its rowid), which is 64-bit anyway.
SEQUENCE = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# --- OCCI-only state ---------------------------------------------------------------

user_mixins = sa.Table(
    "occi_user_mixins",
    metadata,
    sa.Column("seq", SEQUENCE, primary_key=True, autoincrement=True),
    sa.Column("tenant_id", sa.String(), nullable=False),
    sa.Column("mixin_id", sa.String(), nullable=False),
    sa.Column("scheme", sa.String(), nullable=False),
    sa.Column("term", sa.String(), nullable=False),
    sa.Column("title", sa.String(), nullable=True),
    sa.Column("location", sa.String(), nullable=False),
    sa.Column("depends", JSON, nullable=False),
    sa.Column("applies", JSON, nullable=False),
    sa.Column("created_at", sa.Float(), nullable=False),
    sa.UniqueConstraint("tenant_id", "mixin_id"),
    sa.UniqueConstraint("tenant_id", "location"),
)

mixin_members = sa.Table(
    "occi_mixin_members",
    metadata,
    # Association order is the order members are listed in.
    sa.Column("seq", SEQUENCE, primary_key=True, autoincrement=True),
    sa.Column("tenant_id", sa.String(), nullable=False),
    sa.Column("mixin_id", sa.String(), nullable=False),
    sa.Column("location", sa.String(), nullable=False),
    sa.ForeignKeyConstraint(
        ["tenant_id", "mixin_id"],
        ["occi_user_mixins.tenant_id", "occi_user_mixins.mixin_id"],
        ondelete="CASCADE",
    ),
    sa.UniqueConstraint("tenant_id", "mixin_id", "location"),
    sa.Index(None, "tenant_id", "location"),
)

# --- the simulated cloud ----------------------------------------------------------------

sim_entities = sa.Table(
    "sim_entities",
    metadata,
    sa.Column("seq", SEQUENCE, primary_key=True, autoincrement=True),
    sa.Column("tenant_id", sa.String(), nullable=False),
    sa.Column("entity_id", sa.String(), nullable=False),
    sa.Column("kind", sa.String(), nullable=False),
    # Provider mixin identifiers, in association order.
    sa.Column("mixins", JSON, nullable=False),
    # The attribute map minus what has a column: id, state, source, target.
    sa.Column("attributes", JSON, nullable=False),
    # Life cycle: `state` is what is shown; while a simulated transition runs
    # it is `waiting` and `target_state` is reached at `ready_at`.
    sa.Column("state", sa.String(), nullable=True),
    sa.Column("target_state", sa.String(), nullable=True),
    sa.Column("ready_at", sa.Float(), nullable=True),
    # Links: their ends. A link goes with its source; its target cannot be
    # deleted while it exists. Shared networks have no row (target_seq NULL).
    sa.Column(
        "source_seq",
        SEQUENCE,
        sa.ForeignKey("sim_entities.seq", ondelete="CASCADE"),
        nullable=True,
    ),
    sa.Column("target_seq", SEQUENCE, sa.ForeignKey("sim_entities.seq"), nullable=True),
    sa.Column("source", sa.String(), nullable=True),
    sa.Column("target", sa.String(), nullable=True),
    # Sizes copied out of the attributes for quota accounting.
    sa.Column("cores", sa.Integer(), nullable=True),
    sa.Column("memory", sa.Float(), nullable=True),
    sa.Column("storage_size", sa.Float(), nullable=True),
    sa.Column("created_at", sa.Float(), nullable=False),
    sa.Column("updated_at", sa.Float(), nullable=False),
    sa.UniqueConstraint("tenant_id", "entity_id"),
    # With entity_id, a location-only listing is a covering-index scan.
    sa.Index(None, "tenant_id", "kind", "seq", "entity_id"),
    sa.Index(None, "source_seq"),
    sa.Index(None, "target_seq"),
)

sim_addresses = sa.Table(
    "sim_addresses",
    metadata,
    sa.Column("seq", SEQUENCE, primary_key=True, autoincrement=True),
    # `public`, `private` (the shared networks), `network:<seq>` (a tenant's
    # network) or `mac`; an address is unique in its pool.
    sa.Column("pool", sa.String(), nullable=False),
    sa.Column("address", sa.String(), nullable=False),
    # Offset from the start of the pool, for finding the first free address in SQL.
    sa.Column("ordinal", sa.BigInteger(), nullable=False),
    sa.Column("tenant_id", sa.String(), nullable=False),
    # The link or reservation that holds the address; it is freed with it.
    sa.Column(
        "holder_seq",
        SEQUENCE,
        sa.ForeignKey("sim_entities.seq", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.UniqueConstraint("pool", "address"),
    sa.Index(None, "pool", "ordinal"),
    sa.Index(None, "holder_seq"),
    sa.Index(None, "tenant_id", "pool"),
)

sim_images = sa.Table(
    "sim_images",
    metadata,
    sa.Column("seq", SEQUENCE, primary_key=True, autoincrement=True),
    sa.Column("tenant_id", sa.String(), nullable=False),
    sa.Column("scheme", sa.String(), nullable=False),
    sa.Column("term", sa.String(), nullable=False),
    sa.Column("title", sa.String(), nullable=True),
    sa.Column("location", sa.String(), nullable=False),
    # Where the image came from; kept as text, the compute may be gone.
    sa.Column("source", sa.String(), nullable=False),
    sa.Column("base_image", sa.String(), nullable=True),
    sa.Column("created_at", sa.Float(), nullable=False),
    sa.UniqueConstraint("tenant_id", "term"),
)

sim_usage = sa.Table(
    "sim_usage",
    metadata,
    # One row per tenant: what its resources add up to (quotas), and the row
    # a writer locks on PostgreSQL to serialise with the tenant's other writers.
    sa.Column("tenant_id", sa.String(), primary_key=True),
    sa.Column("computes", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("cores", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("memory", sa.Float(), nullable=False, server_default="0"),
    sa.Column("storage", sa.Float(), nullable=False, server_default="0"),
    sa.Column("networks", sa.Integer(), nullable=False, server_default="0"),
)
