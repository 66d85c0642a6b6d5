"""The simulated images' bytes, for export, and the deletion of images tenants saved.

A simulated image holds no real disk: its bytes are generated from its
identifier, block by block, `SimSettings.image_bytes` of them. The same
image always gives the same bytes (so a test or a benchmark can check what
arrived), two images give different ones, and they do not compress (a target
that compresses would otherwise measure nothing). They are made as they are
read: an image of any size costs one chunk of memory.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Iterator

import sqlalchemy as sa

from pyocci.backends.errors import EntityNotFoundError
from pyocci.backends.sim import images
from pyocci.backends.sim.context import Work

#: Bytes made from one seed: a chunk's size does not change the bytes.
BLOCK = 1024 * 1024


def _block(image_id: str, index: int, length: int) -> bytes:
    return random.Random(f"{image_id}:{index}").randbytes(length)


def image_blocks(image_id: str, size: int, start: int = 0) -> Iterator[bytes]:
    """The image's bytes from block `start` on, one `BLOCK` at a time (the last shorter)."""
    for index in range(start, (size + BLOCK - 1) // BLOCK):
        yield _block(image_id, index, min(BLOCK, size - index * BLOCK))


def image_bytes(image_id: str, size: int) -> bytes:
    """The whole image at once (for tests and benchmarks that check what arrived)."""
    return b"".join(image_blocks(image_id, size))


async def image_chunks(image_id: str, size: int, chunk_bytes: int) -> AsyncIterator[bytes]:
    """The image's bytes in chunks of `chunk_bytes` (whole blocks, at least one), each
    made in a thread so the event loop serves requests meanwhile."""
    per_chunk = max(1, chunk_bytes // BLOCK)
    blocks = (size + BLOCK - 1) // BLOCK
    for first in range(0, blocks, per_chunk):
        last = min(blocks, first + per_chunk)
        yield await asyncio.to_thread(_blocks, image_id, size, first, last)


def _blocks(image_id: str, size: int, first: int, last: int) -> bytes:
    return b"".join(
        _block(image_id, index, min(BLOCK, size - index * BLOCK)) for index in range(first, last)
    )


def readable_image(work: Work, mixin_id: str) -> None:
    """Check that the tenant may read this image: a configured one, or one it saved that
    is ready; BusyError while it is being saved, EntityNotFoundError otherwise."""
    if mixin_id in work.cloud.catalogue.images or images.saved_image_ids(work, [mixin_id]):
        return
    pending = images.pending_image(work, mixin_id)
    if pending is not None:
        raise pending
    raise EntityNotFoundError(
        f"{mixin_id} is not an OS template you can export; " + images.choices(work)
    )


def delete_saved(work: Work, mixin_id: str) -> bool:
    """Delete an image the tenant saved; False for any other template."""
    scheme = work.settings.saved_image_scheme
    if not mixin_id.startswith(scheme):
        return False
    deleted = work.connection.execute(
        sa.delete(images.IMAGES).where(
            images.IMAGES.c.tenant_id == work.tenant_id,
            images.IMAGES.c.term == mixin_id[len(scheme) :],
        )
    )
    return deleted.rowcount > 0
