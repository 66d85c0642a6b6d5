"""The ASGI application: HTTP in, OCCI semantics (the service) out.

One endpoint takes every path, because OCCI paths are data: which ones are
collections depends on the tenant's categories. Every request, read or
write, takes one way: the application negotiates the rendering, enforces
the limits, authenticates, resolves the path and routes the request to the
handler of its target (`pyocci.server.handlers`), which calls the service;
the answer, or the error, is rendered in the client's media type.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import os
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from pyocci.backends.api import Backend, Tenant
from pyocci.model.standard import standard_model
from pyocci.rendering import Codec
from pyocci.rendering.json import JsonCodec
from pyocci.rendering.negotiation import (
    TEXT_OCCI,
    TEXT_OCCI_PLAIN,
    TEXT_PLAIN,
    URI_LIST,
    occi_version,
)
from pyocci.rendering.occi11 import Occi11TextCodec, occi11_uri_list
from pyocci.rendering.urilist import UriListCodec
from pyocci.server.auth import (
    AuthenticationError,
    Authenticator,
    HandshakeAuth,
    build_authenticator,
    current_peer,
)
from pyocci.server.auth.base import logger as auth_logger
from pyocci.server.auth.front import peer_of, remember_peer
from pyocci.server.backends import open_backend
from pyocci.server.bodies import read_body
from pyocci.server.config import CONFIG_JSON_ENV, ServerConfig, config_from_environment
from pyocci.server.exports.serving import start_exports
from pyocci.server.handlers import (
    ActionHandler,
    CollectionHandler,
    EntityHandler,
    Exchange,
    QueryInterfaceHandler,
)
from pyocci.server.health import HealthPage
from pyocci.server.html import HtmlView
from pyocci.server.identity import IdentityEndpoint
from pyocci.server.observation import RequestObserver, current_request, target_label
from pyocci.server.origins import Origins
from pyocci.server.responses import DIALECTS, HttpError, codec_named, send_response
from pyocci.server.turns import Turns
from pyocci.server.watching import watching_for
from pyocci.service.accounting import UsageRecorder
from pyocci.service.errors import NotFoundError
from pyocci.service.occi import OcciService
from pyocci.service.paths import EntityPath, QueryInterface, Target, resolve
from pyocci.store.database import Database, default_database_url
from pyocci.store.freshness import ARRIVED_EXTENSION, reads_since
from pyocci.store.mixins import MixinRepository
from pyocci.store.usage import UsageRepository

if TYPE_CHECKING:
    # Imported where metrics are on only: see pyocci.server.metrics.
    from pyocci.server.metrics_page import MetricsPage

#: The methods whose request body the application reads; it ignores any other's.
BODY_METHODS = frozenset(("POST", "PUT", "DELETE"))


class OcciApplication:
    """The per-process state the handlers share: service, authenticator, limits, caches."""

    def __init__(
        self,
        config: ServerConfig,
        service: OcciService,
        auth: Authenticator,
        *,
        observer: RequestObserver | None = None,
        metrics_page: MetricsPage | None = None,
        health: HealthPage | None = None,
        database: Database | None = None,
    ) -> None:
        self.config = config
        self.service = service
        self.auth = auth
        self.dialect = DIALECTS[config.occi_version]
        self.origins = Origins(config.base_url)
        self.query_interface = QueryInterfaceHandler(service)
        self.entities = EntityHandler(service)
        self.collections = CollectionHandler(service, Turns())
        self.actions = ActionHandler(service)
        self.html = HtmlView(service, self.origins) if config.html_view else None
        #: Request ids, metrics and the access log (see `observation`); None: none of them.
        self.observer = observer
        #: ``/metrics`` on the OCCI port; None: not served here.
        self.metrics_page = metrics_page
        #: ``/healthz`` and ``/livez``; None: not served (an app built without a store).
        self.health = health
        # PostgreSQL: before a request's reads, every change committed before it began
        # is heard (see pyocci.store.changes); SQLite needs nothing.
        self._catch_up = (
            database.catch_up if database is not None and database.is_postgresql else None
        )
        #: The token endpoint of the Keystone-like handshake, when it is served.
        self.identity = (
            IdentityEndpoint(auth, self.origins) if isinstance(auth, HandshakeAuth) else None
        )

    # --- the request ----------------------------------------------------------------

    async def serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer one HTTP request of the ASGI server."""
        # What this request reads must show every commit made before it arrived, through
        # whichever process (see `pyocci.store.freshness`).
        extensions = scope.get("extensions")
        reads_since(extensions.get(ARRIVED_EXTENSION) if extensions else None)
        if self._catch_up is not None and not self._reads_no_entities(scope["path"]):
            await self._catch_up()
        if self.observer is None:
            await self._respond(scope, receive, send)
        else:
            await self.observer.observe(scope, receive, send, self._respond)

    def _reads_no_entities(self, path: str) -> bool:
        """Whether `path` is a health or metrics page, which read nothing another process
        may have written (a probe of a drained host must not wait on the database)."""
        page, health = self.metrics_page, self.health
        return (page is not None and path == page.path) or (
            health is not None and health.serves(path)
        )

    async def _respond(self, scope: Scope, receive: Receive, send: Send) -> None:
        page, health = self.metrics_page, self.health
        if page is not None and scope["path"] == page.path:
            response = page.answer(scope)
        elif health is not None and health.serves(scope["path"]):
            response = await health.answer(scope)
        else:
            response = await self.answer(scope, receive)
        await send_response(response, send, scope, receive)

    async def answer(self, scope: Scope, receive: Receive) -> Response:
        """The response to one OCCI request; every failure becomes a rendered error.

        Reads and writes of every target take this one way: the checks, the
        authentication and the path resolved here, the handler of the target
        answering. `receive` is read only for the body of a write.
        """
        codec: Codec | None = None
        # Whether the HTML view answers (a browser asks): its pages, forms and errors.
        html = False
        # Method voms reads certificate headers only from the front: the peer, not what
        # X-Forwarded-For made of the scope's client.
        current_peer.set(peer_of(scope))
        try:
            fields = scope["headers"]
            # The first value of each field, as Starlette's Headers.get gives it, taken
            # in the same pass that measures the fields against the limits.
            headers: dict[str, str] = {}
            size = 0
            for name, value in fields:
                size += len(name) + len(value)
                key = name.decode("latin-1")
                if key not in headers:
                    headers[key] = value.decode("latin-1")
            if self.identity is not None and self.identity.serves(scope["path"]):
                # The token endpoint speaks Keystone's JSON, whatever the client accepts.
                self._check_limits(len(fields), size)
                return await self.identity.answer(scope, receive, headers)
            accept = headers.get("accept")
            html = self.html is not None and self.html.wanted(scope["method"], accept, self.dialect)
            media_type = self.dialect.negotiate(accept)
            if media_type is None and not html:
                raise HttpError(
                    406,
                    f"cannot render {accept}; this server speaks "
                    + ", ".join(self.dialect.offered),
                )
            user_agent = headers.get("user-agent")
            version = _client_version(user_agent)
            codec = self._codec(media_type or TEXT_PLAIN, scope, user_agent, version)
            self._check_limits(len(fields), size)
            self._check_version(version)
            tenant = await self._authenticate(headers, scope)
            record = current_request.get()
            if record is not None:
                record.tenant = tenant.id
            model = await self.service.model_for(tenant)
            path = scope["path"]
            target = resolve(model, path)
            if target is None:
                raise self.service.unserved(path) or NotFoundError(
                    f"nothing lives at {path}; the categories are listed at /-/"
                )
            method = scope["method"]
            raw_query = scope.get("query_string", b"")
            query = (
                dict(parse_qsl(raw_query.decode("latin-1"), keep_blank_values=True))
                if raw_query
                else {}
            )
            body = (
                await read_body(receive, headers, self.config.limits.max_body_bytes)
                if method in BODY_METHODS
                else b""
            )
            exchange = Exchange(
                method,
                path,
                headers,
                query,
                body,
                tenant,
                model,
                codec,
                self.dialect,
                scope,
                self.origins,
            )
            if record is not None:
                record.target = target_label(target, method, query)
            if html and self.html is not None:
                return await self.html.route(exchange, target)
            return await self._route(exchange, target)
        except Exception as error:
            if html:
                return HtmlView.error(error, scope["method"], scope["path"], self.dialect)
            return self.dialect.error(error, codec)

    async def _authenticate(self, headers: Mapping[str, str], scope: Scope) -> Tenant:
        try:
            return await self.auth.authenticate(headers, scope.get("client"))
        except AuthenticationError as error:
            # With the handshake, a client that sent no Authorization (none at all, an
            # issued token, a certificate alone) is told where to get a token; one whose
            # Authorization was refused hears why from its method's challenge, if any.
            if self.identity is not None and (
                "authorization" not in headers or not error.challenge
            ):
                error.challenge = self.identity.challenge(scope)
            raise

    async def _route(self, exchange: Exchange, target: Target) -> Response:
        """The target's handler: its read for GET and HEAD, the action handler for
        ``POST ?action=`` on an entity or a collection, its write otherwise."""
        method = exchange.method
        reading = method == "GET" or method == "HEAD"
        if isinstance(target, EntityPath):
            if reading:
                return await self.entities.read(exchange, target)
            if method == "POST" and "action" in exchange.query:
                return await self.actions.on_entity(exchange, target)
            return await self.entities.write(exchange, target)
        if isinstance(target, QueryInterface):
            if reading:
                return self.query_interface.read(exchange)
            return await self.query_interface.write(exchange)
        if reading:
            return await self.collections.read(exchange, target)
        if method == "POST" and "action" in exchange.query:
            return await self.actions.on_collection(exchange, target)
        return await self.collections.write(exchange, target)

    def _check_limits(self, count: int, size: int) -> None:
        limits = self.config.limits
        if count > limits.max_header_count:
            raise HttpError(
                431, f"{count} request headers; this server accepts {limits.max_header_count}"
            )
        if size > limits.max_header_bytes:
            raise HttpError(
                431,
                f"{size} bytes of request headers; this server accepts {limits.max_header_bytes}",
            )

    def _check_version(self, version: tuple[int, int] | None) -> None:
        served = self.dialect.version
        if version is not None and version > served:
            also = " (and 1.1)" if served > (1, 1) else ""
            raise HttpError(
                501,
                f"this server speaks OCCI/{self.dialect.name}{also}; the client asks for "
                f"OCCI/{version[0]}.{version[1]}",
            )

    def _codec(
        self,
        media_type: str,
        scope: Scope,
        user_agent: str | None,
        version: tuple[int, int] | None,
    ) -> Codec:
        """The codec that answers: the media type's, in the form an OCCI 1.1 client reads
        when the client does not claim OCCI 1.2 (`version`, from its User-Agent; see
        `pyocci.rendering.occi11`)."""
        if media_type == URI_LIST:
            # RFC 2483 lists absolute URIs: resolve locations against the server's URL.
            if self._speaks_occi11(version):
                return occi11_uri_list(self.origins.base_url(scope))
            return UriListCodec(base=self.origins.base_url(scope))
        rocci = user_agent is not None and "rOCCI" in user_agent
        if media_type in _TEXT_TYPES and self._speaks_occi11(version):
            # rOCCI-core reads text/occi headers its own way (see Occi11TextCodec).
            return _occi11_codec(
                media_type, self.origins.base_url(scope), rocci and media_type == TEXT_OCCI
            )
        codec = codec_named(media_type)
        if rocci and isinstance(codec, JsonCodec):
            # rOCCI-core 5 takes an attribute's `pattern` for a regex string and refuses
            # GFD.226's JSON Schema objects: its clients get descriptions without them.
            return _rocci_json_codec(type(codec))
        return codec

    def _speaks_occi11(self, version: tuple[int, int] | None) -> bool:
        # A client that names no OCCI version (jOCCI, curl, 1.1-era scripts) gets what
        # 1.1 clients read, which is valid 1.2 text as well.
        if self.dialect.version < (1, 2):
            return True
        return version is None or version < (1, 2)


_TEXT_TYPES = frozenset((TEXT_PLAIN, TEXT_OCCI, TEXT_OCCI_PLAIN))


@functools.lru_cache(maxsize=64)
def _occi11_codec(media_type: str, base: str, for_rocci: bool) -> Codec:
    return Occi11TextCodec(codec_named(media_type), base, for_rocci=for_rocci)


@functools.lru_cache(maxsize=2)
def _rocci_json_codec(codec_class: type[JsonCodec]) -> Codec:
    return codec_class(value_schemas=False)


@functools.lru_cache(maxsize=512)
def _client_version(user_agent: str | None) -> tuple[int, int] | None:
    return occi_version(user_agent)


# --- building the application --------------------------------------------------------------


def create_app(config: ServerConfig) -> ASGIApp:
    """The OCCI server for a configuration: store, backend, service, authenticator."""
    state: dict[str, OcciApplication] = {}

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        database = Database(config.database_url or default_database_url())
        await database.run(database.upgrade)
        standard = standard_model()
        opened = await open_backend(config, standard, database)
        watching = watching_for(config, opened)
        backend: Backend = opened if watching is None else watching.backend
        exports = start_exports(config.export, opened, database)
        if exports is not None:
            backend = exports.backend(backend)
        service = OcciService(
            standard=standard,
            backend=backend,
            store=MixinRepository(database),
            runner=database,
            max_page_size=config.limits.max_page_size,
            write_wait=config.limits.write_wait,
            usage=(
                UsageRecorder(UsageRepository(database), database)
                if config.accounting.enabled
                else None
            ),
        )
        authenticator = build_authenticator(config.auth, backend)
        state["app"] = OcciApplication(
            config,
            service,
            authenticator,
            observer=watching.observer if watching else None,
            metrics_page=watching.page if watching else None,
            health=HealthPage(database, backend),
            database=database,
        )
        counting = watching.count_entities(service) if watching else None
        # What startup built (modules, the model, codecs) lives as long as the worker:
        # out of the collector's sight, a full collection (which stops every request)
        # has a tenth of the objects to walk.
        gc.freeze()
        try:
            yield
        finally:
            if counting is not None:
                counting.cancel()
            if exports is not None:
                await exports.close()
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
            await state["app"].serve(scope, receive, send)
        else:
            await lifecycle(scope, receive, send)

    return application


def create_app_from_environment() -> ASGIApp:
    """The app for ``occi-server`` workers (configuration handed over as JSON in the
    environment) and for ``uvicorn --factory`` (configuration file and environment)."""
    config = config_from_environment(os.environ)
    if config.auth.method == "voms" and not os.environ.get(CONFIG_JSON_ENV):
        # Started by another ASGI runner (uvicorn --factory): its HTTP protocol keeps no
        # connection peer, without which method voms takes no certificate header.
        auth_logger.warning(
            "auth.method voms: this server runs without occi-server's HTTP protocol, so "
            "the connection's peer is unknown and every client certificate is refused "
            "(401); start it with occi-server"
        )
    return create_app(config)


def create_proxied_app_from_environment() -> ASGIApp:
    """The app for granian workers: like `create_app_from_environment`, behind granian's
    handling of X-Forwarded-* from a proxy on this host (uvicorn does this itself with
    ``proxy_headers``), so both servers build the same URLs behind a TLS proxy."""
    from granian.utils.proxies import wrap_asgi_with_proxy_headers

    # The peer is kept before the wrapper takes X-Forwarded-For for the client.
    return remember_peer(
        wrap_asgi_with_proxy_headers(create_app_from_environment(), trusted_hosts="127.0.0.1")
    )


__all__ = [
    "BODY_METHODS",
    "OcciApplication",
    "create_app",
    "create_app_from_environment",
    "create_proxied_app_from_environment",
]
