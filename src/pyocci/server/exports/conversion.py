"""Disk format conversion for exports: the image spooled to the server's disk, converted
by ``qemu-img convert``, and read back for the upload.

qemu-img cannot write qcow2 to a pipe (the format's tables are written after the
data they describe) nor read most formats from one, so a conversion needs two
files: the image as the cloud gave it, and the converted one. Both live in a
directory of their own under the configured spool directory, made for one run
of one export and removed when that run ends however it ends (done, failed,
cancelled); a run that died with its server leaves a directory that the next
run of the same export removes before it begins (`remove_leftovers`).

Disk use is bounded: an image larger than `Converter.max_bytes` is refused
before a byte is written, and before converting, ``qemu-img measure`` says how
large the converted file will be, which must fit in what is left. Memory stays
one chunk: the image is written to the file chunk by chunk and read back the
same way. qemu-img runs as a child process that the event loop waits for
without blocking, for at most `Converter.timeout` seconds; when it fails, the
end of what it wrote on stderr is the export's reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from pyocci.server.exports.targets import ExportFailedError

__all__ = ["ConversionFailedError", "Converter", "Spool", "find_qemu_img", "remove_leftovers"]

#: What the end of qemu-img's stderr may hold in an export's reason.
STDERR_KEPT = 2000
#: Percent done, as ``qemu-img convert -p`` prints it: ``    (12.50/100%)\r``.
_PERCENT = re.compile(rb"\((\d+(?:\.\d+)?)/100%\)")

#: Called with the percent of a stage done; False: stop (the export was cancelled).
Percent = Callable[[int], Awaitable[bool]]


class ConversionFailedError(ExportFailedError):
    """The image could not be converted; the message says why (qemu-img's words)."""


class ConversionStoppedError(Exception):
    """The export was cancelled or deleted during a conversion stage."""


def find_qemu_img(command: str) -> str | None:
    """The path of the qemu-img `command` names, or None where there is none."""
    return shutil.which(command)


def _spool_prefix(seq: int) -> str:
    return f"pyocci-export-{seq}-"


def remove_leftovers(spool_dir: Path | None, seq: int) -> int:
    """Remove what an earlier run of export `seq` left in the spool directory (its
    server stopped mid-conversion); how many directories were removed."""
    base = Path(spool_dir or tempfile.gettempdir())
    removed = 0
    with contextlib.suppress(FileNotFoundError):
        for path in base.glob(f"{_spool_prefix(seq)}*"):
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
                removed += 1
    return removed


@dataclass(frozen=True, slots=True)
class Converter:
    """How this server converts: its qemu-img, where files go, and the limits."""

    qemu_img: str
    spool_dir: Path | None
    max_bytes: int
    timeout: float

    def spool(self, seq: int) -> Spool:
        """A spool directory for one run of export `seq` (an async context manager)."""
        return Spool(self, seq)

    async def run(self, *arguments: str, on_percent: Percent | None = None) -> bytes:
        """Run qemu-img with `arguments`; its stdout. ConversionFailedError with its
        stderr when it fails, or when it takes longer than `timeout`;
        ConversionStoppedError when `on_percent` says to stop."""
        process = await asyncio.create_subprocess_exec(
            self.qemu_img,
            *arguments,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        errors = bytearray()
        output = bytearray()
        percent = [0]

        async def read_stderr() -> None:
            assert process.stderr is not None
            while piece := await process.stderr.read(65536):
                errors.extend(piece)
                del errors[:-STDERR_KEPT]  # only the end is kept: memory stays bounded

        async def read_stdout() -> None:
            assert process.stdout is not None
            while piece := await process.stdout.read(65536):
                if on_percent is None:
                    output.extend(piece)
                    continue
                found = _PERCENT.findall(piece)
                if found:
                    percent[0] = int(float(found[-1]))

        async def watch() -> None:
            await asyncio.gather(read_stdout(), read_stderr(), process.wait())

        watching = asyncio.ensure_future(watch())
        try:
            async with asyncio.timeout(self.timeout):
                while True:
                    done, _ = await asyncio.wait({watching}, timeout=0.5)
                    if done:
                        watching.result()
                        break
                    if on_percent is not None and not await on_percent(percent[0]):
                        raise ConversionStoppedError
        except TimeoutError:
            raise ConversionFailedError(
                f"qemu-img {arguments[0]} took longer than {self.timeout:g} s "
                "([export] convert_timeout_seconds)"
            ) from None
        finally:
            if process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
            watching.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await watching
            if process.returncode is None:
                # Reaped, so no zombie is left; kill makes this quick.
                with contextlib.suppress(Exception):
                    await asyncio.shield(process.wait())
        if process.returncode != 0:
            said = " ".join(errors.decode("utf-8", "replace").split())
            raise ConversionFailedError(
                f"qemu-img {arguments[0]} failed (exit {process.returncode}): "
                + (said or "it gave no reason")
            )
        return bytes(output)


class Spool:
    """One run's spool directory: made on entry, removed on exit whatever happened."""

    def __init__(self, converter: Converter, seq: int) -> None:
        self.converter = converter
        self.seq = seq
        self.directory: Path | None = None
        #: Bytes written to this directory so far (the image as read).
        self.used = 0

    async def __aenter__(self) -> Spool:
        base = self.converter.spool_dir
        if base is not None:
            base.mkdir(parents=True, exist_ok=True)
        self.directory = Path(tempfile.mkdtemp(prefix=_spool_prefix(self.seq), dir=base))
        return self

    async def __aexit__(self, *_: object) -> None:
        # Synchronous on purpose: removal must happen even while the task is cancelled,
        # and unlinking two files does not wait on the disk's data.
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)
            self.directory = None

    def _path(self, name: str) -> Path:
        assert self.directory is not None, "the spool is used inside `async with`"
        return self.directory / name

    def _too_large(self, size: int, what: str) -> ConversionFailedError:
        return ConversionFailedError(
            f"{what} {size} bytes; this server converts images using at most "
            f"{self.converter.max_bytes} bytes of disk ([export] max_spool_bytes)"
        )

    async def read(
        self, chunks: AsyncIterator[bytes], size: int | None, on_percent: Percent
    ) -> Path:
        """Write the image's chunks to a file (refusing one that would not fit); its
        path. ConversionStoppedError when `on_percent` says to stop."""
        if size is not None and size > self.converter.max_bytes:
            raise self._too_large(size, "the image is")
        path = self._path("source")
        with path.open("wb") as file:
            async for chunk in chunks:
                self.used += len(chunk)
                if self.used > self.converter.max_bytes:
                    raise self._too_large(self.used, "the image is more than")
                await asyncio.to_thread(file.write, chunk)
                percent = 0 if not size else min(100, self.used * 100 // size)
                if not await on_percent(percent):
                    raise ConversionStoppedError
        return path

    async def convert(
        self, source: Path, source_format: str, wanted: str, on_percent: Percent
    ) -> Path:
        """Convert the spooled image to `wanted` (after checking that the result fits);
        the converted file's path."""
        measured = await self.converter.run(
            "measure", "--output=json", "-f", source_format, "-O", wanted, str(source)
        )
        try:
            required = int(json.loads(measured)["required"])
        except (ValueError, KeyError, TypeError):
            raise ConversionFailedError(
                f"qemu-img measure gave no size: {measured[:200]!r}"
            ) from None
        total = self.used + required
        if total > self.converter.max_bytes:
            raise ConversionFailedError(
                f"the image read ({self.used} bytes) and converted to {wanted} ({required} "
                f"bytes) would take {total} bytes; this server converts images using at most "
                f"{self.converter.max_bytes} bytes of disk ([export] max_spool_bytes)"
            )
        target = self._path(f"converted.{wanted}")
        await self.converter.run(
            "convert",
            "-p",
            "-f",
            source_format,
            "-O",
            wanted,
            str(source),
            str(target),
            on_percent=on_percent,
        )
        # The image as read is not needed any more: its disk is given back at once.
        source.unlink(missing_ok=True)
        return target


async def file_chunks(path: Path, chunk_bytes: int) -> AsyncIterator[bytes]:
    """The file's bytes, `chunk_bytes` at a time, each read in a thread."""
    with path.open("rb") as file:
        while chunk := await asyncio.to_thread(file.read, chunk_bytes):
            yield chunk


def file_size(path: Path) -> int:
    """The size of a file in bytes."""
    return os.stat(path).st_size
