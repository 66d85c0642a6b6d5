"""What a client's filters and category names mean in the model's terms.

Listings and discovery are narrowed by what a client sends as text:
category identifiers (``scheme#term``, as the query interface's
``?category=`` takes them), ``Category`` fields and ``X-OCCI-Attribute``
fields of the text rendering. Here that text becomes what the service
works with: categories to look up in the tenant's model, and attribute
values of the types the model defines for the collection's entities.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pyocci.model.category import Category, Kind, Mixin
from pyocci.model.entity import Entity
from pyocci.model.registry import Model
from pyocci.rendering.base import Headers
from pyocci.rendering.text import parse_header_attributes, parse_header_categories
from pyocci.service.errors import BadRequestError


def parse_category_identifiers(value: str) -> list[Mixin]:
    """The categories a comma-separated list of identifiers (``scheme#term``) names.

    They come back as bare Mixins: identifiers say nothing of a category's
    class, and what they are used for (discovery filters, mixins to remove)
    looks categories up by identifier alone. Raises BadRequestError naming
    an identifier without both a scheme and a term.
    """
    categories = []
    for identifier in filter(None, (part.strip() for part in value.split(","))):
        scheme, _, term = identifier.rpartition("#")
        if not scheme or not term:
            raise BadRequestError(f"{identifier!r} is not a category identifier (scheme#term)")
        categories.append(Mixin(scheme=scheme + "#", term=term))
    return categories


def parse_filter_categories(fields: Headers) -> list[Category]:
    """The categories named by the ``Category`` fields of the text rendering: the
    filters of a listing or of discovery. Raises ParseError naming a malformed field."""
    return parse_header_categories(fields)


def parse_filter_attributes(
    fields: Headers, model: Model, collection: Kind | Mixin
) -> dict[str, Any]:
    """The attribute filters named by the ``X-OCCI-Attribute`` fields of the text
    rendering, typed as `coerce_filter_values` types them. Raises ParseError naming a
    malformed field."""
    return coerce_filter_values(model, collection, parse_header_attributes(fields))


def coerce_filter_values(
    model: Model, collection: Kind | Mixin, attributes: Mapping[str, Any]
) -> dict[str, Any]:
    """Attribute filter values as the entities of `collection` hold them.

    Text carries no types (``occi.compute.cores="2"`` reads as a string), and
    a filter compares values as stored: the values are brought to the types
    their definitions say and legacy attribute names to today's, as for an
    entity of the collection's kind (a mixin collection names no kind: there
    only legacy names are brought up to date). A value that does not convert
    stays as sent.
    """
    if not attributes:
        return {}
    # Model.coerce is the one place that knows the wire forms and legacy names; it
    # works on entities, so the filters are coerced as the attributes of one.
    probe = Entity(kind=collection.id if isinstance(collection, Kind) else None)
    probe.attributes = dict(attributes)
    model.coerce(probe)
    return probe.attributes
