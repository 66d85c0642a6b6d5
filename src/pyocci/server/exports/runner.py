"""The export runner: each worker of occi-server moves the bytes of the exports it claims.

The runner looks for exports to take when one is created in its worker
(`wake`) and every few seconds (for those created in other workers and those
whose runner died: a claim is a lease, see `pyocci.store.exports`). For each
it reads the image from the backend chunk by chunk and writes every chunk to
the target before reading the next, hashing the bytes as they pass, and
records its progress (which renews its lease and tells it when the export was
cancelled or deleted). It ends the export ``active`` with the URL and the
checksum, or ``error`` with the reason.

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
from collections.abc import AsyncIterator, Callable
from contextlib import aclosing

from pyocci.backends.api import Backend, ImageData, Tenant
from pyocci.model.errors import OcciError
from pyocci.model.export import ACTIVE, ERROR
from pyocci.server.config import ExportConfig
from pyocci.server.exports.glance import read_sites
from pyocci.server.exports.targets import ExportFailedError, S3Settings, S3Writer, open_target
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

    def wake(self) -> None:
        """Look for exports to take now (one was created)."""
        self._woken.set()

    def start(self) -> None:
        """Begin looking for exports, in the background."""
        self._loop = asyncio.create_task(self._look(), name="export-runner")

    async def close(self) -> None:
        """Stop: the exports this worker moves are given back, for the next start (or
        another worker) to take at once and begin again."""
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
        while True:
            try:
                while len(self._running) < self.config.max_running:
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
                await asyncio.wait_for(self._woken.wait(), interval)

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
        done, checksum, url = outcome
        await self._end(record, ACTIVE, bytes_done=done, checksum=checksum, url=url)
        log.info("export %s done: %d bytes to %s (%s)", record.export_id, done, url, checksum)

    async def _move(self, record: ExportRecord) -> tuple[int, str, str] | None:
        """Copy the bytes; (bytes, checksum, URL), or None when the export was cancelled
        or deleted meanwhile."""
        target = parse_target(record.target, self.config.schemes)
        tenant = Tenant(record.tenant_id, record.tenant_name)
        image = await self.backend.read_image(tenant, record.source, self.config.chunk_bytes)
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
                        if not await self._report(record, done, image):
                            await writer.abort()
                            return None
            if image.size is not None and done != image.size:
                raise ExportFailedError(
                    f"the cloud gave {done} bytes of the {image.size} the image has"
                )
            if not await self._report(record, done, image):
                await writer.abort()
                return None
            url = await writer.finish()
        except BaseException:
            await writer.abort()
            raise
        return done, f"sha256:{digest.hexdigest()}", url

    async def _report(self, record: ExportRecord, done: int, image: ImageData) -> bool:
        return await self.database.run(
            lambda: self.repository.progress(
                record.seq,
                self.owner,
                self.config.lease_seconds,
                bytes_done=done,
                size=image.size,
                disk_format=image.disk_format,
            )
        )

    async def _end(self, record: ExportRecord, state: str, **values: object) -> None:
        try:
            await self.database.run(
                lambda: self.repository.finish(record.seq, self.owner, state, **values)  # type: ignore[arg-type]
            )
        except Exception:
            log.exception("could not record the end of export %s", record.export_id)


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
