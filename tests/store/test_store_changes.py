"""`ChangeNotices`: PostgreSQL's notices of commits to the tables entity reads show, heard
without waiting, from this process's writes and from any other's."""

from __future__ import annotations

import socket
import time
from collections.abc import Hashable, Iterator

import anyio
import pytest
import sqlalchemy as sa

from pyocci.model import Mixin
from pyocci.store import Database
from pyocci.store.changes import APPLICATION_NAME, DRAIN_SECONDS, ChangeNotices, conninfo
from pyocci.store.freshness import READS_SINCE
from pyocci.store.mixins import MixinRepository
from pyocci.store.tables import user_mixins

TAG = Mixin(scheme="http://example.org/tags#", term="x", location="/tags/x/")


@pytest.fixture
def database(postgres_server) -> Iterator[Database]:
    url = postgres_server.create_database()
    database = Database(url)
    database.upgrade()
    try:
        yield database
    finally:
        database.dispose()
        postgres_server.drop_database(url.rsplit("/", 1)[1])


def moved(database: Database, before: Hashable | None, seconds: float = 5) -> Hashable | None:
    """The data version once it differs from `before` (or after `seconds`): a notice
    reaches the listening connection a moment after the writer's commit returns."""
    deadline = time.monotonic() + seconds
    while (current := database.data_version()) == before and time.monotonic() < deadline:
        time.sleep(0.002)
    return current


def test_the_first_ask_starts_listening_without_waiting(database):
    # The listening connection is made in a thread: the first ask says "cannot tell".
    fresh = Database(database.url)
    try:
        assert fresh.data_version() is None
        assert moved(fresh, None) is not None
    finally:
        fresh.dispose()


def test_a_commit_through_another_engine_is_heard(database):
    before = moved(database, None)
    assert before is not None
    elsewhere = Database(database.url)  # another process, as far as PostgreSQL sees
    try:
        MixinRepository(elsewhere).add_user_mixin("alice", TAG)
    finally:
        elsewhere.dispose()
    assert moved(database, before) != before


def test_reads_and_rolled_back_writes_are_not_heard(database):
    repository = MixinRepository(database)
    repository.add_user_mixin("alice", TAG)
    before = moved(database, None)
    while (after := moved(database, before, 0.05)) != before:  # every earlier notice in
        before = after
    repository.list_user_mixins("alice")
    with pytest.raises(RuntimeError), database.transaction() as connection:
        connection.exec_driver_sql("DELETE FROM occi_user_mixins")
        raise RuntimeError("rolled back")
    assert moved(database, before, 0.2) == before
    assert [mixin.term for mixin in repository.list_user_mixins("alice")] == ["x"]


def test_a_write_outside_pyocci_is_heard(database):
    # The triggers announce any writer's change: an operator's SQL, a restore script.
    before = moved(database, None)
    with sa.create_engine(database.url).begin() as connection:
        connection.exec_driver_sql("DELETE FROM occi_mixin_members")
    assert moved(database, before) != before


def test_the_conninfo_names_libpqs_scheme_and_keeps_the_password():
    url = sa.engine.make_url("postgresql+psycopg://occi:s3cret@db.example:5433/occi")
    assert conninfo(url) == "postgresql://occi:s3cret@db.example:5433/occi"


def test_an_unreachable_database_is_tried_again_later_and_never_waited_for():
    now = [0.0]
    # A port that takes connections and never answers: connecting waits its whole timeout.
    silent = socket.create_server(("127.0.0.1", 0))
    port = silent.getsockname()[1]
    notices = ChangeNotices(
        sa.engine.make_url(f"postgresql+psycopg://nobody@127.0.0.1:{port}/none"),
        clock=lambda: now[0],
    )
    try:
        assert notices.version() is None
        connecting = notices._connecting
        # The call came back while its connection was still being made, in a thread.
        assert connecting is not None and connecting.is_alive()
        assert notices.version() is None
        assert notices._connecting is connecting  # one attempt at a time
        connecting.join()
        assert notices.version() is None
        assert notices._connecting is connecting  # not again before the retry interval
        now[0] += 60
        assert notices.version() is None
        assert notices._connecting is not connecting  # tried again later
    finally:
        notices.close()
        silent.close()


async def caught_up(database: Database) -> Hashable | None:
    """The data version as a request sees it once the server caught up: each catch-up is
    bounded (50 ms), so a busy machine may need a few."""
    for _ in range(100):
        await database.catch_up()
        if (version := database.data_version()) is not None:
            return version
    return None


@pytest.mark.anyio
async def test_in_a_request_nothing_is_trusted_until_caught_up(database):
    moved(database, None)  # listening
    READS_SINCE.set(time.monotonic())
    # A request's checks never wait: until the server caught up, they cannot tell.
    assert database.data_version() is None
    version = await caught_up(database)
    assert version is not None
    # Caught up, a change committed since is still heard at the next catch-up.
    MixinRepository(database).add_user_mixin("alice", TAG)
    READS_SINCE.set(time.monotonic())
    assert await caught_up(database) not in (None, version)


def listening_backends(database: Database) -> list[int]:
    with database.reading() as connection:
        return list(
            connection.exec_driver_sql(
                "SELECT pid FROM pg_stat_activity WHERE application_name = %(name)s "
                "AND datname = current_database()",
                {"name": APPLICATION_NAME},
            ).scalars()
        )


def test_a_terminated_listening_backend_is_not_trusted_and_listening_resumes(database):
    # PostgreSQL restarted, or an administrator (idle_session_timeout) ended the session:
    # the round trip is answered with an error, on a connection libpq still calls open.
    before = moved(database, None)
    assert before is not None
    [pid] = listening_backends(database)
    with database.reading() as connection:
        connection.exec_driver_sql(f"SELECT pg_terminate_backend({pid})")
    MixinRepository(database).add_user_mixin("alice", TAG)  # missed by the dead listener
    assert database.data_version() is None
    # Listening again, on a new connection: a version never seen before.
    again = moved(database, None)
    assert again is not None and again != before
    assert listening_backends(database) != [pid]


def test_a_round_trip_answered_by_another_backend_is_not_trusted(database):
    # A pooler in transaction mode hands each query to any backend: the notices of the
    # one that ran LISTEN never reach the one answering.
    assert moved(database, None) is not None
    notices = database._notices()
    notices._backend_pid = -1  # as if another backend had listened
    assert database.data_version() is None
    assert notices._connection is None  # given up, to listen again


@pytest.mark.anyio
async def test_notices_are_read_while_no_request_asks(database):
    # A drained host still listens: PostgreSQL keeps every notice until each listener
    # has read it, so the process reads them, requests or not.
    assert moved(database, None) is not None
    READS_SINCE.set(time.monotonic())
    assert await caught_up(database) is not None  # the first request starts the reading
    READS_SINCE.set(None)
    notices = database._notices()
    heard = notices._heard
    elsewhere = Database(database.url)
    try:
        repository = MixinRepository(elsewhere)
        for term in ("a", "b", "c"):
            repository.add_user_mixin(
                "alice", Mixin(scheme=TAG.scheme, term=term, location=f"/tags/{term}/")
            )
    finally:
        elsewhere.dispose()
    deadline = anyio.current_time() + 10
    while notices._heard < heard + 3 and anyio.current_time() < deadline:
        await anyio.sleep(DRAIN_SECONDS / 4)
    assert notices._heard >= heard + 3
    assert notices._connection is not None
    assert notices._connection.pgconn.notifies() is None  # nothing left piling up


@pytest.mark.anyio
async def test_concurrent_requests_share_round_trips(database, monkeypatch):
    moved(database, None)  # listening
    notices = database._notices()
    trips: list[float] = []
    round_trip = notices._round_trip

    async def counted(pgconn):
        trips.append(time.monotonic())
        await round_trip(pgconn)

    monkeypatch.setattr(notices, "_round_trip", counted)
    versions: list[object] = []

    async def request() -> None:
        READS_SINCE.set(time.monotonic())
        await database.catch_up()
        versions.append(database.data_version())

    async with anyio.create_task_group() as group:
        for _ in range(50):
            group.start_soon(request)
    assert len(versions) == 50 and None not in versions
    # Requests that began while a round trip was in flight wait for the next one, which
    # then serves all of them: a few round trips, not fifty.
    assert 1 <= len(trips) <= 3


def test_an_exports_progress_is_heard(database):
    # An export's state and progress show in its entity reads: its table announces them.
    from pyocci.store.exports import ExportRepository

    exports = ExportRepository(database)
    before = moved(database, None)
    exports.create("alice", "e1", "os#img", "s3://bucket/key", limit=1)
    created = moved(database, before)
    assert created != before
    claimed = exports.claim("runner", 30.0)
    assert claimed is not None
    assert moved(database, created) != created


def test_two_tenants_define_mixins_at_once_without_waiting_for_each_other(database):
    # A definition writes nothing all tenants share (a count row did, once): the second
    # tenant's insert goes through while the first's transaction is still open, where a
    # shared row would hold it until the lock timeout.
    row = {
        "mixin_id": TAG.id,
        "scheme": TAG.scheme,
        "term": TAG.term,
        "title": None,
        "location": TAG.location,
        "depends": [],
        "applies": [],
        "created_at": 0.0,
    }
    before = database.data_version()
    with database.engine.connect() as first, database.engine.connect() as second:
        first.begin()
        first.execute(user_mixins.insert().values(tenant_id="tenant-a", **row))
        second.begin()
        second.execute(sa.text("SET LOCAL lock_timeout = '2s'"))
        second.execute(user_mixins.insert().values(tenant_id="tenant-b", **row))
        second.commit()
        first.commit()
    # Other processes still hear of both.
    assert moved(database, before) != before


def _catalog_count(database: Database) -> int:
    with database.reading() as connection:
        return connection.execute(
            sa.text("SELECT count FROM occi_change_counts WHERE topic = 'catalog'")
        ).scalar_one()


def test_below_revision_0007_the_catalog_is_counted_again(database):
    from alembic import command

    config = database.alembic_config()
    with database.transaction() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0006_export_formats")
    mixins = MixinRepository(database)
    mixins.add_user_mixin("tenant-a", TAG)
    assert _catalog_count(database) == 1
    database.upgrade()
    mixins.add_user_mixin("tenant-b", TAG)
    assert _catalog_count(database) == 1
