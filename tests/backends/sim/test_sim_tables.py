"""The sim's tables and its branch of the store's migrations."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory
from sim_helpers import COMPUTE, NETWORK, FakeClock, compute, network, nic

from pyocci.backends.sim import SimBackend
from pyocci.backends.sim import tables as sim_tables
from pyocci.backends.sim.migrations import metadata as migrated_metadata
from pyocci.model import standard_model
from pyocci.store import Database, metadata, schema

SIM_TABLES = {"sim_entities", "sim_addresses", "sim_images", "sim_usage"}

#: The single chain of migrations pyocci shipped before backends had branches.
LEGACY_REVISIONS = Path(__file__).resolve().parents[2] / "store" / "legacy_revisions"


def test_the_sims_tables_are_its_own():
    assert set(sim_tables.metadata.tables) == SIM_TABLES
    assert migrated_metadata is sim_tables.metadata
    assert not SIM_TABLES & set(metadata.tables)
    # Named like the store's, so the migrations' constraint names hold.
    assert sim_tables.metadata.naming_convention == metadata.naming_convention


def test_the_sim_has_a_branch_that_depends_on_the_store():
    assert schema.Migrations("sim", "pyocci.backends.sim.migrations") in schema.installed()
    database = Database("sqlite://")
    try:
        scripts = ScriptDirectory.from_config(database.alembic_config())
    finally:
        database.dispose()
    branch = [script for script in scripts.walk_revisions() if "sim" in script.branch_labels]
    (first,) = [script for script in branch if script.down_revision is None]
    assert first.revision == "sim_0001_tables"
    assert first.branch_labels == {"sim"}
    assert scripts.get_revision("sim@head") in branch
    assert first.dependencies == "0001_initial"
    versions = Path(sim_tables.__file__).parent / "migrations" / "versions"
    assert {Path(script.path).parent for script in branch} == {versions}


def test_taking_the_sims_branch_down_leaves_the_stores_tables(database_url):
    database = Database(database_url)
    database.upgrade()
    try:
        config = database.alembic_config()
        with database.transaction() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "sim@base")
        tables = set(sa.inspect(database.engine).get_table_names())
        assert not tables & SIM_TABLES
        assert set(metadata.tables) <= tables
        # The store's own branch stays at its head.
        heads = database.head_revisions()
        store_heads = tuple(head for head in heads if not head.startswith("sim_"))
        assert database.current_revisions() == store_heads
        database.upgrade()
        assert set(sa.inspect(database.engine).get_table_names()) >= SIM_TABLES
    finally:
        database.dispose()


def _make_legacy_database(url: str) -> None:
    """The database at `url` as pyocci made it with one chain for every table."""
    database = Database(url, migrations=())
    config = database.alembic_config()
    config.set_main_option("version_locations", str(LEGACY_REVISIONS).replace("%", "%%"))
    try:
        with database.transaction() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "heads")
    finally:
        database.dispose()


@pytest.mark.anyio
async def test_a_sim_on_a_database_made_by_the_single_chain_finds_everything(database_url, tenant):
    clock = FakeClock()
    _make_legacy_database(database_url)
    legacy = Database(database_url)
    try:
        before = SimBackend(model=standard_model(), database=legacy, clock=clock)
        net = await before.create_entity(tenant, network(title="net"))
        vm = await before.create_entity(
            tenant, compute(title="vm", links=[nic(None, net.location)])
        )
    finally:
        legacy.dispose()

    database = Database(database_url)
    try:
        database.upgrade()
        after = SimBackend(model=standard_model(), database=database, clock=clock)
        assert await after.get_entity(tenant, COMPUTE, vm.id) == vm
        assert await after.get_entity(tenant, NETWORK, net.id) == net
        # Allocation goes on where it was: the next interface gets another address.
        other = await after.create_entity(tenant, compute(links=[nic(None, net.location)]))
        address = "occi.networkinterface.address"
        assert other.links[0].attributes[address] != vm.links[0].attributes[address]
    finally:
        database.dispose()


LINK_END_INDEXES = {
    "source_seq": "ix_sim_entities_source_seq",
    "target_seq": "ix_sim_entities_target_seq",
}


def test_the_indexes_of_link_ends_hold_links_only(database_url):
    database = Database(database_url)
    database.upgrade()
    try:
        with database.reading() as connection:
            for column, index in LINK_END_INDEXES.items():
                if database.is_sqlite:
                    definition = connection.exec_driver_sql(
                        "SELECT sql FROM sqlite_master WHERE name = ?", (index,)
                    ).scalar_one()
                    assert definition.endswith(f"WHERE {column} IS NOT NULL")
                    # The links' reads still find their rows through it: one entity's,
                    # a batch's, and the check whether a link targets an IP reservation.
                    for query in (
                        f"SELECT seq FROM sim_entities WHERE {column} = ?",
                        f"SELECT seq FROM sim_entities WHERE {column} IN (?, ?)",
                        f"SELECT e.seq FROM sim_entities AS e WHERE EXISTS "
                        f"(SELECT 1 FROM sim_entities AS l WHERE l.{column} = e.seq)",
                    ):
                        plan = connection.exec_driver_sql(
                            f"EXPLAIN QUERY PLAN {query}", (1, 2)[: query.count("?")]
                        ).all()
                        assert any(f"INDEX {index} ({column}=?)" in row[-1] for row in plan), (
                            query,
                            plan,
                        )
                else:
                    definition = connection.execute(
                        sa.text("SELECT indexdef FROM pg_indexes WHERE indexname = :name"),
                        {"name": index},
                    ).scalar_one()
                    assert definition.endswith(f"WHERE ({column} IS NOT NULL)")
    finally:
        database.dispose()
