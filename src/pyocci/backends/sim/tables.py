"""The sim's tables: the simulated cloud, in a `MetaData` of its own.

Its entities (links included), the addresses it handed out, the images
tenants saved and each tenant's quota usage. The revisions in
`pyocci.backends.sim.migrations` create exactly these, on a branch of the
store's migrations of its own (``sim``); the store's tables are not here.

Its own `MetaData` rather than the store's: the store's then describes just
what the store's migrations create, and a backend adds tables without
touching the store (a backend in another distribution could not). The sim's
tables refer only to each other, so nothing needs the two in one `MetaData`;
they share the store's naming convention and column types, so constraints and
indexes keep the names the migrations gave them.

Times are seconds since the epoch (floats): portable, and what an injected
clock returns.
"""

from __future__ import annotations

import sqlalchemy as sa

from pyocci.store.tables import JSON, NAMING_CONVENTION, SEQUENCE

metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)

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
    # Only links have ends: the NULLs of every resource stay out (sim_0003).
    *(
        sa.Index(
            None,
            column,
            sqlite_where=sa.text(f"{column} IS NOT NULL"),
            postgresql_where=sa.text(f"{column} IS NOT NULL"),
        )
        for column in ("source_seq", "target_seq")
    ),
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
