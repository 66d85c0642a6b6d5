"""The export collection as the service serves it (`ExportingBackend` over the memory
backend and a real store): create, read, list and page, cancel, delete, the limit,
what a bad request is told, and 501 where the backend cannot export; the disk format
asked for, by attribute or mixin, 400 when unknown and 501 where nothing converts."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from service_driver import DEBIAN, ServiceDriver, new_tenant, refused

from pyocci.backends.api import Query
from pyocci.backends.memory.backend import MemoryBackend
from pyocci.model import standard_model
from pyocci.model.entity import Resource
from pyocci.model.export import EXPORT, FORMAT_MIXINS, HTTPS_TARGET, S3_TARGET
from pyocci.model.infrastructure import COMPUTE
from pyocci.service.exports import ExportingBackend, parse_target, shown_url
from pyocci.service.occi import OcciService, PageRequest
from pyocci.store import Database
from pyocci.store.exports import ExportRepository
from pyocci.store.mixins import MixinRepository

SOURCE = "org.pyocci.export.source"
TARGET = "org.pyocci.export.target"
STATE = "org.pyocci.export.state"

pytestmark = pytest.mark.anyio


@pytest.fixture
def database() -> Iterator[Database]:
    db = Database("sqlite:///:memory:")
    db.upgrade()
    try:
        yield db
    finally:
        db.dispose()


def _service(backend: object, database: Database) -> OcciService:
    return OcciService(
        standard=standard_model(),
        backend=backend,  # type: ignore[arg-type]
        store=MixinRepository(database),
        runner=database,
        max_page_size=50,
    )


@pytest.fixture
def woken() -> list[int]:
    return []


@pytest.fixture
def exporting(database: Database, woken: list[int]) -> ExportingBackend:
    return ExportingBackend(
        MemoryBackend(model=standard_model()),
        ExportRepository(database),
        database,
        schemes=("s3", "https"),
        limit=2,
        wake=lambda: woken.append(1),
        formats=("raw", "qcow2"),
    )


@pytest.fixture
def occi(exporting: ExportingBackend, database: Database) -> ServiceDriver:
    return ServiceDriver(_service(exporting, database), new_tenant())


def _export(target: str, source: str = DEBIAN) -> Resource:
    return Resource(kind=EXPORT.id, attributes={SOURCE: source, TARGET: target})


async def test_an_export_is_created_pending_and_the_runner_woken(
    occi: ServiceDriver, woken: list[int]
) -> None:
    made = await occi.create(_export("https://receiver.example/p/img?X-Amz-Signature=secret"))
    assert made.attributes[STATE] == "pending"
    assert made.attributes[TARGET] == "https://receiver.example/p/img"
    assert made.mixins == [HTTPS_TARGET.id]
    assert woken == [1]
    read = await occi.get(made.location or "")
    assert read.attributes[SOURCE] == DEBIAN
    assert read.actions == ["http://schemas.pyocci.org/occi/infrastructure/export/action#cancel"]


async def test_exports_are_listed_and_paged(occi: ServiceDriver) -> None:
    made = []
    for number in range(2):
        made.append(await occi.create(_export(f"s3://bucket/{number}")))
        await occi.trigger(made[-1].location or "", "cancel")  # room for the next ones
    made.append(await occi.create(_export("s3://bucket/2")))
    every, _ = await occi.listing(EXPORT.id)
    assert [e.location for e in every] == [e.location for e in made]
    page, total = await occi.listing(EXPORT.id, page=PageRequest(index=2, size=2))
    assert [e.location for e in page] == [made[2].location]
    assert total == 3
    assert {e.mixins[0] for e in every} == {S3_TARGET.id}


async def test_kinds_listed_together_give_the_clouds_then_the_exports(
    occi: ServiceDriver, exporting: ExportingBackend
) -> None:
    compute = await occi.compute()
    export = await occi.create(_export("s3://bucket/k"))
    query = Query(kinds=(COMPUTE.id, EXPORT.id))
    listed = [e.location async for e in exporting.list_entities(occi.tenant, query)]
    assert listed == [compute.location, export.location]
    second = Query(kinds=(COMPUTE.id, EXPORT.id), offset=1, limit=1)
    assert [e.location async for e in exporting.list_entities(occi.tenant, second)] == [
        export.location
    ]


async def test_the_tenant_limit_is_a_409_that_says_why(occi: ServiceDriver) -> None:
    await occi.create(_export("s3://bucket/1"))
    await occi.create(_export("s3://bucket/2"))
    with refused(409, "at most 2 at once"):
        await occi.create(_export("s3://bucket/3"))
    other = ServiceDriver(occi.service, new_tenant())
    await other.create(_export("s3://bucket/1"))  # another tenant has room of its own


async def test_cancel_keeps_the_record_and_delete_forgets_it(occi: ServiceDriver) -> None:
    made = await occi.create(_export("s3://bucket/k"))
    location = made.location or ""
    outcome = await occi.trigger(location, "cancel")
    assert outcome.entity.attributes[STATE] == "cancelled"
    assert (await occi.get(location)).actions == []
    again = await occi.trigger(location, "cancel")  # done already: nothing to do
    assert again.entity.attributes[STATE] == "cancelled"
    await occi.delete(location)
    with refused(404):
        await occi.get(location)


async def test_an_export_does_not_change(occi: ServiceDriver) -> None:
    made = await occi.create(_export("s3://bucket/k"))
    changes = Resource(kind=None, attributes={"occi.core.title": "renamed"})
    with refused(409, "cannot be changed"):
        await occi.update(made.location or "", changes)


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("ftp://host/file", "this site exports to s3://... or https://..."),
        ("s3://bucket-only", "write s3://bucket/key"),
        ("s3:///key", "write s3://bucket/key"),
        ("https:///path", "needs a host"),
    ],
)
async def test_a_target_the_site_cannot_write_is_a_400(
    occi: ServiceDriver, target: str, message: str
) -> None:
    with refused(400, message):
        await occi.create(_export(target))


async def test_a_source_that_is_no_os_template_is_a_400_naming_the_choices(
    occi: ServiceDriver,
) -> None:
    with refused(400, f"choose one of: {DEBIAN}"):
        await occi.create(_export("s3://bucket/k", source="http://example.org/os#none"))


def test_s3_needs_an_object_store_configured() -> None:
    with pytest.raises(Exception, match=r"needs \[export\] s3_endpoint_url"):
        parse_target("s3://bucket/key", ("https",))
    assert parse_target("s3://bucket/a/b.img", ("s3",)).key == "a/b.img"


def test_shown_urls_carry_no_credentials() -> None:
    assert shown_url("https://u:pw@h.example/p?sig=1#f") == "https://h.example/p"


async def test_a_backend_without_export_is_501_with_its_reason(database: Database) -> None:
    service = _service(MemoryBackend(model=standard_model()), database)
    error = service.unserved("/export/")
    assert error is not None and "cannot read image data" in error.message
    assert service.unserved("/export/some-id") is not None
    assert service.unserved("/nothing/") is None
    model = await service.model_for(new_tenant())
    assert model.get(EXPORT.id) is None


FORMAT = "org.pyocci.export.format"


async def test_a_format_asked_for_is_kept_and_shown(
    occi: ServiceDriver, database: Database
) -> None:
    asked = _export("s3://bucket/k.qcow2")
    asked.attributes[FORMAT] = "qcow2"
    made = await occi.create(asked)
    assert made.attributes[FORMAT] == "qcow2"
    assert made.mixins == [S3_TARGET.id, FORMAT_MIXINS["qcow2"].id]
    record = ExportRepository(database).get(occi.tenant.id, made.id)
    assert record is not None and record.export_format == "qcow2"
    # A format mixin asks for the same thing.
    by_mixin = Resource(
        kind=EXPORT.id,
        mixins=[FORMAT_MIXINS["raw"].id],
        attributes={SOURCE: DEBIAN, TARGET: "s3://bucket/k.raw"},
    )
    assert (await occi.create(by_mixin)).attributes[FORMAT] == "raw"


async def test_discovery_offers_the_formats_converted_to(occi: ServiceDriver) -> None:
    model = await occi.service.model_for(occi.tenant)
    assert model.get(FORMAT_MIXINS["qcow2"].id) is not None
    assert model.get(FORMAT_MIXINS["raw"].id) is not None


@pytest.mark.parametrize("asked", ["vmdk", "QCOW2", "qcow2 "])
async def test_an_unknown_format_is_a_400_naming_the_formats(
    occi: ServiceDriver, asked: str
) -> None:
    export = _export("s3://bucket/k")
    export.attributes[FORMAT] = asked
    with refused(400, "write one of raw, qcow2"):
        await occi.create(export)


async def test_a_format_and_another_formats_mixin_is_a_400(occi: ServiceDriver) -> None:
    export = Resource(
        kind=EXPORT.id,
        mixins=[FORMAT_MIXINS["raw"].id],
        attributes={SOURCE: DEBIAN, TARGET: "s3://bucket/k", FORMAT: "qcow2"},
    )
    with refused(400, "write one of raw, qcow2"):
        await occi.create(export)


async def test_where_nothing_converts_a_format_is_501_and_not_offered(
    database: Database,
) -> None:
    exporting = ExportingBackend(
        MemoryBackend(model=standard_model()),
        ExportRepository(database),
        database,
        schemes=("https",),
        limit=2,
        conversion_refusal="the server has no qemu-img ('qemu-img' was not found)",
    )
    occi = ServiceDriver(_service(exporting, database), new_tenant())
    model = await occi.service.model_for(occi.tenant)
    assert model.get(FORMAT_MIXINS["qcow2"].id) is None
    export = _export("https://receiver.example/k")
    export.attributes[FORMAT] = "qcow2"
    with refused(501, "has no qemu-img"):
        await occi.create(export)
    export.attributes.pop(FORMAT)
    assert (await occi.create(export)).attributes[STATE] == "pending"


async def test_a_conversion_stage_shows_its_own_percent(
    occi: ServiceDriver, database: Database
) -> None:
    asked = _export("s3://bucket/k.qcow2")
    asked.attributes[FORMAT] = "qcow2"
    made = await occi.create(asked)
    store = ExportRepository(database)
    taken = store.claim("runner", 30.0)
    assert taken is not None
    store.progress(
        taken.seq,
        "runner",
        30.0,
        bytes_done=0,
        size=None,  # the cloud did not say
        disk_format="qcow2",
        source_format="raw",
        stage="reading",
        stage_percent=30,
    )
    shown = (await occi.get(made.location or "")).attributes
    assert shown["org.pyocci.export.stage"] == "reading"
    assert shown["org.pyocci.export.progress"] == 30
    assert shown["org.pyocci.export.source.format"] == "raw"
    store.progress(
        taken.seq,
        "runner",
        30.0,
        bytes_done=50,
        size=200,
        disk_format="qcow2",
        source_format="raw",
        stage="uploading",
    )
    shown = (await occi.get(made.location or "")).attributes
    assert (shown["org.pyocci.export.stage"], shown["org.pyocci.export.progress"]) == (
        "uploading",
        25,
    )
    store.finish(taken.seq, "runner", "active", bytes_done=200, checksum_verified=False)
    shown = (await occi.get(made.location or "")).attributes
    assert "org.pyocci.export.stage" not in shown
    assert shown["org.pyocci.export.checksum.verified"] is False
