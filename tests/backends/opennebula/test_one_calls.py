"""What the backend asks oned: one pool call per page of a listing, templates cached."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from one_helpers import COMPUTE, compute, delete, listed, os_tpl

from pyocci.backends.api import Query

pytestmark = pytest.mark.anyio


@contextmanager
def calls_of(backend: Any) -> Iterator[list[str]]:
    """The oned methods the backend calls inside the block, in order."""
    api = backend.api
    made: list[str] = []
    original = api.call

    async def recorded(session: str, method: str, *arguments: Any) -> Any:
        made.append(method)
        return await original(session, method, *arguments)

    api.call = recorded
    try:
        yield made
    finally:
        api.call = original


async def test_a_listing_is_one_pool_call_per_page_and_none_per_vm(make_backend, tenant) -> None:
    backend = await make_backend(page_size=2, template_ttl=600)
    template = await os_tpl(backend, tenant)
    made = [await backend.create_entity(tenant, compute(template)) for _ in range(3)]
    with calls_of(backend) as calls:
        everything = await listed(backend, tenant, Query(kinds=(COMPUTE,)))
    assert len(everything) == 3
    # Three VMs in pages of two: two pages, no vm.info, templates from the cache.
    assert calls == ["vmpool.infoextended", "vmpool.infoextended"]
    with calls_of(backend) as calls:
        page = await listed(backend, tenant, Query(kinds=(COMPUTE,), offset=2, limit=1))
    assert [e.id for e in page] == [everything[2].id]
    assert calls == ["vmpool.infoextended"]
    for entity in made:
        await delete(backend, tenant, entity)


async def test_templates_are_read_once_per_ttl(make_backend, tenant) -> None:
    backend = await make_backend(template_ttl=600)
    with calls_of(backend) as calls:
        first = await backend.provider_mixins(tenant)
        again = await backend.provider_mixins(tenant)
    assert [m.id for m in first] == [m.id for m in again]
    assert calls.count("templatepool.info") == 1
