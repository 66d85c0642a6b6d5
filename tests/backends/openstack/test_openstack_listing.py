"""Listing against a Nova that caps its pages below what the backend asks for."""

from __future__ import annotations

import pytest
from openstack_helpers import COMPUTE, compute, compute_calls, listed, wait_state

from novaserver import ADMIN_TOKEN, NovaServer
from pyocci.backends.api import Query
from pyocci.backends.openstack import OpenStackBackend, OpenStackSettings
from pyocci.model import standard_model

pytestmark = pytest.mark.anyio


async def test_a_short_page_with_a_next_link_is_not_the_end(
    capped_nova: NovaServer, tenant
) -> None:
    settings = OpenStackSettings(
        token=ADMIN_TOKEN,
        compute_endpoint=capped_nova.compute_url,
        image_endpoint=capped_nova.image_url,
        page_size=10,
    )
    backend = OpenStackBackend(model=standard_model(), settings=settings)
    made = [await backend.create_entity(tenant, compute()) for _ in range(5)]
    for entity in made:
        await wait_state(backend, tenant, entity.id, "active")
    with compute_calls(backend) as calls:
        everything = await listed(backend, tenant, Query(kinds=(COMPUTE,)))
    # Asked for 10, Nova gave 3 and a link to the rest: the listing goes on to the end.
    assert sorted(entity.id for entity in everything) == sorted(entity.id for entity in made)
    assert len(calls) == 2
    await backend.close()
