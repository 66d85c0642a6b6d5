"""Listings on moto's EC2: one DescribeInstances per page, filters pushed down, live reads."""

from __future__ import annotations

import pytest
from ec2_helpers import (
    ALL_KINDS,
    COMPUTE,
    NETWORKINTERFACE,
    STORAGE,
    STORAGELINK,
    compute,
    count_calls,
    flavour,
    image,
    listed,
)

from pyocci.backends.api import Query
from pyocci.backends.errors import BackendUnavailableError
from pyocci.model import Resource

pytestmark = pytest.mark.anyio


async def _computes(backend, tenant, images, count, **kwargs):
    made = []
    for index in range(count):
        entity = compute(images["debian-12"], **{"occi.core.title": f"vm{index}"}, **kwargs)
        made.append(await backend.create_entity(tenant, entity))
    return made


async def test_pages_cover_the_collection_once_in_a_stable_order(backend, tenant, images):
    made = await _computes(backend, tenant, images, 7)
    pages = [
        [e.id for e in await listed(backend, tenant, Query(kinds=(COMPUTE,), offset=o, limit=3))]
        for o in (0, 3, 6, 9)
    ]
    assert [len(page) for page in pages] == [3, 3, 1, 0]
    assert sorted(i for page in pages for i in page) == sorted(e.id for e in made)


async def test_a_page_is_one_describe_instances_call_with_its_links(backend, tenant, images):
    await _computes(backend, tenant, images, 12)
    await backend.provider_mixins(tenant)  # templates cached, as after the first request
    calls = count_calls(backend)
    page = await listed(backend, tenant, Query(kinds=(COMPUTE,), offset=0, limit=10))
    assert len(page) == 10 and all(e.links for e in page)
    assert calls == ["DescribeInstances"]
    calls.clear()
    links = await listed(backend, tenant, Query(kinds=(STORAGELINK,), limit=5))
    assert len(links) == 5 and calls == ["DescribeInstances"]


async def test_filters_are_ec2_filters(backend, tenant, images):
    await _computes(backend, tenant, images, 2)
    odd = await backend.create_entity(
        tenant, compute(images["rocky-9"], "m5.large", **{"occi.core.title": "odd"})
    )
    stopped = (
        await backend.trigger_action(
            tenant, odd, "http://schemas.ogf.org/occi/infrastructure/compute/action#stop", {}
        )
    ).entity
    calls = count_calls(backend)
    by_image = await listed(
        backend, tenant, Query(kinds=(COMPUTE,), mixins=(image(images["rocky-9"]),))
    )
    by_type = await listed(backend, tenant, Query(kinds=(COMPUTE,), mixins=(flavour("m5.large"),)))
    by_title = await listed(
        backend, tenant, Query(kinds=(COMPUTE,), attributes={"occi.core.title": "odd"})
    )
    by_state = await listed(
        backend, tenant, Query(kinds=(COMPUTE,), attributes={"occi.compute.state": "inactive"})
    )
    assert [e.id for e in by_image] == [e.id for e in by_type] == [stopped.id]
    assert [e.id for e in by_title] == [e.id for e in by_state] == [stopped.id]
    assert calls == ["DescribeInstances"] * 4


async def test_pages_across_kinds_are_pages_of_one_sequence(backend, tenant, images):
    await _computes(backend, tenant, images, 2)
    await backend.create_entity(
        tenant, Resource(kind=STORAGE, attributes={"occi.storage.size": 1.0})
    )
    everything = [e.id for e in await listed(backend, tenant, Query(kinds=ALL_KINDS))]
    # Computes, a storage, networks, groups, then the computes' links: pages span kinds.
    assert len(everything) > 6
    pages = [
        [e.id for e in await listed(backend, tenant, Query(kinds=ALL_KINDS, offset=o, limit=4))]
        for o in range(0, len(everything) + 4, 4)
    ]
    assert [i for page in pages for i in page] == everything
    # A filter EC2 cannot apply to every kind (the public network, links) still holds.
    titled = Query(kinds=ALL_KINDS, attributes={"occi.core.title": "vm1"})
    assert [e.title for e in await listed(backend, tenant, titled)] == ["vm1"]


async def test_links_of_one_source(backend, tenant, images):
    first, _ = await _computes(backend, tenant, images, 2)
    interfaces = await listed(
        backend,
        tenant,
        Query(kinds=(NETWORKINTERFACE,), attributes={"occi.core.source": first.location}),
    )
    assert [i.source for i in interfaces] == [first.location]


async def test_tenants_see_only_their_own(backend, tenant, other, images):
    mine = await _computes(backend, tenant, images, 2)
    theirs = await _computes(backend, other, images, 1)
    everything = await listed(backend, tenant, Query(kinds=ALL_KINDS))
    seen = {e.id for e in everything}
    assert {e.id for e in mine} <= seen and not {e.id for e in theirs} & seen


async def test_account_tenancy_shows_what_was_made_outside_occi(make_backend, tenant, images, ec2):
    backend = make_backend(tenancy="account")
    made = ec2.run_instances(ImageId=images["ubuntu-24.04"], MinCount=1, MaxCount=1)
    outside = made["Instances"][0]["InstanceId"]
    listing = await listed(backend, tenant, Query(kinds=(COMPUTE,)))
    assert outside in [e.id for e in listing]
    tagged = make_backend()
    assert outside not in [e.id for e in await listed(tagged, tenant, Query(kinds=(COMPUTE,)))]


async def test_templates_are_cached_for_their_lifetime(make_backend, tenant, images, ec2):
    backend = make_backend(template_ttl=3600)
    before = {m.term for m in await backend.provider_mixins(tenant)}
    late = ec2.register_image(Name="late", RootDeviceName="/dev/xvda")["ImageId"]
    assert late not in {m.term for m in await backend.provider_mixins(tenant)}
    fresh = make_backend(template_ttl=0.001)
    assert late in {m.term for m in await fresh.provider_mixins(tenant)}
    assert set(images.values()) <= before


async def test_moto_stopped_is_503_and_restarted_recovers(moto, backend, tenant, images):
    await _computes(backend, tenant, images, 1)
    moto.stop()
    try:
        with pytest.raises(BackendUnavailableError) as caught:
            await listed(backend, tenant, Query(kinds=(COMPUTE,)))
        assert caught.value.retry_after == 2
        assert "cannot be reached" in str(caught.value)
    finally:
        moto.start()
    # The same backend serves again; moto forgot everything when it stopped.
    assert await listed(backend, tenant, Query(kinds=(COMPUTE,))) == []
    moto.reset()


async def test_an_unknown_configured_instance_type_is_a_503_naming_the_setting(
    make_backend, tenant
):
    backend = make_backend(instance_types=["t3.micro", "t9.imaginary"])
    with pytest.raises(BackendUnavailableError, match="instance_types"):
        await backend.provider_mixins(tenant)
