"""What a server offers: its categories as a `Model`, its OCCI version, its rendering.

The query interface (``GET /-/``) is asked once, in JSON when the server
takes it (a 1.1 server answers text/plain, or 406 to a JSON-only Accept).
The answer becomes a `Model` over pyocci's standard state machines and
legacy names, so that waiting for a state and validating input work the
same against any server. A text answer carries no attribute types: there
the standard attributes (``occi.compute.cores``...) and the parameters of
the standard actions get the types the OCCI specifications give them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import httpx

from pyocci.client.errors import ProtocolError, ServerError
from pyocci.client.transport import Transport
from pyocci.model.attribute import AttributeDefinition, AttributeType
from pyocci.model.category import Action, Category
from pyocci.model.errors import CategoryConflictError
from pyocci.model.registry import Model
from pyocci.model.standard import standard_model
from pyocci.rendering import codec_for
from pyocci.rendering.errors import ParseError, UnsupportedDocumentError
from pyocci.rendering.negotiation import (
    JSON,
    OCCI_JSON,
    TEXT_OCCI,
    TEXT_PLAIN,
    media_type_of,
    occi_version,
)

#: Relative, so that it lies below an endpoint with a path (``https://host/occi1.2/-/``).
QUERY_INTERFACE = "-/"

#: What the client asks for when the user forces nothing: JSON first, text/plain else.
PREFERRED_ACCEPT = f"{OCCI_JSON}, {TEXT_PLAIN};q=0.5"

#: Short names the user may give for a rendering.
MEDIA_TYPE_NAMES = {
    "json": OCCI_JSON,
    "text": TEXT_PLAIN,
    "plain": TEXT_PLAIN,
    "occi": TEXT_OCCI,
    OCCI_JSON: OCCI_JSON,
    JSON: OCCI_JSON,
    TEXT_PLAIN: TEXT_PLAIN,
    TEXT_OCCI: TEXT_OCCI,
}


def media_type_named(name: str) -> str:
    """The media type for ``json``, ``text``, ``occi`` or a full media type; ValueError else."""
    media_type = MEDIA_TYPE_NAMES.get(name.strip().lower())
    if media_type is None:
        raise ValueError(
            f"unknown rendering {name!r}; use json ({OCCI_JSON}), text ({TEXT_PLAIN}) "
            f"or occi ({TEXT_OCCI})"
        )
    return media_type


@dataclass(frozen=True)
class Discovery:
    """The answer of the query interface, and what the client concluded from it."""

    model: Model
    categories: tuple[Category, ...]
    #: The rendering the client speaks to this server from now on.
    media_type: str
    #: The OCCI version the server claims in its ``Server`` header, if any.
    occi_version: tuple[int, int] | None
    #: The server's ``Server`` header, as it came.
    server: str | None


def discover(transport: Transport, media_type: str | None = None) -> Discovery:
    """Ask the query interface for every category; choose the rendering unless forced."""
    accept = media_type or PREFERRED_ACCEPT
    try:
        response = transport.request("GET", QUERY_INTERFACE, headers=[("accept", accept)])
    except ServerError as error:
        if error.status == 404:
            raise ProtocolError(
                f"{transport.url(QUERY_INTERFACE)} is not found: no OCCI query interface there; "
                "is this an OCCI endpoint (its root URL, without a collection path)?"
            ) from None
        if error.status != 406 or media_type is not None:
            raise
        # A strict 1.1 server refuses an Accept that names JSON at all.
        response = transport.request("GET", QUERY_INTERFACE, headers=[("accept", TEXT_PLAIN)])
    answered = media_type_of(response.headers.get("content-type")) or TEXT_PLAIN
    version = occi_version(response.headers.get("server"))
    chosen = media_type or _chosen(answered, version)
    codec = codec_for(answered)
    if codec is None:
        raise ProtocolError(
            f"{transport.url(QUERY_INTERFACE)} answered {answered}, which is not an OCCI "
            "rendering; is this an OCCI endpoint?"
        )
    try:
        categories = codec.parse_categories(response.content, response.headers.multi_items())
    except (ParseError, UnsupportedDocumentError) as error:
        raise ProtocolError(
            f"cannot read the categories of {transport.endpoint}: {error}"
        ) from None
    if version is not None:
        transport.set_occi_version(min(version, (1, 2)))
    if answered not in (OCCI_JSON, JSON):
        categories = typed_as_standard(categories)
    return Discovery(
        model=model_of(categories),
        categories=tuple(categories),
        media_type=chosen,
        occi_version=version,
        server=response.headers.get("server"),
    )


def _chosen(answered: str, version: tuple[int, int] | None) -> str:
    """JSON for a 1.2 server that answered JSON; text/plain for everything else."""
    if answered in (OCCI_JSON, JSON) and (version is None or version >= (1, 2)):
        return OCCI_JSON
    return TEXT_PLAIN


def model_of(categories: Sequence[Category]) -> Model:
    """A Model of a server's categories, with pyocci's state machines and legacy names.

    A server may list a category twice (some do, once per backend); the first wins.
    """
    model = standard_model().with_categories(())
    for category in categories:
        try:
            model.add(category)
        except CategoryConflictError:
            continue
    return model


def typed_as_standard(categories: Sequence[Category]) -> list[Category]:
    """Categories read from a text rendering, their untyped attribute definitions given
    the standard's type where the standard defines the attribute (by name, for kinds
    and mixins: a template's ``occi.compute.cores`` too) or the action (by identifier).

    What the server said (mutable, required, default) is kept; only the type and the
    allowed values come from the standard.
    """
    standard = standard_model()
    by_name: dict[str, AttributeDefinition] = {}
    for category in standard:
        if not isinstance(category, Action):
            for name, definition in category.attributes.items():
                by_name.setdefault(name, definition)
    typed: list[Category] = []
    for category in categories:
        if isinstance(category, Action):
            known = standard.get(category.id)
            definitions: Mapping[str, AttributeDefinition] = known.attributes if known else {}
        else:
            definitions = by_name
        attributes = {
            name: _typed(definition, definitions.get(name))
            for name, definition in category.attributes.items()
        }
        if attributes != dict(category.attributes):
            category = dataclasses.replace(category, attributes=attributes)
        typed.append(category)
    return typed


def _typed(
    definition: AttributeDefinition, standard: AttributeDefinition | None
) -> AttributeDefinition:
    if standard is None or definition.type is not AttributeType.STRING:
        return definition
    return dataclasses.replace(
        definition,
        type=standard.type,
        enum=standard.enum,
        legacy_values=standard.legacy_values,
    )


def response_headers(response: httpx.Response) -> list[tuple[str, str]]:
    """The headers of an answer as the codecs take them (text/occi repeats names)."""
    return response.headers.multi_items()
