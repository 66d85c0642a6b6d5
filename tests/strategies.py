"""Hypothesis strategies for OCCI documents, shared by the rendering tests.

What they build stays inside what every rendering can carry: attribute
values are scalars (text has no list syntax), strings hold no control
characters (text cannot carry CR or LF), every entity has an id (JSON
requires one), and identifiers follow the OCCI term syntax.
"""

from __future__ import annotations

from hypothesis import strategies as st

from pyocci.model import (
    Action,
    ActionInvocation,
    AttributeDefinition,
    AttributeType,
    Kind,
    Link,
    Mixin,
    Resource,
)

INFRA = "http://schemas.ogf.org/occi/infrastructure#"

terms = st.from_regex(r"[a-z][a-z0-9_\-]{0,11}", fullmatch=True)
schemes = st.builds(
    lambda host, path: f"http://{host}.example.org/occi/{path}#",
    st.from_regex(r"[a-z]{1,8}", fullmatch=True),
    st.from_regex(r"[a-z]{1,8}(/[a-z]{1,8}){0,2}", fullmatch=True),
)
identifiers = st.builds(lambda scheme, term: scheme + term, schemes, terms)
ids = st.one_of(st.uuids().map(str), st.from_regex(r"[a-z0-9][a-z0-9_\-]{0,15}", fullmatch=True))

text_values = st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs")), max_size=40)
scalar_values = st.one_of(
    text_values,
    st.integers(min_value=-(2**53), max_value=2**53),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
)
attribute_names = st.from_regex(
    r"[a-z][a-z0-9_]{0,7}(\.[a-z][a-z0-9_]{0,7}){1,3}", fullmatch=True
).filter(lambda name: not name.startswith("occi.core."))


def attribute_maps(max_size: int = 6):
    return st.dictionaries(attribute_names, scalar_values, max_size=max_size)


locations = st.builds(lambda collection, entity_id: f"/{collection}/{entity_id}", terms, ids)


@st.composite
def links(draw, source: str | None = None):
    """A link, with its id, source, target, kinds and attributes."""
    link_id = draw(ids)
    kind = draw(st.sampled_from([INFRA + "networkinterface", INFRA + "storagelink"]) | identifiers)
    attributes = draw(attribute_maps(4))
    attributes["occi.core.id"] = link_id
    attributes["occi.core.source"] = source or draw(locations)
    attributes["occi.core.target"] = draw(locations)
    if draw(st.booleans()):
        attributes["occi.core.target.kind"] = draw(identifiers)
    if draw(st.booleans()):
        attributes["occi.core.title"] = draw(text_values)
    return Link(
        kind=kind,
        mixins=draw(st.lists(identifiers, max_size=2, unique=True)),
        attributes=attributes,
        location=f"/link/{link_id}",
    )


@st.composite
def resources(draw):
    """A resource with mixins, attributes, applicable actions and inline links."""
    resource_id = draw(ids)
    location = f"/compute/{resource_id}"
    attributes = draw(attribute_maps())
    attributes["occi.core.id"] = resource_id
    if draw(st.booleans()):
        attributes["occi.core.title"] = draw(text_values)
    if draw(st.booleans()):
        attributes["occi.core.summary"] = draw(text_values)
    inline = draw(st.lists(links(source=location), max_size=3))
    return Resource(
        kind=draw(st.sampled_from([INFRA + "compute", INFRA + "storage"]) | identifiers),
        mixins=draw(st.lists(identifiers, max_size=3, unique=True)),
        attributes=attributes,
        actions=draw(st.lists(identifiers, max_size=3, unique=True)),
        location=location,
        links=list({link.id: link for link in inline}.values()),
    )


entities = st.one_of(resources(), links())

invocations = st.builds(
    ActionInvocation,
    action=identifiers,
    attributes=st.dictionaries(
        st.from_regex(r"[a-z][a-z0-9_]{0,7}", fullmatch=True), scalar_values, max_size=3
    ),
)

attribute_definitions = st.builds(
    AttributeDefinition,
    name=attribute_names,
    type=st.sampled_from(list(AttributeType)),
    mutable=st.booleans(),
    required=st.booleans(),
    description=st.none() | text_values,
)


def _definitions():
    return st.lists(attribute_definitions, max_size=4, unique_by=lambda d: d.name).map(
        lambda found: {definition.name: definition for definition in found}
    )


kinds = st.builds(
    Kind,
    scheme=schemes,
    term=terms,
    title=st.none() | text_values,
    attributes=_definitions(),
    parent=st.none() | identifiers,
    actions=st.lists(identifiers, max_size=3, unique=True).map(tuple),
    location=st.builds(lambda term: f"/{term}/", terms),
)
mixins = st.builds(
    Mixin,
    scheme=schemes,
    term=terms,
    title=st.none() | text_values,
    attributes=_definitions(),
    depends=st.lists(identifiers, max_size=2, unique=True).map(tuple),
    applies=st.lists(identifiers, max_size=2, unique=True).map(tuple),
    actions=st.lists(identifiers, max_size=2, unique=True).map(tuple),
    location=st.builds(lambda term: f"/mixin/{term}/", terms),
)
actions = st.builds(
    Action, scheme=schemes, term=terms, title=st.none() | text_values, attributes=_definitions()
)
category_lists = st.lists(st.one_of(kinds, mixins, actions), max_size=6, unique_by=lambda c: c.id)
location_lists = st.lists(
    st.builds(lambda path: "http://cloud.example.org" + path, locations), max_size=8
)
