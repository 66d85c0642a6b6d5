"""A Kind or Mixin collection (``/compute/``, ``/mixin/user/web/``): lists it, creates
into a kind's, deletes a kind's whole, associates entities with a mixin.

How a listing is read and sent is `listings`'; actions on a collection are `actions`'.
"""

from __future__ import annotations

from starlette.responses import Response

from pyocci.model.category import Kind
from pyocci.rendering.errors import ParseError, UnsupportedDocumentError
from pyocci.server.handlers.exchange import Exchange
from pyocci.server.handlers.listings import listing
from pyocci.server.handlers.locations import created, located
from pyocci.server.turns import Turns
from pyocci.service.errors import BadRequestError, MethodNotAllowedError
from pyocci.service.occi import OcciService
from pyocci.service.paths import Collection


class CollectionHandler:
    """Answers requests to a collection."""

    def __init__(self, service: OcciService, turns: Turns) -> None:
        self.service = service
        # Big listings share the loop in short turns (see `turns`).
        self._turns = turns

    async def read(self, exchange: Exchange, target: Collection) -> Response:
        """GET or HEAD: the collection's entities that pass the filters (see `listings`)."""
        return await listing(exchange, target.category, self.service, self._turns)

    async def write(self, exchange: Exchange, target: Collection) -> Response:
        """A kind's: POST creates, DELETE deletes every entity. A mixin's: POST adds
        members, PUT replaces them, DELETE removes them. Any other method is refused."""
        method = exchange.method
        service, tenant, model = self.service, exchange.tenant, exchange.model
        category = target.category
        if isinstance(category, Kind):
            if method == "POST":
                reader = exchange.reader()
                entities = reader.parse_entities(exchange.body, exchange.fields, model=model)
                if not entities:
                    raise BadRequestError(f"POST {category.location} needs an entity to create")
                return created(
                    exchange, await service.create_all(tenant, model, category, entities)
                )
            if method == "DELETE":
                deleted = await service.delete_collection(tenant, model, category)
                if not deleted.done:
                    # Some are still going: accepted, and these are the ones.
                    return located(exchange, [e.location or "" for e in deleted.entities], 202)
                return exchange.dialect.empty()
            raise MethodNotAllowedError(
                f"{method} is not defined for a kind collection", ("GET", "HEAD", "POST", "DELETE")
            )
        named = member_locations(exchange) if exchange.has_document() else None
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
        return exchange.dialect.empty()


def member_locations(exchange: Exchange) -> list[str]:
    """The entity locations a request names: as a location list, or (JSON clients send
    entities: ``{"resources": [{"location": ...}]}``) as the locations of entities."""
    reader = exchange.reader()
    try:
        return reader.parse_locations(exchange.body, exchange.fields)
    except (ParseError, UnsupportedDocumentError):
        entities = reader.parse_entities(exchange.body, exchange.fields)
        return [e.location for e in entities if e.location]
