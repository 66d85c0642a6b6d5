"""What the HTML view's forms do: create, trigger an action, link, unlink, delete.

Each form names its ``operation``; each operation is the same service call
an OCCI client's request makes, with the same checks, and answers with the
location of the page that shows the outcome (the view redirects there).
"""

from __future__ import annotations

from urllib.parse import quote

from pyocci.model.category import Kind
from pyocci.model.entity import Resource
from pyocci.server.handlers.exchange import Exchange
from pyocci.server.html.forms import Form, invocation_of, link_of, resource_of
from pyocci.service.errors import BadRequestError, MethodNotAllowedError, NotFoundError
from pyocci.service.occi import OcciService
from pyocci.service.paths import Collection, EntityPath, Target, resolve

#: The operations of the forms on an entity's page.
ENTITY_OPERATIONS = ("action", "link", "unlink", "delete")


class Actor:
    """Carries out the view's forms through one service."""

    def __init__(self, service: OcciService) -> None:
        self.service = service

    async def act(self, exchange: Exchange, target: Target, form: Form) -> str:
        """Do what the form asks of `target`; the location to show afterwards."""
        operation = form.get("operation") or ""
        if isinstance(target, Collection):
            if operation != "create" or not isinstance(target.category, Kind):
                raise BadRequestError(
                    f"a form on {exchange.path} creates (operation=create), into a kind's "
                    "collection"
                )
            return await self.create(exchange, target.category, form)
        if isinstance(target, EntityPath):
            if operation == "action":
                return await self.trigger(exchange, target, form)
            if operation == "link":
                return await self.link(exchange, target, form)
            if operation == "unlink":
                return await self.unlink(exchange, target, form)
            if operation == "delete":
                return await self.delete(exchange, target)
            raise BadRequestError(
                f"a form on an entity does one of {', '.join(ENTITY_OPERATIONS)}; "
                f"got operation={operation!r}"
            )
        raise MethodNotAllowedError(
            "the query interface has no forms in the HTML view; define mixins with an OCCI client",
            ("GET", "HEAD"),
        )

    async def create(self, exchange: Exchange, kind: Kind, form: Form) -> str:
        """Create a resource of `kind` from the create form; its location."""
        resource = resource_of(exchange.model, kind, form)
        written = await self.service.create(exchange.tenant, exchange.model, kind, resource)
        return written.entities[0].location or kind.location or "/"

    async def trigger(self, exchange: Exchange, path: EntityPath, form: Form) -> str:
        """Trigger the action the form names on the entity."""
        action_id = form.require("action")
        invocation = invocation_of(exchange.model, action_id, form)
        term = action_id.rpartition("#")[2]
        outcome = await self.service.trigger(
            exchange.tenant, exchange.model, path, term, invocation
        )
        if outcome.created is not None and outcome.created.location:
            # An action that made a category (a snapshot's os_tpl): the query interface shows it.
            return "/-/?category=" + quote(outcome.created.id, safe="")
        return path.location

    async def link(self, exchange: Exchange, path: EntityPath, form: Form) -> str:
        """Link the entity to the resource the form names, with a link of its kind."""
        model = exchange.model
        kind = model.get(form.require("kind"))
        if not isinstance(kind, Kind):
            raise BadRequestError(f"{form.get('kind')} is no kind of link this server knows")
        link = link_of(model, kind, path.location, form)
        await self.service.create(exchange.tenant, model, kind, link)
        return path.location

    async def unlink(self, exchange: Exchange, path: EntityPath, form: Form) -> str:
        """Delete one of the entity's links."""
        location = form.require("link")
        entity = await self.service.get(exchange.tenant, exchange.model, path)
        links = entity.links if isinstance(entity, Resource) else []
        if location not in {link.location for link in links}:
            raise NotFoundError(f"{path.location} has no link {location}")
        link_path = resolve(exchange.model, location)
        if not isinstance(link_path, EntityPath):
            raise NotFoundError(f"{location} is not the location of a link")
        await self.service.delete(exchange.tenant, exchange.model, link_path)
        return path.location

    async def delete(self, exchange: Exchange, path: EntityPath) -> str:
        """Delete the entity (the form of the page that asked first)."""
        await self.service.delete(exchange.tenant, exchange.model, path)
        return path.kind.location or "/"
