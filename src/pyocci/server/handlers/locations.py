"""Answers that name entities by their locations, shared by the handlers that create."""

from __future__ import annotations

from starlette.responses import Response

from pyocci.server.handlers.exchange import Exchange
from pyocci.service.occi import Written


def created(exchange: Exchange, written: Written) -> Response:
    """201 with the new locations; 202 with them when the cloud does not show them
    yet (a GET of one may still answer 404 for a while)."""
    urls = [exchange.absolute(e.location or "") for e in written.entities]
    extra = {"location": urls[0], "x-occi-location": ", ".join(urls)}
    status = 201 if written.done else 202
    return exchange.dialect.rendered(exchange.codec.render_locations(urls), status, extra)


def located(exchange: Exchange, locations: list[str], status: int = 200) -> Response:
    """The entities at `locations`, named by absolute URL in the answer's rendering."""
    urls = [exchange.absolute(location) for location in locations]
    return exchange.dialect.rendered(exchange.codec.render_locations(urls), status)
