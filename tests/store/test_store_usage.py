"""The computes' lives for accounting, on SQLite and PostgreSQL: intervals kept across
restarts, a delete ending the life, periods finding what overlapped them."""

from __future__ import annotations

import sqlalchemy as sa

from pyocci.store import Database
from pyocci.store.usage import Interval, Observation, UsageRepository

ACTIVE = Observation("active", cores=2, memory=4.0, disk=20.0, image="os#ubuntu")
STOPPED = Observation("inactive", cores=2, memory=4.0, disk=20.0, image="os#ubuntu")
BIGGER = Observation("active", cores=4, memory=8.0, disk=20.0, image="os#ubuntu")


def test_a_life_is_a_chain_of_intervals(database: Database) -> None:
    usage = UsageRepository(database)
    usage.observe("t1", "vm", ACTIVE, 100.0, tenant_name="Team", machine_name="vm.example")
    usage.observe("t1", "vm", ACTIVE, 150.0)  # the same: nothing changes
    usage.observe("t1", "vm", STOPPED, 200.0)
    usage.observe("t1", "vm", BIGGER, 300.0)
    assert usage.deleted("t1", "vm", 400.0)

    [vm] = usage.usage(0.0, 1000.0)
    assert (vm.tenant_id, vm.entity_id, vm.tenant_name, vm.machine_name) == (
        "t1",
        "vm",
        "Team",
        "vm.example",
    )
    assert (vm.created_at, vm.deleted_at) == (100.0, 400.0)
    assert vm.intervals == (
        Interval(ACTIVE, 100.0, 200.0),
        Interval(STOPPED, 200.0, 300.0),
        Interval(BIGGER, 300.0, 400.0),
    )


def test_a_deleted_compute_takes_no_more_changes(database: Database) -> None:
    usage = UsageRepository(database)
    usage.observe("t1", "vm", ACTIVE, 100.0)
    assert usage.deleted("t1", "vm", 200.0)
    assert not usage.deleted("t1", "vm", 300.0)  # deleted once
    usage.observe("t1", "vm", STOPPED, 250.0)  # a late answer
    [vm] = usage.usage(0.0, 1000.0)
    assert vm.deleted_at == 200.0
    assert vm.intervals == (Interval(ACTIVE, 100.0, 200.0),)


def test_deleting_an_unseen_compute_records_nothing(database: Database) -> None:
    usage = UsageRepository(database)
    assert not usage.deleted("t1", "never-seen", 100.0)
    assert usage.usage(0.0, 1000.0) == []


def test_a_period_finds_the_computes_alive_in_it(database: Database) -> None:
    usage = UsageRepository(database)
    usage.observe("t1", "before", ACTIVE, 10.0)
    usage.deleted("t1", "before", 90.0)
    usage.observe("t1", "across", ACTIVE, 50.0)
    usage.observe("t1", "inside", ACTIVE, 120.0)
    usage.deleted("t1", "inside", 150.0)
    usage.observe("t2", "running", ACTIVE, 130.0)
    usage.observe("t1", "after", ACTIVE, 250.0)

    found = [(u.tenant_id, u.entity_id) for u in usage.usage(100.0, 200.0)]
    assert found == [("t1", "across"), ("t1", "inside"), ("t2", "running")]
    assert usage.usage(200.0, 100.0) == []
    # Deleted exactly when the period begins: not alive in it.
    assert [u.entity_id for u in usage.usage(90.0, 95.0)] == ["across"]


def test_the_same_id_in_two_tenants_is_two_computes(database: Database) -> None:
    usage = UsageRepository(database)
    usage.observe("t1", "vm", ACTIVE, 100.0)
    usage.observe("t2", "vm", STOPPED, 100.0)
    usage.deleted("t1", "vm", 200.0)
    lives = {u.tenant_id: u for u in usage.usage(0.0, 1000.0)}
    assert lives["t1"].deleted_at == 200.0
    assert lives["t2"].deleted_at is None
    assert lives["t2"].intervals == (Interval(STOPPED, 100.0, None),)


def test_records_outlive_the_process(database_url: str) -> None:
    first = Database(database_url)
    first.upgrade()
    UsageRepository(first).observe("t1", "vm", ACTIVE, 100.0)
    first.dispose()

    second = Database(database_url)
    second.upgrade()
    try:
        usage = UsageRepository(second)
        usage.observe("t1", "vm", STOPPED, 500.0)
        [vm] = usage.usage(0.0, 1000.0)
        assert vm.intervals == (Interval(ACTIVE, 100.0, 500.0), Interval(STOPPED, 500.0, None))
    finally:
        second.dispose()


def test_a_clock_stepping_back_never_makes_an_interval_end_before_it_began(
    database: Database,
) -> None:
    usage = UsageRepository(database)
    usage.observe("t1", "vm", ACTIVE, 100.0)
    usage.observe("t1", "vm", STOPPED, 90.0)
    [vm] = usage.usage(0.0, 1000.0)
    assert vm.intervals == (Interval(ACTIVE, 100.0, 100.0), Interval(STOPPED, 100.0, None))


def test_a_period_is_read_a_page_at_a_time(database: Database) -> None:
    usage = UsageRepository(database)
    for number in range(5):
        usage.observe("t1", f"vm-{number}", ACTIVE, 100.0 + number)
    usage.deleted("t1", "vm-1", 110.0)  # gone before the period
    pages = list(usage.pages(120.0, 1000.0, page_size=2))
    assert [[u.entity_id for u in page] for page in pages] == [
        ["vm-0", "vm-2"],
        ["vm-3", "vm-4"],
    ]
    assert [u for page in pages for u in page] == usage.usage(120.0, 1000.0)


def test_a_period_reads_only_the_intervals_that_overlap_it(database: Database) -> None:
    usage = UsageRepository(database)
    usage.observe("t1", "vm", ACTIVE, 100.0)
    usage.observe("t1", "vm", STOPPED, 200.0)
    usage.observe("t1", "vm", BIGGER, 300.0)
    [vm] = usage.usage(250.0, 260.0)
    assert vm.intervals == (Interval(STOPPED, 200.0, 300.0),)


def test_the_accounting_revision_goes_down_and_up_again(database: Database) -> None:
    from alembic import command

    config = database.alembic_config()
    with database.transaction() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0002_listing_index")
    tables = set(sa.inspect(database.engine).get_table_names())
    assert not tables & {"occi_usage_computes", "occi_usage_intervals"}
    assert "occi_user_mixins" in tables
    database.upgrade()
    UsageRepository(database).observe("t1", "vm", ACTIVE, 100.0)
    assert len(UsageRepository(database).usage(0.0, 1000.0)) == 1


def test_the_prepared_read_gives_connection_executes_row(database: Database) -> None:
    from pyocci.store import usage as module

    usage = UsageRepository(database)
    usage.observe("t1", "vm", ACTIVE, 100.0, machine_name="vm.example")
    usage.observe("t1", "vm", STOPPED, 200.0)
    parameters = {"tenant_id": "t1", "entity_id": "vm"}
    with database.reading() as connection:
        prepared = [tuple(row) for row in database.fetch(connection, module._CURRENT, parameters)]
        executed = [tuple(row) for row in connection.execute(module._CURRENT.statement, parameters)]
    assert prepared == executed
    [(_, deleted_at, name, _, started_at, *observed)] = prepared
    assert (deleted_at, name, started_at) == (None, "vm.example", 200.0)
    assert Observation(*observed) == STOPPED
