"""Image exports in the store, on SQLite and PostgreSQL: the per-tenant limit, claims a
runner holds as leases, cancel and delete seen by the runner, release at shutdown."""

from __future__ import annotations

import pytest

from pyocci.store import Database
from pyocci.store.exports import ExportLimitError, ExportRepository

SOURCE = "http://schemas.pyocci.org/sim/os_tpl/saved#img"


class Clock:
    """A clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_created_pending_and_read_back(database: Database) -> None:
    store = ExportRepository(database)
    made = store.create("t1", "e1", SOURCE, "s3://b/k", limit=2, title="backup")
    assert (made.state, made.source, made.target, made.title) == (
        "pending",
        SOURCE,
        "s3://b/k",
        "backup",
    )
    assert store.get("t1", "e1") == made
    assert store.get("t2", "e1") is None
    assert [r.export_id for r in store.list("t1")] == ["e1"]
    assert store.count("t1") == 1 and store.count("t2") == 0


def test_the_limit_counts_running_exports_of_the_tenant(database: Database) -> None:
    store = ExportRepository(database)
    store.create("t1", "e1", SOURCE, "s3://b/1", limit=2)
    store.create("t1", "e2", SOURCE, "s3://b/2", limit=2)
    with pytest.raises(ExportLimitError, match=r"2 exports of yours .* at most 2"):
        store.create("t1", "e3", SOURCE, "s3://b/3", limit=2)
    store.create("t2", "e1", SOURCE, "s3://b/1", limit=2)  # another tenant's room
    store.cancel("t1", "e1", "cancelled by the client")
    store.create("t1", "e3", SOURCE, "s3://b/3", limit=2)  # a cancelled one no longer counts


def test_a_claim_is_a_lease_another_runner_takes_when_it_runs_out(database: Database) -> None:
    clock = Clock()
    store = ExportRepository(database, clock=clock)
    store.create("t1", "e1", SOURCE, "s3://b/k", limit=2)
    taken = store.claim("runner-a", 30.0)
    assert taken is not None and taken.state == "transferring" and taken.owner == "runner-a"
    assert store.claim("runner-b", 30.0) is None  # held
    assert store.progress(taken.seq, "runner-a", 30.0, bytes_done=10, size=100, disk_format="raw")
    assert store.get("t1", "e1").disk_format == "raw"  # type: ignore[union-attr]
    clock.now += 31.0
    again = store.claim("runner-b", 30.0)  # runner-a went silent
    assert again is not None and again.owner == "runner-b" and again.bytes_done == 0
    assert again.disk_format is None  # started over: nothing known yet
    # The old runner learns it lost the export and cannot finish it.
    assert not store.progress(taken.seq, "runner-a", 30.0, bytes_done=20, size=100)
    assert not store.finish(taken.seq, "runner-a", "active")
    assert store.finish(again.seq, "runner-b", "active", url="s3://b/k", checksum="sha256:00")
    done = store.get("t1", "e1")
    assert done is not None and (done.state, done.url, done.owner) == ("active", "s3://b/k", None)


def test_cancel_and_delete_stop_the_runner(database: Database) -> None:
    store = ExportRepository(database)
    store.create("t1", "e1", SOURCE, "s3://b/1", limit=5)
    store.create("t1", "e2", SOURCE, "s3://b/2", limit=5)
    first = store.claim("r", 30.0)
    second = store.claim("r", 30.0)
    assert first is not None and second is not None
    cancelled = store.cancel("t1", "e1", "cancelled by the client")
    assert cancelled is not None and cancelled.state == "cancelled"
    assert not store.progress(first.seq, "r", 30.0, bytes_done=1, size=None)
    assert store.delete("t1", "e2")
    assert not store.progress(second.seq, "r", 30.0, bytes_done=1, size=None)
    assert not store.delete("t1", "e2")
    # Cancelling what has ended changes nothing.
    assert store.cancel("t1", "e1", "again") == cancelled


def test_released_claims_are_taken_at_once(database: Database) -> None:
    store = ExportRepository(database)
    store.create("t1", "e1", SOURCE, "s3://b/1", limit=5)
    assert store.claim("r1", 3600.0) is not None
    assert store.release("r1") == 1
    again = store.claim("r2", 30.0)
    assert again is not None and again.owner == "r2"


def test_a_record_never_shows_its_target_in_a_repr(database: Database) -> None:
    store = ExportRepository(database)
    made = store.create("t1", "e1", SOURCE, "https://h/p?X-Amz-Signature=secret", limit=1)
    assert "secret" not in repr(made)


def test_a_conversion_is_recorded_and_a_new_run_forgets_the_last_ones_stages(
    database: Database,
) -> None:
    clock = Clock()
    store = ExportRepository(database, clock=clock)
    made = store.create("t1", "c1", SOURCE, "s3://b/k.qcow2", limit=2, export_format="qcow2")
    assert made.export_format == "qcow2" and made.stage is None
    taken = store.claim("runner-a", 30.0)
    assert taken is not None and taken.export_format == "qcow2"
    assert store.progress(
        taken.seq,
        "runner-a",
        30.0,
        bytes_done=0,
        size=100,
        disk_format="qcow2",
        source_format="raw",
        stage="converting",
        stage_percent=40,
    )
    read = store.get("t1", "c1")
    assert read is not None
    assert (read.source_format, read.stage, read.stage_percent) == ("raw", "converting", 40)
    clock.now += 31.0
    again = store.claim("runner-b", 30.0)  # starts over: no stage, the format asked kept
    assert again is not None
    assert (again.stage, again.stage_percent, again.source_format) == (None, None, None)
    assert again.export_format == "qcow2"
    assert store.finish(again.seq, "runner-b", "active", checksum_verified=True)
    done = store.get("t1", "c1")
    assert done is not None and (done.checksum_verified, done.stage_percent) == (True, None)
