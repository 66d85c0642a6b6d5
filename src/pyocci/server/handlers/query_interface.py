"""The query interface (``/-/``): discovery, and the definition and removal of user mixins."""

from __future__ import annotations

import weakref

from starlette.responses import Response

from pyocci.model.registry import Model
from pyocci.server.handlers.exchange import Exchange
from pyocci.service.errors import BadRequestError, MethodNotAllowedError
from pyocci.service.filters import parse_category_identifiers
from pyocci.service.occi import OcciService


class QueryInterfaceHandler:
    """Answers requests to the query interface."""

    def __init__(self, service: OcciService) -> None:
        self.service = service
        # Full discovery documents, rendered once per tenant model and codec variant.
        self._discovery: weakref.WeakKeyDictionary[Model, dict[str, Response]] = (
            weakref.WeakKeyDictionary()
        )

    def read(self, exchange: Exchange) -> Response:
        """GET or HEAD: the tenant's categories; with Category filters (header fields or
        ``?category=scheme#term,...``), the named ones and their actions."""
        filters = exchange.category_filters()
        if "category" in exchange.query:
            filters.extend(parse_category_identifiers(exchange.query["category"]))
        if not filters:
            return self._full_discovery(exchange)
        return exchange.dialect.rendered(
            exchange.codec.render_categories(self.service.discover(exchange.model, filters))
        )

    def _full_discovery(self, exchange: Exchange) -> Response:
        # The answer only changes with the tenant's model, which is a new object
        # whenever a category changes: render it once and send the same response.
        model, codec = exchange.model, exchange.codec
        cached = self._discovery.setdefault(model, {})
        response = cached.get(codec.variant)
        if response is None:
            response = cached[codec.variant] = exchange.dialect.rendered(
                codec.render_categories(list(model))
            )
        return response

    async def write(self, exchange: Exchange) -> Response:
        """POST defines user mixins; DELETE removes them; any other method is refused."""
        method = exchange.method
        if method == "POST":
            categories = exchange.reader().parse_categories(exchange.body, exchange.fields)
            if not categories:
                raise BadRequestError("POST /-/ defines mixins: send at least one Category")
            defined = await self.service.define_mixins(exchange.tenant, categories)
            return exchange.dialect.rendered(exchange.codec.render_categories(defined))
        if method == "DELETE":
            identifiers = [
                c.id for c in parse_category_identifiers(exchange.query.get("category", ""))
            ]
            if exchange.body or exchange.headers.get("category"):
                reader = exchange.reader()
                identifiers += [
                    c.id for c in reader.parse_categories(exchange.body, exchange.fields)
                ]
            if not identifiers:
                raise BadRequestError("DELETE /-/ removes mixins: name them in a Category")
            await self.service.remove_mixins(exchange.tenant, identifiers)
            return exchange.dialect.empty()
        raise MethodNotAllowedError(
            f"{method} is not defined for the query interface", ("GET", "HEAD", "POST", "DELETE")
        )
