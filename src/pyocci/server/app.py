"""The ASGI application: HTTP in, OCCI semantics (the service) out.

One endpoint takes every path, because OCCI paths are data: which ones are
collections depends on the tenant's categories. The handler negotiates the
rendering, authenticates, enforces the limits, resolves the path, calls the
service and renders the answer or the error in the client's media type.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import os
import weakref
from collections.abc import AsyncIterator, Mapping
from typing import Any
from urllib.parse import parse_qsl, urljoin

from starlette.applications import Starlette
from starlette.datastructures import URL
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from pyocci.backends.api import Tenant
from pyocci.model.category import Category, Kind, Mixin
from pyocci.model.entity import ActionInvocation, Entity
from pyocci.model.registry import Model
from pyocci.model.standard import standard_model
from pyocci.rendering import Codec, Rendering, codec_for
from pyocci.rendering.base import LocationWriter
from pyocci.rendering.errors import ParseError, UnsupportedDocumentError
from pyocci.rendering.negotiation import (
    DEFAULT_MEDIA_TYPE,
    TEXT_OCCI,
    TEXT_OCCI_PLAIN,
    TEXT_PLAIN,
    URI_LIST,
    occi_version,
)
from pyocci.rendering.occi11 import Occi11TextCodec, occi11_uri_list
from pyocci.rendering.text import parse_header_attributes, parse_header_categories
from pyocci.rendering.urilist import UriListCodec
from pyocci.server.auth import Authenticator, build_authenticator
from pyocci.server.backends import open_backend
from pyocci.server.config import ServerConfig, config_from_environment
from pyocci.server.representations import Representations
from pyocci.server.responses import DIALECTS, HttpError, codec_named, send_response
from pyocci.server.turns import LOCATIONS_PER_STEP, Turns
from pyocci.service.errors import BadRequestError, MethodNotAllowedError, NotFoundError
from pyocci.service.occi import OcciService, PageRequest, Written
from pyocci.service.paths import (
    QUERY_INTERFACE_PATHS,
    Collection,
    EntityPath,
    QueryInterface,
    resolve,
)
from pyocci.store.database import Database, default_database_url
from pyocci.store.mixins import MixinRepository

_BODY_METHODS = ("POST", "PUT", "DELETE")
#: A listing whose body is no bigger is sent whole rather than streamed (a thousand
#: locations in text/plain are about 85 KiB).
WHOLE_LISTING_BYTES = 256 * 1024


class OcciApplication:
    """The per-process state the handler needs: service, authenticator, limits."""

    def __init__(self, config: ServerConfig, service: OcciService, auth: Authenticator) -> None:
        self.config = config
        self.service = service
        self.auth = auth
        self.dialect = DIALECTS[config.occi_version]
        self._representations = Representations()
        self._bases: dict[tuple[Any, bytes], str] = {}
        # Big listings share the loop in short turns (see `turns`).
        self._turns = Turns()
        # Discovery documents rendered once per tenant model and media type.
        self._discovery: weakref.WeakKeyDictionary[Model, dict[str, Any]] = (
            weakref.WeakKeyDictionary()
        )

    # --- the request ----------------------------------------------------------------

    async def handle(self, request: Request) -> Response:
        """Answer one OCCI request; every failure becomes a rendered error response."""
        codec: Codec | None = None
        try:
            media_type = self.dialect.negotiate(request.headers.get("accept"))
            if media_type is None:
                raise HttpError(
                    406,
                    f"cannot render {request.headers.get('accept')}; this server speaks "
                    + ", ".join(self.dialect.offered),
                )
            codec = self._codec(media_type, request.scope, request.headers.get("user-agent"))
            self._check_headers(request)
            self._check_version(request)
            tenant = await self.auth.authenticate(request.headers, request.scope.get("client"))
            return await self._dispatch(request, tenant, codec)
        except Exception as error:
            return self.dialect.error(error, codec)

    def _check_headers(self, request: Request) -> None:
        limits = self.config.limits
        raw = request.scope["headers"]
        if len(raw) > limits.max_header_count:
            raise HttpError(
                431, f"{len(raw)} request headers; this server accepts {limits.max_header_count}"
            )
        size = sum(len(name) + len(value) for name, value in raw)
        if size > limits.max_header_bytes:
            raise HttpError(
                431,
                f"{size} bytes of request headers; this server accepts {limits.max_header_bytes}",
            )

    def _check_version(self, request: Request) -> None:
        version = _client_version(request.headers.get("user-agent"))
        served = self.dialect.version
        if version is not None and version > served:
            also = " (and 1.1)" if served > (1, 1) else ""
            raise HttpError(
                501,
                f"this server speaks OCCI/{self.dialect.name}{also}; the client asks for "
                f"OCCI/{version[0]}.{version[1]}",
            )

    def _codec(self, media_type: str, scope: Scope, user_agent: str | None) -> Codec:
        """The codec that answers: the media type's, in the form an OCCI 1.1 client reads
        when the client does not claim OCCI 1.2 (see `pyocci.rendering.occi11`)."""
        if media_type == URI_LIST:
            # RFC 2483 lists absolute URIs: resolve locations against the server's URL.
            if self._speaks_occi11(user_agent):
                return occi11_uri_list(self._base_url(scope))
            return UriListCodec(base=self._base_url(scope))
        if media_type in _TEXT_TYPES and self._speaks_occi11(user_agent):
            # rOCCI-core reads text/occi headers its own way (see Occi11TextCodec).
            rocci = media_type == TEXT_OCCI and user_agent is not None and "rOCCI" in user_agent
            return _occi11_codec(media_type, self._base_url(scope), rocci)
        return codec_named(media_type)

    def _speaks_occi11(self, user_agent: str | None) -> bool:
        # A client that names no OCCI version (jOCCI, curl, 1.1-era scripts) gets what
        # 1.1 clients read, which is valid 1.2 text as well.
        if self.dialect.version < (1, 2):
            return True
        version = _client_version(user_agent)
        return version is None or version < (1, 2)

    def _base_url(self, scope: Scope) -> str:
        if self.config.base_url:
            return self.config.base_url.rstrip("/") + "/"
        host = next((value for name, value in scope["headers"] if name == b"host"), None)
        if not host:
            return _origin(scope)
        # Clients send the same Host again and again: its origin is worked out once.
        key = (scope.get("scheme"), host)
        base = self._bases.get(key)
        if base is None:
            if len(self._bases) >= _KEPT_BASES:
                self._bases.clear()
            base = self._bases[key] = _origin(scope)
        return base

    async def _body(self, request: Request) -> bytes:
        limit = self.config.limits.max_body_bytes
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise HttpError(413, f"the body is {declared} bytes; this server accepts {limit}")
        chunks: list[bytes] = []
        size = 0
        try:
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise HttpError(
                        413, f"the body is over {limit} bytes, the most this server accepts"
                    )
                chunks.append(chunk)
        except ClientDisconnect:
            # Nothing was done and nobody is left to answer: a client's own business,
            # not a server error (no traceback in the log), and the request does nothing.
            raise HttpError(400, "the client went away before the body ended") from None
        return b"".join(chunks)

    def _request_codec(self, request: Request) -> Codec:
        content_type = request.headers.get("content-type")
        if not content_type:
            return codec_named(DEFAULT_MEDIA_TYPE)
        # rOCCI-cli sends the list "text/plain,text/occi" (invalid, but in the field):
        # read it as its first media type that this server reads.
        for candidate in content_type.split(","):
            codec = codec_for(candidate)
            if codec is not None and self.dialect.reads(codec.media_type):
                return codec
        offered = ", ".join(self.dialect.offered)
        raise HttpError(415, f"cannot read {content_type}; send one of {offered}")

    # --- reads answered without a Request -----------------------------------------------

    async def answer_read(self, scope: Scope, send: Send) -> bool:
        """Answer a plain GET (no query, no Category filter headers) of the query
        interface or of an entity, the requests clients repeat most, straight from the
        ASGI scope; False, having sent nothing, when the request needs `handle`.

        It does what `handle` does for these requests, in the same order, minus what
        they do not need (a Request object, query parsing). Anything unusual (limits
        exceeded, a refused Accept, a too-new client, a collection) is left to
        `handle`, which answers it with the full error; a failed authentication is
        answered here, as `handle` would answer it.
        """
        path = scope["path"]
        if path.endswith("/") and path not in QUERY_INTERFACE_PATHS:
            return False  # a collection: a listing, which `handle` streams
        raw = scope["headers"]
        limits = self.config.limits
        if len(raw) > limits.max_header_count:
            return False
        headers: dict[str, str] = {}
        size = 0
        for name, value in raw:
            size += len(name) + len(value)
            key = name.decode("latin-1")
            if key not in headers:
                headers[key] = value.decode("latin-1")
        if size > limits.max_header_bytes or "category" in headers or "x-occi-category" in headers:
            return False
        media_type = self.dialect.negotiate(headers.get("accept"))
        if media_type is None or media_type == URI_LIST:
            return False
        version = _client_version(headers.get("user-agent"))
        if version is not None and version > self.dialect.version:
            return False
        codec = self._codec(media_type, scope, headers.get("user-agent"))
        try:
            # A refusal is answered here: asking again through `handle` would check
            # the credentials twice (a password hash, a Keystone round trip).
            tenant = await self.auth.authenticate(headers, scope.get("client"))
            model = await self.service.model_for(tenant)
            target = resolve(model, path)
            if isinstance(target, QueryInterface):
                response = self._full_discovery(model, codec)
            elif isinstance(target, EntityPath):
                response = await self._read_entity(tenant, model, codec, target)
            else:
                return False
        except Exception as error:
            response = self.dialect.error(error, codec)
        await send_response(response, send)
        return True

    # --- dispatch ---------------------------------------------------------------------

    async def _dispatch(self, request: Request, tenant: Tenant, codec: Codec) -> Response:
        model = await self.service.model_for(tenant)
        scope = request.scope
        path = scope["path"]
        target = resolve(model, path)
        if target is None:
            raise NotFoundError(f"nothing lives at {path}; the categories are listed at /-/")
        method = request.method
        raw_query = scope.get("query_string", b"")
        query = (
            dict(parse_qsl(raw_query.decode("latin-1"), keep_blank_values=True))
            if raw_query
            else {}
        )
        body = await self._body(request) if method in _BODY_METHODS else b""
        if isinstance(target, QueryInterface):
            return await self._query_interface(request, tenant, model, codec, body, query)
        if isinstance(target, EntityPath):
            return await self._entity(request, tenant, model, codec, target, body, query)
        return await self._collection(request, tenant, model, codec, target, body, query)

    async def _query_interface(
        self,
        request: Request,
        tenant: Tenant,
        model: Model,
        codec: Codec,
        body: bytes,
        query: Mapping[str, str],
    ) -> Response:
        method = request.method
        if method in ("GET", "HEAD"):
            filters = _header_categories(request)
            if "category" in query:
                filters.extend(_identifier_categories(query["category"]))
            if not filters:
                return self._full_discovery(model, codec)
            return self.dialect.rendered(
                codec.render_categories(self.service.discover(model, filters))
            )
        if method == "POST":
            reader = self._request_codec(request)
            categories = reader.parse_categories(body, _fields_of(request))
            if not categories:
                raise BadRequestError("POST /-/ defines mixins: send at least one Category")
            defined = await self.service.define_mixins(tenant, categories)
            return self.dialect.rendered(codec.render_categories(defined))
        if method == "DELETE":
            identifiers = [c.id for c in _identifier_categories(query.get("category", ""))]
            if body or request.headers.get("category"):
                reader = self._request_codec(request)
                identifiers += [c.id for c in reader.parse_categories(body, _fields_of(request))]
            if not identifiers:
                raise BadRequestError("DELETE /-/ removes mixins: name them in a Category")
            await self.service.remove_mixins(tenant, identifiers)
            return self.dialect.empty()
        raise MethodNotAllowedError(
            f"{method} is not defined for the query interface", ("GET", "HEAD", "POST", "DELETE")
        )

    def _full_discovery(self, model: Model, codec: Codec) -> Response:
        # The answer only changes with the tenant's model, which is a new object
        # whenever a category changes: render it once and send the same response.
        cached = self._discovery.setdefault(model, {})
        response = cached.get(codec.variant)
        if response is None:
            response = cached[codec.variant] = self.dialect.rendered(
                codec.render_categories(list(model))
            )
        return response

    async def _entity(
        self,
        request: Request,
        tenant: Tenant,
        model: Model,
        codec: Codec,
        path: EntityPath,
        body: bytes,
        query: Mapping[str, str],
    ) -> Response:
        method = request.method
        service = self.service
        if method in ("GET", "HEAD"):
            return await self._read_entity(tenant, model, codec, path)
        if method == "DELETE":
            deleted = await service.delete(tenant, model, path)
            if not deleted.done:
                # The cloud still shows it: accepted, with the state it is in now.
                return self.dialect.rendered(codec.render_entity(deleted.entities[0]), 202)
            return self.dialect.empty()
        if method == "POST" and "action" in query:
            invocation = await self._invocation(request, body, model)
            outcome = await service.trigger(tenant, model, path, query["action"], invocation)
            if outcome.created is not None:
                extra = {"location": self._absolute(request, outcome.created.location or "")}
                return self.dialect.rendered(codec.render_categories([outcome.created]), 200, extra)
            return self.dialect.rendered(codec.render_entity(outcome.entity))
        if method == "POST":
            reader = self._request_codec(request)
            changes = reader.parse_entity(body, _fields_of(request), model=model)
            return self.dialect.rendered(
                codec.render_entity(await service.update(tenant, model, path, changes))
            )
        if method == "PUT":
            reader = self._request_codec(request)
            entity = reader.parse_entity(body, _fields_of(request), model=model)
            written, created = await service.replace(tenant, model, path, entity)
            if created:
                return self._created(request, codec, written)
            return self.dialect.rendered(codec.render_entity(written.entities[0]))
        raise MethodNotAllowedError(
            f"{method} is not defined for an entity", ("GET", "HEAD", "POST", "PUT", "DELETE")
        )

    async def _read_entity(
        self, tenant: Tenant, model: Model, codec: Codec, path: EntityPath
    ) -> Response:
        """An entity rendered, or its rendering kept from an earlier read when the
        service says nothing can have changed since (see `representations`)."""
        revision = self.service.revision() if codec.media_type != URI_LIST else None
        if revision is None:
            entity = await self.service.get(tenant, model, path)
            return self.dialect.rendered(codec.render_entity(entity))
        # The model is part of the key: actions shown and user mixins depend on it.
        key = (tenant.id, path.location, codec.variant, model)
        response = self._representations.lookup(revision, key)
        if response is None:
            entity = await self.service.get(tenant, model, path)
            response = self.dialect.rendered(codec.render_entity(entity))
            self._representations.keep(revision, key, response)
        return response

    async def _collection(
        self,
        request: Request,
        tenant: Tenant,
        model: Model,
        codec: Codec,
        target: Collection,
        body: bytes,
        query: Mapping[str, str],
    ) -> Response:
        method = request.method
        service = self.service
        category = target.category
        if method in ("GET", "HEAD"):
            return await self._listing(request, tenant, model, codec, category, query)
        if method == "POST" and "action" in query:
            invocation = await self._invocation(request, body, model)
            locations = await service.trigger_on_collection(
                tenant, model, category, query["action"], invocation
            )
            urls = [self._absolute(request, location) for location in locations]
            return self.dialect.rendered(codec.render_locations(urls))
        if isinstance(category, Kind):
            if method == "POST":
                reader = self._request_codec(request)
                entities = reader.parse_entities(body, _fields_of(request), model=model)
                if not entities:
                    raise BadRequestError(f"POST {category.location} needs an entity to create")
                created = await service.create_all(tenant, model, category, entities)
                return self._created(request, codec, created)
            if method == "DELETE":
                deleted = await service.delete_collection(tenant, model, category)
                if not deleted.done:
                    # Some are still going: accepted, and these are the ones.
                    urls = [self._absolute(request, e.location or "") for e in deleted.entities]
                    return self.dialect.rendered(codec.render_locations(urls), 202)
                return self.dialect.empty()
            raise MethodNotAllowedError(
                f"{method} is not defined for a kind collection", ("GET", "HEAD", "POST", "DELETE")
            )
        named = (
            await self._locations(request, body) if _has_document(body, request.headers) else None
        )
        if method == "POST":
            await service.add_members(tenant, model, category, named or [])
        elif method == "PUT":
            await service.replace_members(tenant, model, category, named or [])
        elif method == "DELETE":
            await service.remove_members(tenant, model, category, named)
        else:
            raise MethodNotAllowedError(
                f"{method} is not defined for a mixin collection",
                ("GET", "HEAD", "POST", "PUT", "DELETE"),
            )
        return self.dialect.empty()

    async def _invocation(
        self, request: Request, body: bytes, model: Model
    ) -> ActionInvocation | None:
        """The action invocation in a request; None when the client sent only ?action=."""
        if not _has_document(body, request.headers):
            return None
        reader = self._request_codec(request)
        return reader.parse_action(body, _fields_of(request), model=model)

    async def _locations(self, request: Request, body: bytes) -> list[str]:
        reader = self._request_codec(request)
        try:
            return reader.parse_locations(body, _fields_of(request))
        except (ParseError, UnsupportedDocumentError):
            # JSON clients may send entities ({"resources": [{"location": ...}]}).
            entities = reader.parse_entities(body, _fields_of(request))
            return [e.location for e in entities if e.location]

    async def _listing(
        self,
        request: Request,
        tenant: Tenant,
        model: Model,
        codec: Codec,
        category: Kind | Mixin,
        query: Mapping[str, str],
    ) -> Response:
        page = _page_request(query)
        filters = _header_categories(request)
        attributes = (
            parse_header_attributes(_fields_of(request))
            if "x-occi-attribute" in request.headers
            else {}
        )
        if attributes:
            probe = Entity(kind=category.id if isinstance(category, Kind) else None)
            probe.attributes = dict(attributes)
            model.coerce(probe)
            attributes = probe.attributes
        on_loop = self.service.backend.reads_on_loop
        writer = codec.open_collection()
        service = self.service
        rendered: AsyncIterator[bytes]
        async with self._turns.step(on_loop):
            if isinstance(writer, LocationWriter):
                # Locations are all it shows: the backend need not read the entities.
                located = await service.location_listing(
                    tenant, model, category, filters=filters, attributes=attributes, page=page
                )
                total = located.total
                rendered = self._turns.rendered(
                    located.batches,
                    writer.write_locations,
                    fetch_in_turn=on_loop,
                    per_step=LOCATIONS_PER_STEP,
                )
            else:
                listing = await service.listing(
                    tenant, model, category, filters=filters, attributes=attributes, page=page
                )
                total = listing.total
                rendered = self._turns.rendered(
                    listing.batches, writer.write, fetch_in_turn=on_loop
                )
        extra = {}
        links = self._page_links(request, page, total)
        if links:
            extra["link"] = links
        if codec.collection_in_headers:
            async for _ in rendered:
                pass
            body = writer.close()
            return self.dialect.rendered(
                Rendering(codec.media_type, body, writer.headers), 200, extra
            )
        # A listing that fits in WHOLE_LISTING_BYTES goes out whole, with its length:
        # streaming costs a small listing more than reading and rendering it.
        head: list[bytes] = []
        size = 0
        async for chunk in rendered:
            head.append(chunk)
            size += len(chunk)
            if size > WHOLE_LISTING_BYTES:
                break
        else:
            head.append(writer.close())
            body = b"".join(head)
            return self.dialect.rendered(Rendering(codec.media_type, body), 200, extra)

        async def chunks() -> AsyncIterator[bytes]:
            while head:
                yield head.pop(0)
            async for chunk in rendered:
                yield chunk
            last = writer.close()
            if last:
                yield last

        return self.dialect.streamed(codec, chunks(), extra)

    def _page_links(self, request: Request, page: PageRequest | None, total: int | None) -> str:
        if page is None:
            return ""
        base = self._absolute(request, request.url.path)

        def link(index: int, rel: str) -> str:
            return f'<{base}?page={index}&number={page.size}>; rel="{rel}"'

        links = [link(1, "first")]
        if page.index > 1:
            links.append(link(page.index - 1, "prev"))
        last_index = max(1, -(-total // page.size)) if total is not None else None
        if last_index is None or page.index < last_index:
            links.append(link(page.index + 1, "next"))
        if last_index is not None:
            links.append(link(last_index, "last"))
        return ", ".join(links)

    def _created(self, request: Request, codec: Codec, written: Written) -> Response:
        """201 with the new locations; 202 with them when the cloud does not show
        them yet (a GET of one may still answer 404 for a while)."""
        urls = [self._absolute(request, e.location or "") for e in written.entities]
        extra = {"location": urls[0], "x-occi-location": ", ".join(urls)}
        status = 201 if written.done else 202
        return self.dialect.rendered(codec.render_locations(urls), status, extra)

    def _absolute(self, request: Request, location: str) -> str:
        # The same rule as UriListCodec(base=...), so headers and listings agree.
        return urljoin(self._base_url(request.scope), location)


_TEXT_TYPES = frozenset((TEXT_PLAIN, TEXT_OCCI, TEXT_OCCI_PLAIN))


#: Host headers whose origin `OcciApplication._base_url` keeps.
_KEPT_BASES = 256


def _origin(scope: Scope) -> str:
    """The server's URL as the client named it (scheme, host, port), ending in a slash."""
    url = URL(scope=scope)
    return f"{url.scheme}://{url.netloc}/"


@functools.lru_cache(maxsize=64)
def _occi11_codec(media_type: str, base: str, for_rocci: bool) -> Codec:
    return Occi11TextCodec(codec_named(media_type), base, for_rocci=for_rocci)


@functools.lru_cache(maxsize=512)
def _client_version(user_agent: str | None) -> tuple[int, int] | None:
    return occi_version(user_agent)


def _header_categories(request: Request) -> list[Category]:
    """Category filters sent as request headers (absent in most requests: skip the parse)."""
    headers = request.headers
    if "category" not in headers and "x-occi-category" not in headers:
        return []
    return parse_header_categories(_fields_of(request))


def _fields_of(request: Request) -> list[tuple[bytes, bytes]]:
    """The request's header fields as sent, for the OCCI parsers: they read values as
    UTF-8 (Starlette's text is Latin-1, which would turn a UTF-8 title into mojibake)
    and refuse values that are not UTF-8 with a 400."""
    return request.scope["headers"]


def _has_document(body: bytes, headers: Mapping[str, str]) -> bool:
    if body.strip() and body.strip() != b"OK":
        return True
    return any(name in headers for name in ("category", "x-occi-attribute", "x-occi-location"))


def _identifier_categories(value: str) -> list[Mixin]:
    categories = []
    for identifier in filter(None, (part.strip() for part in value.split(","))):
        scheme, _, term = identifier.rpartition("#")
        if not scheme or not term:
            raise BadRequestError(f"{identifier!r} is not a category identifier (scheme#term)")
        categories.append(Mixin(scheme=scheme + "#", term=term))
    return categories


def _page_request(query: Mapping[str, str]) -> PageRequest | None:
    page, number = query.get("page"), query.get("number")
    if page is None and number is None:
        return None
    if page is None or number is None:
        raise BadRequestError("paging needs both page=<index, from 1> and number=<items>")
    # At most 18 digits: int() of thousands of digits is refused, and slow before that.
    if not all(
        v.isascii() and v.isdigit() and len(v) <= 18 and int(v) >= 1 for v in (page, number)
    ):
        raise BadRequestError(f"page={page!r} and number={number!r} must be whole numbers from 1")
    if int(page) > MAX_PAGE_INDEX:
        # Beyond this the offset no longer fits a database integer.
        raise BadRequestError(f"page={page} is past the last page there can be ({MAX_PAGE_INDEX})")
    return PageRequest(int(page), int(number))


#: The highest page index a listing takes: index x size stays within 64-bit integers.
MAX_PAGE_INDEX = 10**9


# --- building the application --------------------------------------------------------------


def create_app(config: ServerConfig) -> ASGIApp:
    """The OCCI server for a configuration: store, backend, service, authenticator."""
    state: dict[str, OcciApplication] = {}

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        database = Database(config.database_url or default_database_url())
        await database.run(database.upgrade)
        standard = standard_model()
        backend = await open_backend(config, standard, database)
        service = OcciService(
            standard=standard,
            backend=backend,
            store=MixinRepository(database),
            runner=database,
            max_page_size=config.limits.max_page_size,
            write_wait=config.limits.write_wait,
        )
        authenticator = build_authenticator(config.auth)
        state["app"] = OcciApplication(config, service, authenticator)
        # What startup built (modules, the model, codecs) lives as long as the worker:
        # out of the collector's sight, a full collection (which stops every request)
        # has a tenth of the objects to walk.
        gc.freeze()
        try:
            yield
        finally:
            await authenticator.close()
            await backend.close()
            database.close()

    lifecycle = Starlette(lifespan=lifespan)

    async def application(scope: Scope, receive: Receive, send: Send) -> None:
        # Every path and every method reaches the handler: OCCI paths are data,
        # and a method the path does not define is a 405 rendered like any error.
        # Starlette runs the lifespan; HTTP skips its routing and middleware,
        # which the handler does not need and which cost more than the handler.
        if scope["type"] == "http":
            occi = state["app"]
            if (
                scope["method"] == "GET"
                and not scope.get("query_string")
                and await occi.answer_read(scope, send)
            ):
                return
            response = await occi.handle(Request(scope, receive))
            await send_response(response, send, scope, receive)
        else:
            await lifecycle(scope, receive, send)

    return application


def create_app_from_environment() -> ASGIApp:
    """The app for ``occi-server`` workers (configuration handed over as JSON in the
    environment) and for ``uvicorn --factory`` (configuration file and environment)."""
    return create_app(config_from_environment(os.environ))


def create_proxied_app_from_environment() -> ASGIApp:
    """The app for granian workers: like `create_app_from_environment`, behind granian's
    handling of X-Forwarded-* from a proxy on this host (uvicorn does this itself with
    ``proxy_headers``), so both servers build the same URLs behind a TLS proxy."""
    from granian.utils.proxies import wrap_asgi_with_proxy_headers

    return wrap_asgi_with_proxy_headers(create_app_from_environment(), trusted_hosts="127.0.0.1")


__all__ = [
    "OcciApplication",
    "create_app",
    "create_app_from_environment",
    "create_proxied_app_from_environment",
]
