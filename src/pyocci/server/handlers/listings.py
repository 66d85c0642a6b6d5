"""A collection's listing: filtered, paged, rendered in turns, sent whole or streamed.

The filters (``Category`` and ``X-OCCI-Attribute`` header fields) mean
what the service says they mean (`pyocci.service.filters`); paging is
``?page=<index>&number=<size>``, answered with RFC 8288 ``Link`` headers.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping

from starlette.responses import Response

from pyocci.model.category import Kind, Mixin
from pyocci.rendering import Rendering
from pyocci.rendering.base import LocationWriter
from pyocci.server.handlers.exchange import Exchange
from pyocci.server.turns import LOCATIONS_PER_STEP, Turns
from pyocci.service.errors import BadRequestError
from pyocci.service.filters import parse_filter_attributes
from pyocci.service.occi import OcciService, PageRequest

#: A listing whose body is no bigger is sent whole rather than streamed (a thousand
#: locations in text/plain are about 85 KiB).
WHOLE_LISTING_BYTES = 256 * 1024
#: The highest page index a listing takes: index x size stays within 64-bit integers.
MAX_PAGE_INDEX = 10**9


async def listing(
    exchange: Exchange, category: Kind | Mixin, service: OcciService, turns: Turns
) -> Response:
    """The entities of the collection of `category` that pass the request's filters, one
    page of them when it asks for one; big listings share the loop in `turns`."""
    page = page_request(exchange.query)
    filters = exchange.category_filters()
    attributes = (
        parse_filter_attributes(exchange.fields, exchange.model, category)
        if "x-occi-attribute" in exchange.headers
        else {}
    )
    tenant, model, codec = exchange.tenant, exchange.model, exchange.codec
    on_loop = service.backend.reads_on_loop
    writer = codec.open_collection()
    rendered: AsyncIterator[bytes]
    async with turns.step(on_loop):
        if isinstance(writer, LocationWriter):
            # Locations are all it shows: the backend need not read the entities.
            located = await service.location_listing(
                tenant, model, category, filters=filters, attributes=attributes, page=page
            )
            total = located.total
            rendered = turns.rendered(
                located.batches,
                writer.write_locations,
                fetch_in_turn=on_loop,
                per_step=LOCATIONS_PER_STEP,
            )
        else:
            found = await service.listing(
                tenant, model, category, filters=filters, attributes=attributes, page=page
            )
            total = found.total
            rendered = turns.rendered(found.batches, writer.write, fetch_in_turn=on_loop)
    extra = {}
    links = page_links(exchange, page, total)
    if links:
        extra["link"] = links
    dialect = exchange.dialect
    if codec.collection_in_headers:
        async for _ in rendered:
            pass
        body = writer.close()
        return dialect.rendered(Rendering(codec.media_type, body, writer.headers), 200, extra)
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
        return dialect.rendered(Rendering(codec.media_type, body), 200, extra)

    async def chunks() -> AsyncIterator[bytes]:
        while head:
            yield head.pop(0)
        async for chunk in rendered:
            yield chunk
        last = writer.close()
        if last:
            yield last

    return dialect.streamed(codec, chunks(), extra)


def page_request(query: Mapping[str, str]) -> PageRequest | None:
    """The page ``?page=<index>&number=<size>`` asks for; None for the whole listing.
    Raises BadRequestError when only one is given or either is not a whole number from 1."""
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


def page_links(exchange: Exchange, page: PageRequest | None, total: int | None) -> str:
    """The ``Link`` header of a page: first, prev, next and last (next and last as far
    as the total is known)."""
    if page is None:
        return ""
    base = exchange.absolute(exchange.url_path())

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
