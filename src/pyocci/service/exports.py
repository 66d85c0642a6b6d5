"""Image exports as OCCI entities: the ``/export/`` collection over the store's records.

`ExportingBackend` wraps the served backend and answers for the export kind
itself, from the store (`ExportStore`), passing every other kind through. So
the service's one way of listing, reading, creating, deleting and acting
(validation, renderings, paging, filters) serves exports as it serves
computes, and no backend has to know about them. The bytes are moved by the
server's runner (`pyocci.server.exports`), which works from the same records.

A target URL may carry a credential (a pre-signed URL's signature): it is
kept whole in the store, for the runner, and shown everywhere else without
its query (`shown_url`).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit, urlunsplit

from pyocci.backends.api import (
    LOCATION_BATCH,
    ActionOutcome,
    Backend,
    BusyError,
    Capabilities,
    Census,
    ConflictError,
    EntityNotFoundError,
    InvalidRequestError,
    NotSupportedError,
    Query,
    Revision,
    Tenant,
)
from pyocci.backends.kit.paging import chain
from pyocci.backends.wrapping import WrappingBackend
from pyocci.model.category import Mixin
from pyocci.model.entity import Entity, Resource
from pyocci.model.export import (
    BYTES,
    CANCELLED,
    CHECKSUM,
    CHECKSUM_VERIFIED,
    CONVERTING,
    DISK_FORMATS,
    EXPORT,
    EXPORT_CANCEL,
    FORMAT,
    FORMAT_MIXINS,
    PROGRESS,
    READING,
    SIZE,
    SOURCE,
    SOURCE_FORMAT,
    STAGE,
    STATE,
    STATE_MESSAGE,
    TARGET,
    TARGET_MIXINS,
    URL,
)
from pyocci.model.infrastructure import OS_TPL
from pyocci.store.exports import ExportLimitError, ExportRecord

__all__ = ["ExportStore", "ExportTarget", "ExportingBackend", "parse_target", "shown_url"]

_PAGE = 100


class ExportStore(Protocol):
    """The durable export records (see `pyocci.store.exports.ExportRepository`)."""

    def create(
        self,
        tenant_id: str,
        export_id: str,
        source: str,
        target: str,
        *,
        limit: int,
        tenant_name: str | None = None,
        title: str | None = None,
        summary: str | None = None,
        export_format: str | None = None,
    ) -> ExportRecord: ...

    def get(self, tenant_id: str, export_id: str) -> ExportRecord | None: ...

    def list(
        self,
        tenant_id: str,
        *,
        offset: int = 0,
        limit: int | None = None,
        ids: Sequence[str] | None = None,
    ) -> list[ExportRecord]: ...

    def count(self, tenant_id: str) -> int: ...

    def cancel(self, tenant_id: str, export_id: str, message: str) -> ExportRecord | None: ...

    def delete(self, tenant_id: str, export_id: str) -> bool: ...


class StoreRunner(Protocol):
    """Runs a blocking store call from async code (`Database.run`)."""

    async def run(self, function: Callable[..., Any], *args: Any) -> Any: ...


@dataclass(frozen=True, slots=True)
class ExportTarget:
    """A target URL taken apart: ``s3`` with bucket and key, ``https`` with the URL, or
    ``glance`` with the remote site's name and the image's name."""

    scheme: str
    url: str
    bucket: str = ""
    key: str = ""
    site: str = ""
    name: str = ""


def parse_target(
    url: str, offered: Iterable[str], sites: Iterable[str] | None = None
) -> ExportTarget:
    """The target a URL names; InvalidRequestError (400) saying what to write instead when
    it is malformed or its scheme is not one this site exports to. `sites`: the remote
    Glance sites configured (None: not checked here)."""
    offered = tuple(offered)
    parts = urlsplit(url)
    choices = " or ".join(f"{scheme}://..." for scheme in offered) or "nothing"
    if parts.scheme not in offered:
        raise InvalidRequestError(
            f"{TARGET} {shown_url(url)!r}: this site exports to {choices}"
            + ("" if "s3" in offered else " (s3:// needs [export] s3_endpoint_url)")
        )
    if parts.scheme == "s3":
        bucket, key = parts.netloc, parts.path.lstrip("/")
        if not bucket or not key or parts.query or parts.fragment:
            raise InvalidRequestError(
                f"{TARGET} {url!r}: write s3://bucket/key (a bucket and an object key)"
            )
        return ExportTarget("s3", url, bucket, key)
    if parts.scheme == "glance":
        return _glance_target(url, sites)
    if not parts.hostname:
        raise InvalidRequestError(f"{TARGET} {shown_url(url)!r}: an https:// URL needs a host")
    return ExportTarget("https", url)


def _glance_target(url: str, sites: Iterable[str] | None) -> ExportTarget:
    parts = urlsplit(url)
    # The netloc as written: urlsplit's hostname would lower-case the site's name.
    site, name = parts.netloc, unquote(parts.path.lstrip("/"))
    if not site or not name or "/" in name or parts.query or parts.fragment:
        raise InvalidRequestError(
            f"{TARGET} {url!r}: write glance://site/image-name (a site this server knows "
            "and the name of the image to make there)"
        )
    if sites is not None:
        known = tuple(sites)
        if site not in known:
            raise InvalidRequestError(
                f"{TARGET} {url!r}: no Glance site {site!r} here; choose one of: "
                + (", ".join(known) or "none")
            )
    return ExportTarget("glance", url, site=site, name=name)


def shown_url(url: str) -> str:
    """The URL without its query and fragment (where a pre-signed URL keeps its
    signature) and without a password: what may be rendered and logged."""
    parts = urlsplit(url)
    netloc = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def export_entity(record: ExportRecord) -> Resource:
    """The OCCI entity of an export record."""
    attributes: dict[str, Any] = {
        "occi.core.id": record.export_id,
        SOURCE: record.source,
        TARGET: shown_url(record.target),
        STATE: record.state,
        BYTES: record.bytes_done,
    }
    if record.title is not None:
        attributes["occi.core.title"] = record.title
    if record.summary is not None:
        attributes["occi.core.summary"] = record.summary
    if record.message:
        attributes[STATE_MESSAGE] = record.message
    converting = record.stage in (READING, CONVERTING) and record.state == "transferring"
    if converting and record.stage_percent is not None:
        # Nothing is at the target yet: the percent is the stage's (see STAGE).
        attributes[PROGRESS] = record.stage_percent
    if record.size is not None:
        attributes[SIZE] = record.size
        if not converting and record.size > 0:
            attributes[PROGRESS] = min(100, record.bytes_done * 100 // record.size)
        elif not converting and record.state == "active":
            attributes[PROGRESS] = 100
    if record.stage and record.state == "transferring":
        attributes[STAGE] = record.stage
    # The format of the bytes at the target: the one asked for, or the cloud's.
    if record.export_format or record.disk_format:
        attributes[FORMAT] = record.export_format or record.disk_format
    if record.source_format:
        attributes[SOURCE_FORMAT] = record.source_format
    if record.checksum:
        attributes[CHECKSUM] = record.checksum
    if record.checksum_verified is not None:
        attributes[CHECKSUM_VERIFIED] = record.checksum_verified
    if record.url:
        attributes[URL] = record.url
    scheme = urlsplit(record.target).scheme
    mixins = [TARGET_MIXINS[scheme].id] if scheme in TARGET_MIXINS else []
    if record.export_format in FORMAT_MIXINS:
        mixins.append(FORMAT_MIXINS[record.export_format].id)
    return Resource(
        kind=EXPORT.id,
        mixins=mixins,
        attributes=attributes,
        location=f"{EXPORT.location}{record.export_id}",
    )


class ExportingBackend(WrappingBackend):
    """`inner`, plus the export kind kept in the store.

    `schemes`: the target URL schemes this site exports to (``s3`` needs an
    object store configured, ``glance`` remote sites); `sites`: the names of the
    remote Glance sites glance:// targets may name; `limit`: how many exports of one tenant may be
    pending or transferring at once; `wake` is called when an export is
    created, so the runner starts on it without waiting for its next look.
    `formats`: the disk formats this site converts exports to (none without
    qemu-img, when `conversion_refusal` says why).
    """

    def __init__(
        self,
        inner: Backend,
        store: ExportStore,
        runner: StoreRunner,
        *,
        schemes: Sequence[str],
        limit: int,
        sites: Sequence[str] = (),
        wake: Callable[[], None] = lambda: None,
        store_version: Callable[[], Hashable | None] = lambda: None,
        formats: Sequence[str] = (),
        conversion_refusal: str | None = None,
    ) -> None:
        super().__init__(inner)
        self.formats = tuple(formats)
        self.conversion_refusal = conversion_refusal
        self.store = store
        self.runner = runner
        self.schemes = tuple(schemes)
        self.sites = tuple(sites)
        self.limit = limit
        self.wake = wake
        self._store_version = store_version
        base = inner.capabilities
        self._capabilities = Capabilities(
            kinds=base.kinds | {EXPORT.id},
            actions=base.actions | {EXPORT_CANCEL.id},
            mixins=base.mixins
            | {TARGET_MIXINS[scheme].id for scheme in self.schemes}
            | {FORMAT_MIXINS[name].id for name in self.formats},
            required=base.required,
            attribute_notes=base.attribute_notes,
        )

    @property
    def capabilities(self) -> Capabilities:
        """The inner backend's, with the export kind, its cancel action and the targets."""
        return self._capabilities

    def revision(self) -> Hashable | None:
        """The inner backend's token together with the store's (progress moves it)."""
        inner = self.inner.revision()
        if inner is None:
            return None
        version = self._store_version()
        return None if version is None else (inner, version)

    # --- passed through --------------------------------------------------------------------

    async def check_caller(self, user_name: str, secret: str) -> Tenant | None:
        """The inner backend's answer."""
        return await self.inner.check_caller(user_name, secret)

    async def provider_mixins(self, tenant: Tenant) -> Sequence[Mixin]:
        """The inner backend's templates."""
        return await self.inner.provider_mixins(tenant)

    async def census(self) -> Census | None:
        """The inner backend's census (exports are not counted there)."""
        return await self.inner.census()

    async def pending_template(self, tenant: Tenant, mixin_id: str) -> BusyError | None:
        """The inner backend's answer."""
        return await self.inner.pending_template(tenant, mixin_id)

    # --- listings --------------------------------------------------------------------------

    def list_entities(self, tenant: Tenant, query: Query) -> AsyncIterator[Entity]:
        """Exports from the store, other kinds from the inner backend, one after the other."""
        if EXPORT.id not in query.kinds:
            return self.inner.list_entities(tenant, query)
        others = tuple(kind for kind in query.kinds if kind != EXPORT.id)
        if not others:
            return query.apage(self._exports(tenant, query))

        def inner_part(part: Query) -> AsyncIterator[Entity]:
            return self.inner.list_entities(tenant, _with_kinds(part, others))

        def export_part(part: Query) -> AsyncIterator[Entity]:
            return part.apage(self._exports(tenant, part))

        return chain(query, [inner_part, export_part])

    async def _exports(self, tenant: Tenant, query: Query) -> AsyncIterator[Entity]:
        """Every export of the tenant the query may want, oldest first, a page of the
        store at a time (the query's own filters and paging are applied by the caller)."""
        ids = None if query.ids is None else sorted(query.ids)
        offset = 0
        while True:
            records = await self.runner.run(_listed, self.store, tenant.id, offset, _PAGE, ids)
            for record in records:
                yield export_entity(record)
            if len(records) < _PAGE:
                return
            offset += len(records)

    async def list_locations(self, tenant: Tenant, query: Query) -> AsyncIterator[list[str]]:
        """Locations as `list_entities` gives them."""
        if EXPORT.id not in query.kinds:
            async for batch in self.inner.list_locations(tenant, query):
                yield batch
            return
        batch: list[str] = []
        async for entity in self.list_entities(tenant, query):
            batch.append(entity.location or "")
            if len(batch) >= LOCATION_BATCH:
                yield batch
                batch = []
        if batch:
            yield batch

    async def count_entities(self, tenant: Tenant, query: Query) -> int | None:
        """The inner backend's count; the store's for a plain listing of exports."""
        if EXPORT.id not in query.kinds:
            return await self.inner.count_entities(tenant, query)
        plain = not (query.mixins or query.attributes or query.any_mixins) and query.ids is None
        if query.kinds == (EXPORT.id,) and plain:
            return await self.runner.run(self.store.count, tenant.id)
        return None

    # --- one entity ------------------------------------------------------------------------

    async def get_entity(self, tenant: Tenant, kind_id: str, entity_id: str) -> Entity:
        """An export from the store; anything else from the inner backend."""
        if kind_id != EXPORT.id:
            return await self.inner.get_entity(tenant, kind_id, entity_id)
        return export_entity(await self._record(tenant, entity_id))

    async def _record(self, tenant: Tenant, export_id: str) -> ExportRecord:
        record = await self.runner.run(self.store.get, tenant.id, export_id)
        if record is None:
            raise EntityNotFoundError(f"no export {export_id}")
        return record

    async def create_entity(self, tenant: Tenant, entity: Entity) -> Entity:
        """A new pending export (the runner takes it up); 409 beyond the tenant's limit,
        400 for a target this site cannot write or a source that is no OS template."""
        if entity.kind != EXPORT.id:
            return await self.inner.create_entity(tenant, entity)
        source = str(entity.attributes.get(SOURCE) or "")
        target = parse_target(str(entity.attributes.get(TARGET) or ""), self.schemes, self.sites)
        export_format = self._export_format(entity)
        await self._check_source(tenant, source)
        try:
            record = await self.runner.run(
                _created,
                self.store,
                tenant,
                entity.id or str(uuid.uuid4()),
                source,
                target.url,
                self.limit,
                entity.attributes.get("occi.core.title"),
                entity.attributes.get("occi.core.summary"),
                export_format,
            )
        except ExportLimitError as error:
            raise ConflictError(str(error)) from None
        self.wake()
        return export_entity(record)

    def _export_format(self, entity: Entity) -> str | None:
        """The disk format asked for (by the attribute, or a format mixin); None for
        the cloud's. 400 for a format pyocci does not know, 501 where this server
        cannot convert."""
        asked = entity.attributes.get(FORMAT)
        by_mixin = [name for name, m in FORMAT_MIXINS.items() if m.id in entity.mixins]
        if asked is None and by_mixin:
            asked = by_mixin[0]
        if asked is None or asked == "":
            return None
        asked = str(asked)
        if asked not in DISK_FORMATS or len(by_mixin) > 1 or by_mixin not in ([], [asked]):
            raise InvalidRequestError(
                f"{FORMAT} {asked!r}: write one of {', '.join(DISK_FORMATS)}, or leave it "
                "out to export in the format the cloud holds the image in"
            )
        if asked not in self.formats:
            raise NotSupportedError(
                f"this server cannot export in {asked}: "
                f"{self.conversion_refusal or 'it does not convert disk formats'}; leave "
                f"{FORMAT} out to export in the format the cloud holds the image in"
            )
        return asked

    async def _check_source(self, tenant: Tenant, source: str) -> None:
        templates = await self.inner.provider_mixins(tenant)
        if any(m.id == source and OS_TPL.id in m.depends for m in templates):
            return
        pending = await self.inner.pending_template(tenant, source)
        if pending is not None:
            raise pending
        names = ", ".join(m.id for m in templates if OS_TPL.id in m.depends) or "none"
        raise InvalidRequestError(
            f"{SOURCE} {source!r} is not an OS template you can export; choose one of: {names}"
        )

    async def update_entity(self, tenant: Tenant, current: Entity, desired: Entity) -> Entity:
        """The inner backend's update; an export does not change once asked for."""
        if current.kind != EXPORT.id:
            return await self.inner.update_entity(tenant, current, desired)
        raise ConflictError(
            "an export cannot be changed; cancel it and create another with what you want"
        )

    async def revise_entity(
        self, tenant: Tenant, kind_id: str, entity_id: str, revise: Revision
    ) -> Entity:
        """The inner backend's revision (its own transaction); an export is refused."""
        if kind_id != EXPORT.id:
            return await self.inner.revise_entity(tenant, kind_id, entity_id, revise)
        return await super().revise_entity(tenant, kind_id, entity_id, revise)

    async def delete_entity(self, tenant: Tenant, entity: Entity) -> None:
        """Forget an export (its runner stops at its next chunk); others: the inner's."""
        if entity.kind != EXPORT.id:
            await self.inner.delete_entity(tenant, entity)
            return
        await self.runner.run(self.store.delete, tenant.id, entity.id)

    async def trigger_action(
        self, tenant: Tenant, entity: Entity, action_id: str, parameters: Mapping[str, Any]
    ) -> ActionOutcome:
        """Cancel an export (the record stays, ``cancelled``); others: the inner's."""
        if entity.kind != EXPORT.id:
            return await self.inner.trigger_action(tenant, entity, action_id, parameters)
        record = await self.runner.run(
            self.store.cancel, tenant.id, entity.id, "cancelled by the client"
        )
        if record is None:
            raise EntityNotFoundError(f"no export {entity.id}")
        if record.state != CANCELLED:
            raise ConflictError(f"the export has ended ({record.state}); nothing to cancel")
        return ActionOutcome(export_entity(record))


def _with_kinds(query: Query, kinds: tuple[str, ...]) -> Query:
    return replace(query, kinds=kinds)


def _listed(
    store: ExportStore, tenant_id: str, offset: int, limit: int, ids: Sequence[str] | None
) -> list[ExportRecord]:
    return store.list(tenant_id, offset=offset, limit=limit, ids=ids)


def _created(
    store: ExportStore,
    tenant: Tenant,
    export_id: str,
    source: str,
    target: str,
    limit: int,
    title: Any,
    summary: Any,
    export_format: str | None,
) -> ExportRecord:
    return store.create(
        tenant.id,
        export_id,
        source,
        target,
        limit=limit,
        tenant_name=tenant.name,
        title=None if title is None else str(title),
        summary=None if summary is None else str(summary),
        export_format=export_format,
    )
