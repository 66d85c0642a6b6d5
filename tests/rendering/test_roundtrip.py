"""Render, then parse: the same object comes back, in every media type.

Each media type carries a known part of an object (text cannot say an
attribute is an integer, JSON has no member for an entity's own location);
`carried_*` states exactly that part, so the property is "parse(render(x))
equals what the media type carries of x", and the parts all media types
carry must agree between them.
"""

from __future__ import annotations

import dataclasses

from hypothesis import given, settings
from hypothesis import strategies as st

from pyocci.model import (
    Action,
    ActionInvocation,
    AttributeDefinition,
    AttributeType,
    Category,
    Entity,
    Kind,
    Link,
    Mixin,
    Resource,
)
from pyocci.rendering import CODECS
from pyocci.rendering.negotiation import OCCI_JSON, TEXT_OCCI, TEXT_PLAIN, URI_LIST
from strategies import category_lists, entities, invocations, location_lists

ENTITY_TYPES = [TEXT_PLAIN, TEXT_OCCI, OCCI_JSON]
TEXT_TYPES = {TEXT_PLAIN, TEXT_OCCI}


def carried_entity(entity: Entity, media_type: str) -> Entity:
    """What a media type carries of an entity: not its own location; in JSON, no link
    locations either (GFD.226 has no member for them)."""
    copy = dataclasses.replace(entity, location=None, attributes=dict(entity.attributes))
    if isinstance(copy, Resource):
        copy.links = [
            dataclasses.replace(
                link,
                attributes=dict(link.attributes),
                location=link.location if media_type in TEXT_TYPES else None,
            )
            for link in entity.links
        ]
    return copy


def carried_definition(definition: AttributeDefinition, media_type: str) -> AttributeDefinition:
    if media_type in TEXT_TYPES:
        # Text carries a name and {immutable required}, nothing else.
        return AttributeDefinition(
            name=definition.name, mutable=definition.mutable, required=definition.required
        )
    # JSON says integer, and an enum's values, in a `pattern` JSON Schema; a regex
    # pattern and legacy spellings are not carried.
    enum = definition.enum if definition.type is AttributeType.ENUM else ()
    json_type = definition.type
    if json_type is AttributeType.ENUM and not enum:
        json_type = AttributeType.STRING
    return dataclasses.replace(
        definition, type=json_type, pattern=None, enum=enum, legacy_values={}
    )


def carried_category(category: Category, media_type: str) -> Category:
    attributes = {
        name: carried_definition(definition, media_type)
        for name, definition in category.attributes.items()
    }
    if media_type in TEXT_TYPES and isinstance(category, Mixin):
        # Text has one `rel` for a mixin: its depends. `applies` is not carried.
        return dataclasses.replace(category, attributes=attributes, applies=())
    return dataclasses.replace(category, attributes=attributes)


@settings(max_examples=150)
@given(entity=entities, media_type=st.sampled_from(ENTITY_TYPES))
def test_entities_round_trip(entity, media_type):
    codec = CODECS[media_type]
    rendering = codec.render_entity(entity)
    parsed = codec.parse_entity(rendering.body, rendering.headers)
    assert parsed == carried_entity(entity, media_type)
    assert type(parsed) is type(entity)


@settings(max_examples=100)
@given(entity=entities)
def test_every_media_type_carries_the_same_entity(entity):
    common = {}
    for media_type in ENTITY_TYPES:
        codec = CODECS[media_type]
        rendering = codec.render_entity(entity)
        parsed = codec.parse_entity(rendering.body, rendering.headers)
        # The part every media type carries: drop link locations (JSON has none).
        common[media_type] = carried_entity(parsed, OCCI_JSON)
    assert common[TEXT_PLAIN] == common[TEXT_OCCI] == common[OCCI_JSON]


@settings(max_examples=100)
@given(categories=category_lists, media_type=st.sampled_from(ENTITY_TYPES))
def test_categories_round_trip(categories, media_type):
    codec = CODECS[media_type]
    rendering = codec.render_categories(categories)
    parsed = codec.parse_categories(rendering.body, rendering.headers)
    expected = [carried_category(category, media_type) for category in categories]
    # JSON groups categories by class (kinds, mixins, actions); compare by identifier.
    assert {c.id: c for c in parsed} == {c.id: c for c in expected}
    assert len(parsed) == len(expected)
    for category in parsed:
        assert isinstance(category, Kind | Mixin | Action)


@settings(max_examples=100)
@given(invocation=invocations, media_type=st.sampled_from(ENTITY_TYPES))
def test_action_invocations_round_trip(invocation, media_type):
    codec = CODECS[media_type]
    rendering = codec.render_action(invocation)
    assert codec.parse_action(rendering.body, rendering.headers) == invocation


@settings(max_examples=100)
@given(locations=location_lists, media_type=st.sampled_from([*ENTITY_TYPES, URI_LIST]))
def test_location_lists_round_trip(locations, media_type):
    codec = CODECS[media_type]
    rendering = codec.render_locations(locations)
    assert codec.parse_locations(rendering.body, rendering.headers) == locations


@settings(max_examples=50)
@given(resources=st.lists(entities, max_size=5), media_type=st.sampled_from(ENTITY_TYPES))
def test_collections_list_the_same_entities_in_every_media_type(resources, media_type):
    for index, entity in enumerate(resources):
        entity.location = f"http://cloud.example.org/e/{index}"
    codec = CODECS[media_type]
    rendering = codec.render_collection(resources)
    if media_type == OCCI_JSON:
        parsed = codec.parse_entities(rendering.body, rendering.headers)
        # Collections hold resources first, then links.
        expected = [e for e in resources if not isinstance(e, Link)] + [
            e for e in resources if isinstance(e, Link)
        ]
        assert parsed == [carried_entity(e, OCCI_JSON) for e in expected]
    else:
        assert codec.parse_locations(rendering.body, rendering.headers) == [
            e.location for e in resources
        ]


def test_an_invocation_without_parameters_round_trips():
    invocation = ActionInvocation(
        action="http://schemas.ogf.org/occi/infrastructure/compute/action#start"
    )
    for media_type in ENTITY_TYPES:
        codec = CODECS[media_type]
        rendering = codec.render_action(invocation)
        assert codec.parse_action(rendering.body, rendering.headers) == invocation
