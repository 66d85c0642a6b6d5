"""MixinRepository: each tenant's user mixins and their members, on SQLite and PostgreSQL."""

from __future__ import annotations

import time

import pytest

from pyocci.model import Mixin
from pyocci.model.errors import CategoryConflictError, UnknownCategoryError
from pyocci.store import Database, MixinRepository

SCHEME = "http://example.org/tags#"
COMPUTE = "http://schemas.ogf.org/occi/infrastructure#compute"
STORAGE = "http://schemas.ogf.org/occi/infrastructure#storage"


def tag(term: str, **extra) -> Mixin:
    return Mixin(scheme=SCHEME, term=term, location=f"/tag/{term}/", **extra)


@pytest.fixture
def mixins(database: Database) -> MixinRepository:
    return MixinRepository(database)


def test_a_user_mixin_keeps_every_field(mixins):
    web = Mixin(
        scheme=SCHEME,
        term="web",
        title="Web servers",
        location="/tag/web/",
        depends=("http://example.org/tags#servers",),
        applies=(COMPUTE, STORAGE),
    )
    mixins.add_user_mixin("t1", tag("servers"))
    mixins.add_user_mixin("t1", web)
    assert mixins.list_user_mixins("t1") == [tag("servers"), web]
    assert mixins.get_user_mixin("t1", web.id) == web
    assert mixins.get_user_mixin("t1", SCHEME + "nothing") is None


def test_ids_and_locations_are_unique_per_tenant(mixins):
    mixins.add_user_mixin("t1", tag("web"))
    with pytest.raises(CategoryConflictError, match="already defined"):
        mixins.add_user_mixin("t1", tag("web", title="again"))
    clash = Mixin(scheme="http://other.org/x#", term="other", location="/tag/web/")
    with pytest.raises(CategoryConflictError, match="already bound"):
        mixins.add_user_mixin("t1", clash)
    # Another tenant has a namespace of its own.
    mixins.add_user_mixin("t2", tag("web"))
    mixins.add_user_mixin("t2", clash.__class__(scheme=clash.scheme, term="x", location="/x/"))
    assert [m.term for m in mixins.list_user_mixins("t2")] == ["web", "x"]
    assert [m.term for m in mixins.list_user_mixins("t1")] == ["web"]


def test_a_user_mixin_needs_a_location(mixins):
    with pytest.raises(CategoryConflictError, match="needs a location"):
        mixins.add_user_mixin("t1", Mixin(scheme=SCHEME, term="nowhere"))


def test_removing_a_user_mixin_removes_its_members(mixins):
    mixins.add_user_mixin("t1", tag("web"))
    mixins.associate("t1", SCHEME + "web", ["/compute/a"])
    assert mixins.remove_user_mixin("t1", SCHEME + "web") is True
    assert mixins.remove_user_mixin("t1", SCHEME + "web") is False
    assert mixins.list_user_mixins("t1") == []
    assert mixins.members("t1", SCHEME + "web") == []
    # Defining it again starts empty.
    mixins.add_user_mixin("t1", tag("web"))
    assert mixins.members("t1", SCHEME + "web") == []


def test_members_come_in_association_order_and_once(mixins):
    web = SCHEME + "web"
    mixins.add_user_mixin("t1", tag("web"))
    mixins.associate("t1", web, ["/compute/c", "/compute/a"])
    mixins.associate("t1", web, ["/compute/a", "/compute/b", "/compute/b"])
    assert mixins.members("t1", web) == ["/compute/c", "/compute/a", "/compute/b"]
    assert mixins.members("t1", web, offset=1, limit=1) == ["/compute/a"]
    assert mixins.count_members("t1", web) == 3


def test_associating_with_an_unknown_mixin_is_refused(mixins):
    with pytest.raises(UnknownCategoryError):
        mixins.associate("t1", SCHEME + "web", ["/compute/a"])
    mixins.add_user_mixin("t2", tag("web"))
    with pytest.raises(UnknownCategoryError):
        mixins.associate("t1", SCHEME + "web", ["/compute/a"])
    with pytest.raises(UnknownCategoryError):
        mixins.replace_members("t1", SCHEME + "web", ["/compute/a"])


def test_mixins_of_answers_a_page_in_one_query(mixins, database, statements):
    web, db = SCHEME + "web", SCHEME + "db"
    mixins.add_user_mixin("t1", tag("web"))
    mixins.add_user_mixin("t1", tag("db"))
    mixins.associate("t1", db, ["/compute/a"])
    mixins.associate("t1", web, ["/compute/a", "/compute/b"])
    locations = ["/compute/a", "/compute/b", "/compute/c"]
    with statements(database) as executed:
        found = mixins.mixins_of("t1", locations)
    assert found == {"/compute/a": [db, web], "/compute/b": [web], "/compute/c": []}
    assert len([s for s in executed if s.lstrip().upper().startswith("SELECT")]) == 1
    assert mixins.mixins_of("t2", locations) == {location: [] for location in locations}
    assert mixins.mixins_of("t1", []) == {}


def test_mixins_of_handles_more_locations_than_one_statement_takes(mixins):
    web = SCHEME + "web"
    mixins.add_user_mixin("t1", tag("web"))
    locations = [f"/compute/{n}" for n in range(12000)]
    mixins.associate("t1", web, locations[::1000])
    found = mixins.mixins_of("t1", locations)
    assert len(found) == 12000
    assert sum(1 for value in found.values() if value == [web]) == 12


def test_disassociate_some_or_all(mixins):
    web = SCHEME + "web"
    mixins.add_user_mixin("t1", tag("web"))
    mixins.associate("t1", web, ["/compute/a", "/compute/b", "/compute/c"])
    mixins.disassociate("t1", web, ["/compute/b", "/compute/unknown"])
    assert mixins.members("t1", web) == ["/compute/a", "/compute/c"]
    mixins.disassociate("t1", web, None)
    assert mixins.members("t1", web) == []


def test_replace_members_sets_exactly_those_in_that_order(mixins):
    web = SCHEME + "web"
    mixins.add_user_mixin("t1", tag("web"))
    mixins.associate("t1", web, ["/compute/a", "/compute/b"])
    mixins.replace_members("t1", web, ["/compute/c", "/compute/a", "/compute/c"])
    assert mixins.members("t1", web) == ["/compute/c", "/compute/a"]
    mixins.replace_members("t1", web, [])
    assert mixins.members("t1", web) == []


def test_forget_entity_drops_it_from_every_mixin_of_the_tenant_only(mixins):
    web, db = SCHEME + "web", SCHEME + "db"
    for tenant in ("t1", "t2"):
        mixins.add_user_mixin(tenant, tag("web"))
        mixins.add_user_mixin(tenant, tag("db"))
        mixins.associate(tenant, web, ["/compute/a", "/compute/b"])
        mixins.associate(tenant, db, ["/compute/a"])
    mixins.forget_entity("t1", "/compute/a")
    assert mixins.mixins_of("t1", ["/compute/a", "/compute/b"]) == {
        "/compute/a": [],
        "/compute/b": [web],
    }
    assert mixins.mixins_of("t2", ["/compute/a"]) == {"/compute/a": [web, db]}


def test_everything_survives_a_new_database_object(database_url):
    first = Database(database_url)
    first.upgrade()
    MixinRepository(first).add_user_mixin("t1", tag("web", title="Web"))
    MixinRepository(first).associate("t1", SCHEME + "web", ["/compute/a"])
    first.dispose()
    second = Database(database_url)
    second.upgrade()
    again = MixinRepository(second)
    assert again.list_user_mixins("t1") == [tag("web", title="Web")]
    assert again.members("t1", SCHEME + "web") == ["/compute/a"]
    second.dispose()


def _moved(repository: MixinRepository, before, seconds: float = 5):
    """The definitions' version once it differs from `before` (or after `seconds`):
    PostgreSQL's notice reaches the listener a moment after the commit returns."""
    deadline = time.monotonic() + seconds
    while (now := repository.definitions_version()) == before and time.monotonic() < deadline:
        time.sleep(0.002)
    return now


def test_the_definitions_version_moves_with_definitions_from_anywhere(database):
    here = MixinRepository(database)
    elsewhere_database = Database(database.url)  # another process, as the database sees
    elsewhere = MixinRepository(elsewhere_database)
    try:
        before = _moved(here, None)  # once listening (PostgreSQL) or at once (SQLite)
        assert before is not None
        elsewhere.add_user_mixin("alice", tag("v1"))
        defined = _moved(here, before)
        assert defined != before
        # Members are what entity reads show, not the catalogue: the version stays.
        elsewhere.associate("alice", tag("v1").id, ["/compute/1"])
        assert _moved(here, defined, 0.2) == defined
        elsewhere.remove_user_mixin("alice", tag("v1").id)
        assert _moved(here, defined) not in (before, defined)
    finally:
        elsewhere_database.dispose()
