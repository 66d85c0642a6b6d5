"""The OCCI service over the simulated cloud: what it refuses before any work is done.

Each case was a 500 found by the HTTP fuzzer (``tests/reliability``): client
input that reached the database or a location builder unchecked. The service
now refuses it with a BadRequestError (400) saying what to send instead.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pyocci.backends.base import Tenant
from pyocci.backends.errors import BackendUnavailableError
from pyocci.backends.sim import SimBackend, SimSettings
from pyocci.model import standard_model
from pyocci.model.category import Kind
from pyocci.model.entity import Link, Resource
from pyocci.service.errors import BadRequestError
from pyocci.service.occi import MAX_FILTERS, OcciService
from pyocci.store import Database
from pyocci.store.mixins import MixinRepository

INFRA = "http://schemas.ogf.org/occi/infrastructure#"
COMPUTE = INFRA + "compute"
NETWORK = INFRA + "network"
STORAGELINK = INFRA + "storagelink"
NETWORKINTERFACE = INFRA + "networkinterface"

pytestmark = pytest.mark.anyio


@pytest.fixture
def service(database_url: str) -> Iterator[OcciService]:
    """The service as the server builds it, over the sim on a fresh database of each kind."""
    database = Database(database_url)
    database.upgrade()
    standard = standard_model()
    backend = SimBackend(model=standard, database=database, settings=SimSettings())
    try:
        yield OcciService(
            standard=standard,
            backend=backend,
            store=MixinRepository(database),
            runner=database,
        )
    finally:
        database.dispose()


@pytest.fixture
def tenant() -> Tenant:
    return Tenant("alice")


async def kind(service: OcciService, tenant: Tenant, kind_id: str) -> Kind:
    found = (await service.model_for(tenant)).get(kind_id)
    assert isinstance(found, Kind)
    return found


# --- listing filters ---------------------------------------------------------------------------


async def test_a_listing_takes_up_to_max_filters(service: OcciService, tenant: Tenant) -> None:
    model = await service.model_for(tenant)
    attributes = {f"occi.core.title.{n}": "x" for n in range(MAX_FILTERS)}
    listing = await service.listing(
        tenant, model, await kind(service, tenant, COMPUTE), attributes=attributes
    )
    assert [entity async for entity in listing.batches] == []


@pytest.mark.parametrize("attribute_count", [MAX_FILTERS + 1, 2000])
async def test_more_filters_are_refused_before_the_database_sees_them(
    service: OcciService, tenant: Tenant, attribute_count: int
) -> None:
    # 2000 attribute filters made a query SQLite refuses ("Expression tree is too
    # large"): a 500.
    model = await service.model_for(tenant)
    attributes = {f"fuzz.attr{n}": str(n) for n in range(attribute_count)}
    with pytest.raises(BadRequestError, match=f"at most {MAX_FILTERS}"):
        await service.listing(
            tenant, model, await kind(service, tenant, COMPUTE), attributes=attributes
        )


async def test_category_filters_count_too(service: OcciService, tenant: Tenant) -> None:
    model = await service.model_for(tenant)
    compute = await kind(service, tenant, COMPUTE)
    with pytest.raises(BadRequestError, match=f"at most {MAX_FILTERS}"):
        await service.listing(
            tenant,
            model,
            compute,
            filters=[compute] * 60,
            attributes={f"occi.core.title.{n}": "x" for n in range(MAX_FILTERS - 59)},
        )


# --- ids, sources and targets ------------------------------------------------------------------


@pytest.mark.parametrize("entity_id", [456, 4.5, True, ["a"]])
async def test_an_id_that_is_not_a_string_is_refused(
    service: OcciService, tenant: Tenant, entity_id: object
) -> None:
    # An unquoted occi.core.id=456 in a text rendering, or a JSON number.
    model = await service.model_for(tenant)
    entity = Resource(kind=COMPUTE, attributes={"occi.core.id": entity_id})
    with pytest.raises(BadRequestError, match=r"occi\.core\.id must be a string"):
        await service.create(tenant, model, await kind(service, tenant, COMPUTE), entity)


async def test_an_inline_link_id_that_is_not_a_string_is_refused(
    service: OcciService, tenant: Tenant
) -> None:
    # Link: </network/123>; ...; occi.core.id=456 made the location builder add an int
    # to a str: a 500.
    model = await service.model_for(tenant)
    compute = await kind(service, tenant, COMPUTE)
    link = Link(
        kind=NETWORKINTERFACE,
        attributes={"occi.core.id": 456, "occi.core.target": "/network/123"},
    )
    with pytest.raises(BadRequestError, match=r"occi\.core\.id must be a string"):
        await service.create(tenant, model, compute, Resource(kind=COMPUTE, links=[link]))
    assert [e async for e in (await service.listing(tenant, model, compute)).batches] == []


@pytest.mark.parametrize("link_id", ["a/b", "€", "..", "x" * 300])
async def test_an_inline_link_id_follows_the_rule_of_resource_ids(
    service: OcciService, tenant: Tenant, link_id: str
) -> None:
    model = await service.model_for(tenant)
    await service.create(
        tenant,
        model,
        await kind(service, tenant, NETWORK),
        Resource(kind=NETWORK, attributes={"occi.core.id": "net1"}),
    )
    link = Link(
        kind=NETWORKINTERFACE,
        attributes={"occi.core.id": link_id, "occi.core.target": "/network/net1"},
    )
    with pytest.raises(BadRequestError, match="id"):
        await service.create(
            tenant,
            model,
            await kind(service, tenant, COMPUTE),
            Resource(kind=COMPUTE, links=[link]),
        )


@pytest.mark.parametrize("end", ["occi.core.source", "occi.core.target"])
async def test_a_link_end_that_is_not_a_string_is_refused(
    service: OcciService, tenant: Tenant, end: str
) -> None:
    model = await service.model_for(tenant)
    attributes: dict[str, object] = {
        "occi.core.source": "/compute/c1",
        "occi.core.target": "/storage/s1",
    }
    attributes[end] = 5
    with pytest.raises(BadRequestError, match=f"{end} must be a string"):
        await service.create(
            tenant,
            model,
            await kind(service, tenant, STORAGELINK),
            Link(kind=STORAGELINK, attributes=attributes),
        )


# --- creating several at once ------------------------------------------------------------------


class CloudGoneAfter(SimBackend):
    """The sim, whose cloud stops answering after `answers` creates (as a hung EC2 does:
    the deadline's 503)."""

    answers = 2

    async def create_entity(self, tenant, entity):  # type: ignore[no-untyped-def]
        if self.answers == 0:
            raise BackendUnavailableError("the cloud did not answer in time", retry_after=5)
        self.answers -= 1
        return await super().create_entity(tenant, entity)


async def test_a_cloud_gone_mid_create_leaves_what_exists_named(database_url: str) -> None:
    database = Database(database_url)
    database.upgrade()
    standard = standard_model()
    backend = CloudGoneAfter(model=standard, database=database, settings=SimSettings())
    service = OcciService(
        standard=standard, backend=backend, store=MixinRepository(database), runner=database
    )
    tenant = Tenant("alice")
    try:
        model = await service.model_for(tenant)
        computes = [Resource(kind=COMPUTE) for _ in range(3)]
        with pytest.raises(BackendUnavailableError) as raised:
            await service.create_all(tenant, model, await kind(service, tenant, COMPUTE), computes)
        message = raised.value.message
        assert "entity 3 of 3" in message
        # Not deleted again (that would wait for the silent cloud once per entity): named.
        listed = [
            e
            async for b in (
                await service.listing(tenant, model, await kind(service, tenant, COMPUTE))
            ).batches
            for e in b
        ]
        assert len(listed) == 2
        assert all(e.location in message for e in listed)
        assert "may exist" in message
    finally:
        database.dispose()
