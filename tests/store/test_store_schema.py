"""The schema's branches: the store's chain and each backend's, on fresh databases and on
databases made when one chain created every table."""

from __future__ import annotations

from importlib.metadata import EntryPoint
from typing import Any

import pytest
import sqlalchemy as sa
from store_schema import (
    HEADS,
    LEGACY_HEAD,
    LEGACY_TABLES,
    SIM_TABLES,
    STORE_TABLES,
    describe,
    expected,
    make_legacy_database,
    versions,
)

from pyocci.backends.sim.tables import sim_addresses, sim_entities, sim_images, sim_usage
from pyocci.store import Database, schema
from pyocci.store.tables import mixin_members, user_mixins

#: Every table, in the order rows can be written (and read back) in.
TABLES = (user_mixins, mixin_members, sim_entities, sim_addresses, sim_images, sim_usage)

#: What the statements of an upgrade with nothing to do may begin with.
READS = ("SELECT", "PRAGMA", "BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE", "SET")


@pytest.fixture
def url_and_dialect(database_url: str) -> tuple[str, str]:
    return database_url, "sqlite" if database_url.startswith("sqlite") else "postgresql"


def _write_rows(database: Database) -> None:
    """One row in every table, as pyocci writes them: a tagged compute on a network,
    its interface holding an address, a saved image, the tenant's usage."""
    with database.transaction() as connection:

        def add(table: sa.Table, **values: Any) -> Any:
            return connection.execute(sa.insert(table).values(**values)).inserted_primary_key[0]

        add(
            user_mixins,
            tenant_id="alice",
            mixin_id="http://example.org/tags#web",
            scheme="http://example.org/tags#",
            term="web",
            title="Web servers",
            location="/tags/web/",
            depends=[],
            applies=["http://schemas.ogf.org/occi/infrastructure#compute"],
            created_at=1.5,
        )
        add(
            mixin_members,
            tenant_id="alice",
            mixin_id="http://example.org/tags#web",
            location="/compute/vm",
        )
        entity = {"tenant_id": "alice", "mixins": [], "created_at": 2.0, "updated_at": 3.0}
        net = add(sim_entities, **entity, entity_id="net", kind="network", attributes={})
        vm = add(
            sim_entities,
            **entity,
            entity_id="vm",
            kind="compute",
            attributes={"occi.core.title": "vm"},
            state="active",
            cores=2,
            memory=4.0,
        )
        nic = add(
            sim_entities,
            **entity,
            entity_id="nic",
            kind="networkinterface",
            attributes={},
            source_seq=vm,
            target_seq=net,
            source="/compute/vm",
            target="/network/net",
        )
        add(
            sim_addresses,
            pool=f"network:{net}",
            address="10.0.0.2",
            ordinal=2,
            tenant_id="alice",
            holder_seq=nic,
        )
        add(
            sim_images,
            tenant_id="alice",
            scheme="http://schemas.pyocci.org/sim/os_tpl/saved#",
            term="keep-me",
            location="/mixin/os_tpl/keep-me/",
            source="/compute/vm",
            created_at=4.0,
        )
        add(sim_usage, tenant_id="alice", computes=1, cores=2, memory=4.0, networks=1)


def _rows(database: Database) -> dict[str, list[tuple[Any, ...]]]:
    with database.reading() as connection:
        return {
            table.name: [
                tuple(row)
                for row in connection.execute(sa.select(table).order_by(*table.primary_key.columns))
            ]
            for table in TABLES
        }


def _upgrade(url: str) -> Database:
    database = Database(url)
    database.upgrade()
    return database


def test_the_store_and_each_installed_backend_have_a_branch():
    branches = schema.installed()
    assert branches[0] == schema.STORE
    assert schema.Migrations("sim", "pyocci.backends.sim.migrations") in branches
    assert schema.STORE.metadata() is not None
    assert set(schema.STORE.metadata().tables) == STORE_TABLES


def test_a_fresh_database_gets_the_schema_pyocci_always_made(url_and_dialect):
    url, dialect = url_and_dialect
    database = _upgrade(url)
    try:
        assert describe(database.engine) == expected(dialect)
        assert database.current_revisions() == database.head_revisions() == HEADS
        assert versions(database) == list(HEADS)
    finally:
        database.dispose()


def test_upgrading_an_upgraded_database_does_nothing(url_and_dialect, statements):
    url, dialect = url_and_dialect
    database = _upgrade(url)
    try:
        _write_rows(database)
        rows = _rows(database)
        with statements(database) as executed:
            database.upgrade()
        assert [s for s in executed if not s.lstrip().upper().startswith(READS)] == []
        assert describe(database.engine) == expected(dialect)
        assert versions(database) == list(HEADS)
        assert _rows(database) == rows
    finally:
        database.dispose()


def test_a_database_made_by_the_single_chain_keeps_its_rows(url_and_dialect):
    url, dialect = url_and_dialect
    make_legacy_database(url)
    legacy = Database(url)
    try:
        assert versions(legacy) == [LEGACY_HEAD]
        # the split changes no table
        assert describe(legacy.engine) == expected(dialect, LEGACY_TABLES)
        _write_rows(legacy)
        rows = _rows(legacy)
    finally:
        legacy.dispose()

    database = _upgrade(url)
    try:
        assert versions(database) == list(HEADS)
        assert describe(database.engine) == expected(dialect)
        assert _rows(database) == rows
        database.upgrade()
        assert versions(database) == list(HEADS)
        assert _rows(database) == rows
        # The keys go on from where they were.
        with database.transaction() as connection:
            seq = connection.execute(
                sa.insert(sim_entities).values(
                    tenant_id="alice",
                    entity_id="later",
                    kind="storage",
                    mixins=[],
                    attributes={},
                    created_at=5.0,
                    updated_at=5.0,
                )
            ).inserted_primary_key[0]
        assert seq > max(row[0] for row in rows["sim_entities"])
    finally:
        database.dispose()


def test_a_database_stopped_at_the_first_revision_gets_the_listing_index(url_and_dialect):
    url, dialect = url_and_dialect
    make_legacy_database(url, "0001_initial")
    legacy = Database(url)
    try:
        indexes = {i["name"] for i in sa.inspect(legacy.engine).get_indexes("sim_entities")}
        assert "ix_sim_entities_tenant_id_kind_seq" in indexes
        _write_rows(legacy)
        rows = _rows(legacy)
    finally:
        legacy.dispose()

    database = _upgrade(url)
    try:
        assert describe(database.engine) == expected(dialect)
        assert versions(database) == list(HEADS)
        assert _rows(database) == rows
    finally:
        database.dispose()


def test_the_stores_chain_creates_only_the_stores_tables(url_and_dialect):
    url, dialect = url_and_dialect
    store_only = Database(url, migrations=())
    try:
        store_only.upgrade()
        assert describe(store_only.engine) == expected(dialect, STORE_TABLES)
        assert (
            store_only.current_revisions()
            == store_only.head_revisions()
            == ("0007_counts_on_sqlite_only",)
        )
    finally:
        store_only.dispose()
    # A backend installed later gets its tables at the next upgrade.
    database = _upgrade(url)
    try:
        assert describe(database.engine) == expected(dialect)
        assert set(describe(database.engine)) == STORE_TABLES | SIM_TABLES
        assert versions(database) == list(HEADS)
    finally:
        database.dispose()


def test_alembic_is_told_every_branchs_revisions():
    database = Database("sqlite://")
    try:
        config = database.alembic_config()
        assert config.get_version_locations_list() == [
            "pyocci.store.migrations:versions",
            "pyocci.backends.sim.migrations:versions",
        ]
        assert config.attributes["migrations"] == database.migrations
    finally:
        database.dispose()


def test_a_label_declared_twice_or_taken_from_the_store_is_refused(monkeypatch):
    def declare(*points: tuple[str, str]):
        found = [EntryPoint(name, value, schema.GROUP) for name, value in points]
        monkeypatch.setattr(schema, "entry_points", lambda group: found)

    declare(("sim", "pyocci.backends.sim.migrations"), ("sim", "other_sim.migrations"))
    with pytest.raises(ValueError, match=r"'sim' is declared for several packages.*uninstall"):
        schema.installed()
    declare(("store", "mine.migrations"))
    with pytest.raises(ValueError, match=r"'store' .* takes the store's own label"):
        schema.installed()
    declare(("zeta", "z.migrations"), ("alpha", "a.migrations"))
    assert [branch.label for branch in schema.installed()] == ["store", "alpha", "zeta"]
