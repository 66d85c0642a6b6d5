"""One entity (``/compute/<id>``): read, partial update, replace, delete.

Actions on an entity (``POST ?action=``) are `actions`' to answer.
"""

from __future__ import annotations

from starlette.responses import Response

from pyocci.rendering.negotiation import URI_LIST
from pyocci.server.handlers.exchange import Exchange
from pyocci.server.handlers.locations import created
from pyocci.server.representations import Representations
from pyocci.service.errors import MethodNotAllowedError
from pyocci.service.occi import OcciService
from pyocci.service.paths import EntityPath


class EntityHandler:
    """Answers requests to one entity."""

    def __init__(self, service: OcciService) -> None:
        self.service = service
        self._representations = Representations()

    async def read(self, exchange: Exchange, path: EntityPath) -> Response:
        """GET or HEAD: the entity rendered, or its rendering kept from an earlier read
        when the service says nothing can have changed since (see `representations`)."""
        codec = exchange.codec
        revision = self.service.revision() if codec.media_type != URI_LIST else None
        if revision is None:
            entity = await self.service.get(exchange.tenant, exchange.model, path)
            return exchange.dialect.rendered(codec.render_entity(entity))
        # The model is part of the key: actions shown and user mixins depend on it.
        key = (exchange.tenant.id, path.location, codec.variant, exchange.model)
        response = self._representations.lookup(revision, key)
        if response is None:
            entity = await self.service.get(exchange.tenant, exchange.model, path)
            response = exchange.dialect.rendered(codec.render_entity(entity))
            self._representations.keep(revision, key, response)
        return response

    async def write(self, exchange: Exchange, path: EntityPath) -> Response:
        """DELETE, POST (a partial update) or PUT (a replacement, or a create at a
        location the client chose); any other method is refused."""
        method = exchange.method
        service, tenant, model = self.service, exchange.tenant, exchange.model
        codec, dialect = exchange.codec, exchange.dialect
        if method == "DELETE":
            deleted = await service.delete(tenant, model, path)
            if not deleted.done:
                # The cloud still shows it: accepted, with the state it is in now.
                return dialect.rendered(codec.render_entity(deleted.entities[0]), 202)
            return dialect.empty()
        if method == "POST":
            changes = exchange.reader().parse_entity(exchange.body, exchange.fields, model=model)
            return dialect.rendered(
                codec.render_entity(await service.update(tenant, model, path, changes))
            )
        if method == "PUT":
            entity = exchange.reader().parse_entity(exchange.body, exchange.fields, model=model)
            written, was_created = await service.replace(tenant, model, path, entity)
            if was_created:
                return created(exchange, written)
            return dialect.rendered(codec.render_entity(written.entities[0]))
        raise MethodNotAllowedError(
            f"{method} is not defined for an entity", ("GET", "HEAD", "POST", "PUT", "DELETE")
        )
