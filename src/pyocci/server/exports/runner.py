"""The export runner: each worker of occi-server moves the bytes of the exports it claims.

The runner looks for exports to take when one is created in its worker
(`wake`) and every few seconds (for those created in other workers and those
whose runner died: a claim is a lease, see `pyocci.store.exports`). For each
it reads the image from the backend chunk by chunk and writes every chunk to
the target before reading the next, hashing the bytes as they pass, and
records its progress (which renews its lease and tells it when the export was
cancelled or deleted). It ends the export ``active`` with the URL, the
checksum and whether the target confirmed it, or ``error`` with the reason.
An export asked for in another disk format than the cloud's goes through
`pyocci.server.exports.conversion` first (the image spooled to disk and
converted by qemu-img), and the converted file is what is sent.

Credentials never reach a log: the target is logged without its query
(`shown_url`), and the S3 keys live in `S3Settings`, whose repr omits them.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import aclosing

from pyocci.backends.api import Backend, ImageData, Tenant
from pyocci.model.errors import OcciError
from pyocci.model.export import ACTIVE, CONVERTING, ERROR, READING, UPLOADING
from pyocci.server.config import ExportConfig
from pyocci.server.exports.conversion import (
    ConversionStoppedError,
    Converter,
    file_chunks,
    file_size,
    find_qemu_img,
    remove_leftovers,
)
from pyocci.server.exports.glance import read_sites
from pyocci.server.exports.targets import (
    ExportFailedError,
    S3Settings,
    S3Writer,
    TargetWriter,
    open_target,
)
from pyocci.service.exports import parse_target, shown_url
from pyocci.store.database import Database
from pyocci.store.exports import ExportRecord, ExportRepository

__all__ = ["ExportRunner"]

log = logging.getLogger("pyocci.export")

#: Progress is recorded at most this often (each record is a write of the store).
REPORT_SECONDS = 0.5


class ExportRunner:
    """Moves the bytes of the exports this worker claims, `config.max_running` at once."""

    def __init__(
        self,
        backend: Backend,
        repository: ExportRepository,
        database: Database,
        config: ExportConfig,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.backend = backend
        self.repository = repository
        self.database = database
        self.config = config
        self.owner = f"runner-{uuid.uuid4()}"
        self._clock = clock
        self._woken = asyncio.Event()
        self._running: set[asyncio.Task[None]] = set()
        self._loop: asyncio.Task[None] | None = None
        self._closing = False
        self.s3 = (
            S3Settings(
                config.s3_endpoint_url,
                config.s3_region,
                config.s3_access_key_id,
                config.s3_secret_access_key,
                config.ca_file,
            )
            if config.s3_endpoint_url
            else None
        )
        self.glance = read_sites(config.glance_sites_file) if config.glance_sites_file else {}
        qemu_img = find_qemu_img(config.qemu_img)
        #: How this worker converts disk formats; None where it has no qemu-img.
        self.converter = (
            Converter(
                qemu_img,
                config.spool_dir,
                config.max_spool_bytes,
                config.convert_timeout_seconds,
            )
            if qemu_img
            else None
        )

    @property
    def conversion_refusal(self) -> str | None:
        """Why this worker cannot convert disk formats; None when it can."""
        if self.converter is not None:
            return None
        return f"the server has no qemu-img ({self.config.qemu_img!r} was not found)"

    def wake(self) -> None:
        """Look for exports to take now (one was created)."""
        self._woken.set()

    def start(self) -> None:
        """Begin looking for exports, in the background."""
        self._loop = asyncio.create_task(self._look(), name="export-runner")

    async def close(self) -> None:
        """Stop: the exports this worker moves are given back, for the next start (or
        another worker) to take at once and begin again."""
        # Looked at by the loop too: a cancel that arrives as its wait ends can be lost
        # (asyncio.wait_for on Python 3.11 returns the result then), and it must stop.
        self._closing = True
        tasks = [t for t in (self._loop, *self._running) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        released = await self.database.run(self.repository.release, self.owner)
        if released:
            log.info("export runner stopped; %d export(s) left for the next start", released)

    async def _look(self) -> None:
        # Often enough that a lease run out is found well before it is long gone.
        interval = max(0.5, self.config.lease_seconds / 4)
        while not self._closing:
            try:
                while not self._closing and len(self._running) < self.config.max_running:
                    record = await self.database.run(
                        self.repository.claim, self.owner, self.config.lease_seconds
                    )
                    if record is None:
                        break
                    task = asyncio.create_task(self._export(record), name="export")
                    self._running.add(task)
                    task.add_done_callback(self._ended)
            except Exception:
                log.exception("the export runner could not read the store; trying again")
            self._woken.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(interval):
                    await self._woken.wait()

    def _ended(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        self._woken.set()  # room for one more

    async def _export(self, record: ExportRecord) -> None:
        where = shown_url(record.target)
        log.info(
            "export %s of tenant %s: %s to %s begins",
            record.export_id,
            record.tenant_id,
            record.source,
            where,
        )
        try:
            outcome = await self._move(record)
        except asyncio.CancelledError:
            raise
        except (ExportFailedError, OcciError) as error:
            await self._end(record, ERROR, message=str(error))
            log.info("export %s failed: %s", record.export_id, error)
            return
        except Exception as error:
            log.exception("export %s to %s failed", record.export_id, where)
            await self._end(record, ERROR, message=f"the server failed: {type(error).__name__}")
            return
        if outcome is None:
            log.info("export %s was cancelled or deleted; stopped", record.export_id)
            return
        done, checksum, url, verified = outcome
        await self._end(
            record,
            ACTIVE,
            bytes_done=done,
            checksum=checksum,
            url=url,
            checksum_verified=verified,
        )
        log.info(
            "export %s done: %d bytes to %s (%s, %s at the target)",
            record.export_id,
            done,
            url,
            checksum,
            "verified" if verified else "not verifiable",
        )

    async def _move(self, record: ExportRecord) -> tuple[int, str, str, bool] | None:
        """Copy the bytes, converted when another format was asked for; (bytes,
        checksum, URL, whether the target confirmed the checksum), or None when the
        export was cancelled or deleted meanwhile."""
        tenant = Tenant(record.tenant_id, record.tenant_name)
        image = await self.backend.read_image(tenant, record.source, self.config.chunk_bytes)
        wanted = record.export_format
        if wanted is None or wanted == image.disk_format:
            return await self._upload(record, image, image)
        if self.converter is None:
            await image.chunks.aclose()  # type: ignore[attr-defined]
            raise ExportFailedError(
                f"the image is {image.disk_format} and {wanted} was asked for, but "
                f"{self.conversion_refusal}"
            )
        try:
            return await self._convert_and_upload(record, image, wanted, self.converter)
        except ConversionStoppedError:
            return None

    async def _convert_and_upload(
        self, record: ExportRecord, image: ImageData, wanted: str, converter: Converter
    ) -> tuple[int, str, str, bool] | None:
        """Spool the image to disk, convert it with qemu-img, and upload the result; the
        spool is removed whatever happens (ConversionStoppedError: cancelled)."""
        await asyncio.to_thread(remove_leftovers, converter.spool_dir, record.seq)
        async with converter.spool(record.seq) as spool:
            async with aclosing(image.chunks) as chunks:  # type: ignore[type-var]
                source = await spool.read(
                    chunks, image.size, self._stage_reporter(record, image, wanted, READING)
                )
            converted = await spool.convert(
                source,
                image.disk_format,
                wanted,
                self._stage_reporter(record, image, wanted, CONVERTING),
            )
            size = await asyncio.to_thread(file_size, converted)
            output = ImageData(
                size=size,
                disk_format=wanted,
                chunks=file_chunks(converted, self.config.chunk_bytes),
            )
            return await self._upload(record, image, output)

    def _stage_reporter(
        self, record: ExportRecord, image: ImageData, wanted: str, stage: str
    ) -> Callable[[int], Awaitable[bool]]:
        """A callback recording a conversion stage's percent (at most every
        REPORT_SECONDS); False once the export is no longer this runner's."""
        last = [float("-inf")]

        async def report(percent: int) -> bool:
            if self._clock() - last[0] < REPORT_SECONDS:
                return True
            last[0] = self._clock()
            return await self._report(
                record,
                0,
                size=image.size,
                disk_format=wanted,
                source_format=image.disk_format,
                stage=stage,
                percent=percent,
            )

        return report

    async def _upload(
        self, record: ExportRecord, source: ImageData, image: ImageData
    ) -> tuple[int, str, str, bool] | None:
        """Send `image` (the cloud's bytes, or the converted file's) to the target."""
        target = parse_target(record.target, self.config.schemes)
        writer = open_target(
            target,
            image.size,
            s3=self.s3,
            ca_file=self.config.ca_file,
            glance=self.glance,
            disk_format=image.disk_format,
        )
        digest = hashlib.sha256()
        done = 0
        reported = self._clock()

        async def still_wanted() -> bool:
            # Records the progress; False once the export was cancelled or deleted.
            return await self._report(
                record,
                done,
                size=image.size,
                disk_format=image.disk_format,
                source_format=source.disk_format,
            )

        try:
            if isinstance(writer, S3Writer):
                await writer.start()
            async with aclosing(_whole_chunks(image.chunks, self.config.chunk_bytes)) as chunks:
                async for chunk in chunks:
                    # hashlib lets go of the GIL on large buffers: hashed beside the loop.
                    hashing = asyncio.to_thread(digest.update, chunk)
                    await asyncio.gather(hashing, writer.write(chunk))
                    done += len(chunk)
                    if image.size is not None and done > image.size:
                        raise ExportFailedError(
                            f"the cloud gave more than the {image.size} bytes the image has"
                        )
                    if self._clock() - reported >= REPORT_SECONDS:
                        reported = self._clock()
                        if not await still_wanted():
                            await writer.abort()
                            return None
            if image.size is not None and done != image.size:
                raise ExportFailedError(
                    f"the cloud gave {done} bytes of the {image.size} the image has"
                )
            if not await still_wanted():
                await writer.abort()
                return None
            url = await writer.finish()
            checksum = digest.hexdigest()
            verified = await _verified(writer, checksum)
        except BaseException:
            await writer.abort()
            raise
        return done, f"sha256:{checksum}", url, verified

    async def _report(
        self,
        record: ExportRecord,
        done: int,
        *,
        size: int | None,
        disk_format: str,
        source_format: str,
        stage: str = UPLOADING,
        percent: int | None = None,
    ) -> bool:
        return await self.database.run(
            lambda: self.repository.progress(
                record.seq,
                self.owner,
                self.config.lease_seconds,
                bytes_done=done,
                size=size,
                disk_format=disk_format,
                source_format=source_format,
                stage=stage,
                stage_percent=percent,
            )
        )

    async def _end(self, record: ExportRecord, state: str, **values: object) -> None:
        try:
            await self.database.run(
                lambda: self.repository.finish(record.seq, self.owner, state, **values)  # type: ignore[arg-type]
            )
        except Exception:
            log.exception("could not record the end of export %s", record.export_id)


async def _verified(writer: TargetWriter, sha256_hex: str) -> bool:
    """Whether the target confirmed that it holds the bytes whose SHA-256 is
    `sha256_hex`: a writer that can ask its target has a ``verify`` method (which
    raises ExportFailedError when the target holds something else); others cannot."""
    verify = getattr(writer, "verify", None)
    if verify is None:
        return False
    return bool(await verify(sha256_hex))


async def _whole_chunks(pieces: AsyncIterator[bytes], size: int) -> AsyncIterator[bytes]:
    """The bytes of `pieces` in chunks of at least `size` bytes (the last may be shorter):
    a cloud's HTTP answer comes in pieces of its own, and an S3 part must be 5 MiB at
    least. A piece already that large passes as it is, uncopied."""
    held = bytearray()
    try:
        async for piece in pieces:
            if not held and len(piece) >= size:
                yield piece
                continue
            held += piece
            if len(held) >= size:
                yield bytes(held)
                held.clear()
        if held:
            yield bytes(held)
    finally:
        await pieces.aclose()  # type: ignore[attr-defined]
