"""The export runner in process, over the sim and a real store, writing to a real HTTPS
receiver: an export moved and recorded, a cancel seen mid-transfer, the claims given
back at shutdown, an image that is not there ending in error; and the re-chunking that
keeps S3 parts whole. The conversion hook with the real qemu-img: an export converted to
qcow2 and recorded with its stages, and its spool removed after a failure, a cancel and
a shutdown; a runner without qemu-img fails such an export saying why."""

from __future__ import annotations

import asyncio
import hashlib
import json
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from debian import command_from
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


def _runner(database: Database, pki: Pki, size: int, **config: object) -> ExportRunner:
    backend = SimBackend(
        model=standard_model(), database=database, settings=SimSettings(image_bytes=size)
    )
    settings = ExportConfig(chunk_bytes=5 * MIB, lease_seconds=30, ca_file=pki.ca, **config)  # type: ignore[arg-type]
    return ExportRunner(backend, ExportRepository(database), database, settings)


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


# --- conversion -------------------------------------------------------------------------------


def _converting(database: Database, pki: Pki, size: int, spool: Path, **config: object):
    return _runner(database, pki, size, qemu_img=qemu_img_path(), spool_dir=spool, **config)


def qemu_img_path() -> str:
    """qemu-img, installed from Debian's qemu-utils when missing."""
    return command_from("qemu-img", "qemu-utils")


async def test_an_export_converted_to_qcow2_holds_the_images_bytes(
    database, pki, receiver, tmp_path
) -> None:
    size = 6 * MIB
    spool = tmp_path / "spool"
    runner = _converting(database, pki, size, spool)
    store = runner.repository
    target = f"{receiver.url}/keep/digest/c1.qcow2"
    store.create("t1", "c1", DEBIAN, target, limit=2, export_format="qcow2")
    stages: set[str] = set()
    runner.start()
    try:
        while (record := store.get("t1", "c1")).state not in ("active", "error"):  # type: ignore[union-attr]
            if record.stage:
                stages.add(record.stage)
            await asyncio.sleep(0.02)
    finally:
        await runner.close()
    assert record.state == "active", record.message
    assert (record.disk_format, record.source_format, record.export_format) == (
        "qcow2",
        "raw",
        "qcow2",
    )
    arrived = receiver.body("/keep/digest/c1.qcow2")
    assert arrived is not None
    assert record.checksum == f"sha256:{hashlib.sha256(arrived).hexdigest()}"
    assert record.bytes_done == record.size == len(arrived)
    # The receiver answered with the SHA-256 of what it got: confirmed.
    assert record.checksum_verified is True
    # Stages seen while polling (a fast conversion may pass one unseen), and the last.
    assert stages <= {"reading", "converting", "uploading"}
    assert record.stage == "uploading"
    assert list(spool.iterdir()) == []
    (tmp_path / "c1.qcow2").write_bytes(arrived)
    info = json.loads(
        subprocess.run(
            [qemu_img_path(), "info", "--output=json", str(tmp_path / "c1.qcow2")],
            capture_output=True,
            check=True,
        ).stdout
    )
    assert (info["format"], info["virtual-size"]) == ("qcow2", size)
    raw = tmp_path / "c1.raw"
    subprocess.run(
        [qemu_img_path(), "convert", "-O", "raw", str(tmp_path / "c1.qcow2"), str(raw)],
        check=True,
    )
    assert raw.read_bytes() == image_bytes(DEBIAN, size)


async def test_a_receiver_that_got_other_bytes_is_an_error(database, pki, receiver) -> None:
    runner = _runner(database, pki, MIB)
    store = runner.repository
    store.create("t1", "w1", DEBIAN, f"{receiver.url}/runner/wrongdigest/w1.img", limit=2)
    runner.start()
    try:
        failed = await _until(store, "w1", "active", "error")
    finally:
        await runner.close()
    assert failed.state == "error"
    assert "received bytes whose SHA-256 is" in (failed.message or "")


async def test_an_unconfirmed_export_says_so(database, pki, receiver) -> None:
    runner = _runner(database, pki, MIB)
    store = runner.repository
    store.create("t1", "u1", DEBIAN, f"{receiver.url}/runner/u1.img", limit=2)
    runner.start()
    try:
        done = await _until(store, "u1", "active", "error")
    finally:
        await runner.close()
    assert (done.state, done.checksum_verified) == ("active", False)


async def test_a_failed_upload_of_a_conversion_leaves_no_spool(
    database, pki, receiver, tmp_path
) -> None:
    spool = tmp_path / "spool"
    runner = _converting(database, pki, 2 * MIB, spool)
    store = runner.repository
    store.create(
        "t1", "f1", DEBIAN, f"{receiver.url}/forbidden/f1.qcow2", limit=2, export_format="qcow2"
    )
    runner.start()
    try:
        failed = await _until(store, "f1", "active", "error")
    finally:
        await runner.close()
    assert failed.state == "error" and "403" in (failed.message or "")
    assert list(spool.iterdir()) == []


async def test_a_spool_limit_too_small_is_an_error_saying_so(
    database, pki, receiver, tmp_path
) -> None:
    spool = tmp_path / "spool"
    runner = _converting(database, pki, 3 * MIB, spool, max_spool_bytes=5 * MIB)
    store = runner.repository
    store.create(
        "t1", "l1", DEBIAN, f"{receiver.url}/runner/l1.qcow2", limit=2, export_format="qcow2"
    )
    runner.start()
    try:
        failed = await _until(store, "l1", "active", "error")
    finally:
        await runner.close()
    assert failed.state == "error"
    assert "max_spool_bytes" in (failed.message or "")
    assert receiver.received("/runner/l1.qcow2") is None
    assert list(spool.iterdir()) == []


async def _until_stage(store: ExportRepository, export_id: str, *stages: str) -> None:
    for _ in range(1200):
        record = store.get("t1", export_id)
        assert record is not None and record.state in ("pending", "transferring"), record
        if record.stage in stages:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"{export_id} never reached {stages}")


async def test_a_cancel_mid_conversion_export_leaves_no_spool(
    database, pki, receiver, tmp_path
) -> None:
    spool = tmp_path / "spool"
    runner = _converting(database, pki, 40 * MIB, spool)
    store = runner.repository
    store.create(
        "t1", "k1", DEBIAN, f"{receiver.url}/slow/k1.qcow2", limit=2, export_format="qcow2"
    )
    runner.start()
    try:
        await _until_stage(store, "k1", "uploading")
        assert len(list(spool.iterdir())) == 1  # the converted file is being sent
        store.cancel("t1", "k1", "cancelled by the client")
        for _ in range(200):
            if not runner._running:
                break
            await asyncio.sleep(0.05)
        assert not runner._running, "the runner went on after the cancel"
    finally:
        await runner.close()
    assert store.get("t1", "k1").state == "cancelled"  # type: ignore[union-attr]
    assert list(spool.iterdir()) == []


async def test_a_shutdown_mid_conversion_export_leaves_no_spool(
    database, pki, receiver, tmp_path
) -> None:
    spool = tmp_path / "spool"
    runner = _converting(database, pki, 40 * MIB, spool)
    store = runner.repository
    store.create(
        "t1", "s1", DEBIAN, f"{receiver.url}/slow/s1.qcow2", limit=2, export_format="qcow2"
    )
    runner.start()
    await _until_stage(store, "s1", "uploading")
    await runner.close()
    assert store.get("t1", "s1").state == "pending"  # type: ignore[union-attr]
    assert list(spool.iterdir()) == []


async def test_a_runner_without_qemu_img_fails_a_conversion_saying_why(
    database, pki, receiver, tmp_path
) -> None:
    runner = _runner(database, pki, MIB, qemu_img=str(tmp_path / "no-qemu-img"))
    assert runner.converter is None
    store = runner.repository
    store.create(
        "t1", "n1", DEBIAN, f"{receiver.url}/runner/n1.qcow2", limit=2, export_format="qcow2"
    )
    runner.start()
    try:
        failed = await _until(store, "n1", "active", "error")
    finally:
        await runner.close()
    assert failed.state == "error"
    assert "the image is raw and qcow2 was asked for" in (failed.message or "")
    assert "no qemu-img" in (failed.message or "")


async def test_close_stops_the_runner_even_when_it_is_woken_as_it_is_cancelled(
    database, pki
) -> None:
    runner = _runner(database, pki, MIB)
    runner.start()
    await asyncio.sleep(0.05)  # the loop has looked (nothing to do) and waits to be woken
    # An export ending wakes the loop (`_ended`) in the same moment close() cancels it:
    # asyncio.wait_for on Python 3.11 lost that cancel, and close() waited for ever.
    runner.wake()
    # The bound only keeps a regression from hanging the suite; close() returns at once.
    async with asyncio.timeout(30):
        await runner.close()
    assert runner._loop is not None and runner._loop.done()
