"""The OCCI service over the simulated cloud: what it refuses before any work is done.

Each case was a 500 found by the HTTP fuzzer (``tests/reliability``): client
input that reached the database or a location builder unchecked. The service
now refuses it with a BadRequestError (400) saying what to send instead.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from clocks import FakeClock
from pyocci.backends.api import Tenant
from pyocci.backends.errors import BackendUnavailableError, BusyError, EntityNotFoundError
from pyocci.backends.sim import SimBackend, SimSettings
from pyocci.model import standard_model
from pyocci.model.category import Kind
from pyocci.model.entity import Entity, Link, Resource
from pyocci.model.errors import OcciError
from pyocci.service.errors import BadRequestError
from pyocci.service.occi import MAX_FILTERS, OcciService, Written
from pyocci.service.paths import EntityPath, resolve
from pyocci.store import Database
from pyocci.store.mixins import MixinRepository

INFRA = "http://schemas.ogf.org/occi/infrastructure#"
COMPUTE = INFRA + "compute"
NETWORK = INFRA + "network"
STORAGELINK = INFRA + "storagelink"
NETWORKINTERFACE = INFRA + "networkinterface"

pytestmark = pytest.mark.anyio


MakeService = Callable[..., OcciService]


@pytest.fixture
def make_service(database_url: str) -> Iterator[MakeService]:
    """``make_service(backend_class, settings=..., clock=..., **service_options)``: the
    service as the server builds it, over a sim (or a subclass standing for a cloud)
    on a fresh database of each kind, disposed of after the test."""
    database = Database(database_url)
    database.upgrade()
    standard = standard_model()

    def build(
        backend_class: type[SimBackend] = SimBackend,
        *,
        settings: SimSettings | None = None,
        clock: Callable[[], float] | None = None,
        **options: Any,
    ) -> OcciService:
        extra = {"clock": clock} if clock is not None else {}
        backend = backend_class(
            model=standard, database=database, settings=settings or SimSettings(), **extra
        )
        return OcciService(
            standard=standard,
            backend=backend,
            store=MixinRepository(database),
            runner=database,
            **options,
        )

    try:
        yield build
    finally:
        database.dispose()


@pytest.fixture
def service(make_service: MakeService) -> OcciService:
    """The service as the server builds it, over the sim."""
    return make_service()


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


async def test_a_cloud_gone_mid_create_leaves_what_exists_named(make_service: MakeService) -> None:
    service = make_service(CloudGoneAfter)
    tenant = Tenant("alice")
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


# --- read your writes --------------------------------------------------------------------------


class LaggingCloud(SimBackend):
    """The sim as a real cloud behaves: a new entity shows in reads only after
    `create_lag` reads, a deleted one goes on showing for `delete_lag` reads (None:
    for ever). Reads are counted."""

    reads_own_writes = False
    create_lag = 0
    delete_lag: int | None = 0

    def __init__(self, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(**kwargs)
        self.reads = 0
        self.reads_of: Counter[str] = Counter()
        self.deletes_of: Counter[str] = Counter()
        self._unseen: dict[str, int] = {}
        self._lingering: dict[str, tuple[Entity, int | None]] = {}

    async def create_entity(self, tenant, entity):  # type: ignore[no-untyped-def]
        created = await super().create_entity(tenant, entity)
        self._unseen[created.id or ""] = self.create_lag
        return created

    async def delete_entity(self, tenant, entity):  # type: ignore[no-untyped-def]
        self.deletes_of[entity.id or ""] += 1
        if entity.id in self._lingering:
            return  # still deleting it: a cloud accepts the delete again
        await super().delete_entity(tenant, entity)
        self._lingering[entity.id or ""] = (entity, self.delete_lag)

    async def list_entities(self, tenant, query):  # type: ignore[no-untyped-def]
        # Entities still being deleted are listed too, as Nova lists a volume it is
        # still detaching among a server's attachments.
        for entity, left in list(self._lingering.values()):
            if left is None and query.matches(entity):
                yield entity
        async for entity in super().list_entities(tenant, query):
            yield entity

    async def get_entity(self, tenant, kind_id, entity_id):  # type: ignore[no-untyped-def]
        self.reads += 1
        self.reads_of[entity_id] += 1
        if self._unseen.get(entity_id):
            self._unseen[entity_id] -= 1
            raise EntityNotFoundError(f"no entity {entity_id} yet")
        lingering = self._lingering.get(entity_id)
        if lingering is not None:
            entity, left = lingering
            if left is None or left > 0:
                self._lingering[entity_id] = (entity, None if left is None else left - 1)
                return entity
        return await super().get_entity(tenant, kind_id, entity_id)


Lagging = Callable[..., tuple[OcciService, LaggingCloud]]


@pytest.fixture
def lagging(make_service: MakeService) -> Lagging:
    """``lagging(write_wait=5)``: the service over a `LaggingCloud`, waiting at most
    `write_wait` seconds for writes to show."""

    def build(write_wait: float = 5) -> tuple[OcciService, LaggingCloud]:
        service = make_service(LaggingCloud, write_wait=write_wait)
        assert isinstance(service.backend, LaggingCloud)
        return service, service.backend

    return build


async def _new_compute(service: OcciService, tenant: Tenant) -> Written:
    model = await service.model_for(tenant)
    return await service.create(
        tenant, model, await kind(service, tenant, COMPUTE), Resource(kind=COMPUTE)
    )


async def test_a_create_is_done_once_the_cloud_shows_it(lagging: Lagging, tenant: Tenant) -> None:
    service, cloud = lagging()
    cloud.create_lag = 3
    written = await _new_compute(service, tenant)
    assert written.done
    assert cloud.reads == 4  # three "not yet", then the entity
    # What the answer shows is the entity as read, with its actions.
    assert written.entities[0].actions


async def test_a_create_the_cloud_does_not_show_within_the_wait_is_not_done(
    lagging: Lagging, tenant: Tenant
) -> None:
    service, cloud = lagging(write_wait=0.2)
    cloud.create_lag = 10**6
    written = await _new_compute(service, tenant)
    assert not written.done
    assert written.entities[0].location


async def test_a_delete_is_done_once_no_read_finds_the_entity(
    lagging: Lagging, tenant: Tenant
) -> None:
    service, cloud = lagging()
    cloud.delete_lag = 2
    created = (await _new_compute(service, tenant)).entities[0]
    model = await service.model_for(tenant)
    path = resolve(model, created.location or "")
    assert isinstance(path, EntityPath)
    reads = cloud.reads
    deleted = await service.delete(tenant, model, path)
    assert deleted.done and deleted.entities == []
    # One read to find it, two that still show it, one that finds it gone.
    assert cloud.reads - reads == 4


async def test_a_delete_the_cloud_has_not_finished_within_the_wait_is_not_done(
    lagging: Lagging, tenant: Tenant
) -> None:
    service, cloud = lagging(write_wait=0.2)
    cloud.delete_lag = None
    created = (await _new_compute(service, tenant)).entities[0]
    model = await service.model_for(tenant)
    path = resolve(model, created.location or "")
    assert isinstance(path, EntityPath)
    deleted = await service.delete(tenant, model, path)
    assert not deleted.done
    assert [e.location for e in deleted.entities] == [created.location]


async def test_a_collection_delete_waits_once_for_all_its_members(
    lagging: Lagging, tenant: Tenant
) -> None:
    service, cloud = lagging(write_wait=0.3)
    made = [(await _new_compute(service, tenant)).entities[0].id or "" for _ in range(3)]
    cloud.delete_lag = None
    cloud.reads_of.clear()
    model = await service.model_for(tenant)
    deleted = await service.delete_collection(tenant, model, await kind(service, tenant, COMPUTE))
    assert not deleted.done
    assert len(deleted.entities) == 3
    # The cloud goes on listing them: each is asked to go once, not round after round.
    assert all(cloud.deletes_of[entity_id] == 1 for entity_id in made)
    # The first used up the wait; the others were read once to delete, once to see.
    assert [cloud.reads_of[entity_id] for entity_id in made[1:]] == [2, 2]


async def test_the_sim_is_never_read_back(service: OcciService, tenant: Tenant) -> None:
    reads = 0
    original = service.backend.get_entity

    async def counted(*args):  # type: ignore[no-untyped-def]
        nonlocal reads
        reads += 1
        return await original(*args)

    service.backend.get_entity = counted  # type: ignore[method-assign]
    written = await _new_compute(service, tenant)
    assert written.done and reads == 0


class SavingCloud(SimBackend):
    """The sim, with one image still being saved."""

    SAVING = "http://schemas.example.org/os_tpl#saving"

    async def pending_template(self, tenant, mixin_id):  # type: ignore[no-untyped-def]
        if mixin_id == self.SAVING:
            return BusyError("the image is still being saved; try again in 7 s", retry_after=7)
        return None


async def test_a_create_from_a_template_still_being_prepared_is_busy_not_unknown(
    make_service: MakeService, tenant: Tenant
) -> None:
    service = make_service(SavingCloud)
    model = await service.model_for(tenant)
    computes = await kind(service, tenant, COMPUTE)
    with pytest.raises(BusyError) as raised:
        await service.create(
            tenant, model, computes, Resource(kind=COMPUTE, mixins=[SavingCloud.SAVING])
        )
    assert raised.value.retry_after == 7
    # A mixin no cloud knows is still an unknown mixin: 400.
    with pytest.raises(OcciError, match="unknown mixin") as unknown:
        await service.create(
            tenant,
            model,
            computes,
            Resource(kind=COMPUTE, mixins=["http://schemas.example.org/os_tpl#nothing"]),
        )
    assert not isinstance(unknown.value, BusyError)


async def test_an_action_refused_in_a_passing_state_says_when_to_retry(
    make_service: MakeService, tenant: Tenant
) -> None:
    service = make_service(settings=SimSettings(transition_seconds=30))
    model = await service.model_for(tenant)
    computes = await kind(service, tenant, COMPUTE)
    booting = (await service.create(tenant, model, computes, Resource(kind=COMPUTE))).entities[0]
    path = resolve(model, booting.location or "")
    assert isinstance(path, EntityPath)
    # Booting (waiting): stop does not apply yet, and will once the boot is over.
    with pytest.raises(BusyError, match="'waiting'") as raised:
        await service.trigger(tenant, model, path, "stop", None)
    assert raised.value.retry_after == 30


async def test_a_template_made_ready_since_the_model_was_cached_is_used_at_once(
    make_service: MakeService, tenant: Tenant
) -> None:
    clock = FakeClock()
    # Models kept for an hour: only a read of the model made at create time can know.
    service = make_service(
        settings=SimSettings(transition_seconds=5), clock=clock, catalog_ttl=3600
    )
    model = await service.model_for(tenant)
    computes = await kind(service, tenant, COMPUTE)
    vm = (await service.create(tenant, model, computes, Resource(kind=COMPUTE))).entities[0]
    clock.now += 5
    path = resolve(model, vm.location or "")
    assert isinstance(path, EntityPath)
    image = (await service.trigger(tenant, model, path, "save", None)).created
    assert image is not None
    cached = await service.model_for(tenant)
    assert cached.get(image.id) is None  # still being saved
    with pytest.raises(BusyError):
        await service.create(tenant, cached, computes, Resource(kind=COMPUTE, mixins=[image.id]))
    clock.now += 5
    # The cached model still lacks the image; the cloud has it ready.
    assert (await service.model_for(tenant)).get(image.id) is None
    made = await service.create(tenant, cached, computes, Resource(kind=COMPUTE, mixins=[image.id]))
    assert image.id in made.entities[0].mixins
