"""Action invocations (``POST <entity or collection>?action=<term>``)."""

from __future__ import annotations

from starlette.responses import Response

from pyocci.model.entity import ActionInvocation
from pyocci.server.handlers.exchange import Exchange
from pyocci.server.handlers.locations import located
from pyocci.service.occi import OcciService
from pyocci.service.paths import Collection, EntityPath


class ActionHandler:
    """Answers action invocations on an entity or on every entity of a collection."""

    def __init__(self, service: OcciService) -> None:
        self.service = service

    async def on_entity(self, exchange: Exchange, path: EntityPath) -> Response:
        """The entity after the action; or, for an action that creates something (a
        snapshot's template), that category, with its location."""
        outcome = await self.service.trigger(
            exchange.tenant, exchange.model, path, exchange.query["action"], invocation(exchange)
        )
        if outcome.created is not None:
            extra = {"location": exchange.absolute(outcome.created.location or "")}
            return exchange.dialect.rendered(
                exchange.codec.render_categories([outcome.created]), 200, extra
            )
        return exchange.dialect.rendered(exchange.codec.render_entity(outcome.entity))

    async def on_collection(self, exchange: Exchange, target: Collection) -> Response:
        """The locations of the entities the action was triggered on."""
        locations = await self.service.trigger_on_collection(
            exchange.tenant,
            exchange.model,
            target.category,
            exchange.query["action"],
            invocation(exchange),
        )
        return located(exchange, locations)


def invocation(exchange: Exchange) -> ActionInvocation | None:
    """The action invocation the request carries; None when the client sent only
    ``?action=`` (the action then takes no attributes)."""
    if not exchange.has_document():
        return None
    return exchange.reader().parse_action(exchange.body, exchange.fields, model=exchange.model)
