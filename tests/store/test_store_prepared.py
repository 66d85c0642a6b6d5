"""Prepared statements: the same rows and changes as `Connection.execute`, the same checks
of values, the same store errors, on SQLite's driver (and through SQLAlchemy elsewhere)."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from pyocci.backends.sim import quotas, records
from pyocci.backends.sim.tables import sim_entities, sim_usage
from pyocci.store import Database
from pyocci.store.errors import StorageFullError, UnstorableValueError
from pyocci.store.prepared import Prepared

ENTITY = {
    "tenant_id": "t",
    "entity_id": "e1",
    "kind": "http://schemas.ogf.org/occi/infrastructure#compute",
    "mixins": ["http://example.org/os#debian"],
    "attributes": {"occi.core.title": "vm", "occi.compute.cores": 2, "nested": {"a": [1, 2.5]}},
    "state": "active",
    "target_state": None,
    "ready_at": 12,  # an integer: the Float column's processor makes it a float
    "source_seq": None,
    "target_seq": None,
    "source": None,
    "target": None,
    "cores": 2,
    "memory": 4,
    "storage_size": None,
    "created_at": 1.5,
    "updated_at": 1.5,
}


def rows(database: Database, table: sa.Table) -> list[tuple]:
    with database.reading() as connection:
        return [tuple(row) for row in connection.execute(sa.select(table).order_by(*table.c))]


def test_prepared_writes_store_what_connection_execute_stores(database):
    # Tenant t is written by prepared statements, tenant u by Connection.execute.
    for tenant, run in (
        ("t", lambda c, s, p: database.change(c, Prepared(s), p)),
        ("u", lambda c, s, p: c.execute(s, p)),
    ):
        with database.transaction() as connection:
            run(connection, sim_usage.insert(), {"tenant_id": tenant})
            run(connection, sim_entities.insert(), {**ENTITY, "tenant_id": tenant})
            run(
                connection,
                sim_entities.update().where(
                    sim_entities.c.tenant_id == sa.bindparam("t"),
                    sim_entities.c.entity_id == sa.bindparam("e"),
                ),
                {"t": tenant, "e": "e1", "attributes": {"occi.core.title": "renamed"}, "memory": 8},
            )
            run(connection, quotas._ADD.statement, {**_no_usage(), "row_tenant": tenant})
    stored = {row[1]: row[2:] for row in rows(database, sim_entities)}
    assert stored["t"] == stored["u"]
    assert stored["t"][3] == {"occi.core.title": "renamed"}
    assert isinstance(stored["t"][6], float)
    usage = {row[0]: row[1:] for row in rows(database, sim_usage)}
    assert usage["t"] == usage["u"] == (1, 2, 3.0, 4.0, 5)


def _no_usage() -> dict[str, object]:
    return {"add_computes": 1, "add_cores": 2, "add_memory": 3, "add_storage": 4, "add_networks": 5}


def test_prepared_reads_give_connection_executes_rows(database):
    with database.transaction() as connection:
        first = database.change(connection, records._INSERT, ENTITY)
        database.change(
            connection, records._INSERT, {**ENTITY, "entity_id": "e2", "source_seq": first.inserted}
        )
    assert isinstance(first.inserted, int)
    with database.reading() as connection:
        for prepared, parameters in (
            (records._BY_ID, {"tenant_id": "t", "entity_id": "e1"}),
            (records._LINKS_FROM_ONE, {"seq": first.inserted}),
            (records._EXISTS, {"tenant_id": "t", "entity_id": "e2"}),
            (records._EXISTS, {"tenant_id": "t", "entity_id": "none"}),
        ):
            expected = [tuple(row) for row in connection.execute(prepared.statement, parameters)]
            assert [tuple(row) for row in database.fetch(connection, prepared, parameters)] == (
                expected
            )
        (row,) = database.fetch(connection, records._BY_ID, {"tenant_id": "t", "entity_id": "e1"})
        assert records.Record.from_row(row).attributes == ENTITY["attributes"]


def test_a_prepared_change_counts_rows(database):
    with database.transaction() as connection:
        database.change(connection, records._INSERT, ENTITY)
        gone = database.change(connection, records._DELETE, {"row_seq": 10**6})
        assert gone.rowcount == 0
        assert gone.inserted is None
        assert database.change(connection, records._DELETE, {"row_seq": 1}).rowcount == 1


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"occi.core.title": "a\x00b"}, "NUL character"),
        ({"occi.core.title": "\ud800"}, "surrogate"),
        ({"x": math.nan}, "finite number"),
    ],
)
def test_prepared_statements_refuse_what_no_database_can_store(database, value, message):
    with pytest.raises(UnstorableValueError, match=message), database.transaction() as c:
        database.change(c, records._INSERT, {**ENTITY, "attributes": value})
    assert rows(database, sim_entities) == []


def test_a_prepared_statement_breaking_a_constraint_is_an_integrity_error(database):
    insert = Prepared(sim_usage.insert())
    with database.transaction() as connection:
        database.change(connection, insert, {"tenant_id": "t"})
    with pytest.raises(sa.exc.IntegrityError), database.transaction() as connection:
        database.change(connection, insert, {"tenant_id": "t"})


def test_a_full_sqlite_database_is_storage_full_and_a_prepared_write_ends_it(tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="pyocci.store")
    database = Database(f"sqlite:///{tmp_path / 'full.sqlite3'}")
    database.upgrade()
    insert = Prepared(sim_usage.insert())
    try:
        # Per connection: the thread's writing connection, which the database keeps.
        with database.transaction() as connection:
            used = connection.exec_driver_sql("PRAGMA page_count").scalar()
            connection.exec_driver_sql(f"PRAGMA max_page_count = {used}")
        with pytest.raises(StorageFullError), database.transaction() as connection:
            database.change(connection, insert, {"tenant_id": "x" * 5000})
        assert database.incidents.current == "full"
        with database.transaction() as connection:
            connection.exec_driver_sql("PRAGMA max_page_count = 1000000")
        with database.transaction() as connection:
            database.change(connection, insert, {"tenant_id": "back"})
        assert database.incidents.current is None
        messages = [r.getMessage() for r in caplog.records if r.name == "pyocci.store"]
        assert len(messages) == 2
        assert "works again after being out of disk space" in messages[1]
    finally:
        database.dispose()


@pytest.fixture
def sqlite(tmp_path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'x.sqlite3'}")
    database.upgrade()
    yield database
    database.dispose()


def test_prepared_statements_need_a_transaction(sqlite):
    with sqlite.engine.connect() as connection, pytest.raises(RuntimeError):
        sqlite.fetch(connection, records._EXISTS, {"tenant_id": "t", "entity_id": "e"})


def test_an_expanding_in_list_cannot_be_prepared(sqlite):
    with sqlite.reading() as connection, pytest.raises(TypeError, match="expanding"):
        sqlite.fetch(connection, Prepared(records._LINKS_FROM), {"seqs": [1, 2]})


def test_python_side_column_defaults_cannot_be_prepared(sqlite):
    table = sa.Table(
        "defaulted",
        sa.MetaData(),
        sa.Column("a", sa.String()),
        sa.Column("b", sa.Integer(), default=5),
    )
    with sqlite.transaction() as connection, pytest.raises(TypeError, match="Python-side"):
        sqlite.change(connection, Prepared(table.insert()), {"a": "x"})
