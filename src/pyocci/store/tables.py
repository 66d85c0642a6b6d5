"""The store's own tables, in one `MetaData` (its migrations create exactly these).

``occi_*``: OCCI-only state every backend needs (user mixins and which
entities are associated with them), per tenant. A backend with state of its
own keeps it in tables of its own, with a `MetaData` and a branch of
migrations of its own (see `pyocci.store.schema`); it builds them with the
naming convention and the column types below, so every table of the database
is named and typed alike.

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

# --- accounting: what each compute was, and for how long -----------------------------

usage_computes = sa.Table(
    "occi_usage_computes",
    metadata,
    # One row per compute the server saw created (or first saw changed), kept after
    # it is deleted: an export for a past period still finds it.
    sa.Column("seq", SEQUENCE, primary_key=True, autoincrement=True),
    sa.Column("tenant_id", sa.String(), nullable=False),
    sa.Column("entity_id", sa.String(), nullable=False),
    sa.Column("tenant_name", sa.String(), nullable=True),
    sa.Column("machine_name", sa.String(), nullable=True),
    sa.Column("created_at", sa.Float(), nullable=False),
    sa.Column("deleted_at", sa.Float(), nullable=True),
    sa.UniqueConstraint("tenant_id", "entity_id"),
    sa.Index(None, "created_at"),
)

usage_intervals = sa.Table(
    "occi_usage_intervals",
    metadata,
    # A stretch of time a compute spent in one state with one size and image; the
    # open one (ended_at NULL) is what it is now.
    sa.Column("seq", SEQUENCE, primary_key=True, autoincrement=True),
    sa.Column("compute_seq", SEQUENCE, nullable=False),
    sa.Column("state", sa.String(), nullable=False),
    sa.Column("cores", sa.Integer(), nullable=True),
    sa.Column("memory", sa.Float(), nullable=True),
    sa.Column("disk", sa.Float(), nullable=True),
    sa.Column("image", sa.String(), nullable=True),
    sa.Column("started_at", sa.Float(), nullable=False),
    sa.Column("ended_at", sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(["compute_seq"], ["occi_usage_computes.seq"], ondelete="CASCADE"),
    sa.Index(None, "compute_seq", "started_at"),
)

# --- changes: what other processes need to know changed -----------------------------

change_counts = sa.Table(
    "occi_change_counts",
    metadata,
    # How many times each topic changed, bumped by triggers in the writing transaction
    # (see the migration 0004_change_notices and `pyocci.store.changes`): ``catalog``,
    # the user mixins' definitions. Kept on SQLite only (0007_counts_on_sqlite_only):
    # PostgreSQL processes hear change notices instead.
    sa.Column("topic", sa.String(), primary_key=True),
    sa.Column("count", sa.BigInteger(), nullable=False, server_default="0"),
)

# --- image exports: the durable record the runner works from --------------------------

exports = sa.Table(
    "occi_exports",
    metadata,
    sa.Column("seq", SEQUENCE, primary_key=True, autoincrement=True),
    sa.Column("tenant_id", sa.String(), nullable=False),
    sa.Column("export_id", sa.String(), nullable=False),
    sa.Column("tenant_name", sa.String(), nullable=True),
    sa.Column("title", sa.String(), nullable=True),
    sa.Column("summary", sa.String(), nullable=True),
    sa.Column("source", sa.String(), nullable=False),
    # The whole URL, a pre-signed URL's query included: the runner needs it after a
    # restart. Never rendered or logged whole (see pyocci.service.exports).
    sa.Column("target", sa.String(), nullable=False),
    sa.Column("state", sa.String(), nullable=False),
    sa.Column("message", sa.String(), nullable=True),
    sa.Column("bytes_done", sa.BigInteger(), nullable=False, server_default="0"),
    sa.Column("size", sa.BigInteger(), nullable=True),
    sa.Column("disk_format", sa.String(), nullable=True),
    sa.Column("checksum", sa.String(), nullable=True),
    sa.Column("url", sa.String(), nullable=True),
    # Which runner works on it, and until when its claim holds unless renewed: a
    # runner that died (a restart, a killed worker) leaves a claim that runs out.
    sa.Column("owner", sa.String(), nullable=True),
    sa.Column("lease_until", sa.Float(), nullable=True),
    sa.Column("created_at", sa.Float(), nullable=False),
    sa.Column("updated_at", sa.Float(), nullable=False),
    # Disk format conversion (0006): the format asked for (None: the cloud's), the
    # cloud's, the stage a transfer is at and its percent while reading or
    # converting, and whether the target confirmed the checksum.
    sa.Column("export_format", sa.String(), nullable=True),
    sa.Column("source_format", sa.String(), nullable=True),
    sa.Column("stage", sa.String(), nullable=True),
    sa.Column("stage_percent", sa.Integer(), nullable=True),
    sa.Column("checksum_verified", sa.Boolean(), nullable=True),
    sa.UniqueConstraint("tenant_id", "export_id"),
    sa.Index(None, "state"),
)
