"""Unit tests of application/occi+json (GFD.226): rendering rules, parsing rules, errors."""

from __future__ import annotations

import contextlib
import json
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pyocci.model import (
    Action,
    ActionInvocation,
    AttributeDefinition,
    AttributeType,
    Entity,
    Kind,
    Link,
    Mixin,
    Model,
    Resource,
    standard_model,
)
from pyocci.rendering import codec_for
from pyocci.rendering.errors import ParseError
from pyocci.rendering.json import ACCEPTED_MEDIA_TYPES, MEDIA_TYPE, JsonCodec

INFRA = "http://schemas.ogf.org/occi/infrastructure#"
CORE = "http://schemas.ogf.org/occi/core#"
COMPUTE = INFRA + "compute"
NETWORK = INFRA + "network"
STORAGE = INFRA + "storage"
NETWORKINTERFACE = INFRA + "networkinterface"
STORAGELINK = INFRA + "storagelink"
IPNETWORKINTERFACE = (
    "http://schemas.ogf.org/occi/infrastructure/networkinterface#ipnetworkinterface"
)
OS_TPL = "http://example.org/occi/os_tpl#ubuntu"
ACTION = "http://schemas.ogf.org/occi/infrastructure/compute/action#"

CODEC = JsonCodec()
MODEL = standard_model()
DRAFT_04 = "http://json-schema.org/draft-04/schema#"


def doc(value: object) -> bytes:
    return json.dumps(value).encode()


def rendered(rendering) -> object:
    assert rendering.content_type == MEDIA_TYPE
    assert rendering.headers == ()
    return json.loads(rendering.body)


def parse_error(call, *args, **kwargs) -> ParseError:
    with pytest.raises(ParseError) as caught:
        call(*args, **kwargs)
    assert caught.value.media_type == MEDIA_TYPE
    return caught.value


def compute(**extra: object) -> Resource:
    link = Link(
        kind=NETWORKINTERFACE,
        mixins=[IPNETWORKINTERFACE],
        attributes={
            "occi.core.id": "nic0",
            "occi.core.source": "/compute/vm1",
            "occi.core.source.kind": COMPUTE,
            "occi.core.target": "/network/public",
            "occi.core.target.kind": NETWORK,
            "occi.networkinterface.interface": "eth0",
        },
        location="/networkinterface/nic0",
    )
    resource = Resource(
        kind=COMPUTE,
        mixins=[OS_TPL],
        attributes={
            "occi.core.id": "vm1",
            "occi.core.title": "my vm",
            "occi.core.summary": "a test vm",
            "occi.compute.cores": 2,
            "occi.compute.memory": 4.0,
            "occi.compute.state": "active",
        },
        actions=[ACTION + "stop", ACTION + "restart"],
        location="/compute/vm1",
        links=[link],
    )
    for name, value in extra.items():
        setattr(resource, name, value)
    return resource


# --- codec identity -----------------------------------------------------------------


def test_media_types():
    assert CODEC.media_type == "application/occi+json"
    assert "application/json" in ACCEPTED_MEDIA_TYPES
    assert CODEC.accepted_media_types == ACCEPTED_MEDIA_TYPES
    for content_type in ("application/occi+json", "application/json; charset=utf-8"):
        assert isinstance(codec_for(content_type), JsonCodec)


# --- rendering entities ---------------------------------------------------------------


def test_resource_rendering_has_every_gfd226_member():
    body = rendered(CODEC.render_entity(compute()))
    assert list(body) == [
        "kind",
        "mixins",
        "attributes",
        "actions",
        "id",
        "title",
        "summary",
        "links",
    ]
    assert body["kind"] == COMPUTE
    assert body["mixins"] == [OS_TPL]
    assert body["actions"] == [ACTION + "stop", ACTION + "restart"]
    assert (body["id"], body["title"], body["summary"]) == ("vm1", "my vm", "a test vm")
    # The attribute map holds every value, the core ones included (as rOCCI does).
    assert body["attributes"]["occi.core.id"] == "vm1"
    assert body["attributes"]["occi.core.title"] == "my vm"
    assert body["attributes"]["occi.compute.cores"] == 2
    assert body["attributes"]["occi.compute.memory"] == 4.0


def test_inline_links_are_full_link_objects():
    (link,) = rendered(CODEC.render_entity(compute()))["links"]
    assert link["kind"] == NETWORKINTERFACE
    assert link["id"] == "nic0"
    assert link["source"] == {"location": "/compute/vm1", "kind": COMPUTE}
    assert link["target"] == {"location": "/network/public", "kind": NETWORK}
    # Source and target stay in the attribute map too: it is the single truth.
    assert link["attributes"]["occi.core.target"] == "/network/public"
    assert "links" not in link and "summary" not in link


def test_link_rendering():
    link = compute().links[0]
    body = rendered(CODEC.render_entity(link))
    assert list(body) == ["kind", "mixins", "attributes", "id", "source", "target"]
    assert body["source"] == {"location": "/compute/vm1", "kind": COMPUTE}


def test_link_end_without_kind_has_only_a_location():
    link = Link(
        kind=CORE + "link",
        attributes={"occi.core.id": "l", "occi.core.source": "/a", "occi.core.target": "/b"},
    )
    body = rendered(CODEC.render_entity(link))
    assert body["source"] == {"location": "/a"}
    assert body["target"] == {"location": "/b"}


def test_an_inline_link_without_source_starts_at_its_resource():
    resource = compute()
    link = resource.links[0]
    link.source = None
    link.source_kind = None
    (rendered_link,) = rendered(CODEC.render_entity(resource))["links"]
    assert rendered_link["source"] == {"location": "/compute/vm1", "kind": COMPUTE}
    assert rendered_link["attributes"]["occi.core.source"] == "/compute/vm1"
    assert link.source is None  # rendering does not change the entity


def test_attributes_are_always_emitted_and_empty_arrays_never():
    body = rendered(CODEC.render_entity(Resource(kind=COMPUTE, attributes={"occi.core.id": "1"})))
    assert body == {"kind": COMPUTE, "attributes": {"occi.core.id": "1"}, "id": "1"}
    body = rendered(CODEC.render_entity(Resource(kind=COMPUTE)))
    assert body == {"kind": COMPUTE, "attributes": {}}


def test_nulls_are_never_emitted():
    resource = Resource(
        kind=COMPUTE, attributes={"occi.core.id": "1", "occi.compute.hostname": None}
    )
    body = rendered(CODEC.render_entity(resource))
    assert body["attributes"] == {"occi.core.id": "1"}
    assert b"null" not in CODEC.render_entity(resource).body
    invocation = ActionInvocation(action=ACTION + "stop", attributes={"method": None})
    assert rendered(CODEC.render_action(invocation)) == {"action": ACTION + "stop"}


def test_a_partial_update_renders_without_kind():
    body = rendered(CODEC.render_entity(Entity(kind=None, mixins=[OS_TPL])))
    assert body == {"mixins": [OS_TPL], "attributes": {}}


def test_duplicate_identifiers_are_rendered_once():
    # rOCCI-core's arrays must hold unique items.
    resource = Resource(kind=COMPUTE, mixins=[OS_TPL, OS_TPL], actions=["a#b", "a#c", "a#b"])
    body = rendered(CODEC.render_entity(resource))
    assert body["mixins"] == [OS_TPL]
    assert body["actions"] == ["a#b", "a#c"]


def test_non_string_core_values_stay_in_attributes_only():
    resource = Resource(kind=COMPUTE, attributes={"occi.core.id": "1", "occi.core.title": 5})
    body = rendered(CODEC.render_entity(resource))
    assert "title" not in body
    assert body["attributes"]["occi.core.title"] == 5


def test_non_ascii_text_is_escaped_and_round_trips():
    resource = Resource(
        kind=COMPUTE, attributes={"occi.core.id": "1", "occi.core.title": "Ünïcødé ☁ 𝄞"}
    )
    rendering = CODEC.render_entity(resource)
    rendering.body.decode("ascii")  # pure ASCII on the wire
    assert CODEC.parse_entity(rendering.body).title == "Ünïcødé ☁ 𝄞"


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_numbers_cannot_be_rendered(value):
    resource = Resource(kind=COMPUTE, attributes={"occi.compute.memory": value})
    with pytest.raises(ValueError):
        CODEC.render_entity(resource)


def test_rendering_is_compact():
    assert b" " not in CODEC.render_entity(Resource(kind=COMPUTE)).body


# --- parsing entities ---------------------------------------------------------------


def test_parse_a_full_resource():
    entity = CODEC.parse_entity(CODEC.render_entity(compute()).body)
    assert isinstance(entity, Resource)
    expected = compute()
    expected.location = None
    expected.links[0].location = None  # GFD.226 has no member for locations
    assert entity == expected


def test_top_level_members_are_merged_into_attributes():
    entity = CODEC.parse_entity(doc({"kind": COMPUTE, "id": "a", "title": "t", "summary": "s"}))
    assert entity.attributes == {
        "occi.core.id": "a",
        "occi.core.title": "t",
        "occi.core.summary": "s",
    }


def test_agreeing_top_level_and_attribute_values_are_fine():
    entity = CODEC.parse_entity(
        doc({"kind": COMPUTE, "id": "a", "attributes": {"occi.core.id": "a"}})
    )
    assert entity.id == "a"


@pytest.mark.parametrize(
    ("document", "where"),
    [
        ({"kind": COMPUTE, "id": "a", "attributes": {"occi.core.id": "b"}}, "/id"),
        ({"kind": COMPUTE, "title": "a", "attributes": {"occi.core.title": "b"}}, "/title"),
        (
            {
                "kind": NETWORKINTERFACE,
                "source": {"location": "/a"},
                "target": {"location": "/n"},
                "attributes": {"occi.core.source": "/b"},
            },
            "/source/location",
        ),
        (
            {
                "kind": NETWORKINTERFACE,
                "source": {"location": "/a"},
                "target": {"location": "/n", "kind": NETWORK},
                "attributes": {"occi.core.target.kind": STORAGE},
            },
            "/target/kind",
        ),
    ],
)
def test_contradicting_values_are_refused(document, where):
    error = parse_error(CODEC.parse_entity, doc(document))
    assert error.where == where
    assert "disagrees" in error.reason


def test_null_attribute_values_are_kept_for_the_server_to_judge():
    entity = CODEC.parse_entity(
        doc({"kind": COMPUTE, "id": "a", "attributes": {"occi.core.title": None}})
    )
    assert entity.attributes == {"occi.core.title": None, "occi.core.id": "a"}


def test_nested_attributes_are_flattened():
    entity = CODEC.parse_entity(
        doc(
            {
                "kind": COMPUTE,
                "attributes": {
                    "occi": {"core": {"id": "a", "title": "t"}, "compute": {"cores": 2}},
                    "com.example.flat": 1,
                },
            }
        )
    )
    assert entity.attributes == {
        "occi.core.id": "a",
        "occi.core.title": "t",
        "occi.compute.cores": 2,
        "com.example.flat": 1,
    }


def test_object_values_of_dotted_names_are_not_flattened():
    entity = CODEC.parse_entity(
        doc({"kind": COMPUTE, "attributes": {"com.example.settings": {"key": "value"}}})
    )
    assert entity.attributes == {"com.example.settings": {"key": "value"}}


def test_erocci_location_member():
    entity = CODEC.parse_entity(doc({"kind": COMPUTE, "id": "a", "location": "/c/a"}))
    assert entity.location == "/c/a"


def test_erocci_links_given_as_urls():
    entity = CODEC.parse_entity(
        doc({"kind": COMPUTE, "id": "a", "location": "/c/a", "links": ["/storage/1"]})
    )
    (link,) = entity.links
    assert isinstance(link, Link)
    assert link.kind is None
    assert (link.source, link.target) == ("/c/a", "/storage/1")


def test_erocci_link_ends_given_as_strings():
    entity = CODEC.parse_entity(doc({"kind": NETWORKINTERFACE, "source": "/c/1", "target": "/n/1"}))
    assert isinstance(entity, Link)
    assert (entity.source, entity.target) == ("/c/1", "/n/1")
    assert entity.source_kind is None and entity.target_kind is None


def test_link_ends_become_attributes():
    entity = CODEC.parse_entity(
        doc(
            {
                "kind": NETWORKINTERFACE,
                "id": "l",
                "source": {"location": "/c/1", "kind": COMPUTE},
                "target": {"location": "/n/1", "kind": NETWORK},
            }
        )
    )
    assert entity.attributes == {
        "occi.core.id": "l",
        "occi.core.source": "/c/1",
        "occi.core.source.kind": COMPUTE,
        "occi.core.target": "/n/1",
        "occi.core.target.kind": NETWORK,
    }


def test_a_missing_kind_is_a_partial_update():
    entity = CODEC.parse_entity(doc({"mixins": [OS_TPL]}))
    assert entity.kind is None
    assert entity.mixins == [OS_TPL]
    entity = CODEC.parse_entity(doc({"attributes": {"occi.compute.cores": 4}}))
    assert entity.kind is None
    assert entity.attributes == {"occi.compute.cores": 4}


def test_without_a_model_source_or_target_makes_a_link():
    assert isinstance(CODEC.parse_entity(doc({"kind": "x#y", "target": "/a"})), Link)
    link = CODEC.parse_entity(doc({"kind": "x#y", "attributes": {"occi.core.source": "/a"}}))
    assert isinstance(link, Link)
    assert isinstance(CODEC.parse_entity(doc({"kind": "x#y", "id": "1"})), Resource)


def test_with_a_model_the_kind_decides():
    # A storagelink without source or target is still a Link ...
    entity = CODEC.parse_entity(doc({"kind": STORAGELINK, "id": "1"}), model=MODEL)
    assert isinstance(entity, Link)
    # ... and a compute with a stray target attribute still a Resource.
    entity = CODEC.parse_entity(
        doc({"kind": COMPUTE, "id": "1", "attributes": {"occi.core.target": "/x"}}), model=MODEL
    )
    assert isinstance(entity, Resource)
    # An unknown kind falls back to the document's shape.
    entity = CODEC.parse_entity(doc({"kind": "x#y", "target": "/a"}), model=MODEL)
    assert isinstance(entity, Link)


def test_with_a_model_values_are_coerced_and_legacy_names_renamed():
    entity = CODEC.parse_entity(
        doc(
            {
                "kind": COMPUTE,
                "id": "1",
                "attributes": {
                    "occi.compute.cores": "2",
                    "occi.compute.memory": "1.5",
                    "occi.compute.user_data": "abc",
                },
            }
        ),
        model=MODEL,
    )
    assert entity.attributes["occi.compute.cores"] == 2
    assert entity.attributes["occi.compute.memory"] == 1.5
    assert entity.attributes["occi.compute.userdata"] == "abc"


def test_with_a_model_locations_are_derived_from_kind_and_id():
    body = doc(
        {
            "kind": COMPUTE,
            "id": "vm1",
            "links": [
                {"kind": NETWORKINTERFACE, "id": "nic0", "target": {"location": "/network/1"}}
            ],
        }
    )
    entity = CODEC.parse_entity(body, model=MODEL)
    assert entity.location == "/compute/vm1"
    (link,) = entity.links
    assert link.location == "/networkinterface/nic0"
    # The inline link starts at the resource that carries it.
    assert (link.source, link.source_kind) == ("/compute/vm1", COMPUTE)
    # A location the document gives is kept; without a model nothing is made up.
    given = doc({"kind": COMPUTE, "id": "vm1", "location": "/elsewhere/vm1"})
    assert CODEC.parse_entity(given, model=MODEL).location == "/elsewhere/vm1"
    assert CODEC.parse_entity(doc({"kind": COMPUTE, "id": "vm1"})).location is None
    # No id, no location.
    assert CODEC.parse_entity(doc({"kind": COMPUTE}), model=MODEL).location is None


def test_with_a_model_an_inline_resource_is_refused():
    error = parse_error(
        CODEC.parse_entity,
        doc({"kind": COMPUTE, "id": "1", "links": [{"kind": STORAGE, "id": "2"}]}),
        model=MODEL,
    )
    assert error.where == "/links/0/kind"


def test_parse_accepts_bytes_like_and_str_bodies_and_a_bom():
    body = doc({"kind": COMPUTE, "id": "1"})
    for variant in (body, bytearray(body), memoryview(body), body.decode(), b"\xef\xbb\xbf" + body):
        assert CODEC.parse_entity(variant).id == "1"


def test_parse_entities_reads_collections_resources_first():
    body = doc(
        {
            "links": [{"kind": NETWORKINTERFACE, "id": "l", "source": "/a", "target": "/b"}],
            "resources": [{"kind": COMPUTE, "id": "1"}, {"kind": STORAGE, "id": "2"}],
        }
    )
    entities = CODEC.parse_entities(body)
    assert [type(e) for e in entities] == [Resource, Resource, Link]
    assert [e.id for e in entities] == ["1", "2", "l"]


def test_collection_members_take_their_class_from_their_section():
    body = doc({"links": [{"kind": CORE + "link", "id": "l"}], "resources": [{"id": "r"}]})
    resource, link = CODEC.parse_entities(body)
    assert isinstance(resource, Resource) and isinstance(link, Link)


def test_parse_entities_of_one_entity_and_of_empty_collections():
    assert [e.id for e in CODEC.parse_entities(doc({"kind": COMPUTE, "id": "1"}))] == ["1"]
    assert CODEC.parse_entities(b'{"resources": []}') == []
    assert CODEC.parse_entities(b'{"links": []}') == []
    # An empty collection renders as {}, and reads back as nothing.
    assert CODEC.parse_entities(b"{}") == []


def test_an_empty_object_is_not_an_entity():
    error = parse_error(CODEC.parse_entity, b"{}")
    assert error.where == ""
    assert "one entity" in error.reason


def test_parse_entity_unwraps_a_collection_of_one():
    entity = CODEC.parse_entity(doc({"resources": [{"kind": COMPUTE, "id": "1"}]}))
    assert entity.id == "1"
    error = parse_error(CODEC.parse_entity, doc({"resources": [{"id": "1"}, {"id": "2"}]}))
    assert "one entity" in error.reason


def test_a_resource_with_links_is_not_a_link_collection():
    entity = CODEC.parse_entity(doc({"kind": COMPUTE, "links": []}))
    assert isinstance(entity, Resource)


@pytest.mark.parametrize(
    ("body", "where", "hint"),
    [
        (
            {"kind": {"term": "compute", "scheme": INFRA, "class": "kind"}},
            "/kind",
            "identifier",
        ),
        ({"kind": "compute"}, "/kind", "scheme and term"),
        ({"kind": ""}, "/kind", "identifier"),
        ({"kind": COMPUTE, "attributes": []}, "/attributes", "object"),
        ({"kind": COMPUTE, "attributes": "x"}, "/attributes", "object"),
        ({"kind": COMPUTE, "mixins": OS_TPL}, "/mixins", "array"),
        ({"kind": COMPUTE, "mixins": [OS_TPL, 7]}, "/mixins/1", "string"),
        ({"kind": COMPUTE, "mixins": [OS_TPL, {"term": "a"}]}, "/mixins/1", "string"),
        ({"kind": COMPUTE, "actions": [{"kind": {}}]}, "/actions/0", "string"),
        ({"kind": COMPUTE, "actions": ["stop"]}, "/actions/0", "scheme and term"),
        ({"kind": COMPUTE, "id": 5}, "/id", "string"),
        ({"kind": COMPUTE, "title": ["x"]}, "/title", "string"),
        ({"kind": COMPUTE, "summary": {}}, "/summary", "string"),
        ({"kind": COMPUTE, "location": 3}, "/location", "string"),
        ({"kind": COMPUTE, "links": {}}, "/links", "array"),
        ({"kind": COMPUTE, "links": [3]}, "/links/0", "object"),
        ({"kind": COMPUTE, "links": [""]}, "/links/0", "empty"),
        ({"kind": COMPUTE, "links": [{"kind": {}}]}, "/links/0/kind", "identifier"),
        ({"kind": COMPUTE, "links": [{"foo": 1}]}, "/links/0", "not an OCCI entity"),
        ({"kind": NETWORKINTERFACE, "source": {}}, "/source/location", "location"),
        ({"kind": NETWORKINTERFACE, "source": {"location": ""}}, "/source/location", "location"),
        ({"kind": NETWORKINTERFACE, "source": 5}, "/source", "object"),
        ({"kind": NETWORKINTERFACE, "source": ""}, "/source", "empty"),
        (
            {"kind": NETWORKINTERFACE, "target": {"location": "/n", "kind": 1}},
            "/target/kind",
            "identifier",
        ),
        (
            {"kind": NETWORKINTERFACE, "source": "/a", "target": "/b", "links": [{"id": "x"}]},
            "/links",
            "cannot carry links",
        ),
        ({"resources": {}}, "/resources", "array"),
        ({"resources": [{"kind": COMPUTE}, {"kind": 1}]}, "/resources/1/kind", "identifier"),
        ({"resources": [{"kind": COMPUTE}, "x"]}, "/resources/1", "object"),
        ({"links": [{"kind": COMPUTE, "source": 1}]}, "/links/0/source", "object"),
        ({"kind": COMPUTE, "attributes": {"a/b": 1}, "id": 1}, "/id", "string"),
    ],
)
def test_wrong_shapes_are_parse_errors_with_a_pointer(body, where, hint):
    error = parse_error(CODEC.parse_entities, doc(body))
    assert error.where == where
    assert hint in error.reason
    assert where in str(error)


def test_pointers_escape_member_names():
    # json.dumps writes NaN, which is exactly what the parser refuses.
    body = doc({"resources": [{"kind": COMPUTE, "attributes": {"a/b~c": math.nan}}]})
    error = parse_error(CODEC.parse_entities, body)
    assert error.where == "/resources/0/attributes/a~1b~0c"


@pytest.mark.parametrize(
    ("body", "where"),
    [
        (
            b'{"kind": "a#b", "attributes": {"occi.compute.memory": NaN}}',
            "/attributes/occi.compute.memory",
        ),
        (b'{"kind": "a#b", "attributes": {"x.y": [1, Infinity]}}', "/attributes/x.y/1"),
        (b'{"kind": "a#b", "attributes": {"x.y": -Infinity}}', "/attributes/x.y"),
        (b"[NaN, }", "line 1 column 7"),
    ],
)
def test_nan_and_infinity_are_refused_where_they_are(body, where):
    error = parse_error(CODEC.parse_entity, body)
    assert error.where == where


@pytest.mark.parametrize(
    ("body", "where", "hint"),
    [
        (b'{"kind": "a#b",}', "line 1 column 16", "not valid JSON"),
        (b'{"kind": "a#b"', "line 1 column 15", "not valid JSON"),
        (b'{"kind": "a#b"}\n{"kind": "a#b"}', "line 2 column 1", "Extra data"),
        (b"{'kind': 'a#b'}", "line 1 column 2", "not valid JSON"),
        (b'{"kind": "\xff"}', "byte 10", "UTF-8"),
        (b'{"kind": "\xed\xa0\x80"}', "byte 10", "UTF-8"),  # an encoded surrogate
        (b"", "", "empty"),
        (b"  \r\n ", "", "empty"),
        (b'{"kind": "a#b", "title": "\\ud800"}', "/title", "surrogate"),
        (b'{"kind": "a#b", "attributes": {"x.y": ["\\udc00x"]}}', "/attributes/x.y/0", "surrogate"),
        (b"[" * 100_000 + b"]" * 100_000, "", "nested too deeply"),
        (b'{"kind": "a#b", "attributes": {"x.y": ' + b"9" * 5000 + b"}}", "", "not valid JSON"),
        (b"[]", "", "array"),
        (b'"text"', "", "string"),
        (b"null", "", "null"),
        (b"42", "", "number"),
    ],
)
def test_invalid_json_is_a_parse_error(body, where, hint):
    for parse in (
        CODEC.parse_entity,
        CODEC.parse_entities,
        CODEC.parse_categories,
        CODEC.parse_action,
    ):
        error = parse_error(parse, body)
        assert error.where == where
        assert hint in error.reason


def test_valid_surrogate_pairs_are_fine():
    entity = CODEC.parse_entity(b'{"kind": "a#b", "title": "\\ud834\\udd1e"}')
    assert entity.title == "\U0001d11e"


def test_a_str_body_with_a_lone_surrogate_is_refused():
    assert parse_error(CODEC.parse_entity, '{"kind": "a#b", "title": "\ud800"}').where == ""


@pytest.mark.parametrize(
    ("body", "hint"),
    [
        ({"$schema": "http://json-schema.org/draft-04/schema#", "id": "x"}, "JSON Schema"),
        ({"$ref": "occi-schema.json#/definitions/resource"}, "JSON Schema"),
        ({"term": "compute", "scheme": INFRA}, "category"),
        ({"kinds": []}, "category collection"),
        ({"action": ACTION + "stop", "attributes": {"method": "x"}}, "action invocation"),
        ({"occi.compute.cores": 2}, "not an OCCI entity"),
    ],
)
def test_other_documents_are_not_entities(body, hint):
    error = parse_error(CODEC.parse_entity, doc(body))
    assert error.where == ""
    assert hint in error.reason


# --- only ParseError, whatever comes in ------------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=8)
    | st.sampled_from([COMPUTE, NETWORKINTERFACE, "a#b", "/x", ""]),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "kind",
                    "mixins",
                    "attributes",
                    "actions",
                    "id",
                    "title",
                    "summary",
                    "links",
                    "source",
                    "target",
                    "location",
                    "resources",
                    "kinds",
                    "term",
                    "scheme",
                    "parent",
                    "depends",
                    "applies",
                    "action",
                    "locations",
                    "occi",
                    "occi.core.id",
                    "occi.core.source",
                    "type",
                    "mutable",
                    "pattern",
                    "default",
                    "enum",
                    "related",
                    "class",
                ]
            )
            | st.text(max_size=6),
            children,
            max_size=5,
        )
    ),
    max_leaves=25,
)


def every_parse(body: bytes) -> None:
    for call in (
        lambda: CODEC.parse_entity(body),
        lambda: CODEC.parse_entity(body, model=MODEL),
        lambda: CODEC.parse_entities(body, model=MODEL),
        lambda: CODEC.parse_categories(body),
        lambda: CODEC.parse_action(body),
        lambda: CODEC.parse_action(body, model=MODEL),
        lambda: CODEC.parse_locations(body),
    ):
        with contextlib.suppress(ParseError):
            call()


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=json_values)
def test_any_json_value_parses_or_raises_parse_error(value):
    every_parse(json.dumps(value).encode())


@settings(max_examples=200, deadline=None)
@given(body=st.binary(max_size=200))
def test_any_bytes_parse_or_raise_parse_error(body):
    every_parse(body)


def test_deep_nesting_inside_attributes_and_model_coercion():
    deep = "[" * 3000 + "]" * 3000
    # A list-typed attribute given as a JSON string is decoded by the model.
    body = doc(
        {
            "kind": "http://schemas.ogf.org/occi/infrastructure#securitygroup",
            "attributes": {"occi.securitygroup.rules": deep},
        }
    )
    every_parse(body)
    every_parse(b'{"kind": "a#b", "attributes": ' + b'{"a": ' * 900 + b"1" + b"}" * 901)
    every_parse(
        b'{"kinds": [{"term": "t", "scheme": "s#", "attributes": '
        + b'{"a": ' * 900
        + b"{}"
        + b"}" * 902
    )


# --- categories: rendering ------------------------------------------------------------


def test_render_the_standard_model():
    body = rendered(CODEC.render_categories(MODEL))
    assert list(body) == ["kinds", "mixins", "actions"]
    assert len(body["kinds"]) == len(MODEL.kinds)
    assert len(body["mixins"]) == len(MODEL.mixins)
    assert len(body["actions"]) == len(MODEL.actions)
    for kind in body["kinds"]:
        assert kind["location"].startswith("/")
    compute_kind = next(k for k in body["kinds"] if k["term"] == "compute")
    assert compute_kind["scheme"] == INFRA
    assert compute_kind["parent"] == CORE + "resource"
    assert ACTION + "start" in compute_kind["actions"]
    cores = compute_kind["attributes"]["occi.compute.cores"]
    assert cores == {
        "mutable": True,
        "required": False,
        "type": "number",
        "pattern": {"$schema": DRAFT_04, "type": "integer"},
        "description": "Number of virtual CPU cores",
    }
    state = compute_kind["attributes"]["occi.compute.state"]
    assert state["type"] == "string" and state["default"] == "inactive"
    assert state["mutable"] is False
    standard_states = MODEL.get(COMPUTE).attributes["occi.compute.state"].enum
    assert state["pattern"]["enum"] == list(standard_states)
    assert {"active", "inactive", "suspended", "error"} <= set(standard_states)


def test_attribute_descriptions_always_say_mutable_required_and_type():
    for section in rendered(CODEC.render_categories(MODEL)).values():
        for category in section:
            for description in category.get("attributes", {}).values():
                assert {"mutable", "required", "type"} <= description.keys()
                assert description["type"] in {"string", "number", "boolean", "array", "object"}
                assert isinstance(description.get("pattern", {}), dict)


def test_the_rocci_variant_writes_no_pattern():
    # rOCCI-core 5 reads `pattern` as a regex string and refuses an object.
    rocci = JsonCodec(value_schemas=False)
    assert b'"pattern"' not in rocci.render_categories(MODEL).body
    assert rocci.variant != CODEC.variant
    body = rendered(rocci.render_categories(MODEL))
    compute_kind = next(k for k in body["kinds"] if k["term"] == "compute")
    assert compute_kind["attributes"]["occi.compute.cores"]["type"] == "number"


@pytest.mark.parametrize(
    ("attribute_type", "json_type", "pattern"),
    [
        (AttributeType.STRING, "string", None),
        (AttributeType.ENUM, "string", {"$schema": DRAFT_04, "type": "string", "enum": ["x"]}),
        (AttributeType.NUMBER, "number", None),
        (AttributeType.INTEGER, "number", {"$schema": DRAFT_04, "type": "integer"}),
        (AttributeType.BOOLEAN, "boolean", None),
        (AttributeType.LIST, "array", None),
        (AttributeType.OBJECT, "object", None),
    ],
)
def test_attribute_types_use_the_gfd226_names(attribute_type, json_type, pattern):
    # GFD.226 allows five type names; an integer or the values of an enum are said
    # by a JSON Schema in `pattern`. A regex pattern of the model is not rendered.
    definition = AttributeDefinition(name="a.b", type=attribute_type, pattern="x+", enum=("x",))
    action = Action(scheme="s#", term="t", attributes={"a.b": definition})
    (rendered_action,) = rendered(CODEC.render_categories([action]))["actions"]
    expected = {"mutable": True, "required": False, "type": json_type}
    if pattern is not None:
        expected["pattern"] = pattern
    assert rendered_action["attributes"]["a.b"] == expected


def test_integer_and_enum_types_survive_the_round_trip():
    parsed = Model()
    for category in CODEC.parse_categories(CODEC.render_categories(MODEL).body):
        parsed.add(category)
    for category in MODEL:
        for name, definition in category.attributes.items():
            again = parsed.get(category.id).attributes[name]
            assert (again.type, again.enum) == (definition.type, definition.enum), name


@pytest.mark.parametrize(
    ("default", "emitted"),
    [("x", True), (0, True), (1.5, True), (False, True), ([1], False), ({"a": 1}, False)],
)
def test_only_scalar_defaults_are_rendered(default, emitted):
    # GFD.226's schema admits number, string and boolean defaults only.
    definition = AttributeDefinition(name="a.b", default=default)
    mixin = Mixin(scheme="s#", term="t", location="/t/", attributes={"a.b": definition})
    description = rendered(CODEC.render_categories([mixin]))["mixins"][0]["attributes"]["a.b"]
    assert ("default" in description) is emitted
    if emitted:
        assert description["default"] == default


def test_categories_without_location_get_the_conventional_one():
    kind = Kind(scheme="s#", term="thing")
    mixin = Mixin(scheme="s#", term="tag")
    body = rendered(CODEC.render_categories([kind, mixin]))
    assert body["kinds"][0]["location"] == "/thing/"
    assert body["mixins"][0]["location"] == "/tag/"


def test_empty_members_and_sections_are_left_out():
    body = rendered(CODEC.render_categories([Mixin(scheme="s#", term="tag", location="/tag/")]))
    assert body == {"mixins": [{"term": "tag", "scheme": "s#", "location": "/tag/"}]}
    assert CODEC.render_categories([]).body == b"{}"
    assert CODEC.parse_categories(b"{}") == []


def test_mixin_relations_are_rendered():
    mixin = Mixin(
        scheme="s#",
        term="small",
        title="Small",
        depends=(INFRA + "resource_tpl",),
        applies=(COMPUTE,),
        actions=("s/action#go",),
        location="/small/",
    )
    (body,) = rendered(CODEC.render_categories([mixin]))["mixins"]
    assert body["depends"] == [INFRA + "resource_tpl"]
    assert body["applies"] == [COMPUTE]
    assert body["actions"] == ["s/action#go"]
    assert body["title"] == "Small"


def test_render_categories_refuses_what_is_no_category():
    with pytest.raises(TypeError):
        CODEC.render_categories(["x#y"])  # type: ignore[list-item]


def test_render_category_identifiers():
    kind = Kind(scheme=INFRA, term="compute")
    body = rendered(
        CODEC.render_category_identifiers(
            [OS_TPL, kind, Action(scheme="a#", term="b"), OS_TPL, Mixin(scheme="m#", term="n")]
        )
    )
    assert body == {"kinds": [COMPUTE], "mixins": [OS_TPL, "m#n"], "actions": ["a#b"]}
    assert CODEC.render_category_identifiers([]).body == b"{}"


# --- categories: parsing --------------------------------------------------------------


def test_parse_categories_round_trips_the_standard_model():
    parsed = CODEC.parse_categories(CODEC.render_categories(MODEL).body)
    assert [c.id for c in parsed] == [c.id for c in [*MODEL.kinds, *MODEL.mixins, *MODEL.actions]]
    compute_kind = next(c for c in parsed if c.id == COMPUTE)
    assert isinstance(compute_kind, Kind)
    assert compute_kind.parent == CORE + "resource"
    assert compute_kind.location == "/compute/"
    # INTEGER travels as number with a JSON Schema saying integer.
    assert compute_kind.attributes["occi.compute.cores"].type is AttributeType.INTEGER
    assert compute_kind.attributes["occi.compute.memory"].type is AttributeType.NUMBER
    assert compute_kind.attributes["occi.compute.state"].default == "inactive"


def test_attribute_description_defaults_follow_gfd226():
    body = doc({"actions": [{"term": "t", "scheme": "s#", "attributes": {"a.b": {}}}]})
    (action,) = CODEC.parse_categories(body)
    definition = action.attributes["a.b"]
    assert definition == AttributeDefinition(
        name="a.b", type=AttributeType.STRING, mutable=False, required=False
    )


def test_attribute_description_members():
    description = {
        "mutable": True,
        "required": True,
        "type": "boolean",
        "default": True,
        "description": "d",
    }
    body = doc({"term": "t", "scheme": "s#", "attributes": {"a.b": description}})
    (action,) = CODEC.parse_categories(body)
    assert action.attributes["a.b"] == AttributeDefinition(
        name="a.b",
        type=AttributeType.BOOLEAN,
        mutable=True,
        required=True,
        default=True,
        description="d",
    )


@pytest.mark.parametrize(
    ("description", "attribute_type", "pattern", "enum"),
    [
        ({"type": "number", "pattern": {"type": "integer"}}, AttributeType.INTEGER, None, ()),
        ({"pattern": {"type": "integer"}}, AttributeType.INTEGER, None, ()),
        ({"type": "string", "pattern": {"type": "integer"}}, AttributeType.STRING, None, ()),
        (
            {"type": "string", "pattern": {"type": "string", "enum": ["x86", "x64"]}},
            AttributeType.ENUM,
            None,
            ("x86", "x64"),
        ),
        ({"type": "string", "pattern": {"enum": [1, 2]}}, AttributeType.STRING, None, ()),
        ({"type": "string", "pattern": "(?-mix:^x$)"}, AttributeType.STRING, "(?-mix:^x$)", ()),
        ({"type": "string", "pattern": {"pattern": "\\S+"}}, AttributeType.STRING, None, ()),
        ({"type": "integer"}, AttributeType.INTEGER, None, ()),
        ({"type": "Hash"}, AttributeType.OBJECT, None, ()),
        ({"type": "string", "pattern": None}, AttributeType.STRING, None, ()),
    ],
)
def test_patterns_refine_the_type(description, attribute_type, pattern, enum):
    body = doc({"actions": [{"term": "t", "scheme": "s#", "attributes": {"a.b": description}}]})
    definition = CODEC.parse_categories(body)[0].attributes["a.b"]
    assert (definition.type, definition.pattern, definition.enum) == (attribute_type, pattern, enum)


def test_nested_attribute_descriptions_are_flattened():
    body = doc(
        {
            "mixins": [
                {
                    "term": "medium",
                    "scheme": "s#",
                    "location": "/m/",
                    "attributes": {
                        "occi": {
                            "compute": {
                                "speed": {"type": "number", "default": 2.8},
                                "state": {"type": "string", "mutable": False},
                            }
                        },
                        "method": {"type": "string"},
                    },
                }
            ]
        }
    )
    (mixin,) = CODEC.parse_categories(body)
    assert list(mixin.attributes) == ["occi.compute.speed", "occi.compute.state", "method"]
    assert mixin.attributes["occi.compute.speed"].default == 2.8


def test_parse_single_categories_by_their_members():
    cases = [
        ({"term": "k", "scheme": "s#", "parent": CORE + "resource"}, Kind),
        ({"term": "k", "scheme": "s#", "actions": ["s/action#a"]}, Kind),
        ({"term": "m", "scheme": "s#", "location": "/m/"}, Mixin),
        ({"term": "m", "scheme": "s#", "depends": [INFRA + "os_tpl"]}, Mixin),
        ({"term": "m", "scheme": "s#", "applies": [COMPUTE]}, Mixin),
        ({"term": "a", "scheme": "s#", "attributes": {"method": {}}}, Action),
        ({"term": "k", "scheme": "s#", "location": "/k/", "class": "kind"}, Kind),
        ({"term": "a", "scheme": "s#", "class": "Action"}, Action),
    ]
    for document, cls in cases:
        (category,) = CODEC.parse_categories(doc(document))
        assert type(category) is cls, document


def test_parse_a_full_mixin():
    body = doc(
        {
            "term": "small",
            "scheme": "s#",
            "title": "Small",
            "location": "/small/",
            "depends": [INFRA + "resource_tpl"],
            "applies": [COMPUTE],
            "actions": ["s/action#go"],
        }
    )
    assert CODEC.parse_categories(body) == [
        Mixin(
            scheme="s#",
            term="small",
            title="Small",
            location="/small/",
            depends=(INFRA + "resource_tpl",),
            applies=(COMPUTE,),
            actions=("s/action#go",),
        )
    ]


def test_parse_category_identifier_lists():
    body = doc({"mixins": [OS_TPL, INFRA + "resource_tpl"], "kinds": [COMPUTE], "actions": []})
    parsed = CODEC.parse_categories(body)
    assert parsed == [
        Kind(scheme=INFRA, term="compute"),
        Mixin(scheme="http://example.org/occi/os_tpl#", term="ubuntu"),
        Mixin(scheme=INFRA, term="resource_tpl"),
    ]


def test_identifier_lists_and_full_objects_may_mix():
    body = doc({"mixins": [OS_TPL, {"term": "t", "scheme": "s#", "location": "/t/"}]})
    assert [c.id for c in CODEC.parse_categories(body)] == [OS_TPL, "s#t"]


def test_occi_1_1_related_becomes_parent_and_depends():
    body = doc(
        {
            "kinds": [{"term": "k", "scheme": "s#", "related": [CORE + "resource"]}],
            "mixins": [{"term": "m", "scheme": "s#", "related": [INFRA + "os_tpl"]}],
        }
    )
    kind, mixin = CODEC.parse_categories(body)
    assert kind.parent == CORE + "resource"
    assert mixin.depends == (INFRA + "os_tpl",)


def test_field_dialects_of_categories():
    body = doc(
        {
            "kinds": [{"term": "entity", "scheme": CORE, "parent": "", "location": "/e/"}],
            "mixins": [
                {"term": 1, "scheme": "http://schemas.openstack.org/template/resource#"},
                {"term": "debian6", "scheme": "s#", "title": [], "location": ""},
            ],
        }
    )
    kind, flavour, debian = CODEC.parse_categories(body)
    assert kind.parent is None  # MartServer: "" for no parent
    assert flavour.term == "1"  # OOI: numeric flavour ids as JSON numbers
    assert debian.title is None  # erocci: Erlang's empty string is []
    assert debian.location is None


def test_entities_in_a_model_document_are_ignored_by_parse_categories():
    body = doc({"kinds": [COMPUTE], "resources": [{"kind": COMPUTE, "id": "1"}]})
    assert [c.id for c in CODEC.parse_categories(body)] == [COMPUTE]
    assert [e.id for e in CODEC.parse_entities(body)] == ["1"]


@pytest.mark.parametrize(
    ("body", "where", "hint"),
    [
        ({"kinds": {}}, "/kinds", "array"),
        ({"kinds": [1]}, "/kinds/0", "object or an identifier"),
        ({"kinds": ["compute"]}, "/kinds/0", "scheme and term"),
        ({"mixins": ["http://x#"]}, "/mixins/0", "no term"),
        ({"kinds": [{"scheme": "s#"}]}, "/kinds/0/term", "term"),
        ({"kinds": [{"term": "", "scheme": "s#"}]}, "/kinds/0/term", "term"),
        ({"kinds": [{"term": True, "scheme": "s#"}]}, "/kinds/0/term", "term"),
        ({"mixins": [{"term": "t", "scheme": 5}]}, "/mixins/0/scheme", "scheme"),
        ({"mixins": [{"term": "t"}]}, "/mixins/0/scheme", "scheme"),
        ({"actions": [{"term": "t", "scheme": "s#", "title": 1}]}, "/actions/0/title", "string"),
        (
            {"actions": [{"term": "t", "scheme": "s#", "title": ["x"]}]},
            "/actions/0/title",
            "string",
        ),
        (
            {"kinds": [{"term": "t", "scheme": "s#", "parent": "x"}]},
            "/kinds/0/parent",
            "identifier",
        ),
        ({"kinds": [{"term": "t", "scheme": "s#", "location": 1}]}, "/kinds/0/location", "string"),
        ({"kinds": [{"term": "t", "scheme": "s#", "actions": "a#b"}]}, "/kinds/0/actions", "array"),
        (
            {"mixins": [{"term": "t", "scheme": "s#", "depends": [1]}]},
            "/mixins/0/depends/0",
            "string",
        ),
        (
            {"mixins": [{"term": "t", "scheme": "s#", "applies": ["x"]}]},
            "/mixins/0/applies/0",
            "identifier",
        ),
        (
            {"kinds": [{"term": "t", "scheme": "s#", "attributes": []}]},
            "/kinds/0/attributes",
            "object",
        ),
        (
            {"kinds": [{"term": "t", "scheme": "s#", "attributes": {"a.b": "muttable"}}]},
            "/kinds/0/attributes/a.b",
            "description",
        ),
        (
            {"kinds": [{"term": "t", "scheme": "s#", "attributes": {"a.b": {"mutable": "yes"}}}]},
            "/kinds/0/attributes/a.b/mutable",
            "true or false",
        ),
        (
            {"kinds": [{"term": "t", "scheme": "s#", "attributes": {"a.b": {"required": 1}}}]},
            "/kinds/0/attributes/a.b/required",
            "true or false",
        ),
        (
            {"kinds": [{"term": "t", "scheme": "s#", "attributes": {"a.b": {"type": "date"}}}]},
            "/kinds/0/attributes/a.b/type",
            "one of string",
        ),
        (
            {"kinds": [{"term": "t", "scheme": "s#", "attributes": {"a.b": {"type": 1}}}]},
            "/kinds/0/attributes/a.b/type",
            "one of string",
        ),
        (
            {"kinds": [{"term": "t", "scheme": "s#", "attributes": {"a.b": {"pattern": 1}}}]},
            "/kinds/0/attributes/a.b/pattern",
            "pattern",
        ),
        (
            {"kinds": [{"term": "t", "scheme": "s#", "attributes": {"a.b": {"description": 1}}}]},
            "/kinds/0/attributes/a.b/description",
            "string",
        ),
        (
            {"kinds": [{"term": "t", "scheme": "s#", "attributes": {"occi": {"x": {"y": 1}}}}]},
            "/kinds/0/attributes/occi/x/y",
            "description",
        ),
        ({"term": "t", "scheme": "s#", "class": "thing"}, "/class", "kind, mixin or action"),
        ({"kind": COMPUTE, "actions": [ACTION + "stop"]}, "", "entity"),
        ({"action": ACTION + "stop"}, "", "action invocation"),
        ({"resources": []}, "", "kinds, mixins or actions"),
        ({"foo": []}, "", "kinds, mixins or actions"),
        ({"$schema": "x"}, "", "JSON Schema"),
    ],
)
def test_wrong_category_shapes_are_parse_errors(body, where, hint):
    error = parse_error(CODEC.parse_categories, doc(body))
    assert error.where == where
    assert hint in error.reason


# --- collections ----------------------------------------------------------------------


def _link(identifier: str) -> Link:
    return Link(
        kind=STORAGELINK,
        attributes={
            "occi.core.id": identifier,
            "occi.core.source": "/compute/1",
            "occi.core.target": "/storage/" + identifier,
        },
    )


def _resource(identifier: str) -> Resource:
    return Resource(kind=STORAGE, attributes={"occi.core.id": identifier})


def test_an_empty_collection_is_an_empty_object():
    assert list(CODEC.iter_collection([])) == [b"{}"]
    assert CODEC.render_collection([]).body == b"{}"


def test_collections_stream_one_chunk_per_entity():
    chunks = list(CODEC.iter_collection([_resource("1"), _resource("2"), _resource("3")]))
    assert len(chunks) == 4  # three entities and the closing bracket
    body = json.loads(b"".join(chunks))
    assert [r["id"] for r in body["resources"]] == ["1", "2", "3"]


@pytest.mark.parametrize(
    ("entities", "resources", "links"),
    [
        ([_resource("1")], ["1"], None),
        ([_link("a"), _link("b")], None, ["a", "b"]),
        ([_resource("1"), _link("a"), _resource("2"), _link("b")], ["1", "2"], ["a", "b"]),
        ([_link("a"), _resource("1"), _link("b")], ["1"], ["a", "b"]),
    ],
)
def test_collections_of_resources_links_or_both(entities, resources, links):
    body = json.loads(CODEC.render_collection(entities).body)
    assert [r["id"] for r in body.get("resources", [])] == (resources or [])
    assert [link["id"] for link in body.get("links", [])] == (links or [])
    assert ("resources" in body) is bool(resources)
    assert ("links" in body) is bool(links)
    parsed = CODEC.parse_entities(CODEC.render_collection(entities).body)
    assert [e.id for e in parsed] == (resources or []) + (links or [])


def test_collections_pull_entities_lazily():
    pulled = []

    def generate():
        for index in range(1000):
            pulled.append(index)
            yield _resource(str(index))

    chunks = CODEC.iter_collection(generate())
    next(chunks)
    assert len(pulled) == 1
    next(chunks)
    assert len(pulled) == 2
    assert b"".join(chunks).endswith(b"]}")


def test_render_collection_matches_the_stream():
    entities = [_resource("1"), _link("a")]
    assert CODEC.render_collection(entities).body == b"".join(CODEC.iter_collection(entities))
    assert CODEC.render_collection(entities).content_type == MEDIA_TYPE


# --- locations ------------------------------------------------------------------------


def test_render_locations_as_a_bare_array():
    locations = ["https://h/compute/1", "https://h/compute/2"]
    assert json.loads(CODEC.render_locations(locations).body) == locations
    assert CODEC.render_locations([]).body == b"[]"
    # Written as given, repeats included: what is rendered is what is read.
    assert CODEC.parse_locations(CODEC.render_locations(["/a", "/a"]).body) == ["/a", "/a"]


@pytest.mark.parametrize(
    "body",
    [
        ["/a", "https://h/b"],
        {"locations": ["/a", "https://h/b"]},
        {"resources": [{"location": "/a"}, {"kind": COMPUTE, "location": "https://h/b"}]},
        {"resources": [{"location": "/a"}], "links": [{"location": "https://h/b"}]},
        {"resources": ["/a", "https://h/b"]},
    ],
)
def test_parse_location_lists(body):
    assert CODEC.parse_locations(doc(body)) == ["/a", "https://h/b"]


@pytest.mark.parametrize(
    ("body", "where"),
    [
        (["/a", 1], "/1"),
        (["/a", ""], "/1"),
        ([{"location": "/a"}], "/0"),
        ({"locations": "/a"}, "/locations"),
        ({"locations": [None]}, "/locations/0"),
        ({"resources": [{"kind": COMPUTE, "id": "1"}]}, "/resources/0/location"),
        ({"resources": [1]}, "/resources/0"),
        ({"resources": {}}, "/resources"),
        ({"kinds": []}, ""),
        ("https://h/a", ""),
    ],
)
def test_wrong_location_lists(body, where):
    assert parse_error(CODEC.parse_locations, doc(body)).where == where


# --- action invocations -----------------------------------------------------------------


def test_render_action_invocations():
    invocation = ActionInvocation(action=ACTION + "stop", attributes={"method": "graceful"})
    assert rendered(CODEC.render_action(invocation)) == {
        "action": ACTION + "stop",
        "attributes": {"method": "graceful"},
    }
    assert rendered(CODEC.render_action(ActionInvocation(action=ACTION + "start"))) == {
        "action": ACTION + "start"
    }


def test_parse_action_invocations():
    body = doc({"action": ACTION + "stop", "attributes": {"method": "graceful"}})
    assert CODEC.parse_action(body) == ActionInvocation(
        action=ACTION + "stop", attributes={"method": "graceful"}
    )
    assert CODEC.parse_action(doc({"action": ACTION + "start"})) == ActionInvocation(
        action=ACTION + "start"
    )


def test_parse_action_with_a_model_coerces_parameters():
    body = doc({"action": ACTION + "save", "attributes": {"method": "deffered"}})
    assert CODEC.parse_action(body, model=MODEL).attributes == {"method": "deferred"}
    body = doc(
        {
            "action": "http://schemas.ogf.org/occi/infrastructure/storage/action#resize",
            "attributes": {"size": "10"},
        }
    )
    assert CODEC.parse_action(body, model=MODEL).attributes == {"size": 10.0}


def test_rocci_4_wrapped_action_invocations():
    body = doc(
        {
            "kinds": [],
            "action": {"action": ACTION + "stop", "attributes": {"method": "acpioff"}},
        }
    )
    assert CODEC.parse_action(body) == ActionInvocation(
        action=ACTION + "stop", attributes={"method": "acpioff"}
    )


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({"attributes": {}}, ""),
        ({"action": 5}, "/action"),
        ({"action": "stop"}, "/action"),
        ({"action": {"term": "stop"}}, "/action"),
        ({"action": ACTION + "stop", "attributes": []}, "/attributes"),
        ({"action": {"action": ACTION + "stop", "attributes": "x"}}, "/action/attributes"),
        ({"action": {"action": 5}}, "/action"),
    ],
)
def test_wrong_action_invocations(body, where):
    assert parse_error(CODEC.parse_action, doc(body)).where == where
