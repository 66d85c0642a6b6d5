"""The schema a database has, the schema pyocci has always made, and databases made before
each backend had a branch of the schema of its own.

`SCHEMA` is what the single chain of migrations (``0001_initial``,
``0002_listing_index``) left in a fresh database, read back with SQLAlchemy's
inspector before the sim's tables moved to a branch of their own: the split
must not change it. Column types are named by what they are for (``key`` is
the auto-incrementing sequence, 64-bit, that SQLite keeps as INTEGER), so one
description serves SQLite and PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command

from pyocci.store import Database

#: The single chain's revisions as pyocci shipped them.
LEGACY_REVISIONS = Path(__file__).parent / "legacy_revisions"
#: Its last revision: what ``alembic_version`` holds in a database it made.
LEGACY_HEAD = "0002_listing_index"

#: The heads of a database brought up to date: the store's chain and the sim's branch.
HEADS = ("0007_counts_on_sqlite_only", "sim_0003_link_end_indexes")

#: The tables added after the single chain: accounting (``0003_usage``), the change
#: counts (``0004_change_notices``, kept on SQLite only by ``0007_counts_on_sqlite_only``),
#: the image exports (``0005_exports``, ``0006_export_formats``).
USAGE_TABLES = {"occi_usage_computes", "occi_usage_intervals"}
LATER_TABLES = {*USAGE_TABLES, "occi_change_counts", "occi_exports"}
STORE_TABLES = {"occi_user_mixins", "occi_mixin_members", *LATER_TABLES}
SIM_TABLES = {"sim_entities", "sim_addresses", "sim_images", "sim_usage"}
#: The tables a database made by the single chain has.
LEGACY_TABLES = (STORE_TABLES - LATER_TABLES) | SIM_TABLES

_TYPES = {
    "sqlite": {
        "key": "INTEGER",
        "int": "INTEGER",
        "bigint": "BIGINT",
        "text": "VARCHAR",
        "float": "FLOAT",
        "json": "JSON",
        "bool": "BOOLEAN",
    },
    "postgresql": {
        "key": "BIGINT",
        "int": "INTEGER",
        "bigint": "BIGINT",
        "text": "VARCHAR",
        "float": "DOUBLE PRECISION",
        "json": "JSONB",
        "bool": "BOOLEAN",
    },
}

# Each table: columns (name, type, nullable[, server default]), its primary key,
# unique constraints and indexes (name, columns[, unique]), foreign keys (name,
# columns, referred table and columns, ON DELETE).
SCHEMA: dict[str, dict[str, Any]] = {
    "occi_mixin_members": {
        "columns": [
            ("seq", "key", False),
            ("tenant_id", "text", False),
            ("mixin_id", "text", False),
            ("location", "text", False),
        ],
        "primary_key": ("pk_occi_mixin_members", ["seq"]),
        "unique": [
            (
                "uq_occi_mixin_members_tenant_id_mixin_id_location",
                ["tenant_id", "mixin_id", "location"],
            )
        ],
        "indexes": [("ix_occi_mixin_members_tenant_id_location", ["tenant_id", "location"], False)],
        "foreign_keys": [
            (
                "fk_occi_mixin_members_tenant_id_mixin_id_occi_user_mixins",
                ["tenant_id", "mixin_id"],
                "occi_user_mixins",
                ["tenant_id", "mixin_id"],
                "CASCADE",
            )
        ],
    },
    "occi_user_mixins": {
        "columns": [
            ("seq", "key", False),
            ("tenant_id", "text", False),
            ("mixin_id", "text", False),
            ("scheme", "text", False),
            ("term", "text", False),
            ("title", "text", True),
            ("location", "text", False),
            ("depends", "json", False),
            ("applies", "json", False),
            ("created_at", "float", False),
        ],
        "primary_key": ("pk_occi_user_mixins", ["seq"]),
        "unique": [
            ("uq_occi_user_mixins_tenant_id_location", ["tenant_id", "location"]),
            ("uq_occi_user_mixins_tenant_id_mixin_id", ["tenant_id", "mixin_id"]),
        ],
        "indexes": [],
        "foreign_keys": [],
    },
    "occi_change_counts": {
        "columns": [("topic", "text", False), ("count", "bigint", False, "0")],
        "primary_key": ("pk_occi_change_counts", ["topic"]),
        "unique": [],
        "indexes": [],
        "foreign_keys": [],
    },
    "occi_exports": {
        "columns": [
            ("seq", "key", False),
            ("tenant_id", "text", False),
            ("export_id", "text", False),
            ("tenant_name", "text", True),
            ("title", "text", True),
            ("summary", "text", True),
            ("source", "text", False),
            ("target", "text", False),
            ("state", "text", False),
            ("message", "text", True),
            ("bytes_done", "bigint", False, "0"),
            ("size", "bigint", True),
            ("disk_format", "text", True),
            ("checksum", "text", True),
            ("url", "text", True),
            ("owner", "text", True),
            ("lease_until", "float", True),
            ("created_at", "float", False),
            ("updated_at", "float", False),
            ("export_format", "text", True),
            ("source_format", "text", True),
            ("stage", "text", True),
            ("stage_percent", "int", True),
            ("checksum_verified", "bool", True),
        ],
        "primary_key": ("pk_occi_exports", ["seq"]),
        "unique": [("uq_occi_exports_tenant_id_export_id", ["tenant_id", "export_id"])],
        "indexes": [("ix_occi_exports_state", ["state"], False)],
        "foreign_keys": [],
    },
    "occi_usage_computes": {
        "columns": [
            ("seq", "key", False),
            ("tenant_id", "text", False),
            ("entity_id", "text", False),
            ("tenant_name", "text", True),
            ("machine_name", "text", True),
            ("created_at", "float", False),
            ("deleted_at", "float", True),
        ],
        "primary_key": ("pk_occi_usage_computes", ["seq"]),
        "unique": [
            ("uq_occi_usage_computes_tenant_id_entity_id", ["tenant_id", "entity_id"]),
        ],
        "indexes": [("ix_occi_usage_computes_created_at", ["created_at"], False)],
        "foreign_keys": [],
    },
    "occi_usage_intervals": {
        "columns": [
            ("seq", "key", False),
            ("compute_seq", "key", False),
            ("state", "text", False),
            ("cores", "int", True),
            ("memory", "float", True),
            ("disk", "float", True),
            ("image", "text", True),
            ("started_at", "float", False),
            ("ended_at", "float", True),
        ],
        "primary_key": ("pk_occi_usage_intervals", ["seq"]),
        "unique": [],
        "indexes": [
            (
                "ix_occi_usage_intervals_compute_seq_started_at",
                ["compute_seq", "started_at"],
                False,
            )
        ],
        "foreign_keys": [
            (
                "fk_occi_usage_intervals_compute_seq_occi_usage_computes",
                ["compute_seq"],
                "occi_usage_computes",
                ["seq"],
                "CASCADE",
            )
        ],
    },
    "sim_addresses": {
        "columns": [
            ("seq", "key", False),
            ("pool", "text", False),
            ("address", "text", False),
            ("ordinal", "bigint", False),
            ("tenant_id", "text", False),
            ("holder_seq", "key", False),
        ],
        "primary_key": ("pk_sim_addresses", ["seq"]),
        "unique": [("uq_sim_addresses_pool_address", ["pool", "address"])],
        "indexes": [
            ("ix_sim_addresses_holder_seq", ["holder_seq"], False),
            ("ix_sim_addresses_pool_ordinal", ["pool", "ordinal"], False),
            ("ix_sim_addresses_tenant_id_pool", ["tenant_id", "pool"], False),
        ],
        "foreign_keys": [
            (
                "fk_sim_addresses_holder_seq_sim_entities",
                ["holder_seq"],
                "sim_entities",
                ["seq"],
                "CASCADE",
            )
        ],
    },
    "sim_entities": {
        "columns": [
            ("seq", "key", False),
            ("tenant_id", "text", False),
            ("entity_id", "text", False),
            ("kind", "text", False),
            ("mixins", "json", False),
            ("attributes", "json", False),
            ("state", "text", True),
            ("target_state", "text", True),
            ("ready_at", "float", True),
            ("source_seq", "key", True),
            ("target_seq", "key", True),
            ("source", "text", True),
            ("target", "text", True),
            ("cores", "int", True),
            ("memory", "float", True),
            ("storage_size", "float", True),
            ("created_at", "float", False),
            ("updated_at", "float", False),
        ],
        "primary_key": ("pk_sim_entities", ["seq"]),
        "unique": [("uq_sim_entities_tenant_id_entity_id", ["tenant_id", "entity_id"])],
        "indexes": [
            ("ix_sim_entities_source_seq", ["source_seq"], False),
            ("ix_sim_entities_target_seq", ["target_seq"], False),
            (
                "ix_sim_entities_tenant_id_kind_seq_entity_id",
                ["tenant_id", "kind", "seq", "entity_id"],
                False,
            ),
        ],
        "foreign_keys": [
            (
                "fk_sim_entities_source_seq_sim_entities",
                ["source_seq"],
                "sim_entities",
                ["seq"],
                "CASCADE",
            ),
            (
                "fk_sim_entities_target_seq_sim_entities",
                ["target_seq"],
                "sim_entities",
                ["seq"],
                None,
            ),
        ],
    },
    "sim_images": {
        "columns": [
            ("seq", "key", False),
            ("tenant_id", "text", False),
            ("scheme", "text", False),
            ("term", "text", False),
            ("title", "text", True),
            ("location", "text", False),
            ("source", "text", False),
            ("base_image", "text", True),
            ("created_at", "float", False),
        ],
        "primary_key": ("pk_sim_images", ["seq"]),
        "unique": [("uq_sim_images_tenant_id_term", ["tenant_id", "term"])],
        "indexes": [],
        "foreign_keys": [],
    },
    "sim_usage": {
        "columns": [
            ("tenant_id", "text", False),
            ("computes", "int", False, "0"),
            ("cores", "int", False, "0"),
            ("memory", "float", False, "0"),
            ("storage", "float", False, "0"),
            ("networks", "int", False, "0"),
        ],
        "primary_key": ("pk_sim_usage", ["tenant_id"]),
        "unique": [],
        "indexes": [],
        "foreign_keys": [],
    },
}


def expected(dialect: str, tables: set[str] | None = None) -> dict[str, dict[str, Any]]:
    """`SCHEMA` as `describe` reads it on `dialect` (of `tables` only, if given)."""
    return {
        name: {**table, "columns": [_column(dialect, name, *c) for c in table["columns"]]}
        for name, table in SCHEMA.items()
        if tables is None or name in tables
    }


def _column(
    dialect: str, table: str, name: str, kind: str, nullable: bool, default: str | None = None
) -> tuple[str, str, bool, str | None]:
    if dialect == "postgresql":
        if name == "seq":
            default = f"nextval('{table}_seq_seq'::regclass)"
        elif default is not None and kind == "float":
            default = f"'{default}'::double precision"
        elif default is not None and kind == "bigint":
            default = f"'{default}'::bigint"
    elif default is not None:
        default = f"'{default}'"
    return (name, _TYPES[dialect][kind], nullable, default)


def describe(engine: sa.Engine) -> dict[str, dict[str, Any]]:
    """Every table but Alembic's, as `expected` describes them."""
    inspector = sa.inspect(engine)
    return {
        table: _describe_table(inspector, table)
        for table in sorted(inspector.get_table_names())
        if table != "alembic_version"
    }


def _describe_table(inspector: sa.Inspector, table: str) -> dict[str, Any]:
    key = inspector.get_pk_constraint(table)
    return {
        "columns": [
            (c["name"], str(c["type"]), c["nullable"], c["default"])
            for c in inspector.get_columns(table)
        ],
        "primary_key": (key["name"], key["constrained_columns"]),
        "unique": sorted(
            (u["name"], u["column_names"]) for u in inspector.get_unique_constraints(table)
        ),
        "indexes": sorted(
            (i["name"], i["column_names"], bool(i["unique"]))
            for i in inspector.get_indexes(table)
            # PostgreSQL also lists the index behind each unique constraint.
            if "duplicates_constraint" not in i
        ),
        "foreign_keys": sorted(
            (
                f["name"],
                f["constrained_columns"],
                f["referred_table"],
                f["referred_columns"],
                f["options"].get("ondelete"),
            )
            for f in inspector.get_foreign_keys(table)
        ),
    }


def versions(database: Database) -> list[str]:
    """The rows of ``alembic_version``, sorted."""
    with database.reading() as connection:
        return sorted(
            connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalars()
        )


def make_legacy_database(url: str, revision: str = LEGACY_HEAD) -> None:
    """Make the database at `url` as pyocci did with the single chain, up to `revision`."""
    database = Database(url, migrations=())
    config = database.alembic_config()
    config.set_main_option("version_locations", str(LEGACY_REVISIONS).replace("%", "%%"))
    try:
        with database.transaction() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    finally:
        database.dispose()
