"""The export runner in process, over the sim and a real store, writing to a real HTTPS
receiver: an export moved and recorded, a cancel seen mid-transfer, the claims given
back at shutdown, an image that is not there ending in error; and the re-chunking that
keeps S3 parts whole."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Iterator

import pytest

from pki import Pki
from pyocci.backends.sim import SimBackend, SimSettings
from pyocci.backends.sim.image_data import image_bytes
from pyocci.model import standard_model
from pyocci.server.config import ExportConfig
from pyocci.server.exports.runner import ExportRunner, _whole_chunks
from pyocci.store import Database
from pyocci.store.exports import ExportRepository

pytestmark = pytest.mark.anyio

MIB = 1024 * 1024
DEBIAN = "http://schemas.pyocci.org/sim/os_tpl#debian-12"


@pytest.fixture
def database(tmp_path) -> Iterator[Database]:
    db = Database(f"sqlite:///{tmp_path / 'occi.db'}")
    db.upgrade()
    try:
        yield db
    finally:
        db.dispose()


def _runner(database: Database, pki: Pki, size: int) -> ExportRunner:
    backend = SimBackend(
        model=standard_model(), database=database, settings=SimSettings(image_bytes=size)
    )
    config = ExportConfig(chunk_bytes=5 * MIB, lease_seconds=30, ca_file=pki.ca)
    return ExportRunner(backend, ExportRepository(database), database, config)


async def _until(store: ExportRepository, export_id: str, *states: str) -> object:
    for _ in range(600):
        record = store.get("t1", export_id)
        assert record is not None
        if record.state in states:
            return record
        await asyncio.sleep(0.05)
    raise AssertionError(f"{export_id} stayed {record.state}")


async def test_an_export_is_moved_and_recorded(database, pki, receiver) -> None:
    size = 7 * MIB + 5
    runner = _runner(database, pki, size)
    store = runner.repository
    store.create("t1", "e1", DEBIAN, f"{receiver.url}/runner/e1.img?sig=s", limit=2)
    runner.start()
    try:
        done = await _until(store, "e1", "active", "error")
    finally:
        await runner.close()
    expected = hashlib.sha256(image_bytes(DEBIAN, size)).hexdigest()
    assert (done.state, done.bytes_done, done.size) == ("active", size, size)
    assert done.disk_format == "raw"
    assert (done.checksum, done.url) == (f"sha256:{expected}", f"{receiver.url}/runner/e1.img")
    assert receiver.received("/runner/e1.img") == {"size": size, "sha256": expected}


async def test_a_cancel_stops_the_transfer(database, pki, receiver) -> None:
    runner = _runner(database, pki, 40 * MIB)
    store = runner.repository
    store.create("t1", "e2", DEBIAN, f"{receiver.url}/slow/e2.img", limit=2)
    runner.start()
    try:
        await _until(store, "e2", "transferring")
        for _ in range(600):
            if store.get("t1", "e2").bytes_done:  # type: ignore[union-attr]
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("the runner recorded no progress")
        store.cancel("t1", "e2", "cancelled by the client")
        for _ in range(200):
            if not runner._running:
                break
            await asyncio.sleep(0.05)
        assert not runner._running, "the runner went on after the cancel"
    finally:
        await runner.close()
    record = store.get("t1", "e2")
    assert record is not None and record.state == "cancelled"
    assert receiver.received("/slow/e2.img") is None


async def test_shutdown_gives_the_exports_back(database, pki, receiver) -> None:
    runner = _runner(database, pki, 40 * MIB)
    store = runner.repository
    store.create("t1", "e3", DEBIAN, f"{receiver.url}/slow/e3.img", limit=2)
    runner.start()
    await _until(store, "e3", "transferring")
    await runner.close()
    record = store.get("t1", "e3")
    assert record is not None and (record.state, record.owner) == ("pending", None)


async def test_an_image_that_is_gone_ends_in_error(database, pki, receiver) -> None:
    runner = _runner(database, pki, MIB)
    store = runner.repository
    gone = "http://schemas.pyocci.org/sim/os_tpl/saved#deleted"
    store.create("t1", "e4", gone, f"{receiver.url}/runner/e4.img", limit=2)
    runner.start()
    try:
        failed = await _until(store, "e4", "active", "error")
    finally:
        await runner.close()
    assert failed.state == "error"
    assert "not an OS template you can export" in (failed.message or "")


async def _pieces(*sizes: int) -> AsyncIterator[bytes]:
    for number, size in enumerate(sizes):
        yield bytes([number]) * size


async def test_pieces_become_whole_chunks() -> None:
    chunks = [c async for c in _whole_chunks(_pieces(3, 4, 10, 2, 1), 5)]
    assert [len(c) for c in chunks] == [7, 10, 3]
    assert b"".join(chunks) == b"".join([c async for c in _pieces(3, 4, 10, 2, 1)])
