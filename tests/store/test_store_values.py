"""Values no database can hold are refused the same way on SQLite and PostgreSQL, whatever
built the statement, before anything is written."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from pyocci.backends.sim.tables import sim_entities, sim_usage
from pyocci.model import Mixin
from pyocci.store import Database, MixinRepository
from pyocci.store.errors import UnstorableValueError
from pyocci.store.tables import user_mixins
from pyocci.store.values import INT32, INT64, check_value, text_problem

COMPUTE = "http://schemas.ogf.org/occi/infrastructure#compute"


def entity(**changes: object) -> dict[str, object]:
    row: dict[str, object] = {
        "tenant_id": "t1",
        "entity_id": "e1",
        "kind": COMPUTE,
        "mixins": [],
        "attributes": {"occi.core.title": "fine"},
        "created_at": 1.0,
        "updated_at": 1.0,
    }
    return {**row, **changes}


def count(database: Database, table: sa.Table) -> int:
    with database.reading() as connection:
        return connection.scalar(sa.select(sa.func.count()).select_from(table)) or 0


def insert(database: Database, table: sa.Table, *rows: dict[str, object]) -> None:
    with database.transaction() as connection:
        connection.execute(table.insert(), list(rows))


#: A row change and the start of the refusal that must name it.
UNSTORABLE = [
    ({"entity_id": "a\x00b"}, "the entity id holds a NUL character (U+0000)"),
    ({"kind": COMPUTE + "\ud800"}, "the kind holds an unpaired surrogate (U+D800)"),
    ({"attributes": {"occi.core.title": "x\x00y"}}, "attribute occi.core.title holds a NUL"),
    (
        {"attributes": {"deep": {"list": ["ok", "bad\x00"]}}},
        "attribute deep (at /list/1) holds a NUL character",
    ),
    ({"attributes": {"na\x00me": 1}}, "the attributes has a name that holds a NUL"),
    ({"attributes": {"size": float("nan")}}, "attribute size is nan"),
    ({"memory": float("inf")}, "the memory is inf, which cannot be stored"),
    ({"mixins": ["ok", "\udfff"]}, "the mixins (at /1) holds an unpaired surrogate"),
    ({"cores": INT32[1] + 1}, "the cores is 2147483648, out of the range"),
]


def test_an_unstorable_value_is_refused_and_named_on_every_database(database):
    # One database for every case: a fresh PostgreSQL database per case costs seconds.
    wrong = []
    for changes, named in UNSTORABLE:
        try:
            insert(database, sim_entities, entity(**changes))
        except UnstorableValueError as refused:
            if not refused.message.startswith(named):
                wrong.append((changes, refused.message))
        else:
            wrong.append((changes, "stored"))
    assert wrong == []
    assert count(database, sim_entities) == 0


def test_the_message_quotes_the_value_readably_and_says_what_to_do(database):
    with pytest.raises(UnstorableValueError) as refused:
        insert(database, sim_entities, entity(attributes={"occi.core.title": "left\x00right"}))
    assert "'left\\x00right'; remove it" in refused.value.message
    long = "y" * 500 + "\x00"
    with pytest.raises(UnstorableValueError) as refused:
        insert(database, sim_entities, entity(entity_id=long))
    assert "(501 characters)" in refused.value.message
    assert len(refused.value.message) < 300


def test_lookups_are_refused_too_not_only_writes(database):
    # A GET for an id with NUL would be a driver error on PostgreSQL and a miss on SQLite.
    refused = pytest.raises(UnstorableValueError, match="the entity id holds a NUL")
    with refused, database.reading() as connection:
        connection.execute(sa.select(sim_entities).where(sim_entities.c.entity_id == "a\x00"))
    in_list = sim_entities.c.entity_id.in_(["a", "b\x00"])
    with refused, database.reading() as connection:
        connection.execute(sa.select(sim_entities).where(in_list))


def test_every_row_of_a_many_row_insert_is_checked_and_none_is_written(database):
    good = entity(entity_id="ok")
    bad = entity(entity_id="bad", attributes={"occi.core.title": "\x00"})
    with pytest.raises(UnstorableValueError):
        insert(database, sim_entities, good, bad)
    assert count(database, sim_entities) == 0


def test_textual_and_driver_level_statements_are_checked(database):
    statement = sa.text(
        "INSERT INTO sim_usage (tenant_id, computes, cores, memory, storage, networks) "
        "VALUES (:tenant, 0, 0, 0, 0, 0)"
    )
    with (
        pytest.raises(UnstorableValueError, match="holds a NUL"),
        database.transaction() as connection,
    ):
        connection.execute(statement, {"tenant": "t\x00"})
    marker = "?" if database.is_sqlite else "%s"
    with (
        pytest.raises(UnstorableValueError, match="a value holds a NUL"),
        database.transaction() as connection,
    ):
        connection.exec_driver_sql(
            "INSERT INTO sim_usage (tenant_id, computes, cores, memory, storage, networks) "
            f"VALUES ({marker}, 0, 0, 0, 0, 0)",
            ("t\x00",),
        )
    assert count(database, sim_usage) == 0


def test_the_store_s_own_repositories_are_covered(database):
    mixins = MixinRepository(database)
    bad = Mixin(scheme="http://example.org/t#", term="x", title="a\x00b", location="/x/")
    with pytest.raises(UnstorableValueError, match="the title holds a NUL"):
        mixins.add_user_mixin("t1", bad)
    assert count(database, user_mixins) == 0


def test_what_both_databases_can_hold_goes_through_unchanged(database):
    text = "Grüße, 東京, 🚀, tab\there, line\nbreak, \x01\x7f"
    attributes = {
        "occi.core.title": text,
        "nested": {"list": [1, 2.5, True, None, text]},
        "big": 10**30,  # JSON numbers have no width
    }
    row = entity(attributes=attributes, cores=INT32[1], memory=1e308, source=text)
    insert(database, sim_entities, row)
    with database.reading() as connection:
        stored = connection.execute(sa.select(sim_entities)).one()
    assert stored.attributes == attributes
    assert (stored.cores, stored.memory, stored.source) == (INT32[1], 1e308, text)


def test_integer_bounds_follow_the_declared_column_type_on_every_database(database):
    # sim_entities.seq is a BigInteger (a 64-bit INTEGER on SQLite), cores an Integer:
    # what PostgreSQL's 32-bit INTEGER refuses, SQLite refuses too.
    with pytest.raises(UnstorableValueError, match=r"out of the range .*2147483647"):
        insert(database, sim_entities, entity(cores=-(2**31) - 1))
    with database.reading() as connection:
        connection.execute(sa.select(sim_entities).where(sim_entities.c.seq == INT64[1])).all()
        with pytest.raises(UnstorableValueError, match="a number of more than 38 digits"):
            connection.execute(sa.select(sim_entities).where(sim_entities.c.seq == 10**40)).all()


def test_text_problem_accepts_all_of_unicode_but_nul_and_surrogates():
    assert text_problem("".join(map(chr, range(1, 0xD800)))) is None
    assert text_problem(chr(0x10FFFF)) is None
    assert "NUL" in (text_problem("\x00") or "")
    assert "U+DC80" in (text_problem("ab\udc80") or "")


def test_check_value_outside_any_database():
    check_value("title", "fine")
    with pytest.raises(UnstorableValueError, match=r"^the title holds a NUL"):
        check_value("title_1", "\x00")
    with pytest.raises(UnstorableValueError, match=r"^a value is -inf"):
        check_value("param_3", float("-inf"))
