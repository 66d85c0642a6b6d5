"""A simulated image's bytes for export (generated from its id, the same whatever the
chunk size, different between images) and the deletion of images a tenant saved."""

from __future__ import annotations

import hashlib

import pytest
from sim_helpers import COMPUTE_ACTION, DEBIAN, SAVED, UBUNTU, compute

from pyocci.backends.errors import BusyError, EntityNotFoundError
from pyocci.backends.sim import SimBackend
from pyocci.backends.sim.image_data import BLOCK, image_bytes

pytestmark = pytest.mark.anyio

SAVE = COMPUTE_ACTION + "save"


async def _read(backend: SimBackend, tenant, mixin_id: str, chunk_bytes: int) -> list[bytes]:
    image = await backend.read_image(tenant, mixin_id, chunk_bytes)
    assert image.size == backend.settings.image_bytes and image.disk_format == "raw"
    return [chunk async for chunk in image.chunks]


async def test_an_images_bytes_do_not_depend_on_the_chunk_size(make_backend, tenant) -> None:
    size = 3 * BLOCK + 12345
    backend = make_backend(image_bytes=size)
    small = await _read(backend, tenant, DEBIAN, BLOCK)
    large = await _read(backend, tenant, DEBIAN, 2 * BLOCK)
    assert [len(c) for c in small] == [BLOCK, BLOCK, BLOCK, 12345]
    assert [len(c) for c in large] == [2 * BLOCK, BLOCK + 12345]
    assert b"".join(small) == b"".join(large) == image_bytes(DEBIAN, size)


async def test_images_differ_and_do_not_compress(make_backend, tenant) -> None:
    backend = make_backend(image_bytes=BLOCK)
    debian = b"".join(await _read(backend, tenant, DEBIAN, BLOCK))
    ubuntu = b"".join(await _read(backend, tenant, UBUNTU, BLOCK))
    assert hashlib.sha256(debian).digest() != hashlib.sha256(ubuntu).digest()
    assert len(set(debian[i : i + 32] for i in range(0, BLOCK, 32))) > BLOCK // 64


async def test_a_saved_image_is_readable_by_its_tenant_only(make_backend, tenant, other) -> None:
    backend = make_backend(image_bytes=1000)
    vm = await backend.create_entity(tenant, compute())
    saved = (await backend.trigger_action(tenant, vm, SAVE, {"name": "golden"})).created
    assert saved is not None
    assert b"".join(await _read(backend, tenant, saved.id, BLOCK)) == image_bytes(saved.id, 1000)
    with pytest.raises(EntityNotFoundError, match="not an OS template you can export"):
        await backend.read_image(other, saved.id, BLOCK)


async def test_an_image_still_being_saved_is_busy(make_backend, tenant, clock) -> None:
    backend = make_backend(transition_seconds=5)
    vm = await backend.create_entity(tenant, compute())
    clock.advance(5)
    saved = (await backend.trigger_action(tenant, vm, SAVE, {"name": "golden"})).created
    assert saved is not None
    with pytest.raises(BusyError, match="still being saved"):
        await backend.read_image(tenant, saved.id, BLOCK)


async def test_a_tenant_deletes_its_saved_images_only(backend: SimBackend, tenant, other) -> None:
    vm = await backend.create_entity(tenant, compute())
    saved = (await backend.trigger_action(tenant, vm, SAVE, {"name": "golden"})).created
    assert saved is not None
    assert not await backend.delete_template(other, saved.id)
    assert not await backend.delete_template(tenant, DEBIAN)
    assert await backend.delete_template(tenant, saved.id)
    assert saved.id not in {m.id for m in await backend.provider_mixins(tenant)}
    assert not await backend.delete_template(tenant, saved.id)
    assert not await backend.delete_template(tenant, SAVED + "never-saved")
    # The compute it came from is untouched.
    assert (await backend.get_entity(tenant, vm.kind or "", vm.id or "")).id == vm.id
