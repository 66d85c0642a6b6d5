"""Collections (GFD.223 §3.4.2) through the service, over the memory backend: which
entities a kind or mixin collection holds, attribute and category filters, and paging
with the totals the backend counts."""

from __future__ import annotations

import pytest
from service_driver import (
    COMPUTE_ID,
    DEBIAN,
    MAX_PAGE_SIZE,
    STORAGE_ID,
    STORAGELINK_ID,
    UBUNTU,
    ServiceDriver,
    refused,
)

from pyocci.model.category import Mixin
from pyocci.model.core import ENTITY, RESOURCE
from pyocci.model.entity import Entity, Resource
from pyocci.model.extensions import CRTP_SCHEME
from pyocci.model.infrastructure import OS_TPL
from pyocci.service.errors import PageTooLargeError
from pyocci.service.occi import PageRequest

pytestmark = pytest.mark.anyio

TITLE = "occi.core.title"
SMALL = CRTP_SCHEME + "small"


def bare(identifier: str) -> Mixin:
    """A category named by identifier alone, as a ``Category`` filter names it."""
    scheme, term = identifier.split("#")
    return Mixin(scheme=scheme + "#", term=term)


async def computes(occi: ServiceDriver, count: int) -> list[str]:
    """Create `count` computes titled 0, 1, ...; their locations in creation order."""
    made = [await occi.compute(**{TITLE: str(n)}) for n in range(count)]
    return [entity.location or "" for entity in made]


# --- what a collection holds ------------------------------------------------------------


async def test_a_kind_collection_lists_its_entities_in_creation_order(
    occi: ServiceDriver,
) -> None:
    made = await computes(occi, 5)  # more than a batch: the listing comes in several
    await occi.storage()
    entities, total = await occi.listing(COMPUTE_ID)
    assert [e.location for e in entities] == made
    assert total is None  # only a paged listing is counted
    # Each entity is presented as a read presents it.
    assert all(e.actions for e in entities)


async def test_a_parent_kind_lists_its_sub_kinds(occi: ServiceDriver) -> None:
    compute, storage, network = await occi.compute(), await occi.storage(), await occi.network()
    link = await occi.storagelink(compute, storage)
    resources = await occi.locations(RESOURCE.id)
    assert sorted(resources) == sorted([compute.location, storage.location, network.location])
    everything = await occi.locations(ENTITY.id)
    assert sorted(everything) == sorted([*resources, link.location])
    # The collection of every entity is the root path.
    assert await occi.collection("/") == await occi.category(ENTITY.id)


async def test_a_listing_shows_each_entitys_own_actions(occi: ServiceDriver) -> None:
    running, stopped = await occi.compute(), await occi.compute()
    await occi.trigger(stopped.location or "", "stop")
    entities, _ = await occi.listing(COMPUTE_ID)
    terms = {e.location: sorted(a.rsplit("#", 1)[1] for a in e.actions) for e in entities}
    assert terms == {
        running.location: ["restart", "save", "stop", "suspend"],
        stopped.location: ["save", "start"],
    }


async def test_a_provider_mixin_collection_lists_the_entities_that_have_it(
    occi: ServiceDriver,
) -> None:
    debian = await occi.create(Resource(kind=COMPUTE_ID, mixins=[DEBIAN]))
    await occi.create(Resource(kind=COMPUTE_ID, mixins=[UBUNTU]))
    await occi.compute()
    assert await occi.locations(await occi.collection("/mixin/os_tpl/debian-12/")) == [
        debian.location
    ]


async def test_a_listing_of_another_tenant_is_empty(
    occi: ServiceDriver, other_occi: ServiceDriver
) -> None:
    await computes(occi, 2)
    assert await other_occi.locations(COMPUTE_ID) == []
    assert await other_occi.locations(ENTITY.id) == []


# --- filters ----------------------------------------------------------------------------


async def test_an_attribute_filter_keeps_the_entities_whose_value_equals_it(
    occi: ServiceDriver,
) -> None:
    made = await computes(occi, 3)
    assert await occi.locations(COMPUTE_ID, attributes={TITLE: "1"}) == [made[1]]
    assert await occi.locations(COMPUTE_ID, attributes={TITLE: "none"}) == []


async def test_attribute_filters_must_all_hold(occi: ServiceDriver) -> None:
    both = await occi.compute(**{TITLE: "web", "occi.compute.cores": 2})
    await occi.compute(**{TITLE: "web", "occi.compute.cores": 4})
    await occi.compute(**{TITLE: "db", "occi.compute.cores": 2})
    found = await occi.locations(COMPUTE_ID, attributes={TITLE: "web", "occi.compute.cores": 2})
    assert found == [both.location]


async def test_a_kind_filter_narrows_a_parent_collection(occi: ServiceDriver) -> None:
    await occi.compute()
    storage = await occi.storage()
    found = await occi.locations(RESOURCE.id, filters=[bare(STORAGE_ID)])
    assert found == [storage.location]
    # A kind outside the collection leaves nothing.
    assert await occi.locations(COMPUTE_ID, filters=[bare(STORAGE_ID)]) == []


async def test_a_template_filter_keeps_the_entities_with_that_template(
    occi: ServiceDriver,
) -> None:
    debian = await occi.create(Resource(kind=COMPUTE_ID, mixins=[DEBIAN, SMALL]))
    ubuntu = await occi.create(Resource(kind=COMPUTE_ID, mixins=[UBUNTU]))
    await occi.compute()
    assert await occi.locations(COMPUTE_ID, filters=[bare(DEBIAN)]) == [debian.location]
    assert await occi.locations(COMPUTE_ID, filters=[bare(DEBIAN), bare(SMALL)]) == [
        debian.location
    ]
    assert await occi.locations(COMPUTE_ID, filters=[bare(UBUNTU), bare(SMALL)]) == []
    # The parent mixin stands for any of its templates.
    assert await occi.locations(COMPUTE_ID, filters=[bare(OS_TPL.id)]) == [
        debian.location,
        ubuntu.location,
    ]


async def test_filters_and_attributes_combine(occi: ServiceDriver) -> None:
    wanted = await occi.create(
        Resource(kind=COMPUTE_ID, mixins=[DEBIAN], attributes={TITLE: "web"})
    )
    await occi.create(Resource(kind=COMPUTE_ID, mixins=[DEBIAN], attributes={TITLE: "db"}))
    await occi.compute(**{TITLE: "web"})
    found = await occi.locations(RESOURCE.id, filters=[bare(DEBIAN)], attributes={TITLE: "web"})
    assert found == [wanted.location]


async def test_a_filter_naming_no_kind_or_mixin_is_refused(occi: ServiceDriver) -> None:
    with refused(400, "no such kind or mixin"):
        await occi.listing(COMPUTE_ID, filters=[bare("http://example.org/occi#nothing")])


# --- paging -----------------------------------------------------------------------------


async def test_pages_split_a_listing_and_carry_the_total(occi: ServiceDriver) -> None:
    made = await computes(occi, 5)
    pages = []
    for index in (1, 2, 3):
        entities, total = await occi.listing(COMPUTE_ID, page=PageRequest(index, 2))
        assert total == 5
        pages.append([e.location for e in entities])
    assert pages == [made[0:2], made[2:4], made[4:5]]


async def test_a_page_beyond_the_end_is_empty_and_still_counted(occi: ServiceDriver) -> None:
    await computes(occi, 3)
    entities, total = await occi.listing(COMPUTE_ID, page=PageRequest(7, 2))
    assert entities == []
    assert total == 3


async def test_a_paged_filtered_listing_counts_what_passes_the_filters(
    occi: ServiceDriver,
) -> None:
    webs = [(await occi.compute(**{TITLE: "web"})).location for _ in range(3)]
    await computes(occi, 2)
    entities, total = await occi.listing(
        COMPUTE_ID, attributes={TITLE: "web"}, page=PageRequest(2, 2)
    )
    assert [e.location for e in entities] == webs[2:]
    assert total == 3


async def test_a_page_across_kinds_pages_the_collection_as_one(occi: ServiceDriver) -> None:
    compute, storage, network = await occi.compute(), await occi.storage(), await occi.network()
    first, total = await occi.listing(RESOURCE.id, page=PageRequest(1, 2))
    second, _ = await occi.listing(RESOURCE.id, page=PageRequest(2, 2))
    assert total == 3
    assert [e.location for e in first + second] == [
        compute.location,
        storage.location,
        network.location,
    ]


async def test_a_page_larger_than_the_limit_is_refused(occi: ServiceDriver) -> None:
    with refused(413, f"limit of {MAX_PAGE_SIZE}") as raised:
        await occi.listing(COMPUTE_ID, page=PageRequest(1, MAX_PAGE_SIZE + 1))
    assert isinstance(raised.value, PageTooLargeError)
    entities, _ = await occi.listing(COMPUTE_ID, page=PageRequest(1, MAX_PAGE_SIZE))
    assert entities == []


async def test_a_location_listing_names_the_same_entities(occi: ServiceDriver) -> None:
    made = await computes(occi, 3)
    await occi.storage()
    locations, total = await occi.location_listing(COMPUTE_ID)
    assert locations == made and total is None
    paged, total = await occi.location_listing(COMPUTE_ID, page=PageRequest(2, 2))
    assert paged == made[2:] and total == 3


async def test_a_listing_of_links_shows_their_ends(occi: ServiceDriver) -> None:
    compute, storage = await occi.compute(), await occi.storage()
    await occi.storagelink(compute, storage)
    [link], _ = await occi.listing(STORAGELINK_ID)
    assert isinstance(link, Entity)
    assert link.attributes["occi.core.source"] == compute.location
    assert link.attributes["occi.core.target"] == storage.location
    assert link.attributes["occi.core.target.kind"] == STORAGE_ID
