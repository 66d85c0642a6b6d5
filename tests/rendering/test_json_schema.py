"""Every JSON document pyocci renders validates against both published schemas.

* GFD.226's schema (its appendix, with the ``#definitions/`` $ref typo fixed),
  checked at the top level *and* against the definition the document is an
  instance of: the top level alone proves little, since its ``attributes``
  branch accepts almost any object.
* rOCCI-core 5's stricter validator schema, through its wrapper files, which
  `$ref` ``occi-schema.json`` and the draft-04 meta-schema's ``stringArray``.

Everything resolves offline through a `referencing.Registry`. Two documents
have no schema to validate against, and are tested for what they are: the
GFD.226 schema defines no location list, and rOCCI's ``locations.json``
requires at least one location (an empty list renders as ``[]``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from occi_schemas import GFD_URI, gfd, rocci, rocci_definition, schema_errors
from pyocci.model import (
    Action,
    ActionInvocation,
    AttributeDefinition,
    AttributeType,
    Kind,
    Link,
    Mixin,
    Resource,
    standard_model,
)
from pyocci.model.extensions import crtp_templates
from pyocci.rendering.errors import ParseError
from pyocci.rendering.json import JsonCodec
from strategies import attribute_names, category_lists, entities, invocations, resources

VECTORS = Path(__file__).resolve().parents[2].parent / "shared" / "vectors"
SCHEMAS = VECTORS / "schema"

pytestmark = pytest.mark.skipif(
    not SCHEMAS.is_dir(), reason=f"the published JSON schemas are not at {SCHEMAS}"
)

jsonschema = pytest.importorskip("jsonschema")
referencing = pytest.importorskip("referencing")

CODEC = JsonCodec()
#: What a client whose User-Agent names rOCCI gets.
ROCCI_CODEC = JsonCodec(value_schemas=False)
SECTIONS = (("kinds", "kind"), ("mixins", "mixin"), ("actions", "action"))
MODEL = standard_model()
INFRA = "http://schemas.ogf.org/occi/infrastructure#"
ACTION = "http://schemas.ogf.org/occi/infrastructure/compute/action#"
GFD_TOP = GFD_URI
errors = schema_errors


def assert_valid(document: Any, *refs: str) -> None:
    for ref in (GFD_TOP, *refs):
        found = errors(ref, document)
        assert not found, f"{ref}: {found}\n{json.dumps(document)[:2000]}"


def body(rendering) -> Any:
    return json.loads(rendering.body)


def check_entity(entity: Resource | Link) -> None:
    document = body(CODEC.render_entity(entity))
    if isinstance(entity, Link):
        assert_valid(document, gfd("link"), rocci("link.json"))
    else:
        assert_valid(document, gfd("resource"), rocci("resource.json"))


def check_collection(members: list[Resource | Link]) -> None:
    document = body(CODEC.render_collection(members))
    refs = [gfd("model"), rocci("entity-collection.json")]
    if document.keys() == {"resources"}:
        refs.append(gfd("resource_collection"))
    if document.keys() == {"links"}:
        refs.append(gfd("link_collection"))
    assert_valid(document, *refs)


def check_categories(categories: list[Any]) -> None:
    """GFD.226's schema for what every client gets (with `pattern` objects), and both
    schemas for what rOCCI clients get (without them: rOCCI-core wants a regex string)."""
    document = body(CODEC.render_categories(categories))
    assert_valid(document, gfd("model"))
    for section, definition in SECTIONS:
        for item in document.get(section, []):
            assert_valid(item, gfd(definition))
    document = body(ROCCI_CODEC.render_categories(categories))
    assert_valid(document, gfd("model"), rocci("model.json"))
    for section, definition in SECTIONS:
        for item in document.get(section, []):
            assert_valid(item, gfd(definition), rocci_definition(definition))


def check_invocation(invocation: ActionInvocation) -> None:
    document = body(CODEC.render_action(invocation))
    assert_valid(document, gfd("action_invocation"), rocci("action-instance.json"))


# --- the schemas themselves -----------------------------------------------------------


def test_the_validators_do_reject_what_they_should():
    # Guard against a registry that resolves nothing and accepts everything.
    assert errors(gfd("resource"), {"kind": 1})
    assert errors(rocci("resource.json"), {"kind": "a#b", "id": "1"})  # no attributes
    assert errors(rocci("model.json"), {"kinds": [{"term": "t", "scheme": "s#"}]})  # no location
    assert errors(rocci("locations.json"), ["a", "a"])  # stringArray: unique
    assert errors(rocci("link.json"), {"kind": "a#b", "id": "1", "attributes": {}})


# --- the standard model ---------------------------------------------------------------


def test_the_standard_model_validates():
    check_categories([*MODEL, *crtp_templates()])


def test_value_schemas_are_what_rocci_refuses():
    # The reason for the rOCCI variant: its schema wants `pattern` to be a string.
    document = body(CODEC.render_categories(list(MODEL.kinds)))
    assert errors(rocci("model.json"), document)
    assert not errors(gfd("model"), document)


def test_each_standard_category_validates_alone():
    for category in [*MODEL, *crtp_templates()]:
        check_categories([category])


def test_no_categories_validate():
    check_categories([])


# --- entities -------------------------------------------------------------------------


def _compute(index: int = 1) -> Resource:
    location = f"/compute/{index}"
    return Resource(
        kind=INFRA + "compute",
        mixins=[
            "http://example.org/occi/os_tpl#ubuntu",
            "http://schemas.ogf.org/occi/infrastructure/compute/template/1.1#small",
        ],
        attributes={
            "occi.core.id": str(index),
            "occi.core.title": f"vm{index}",
            "occi.core.summary": "a vm",
            "occi.compute.architecture": "x64",
            "occi.compute.cores": 2,
            "occi.compute.memory": 4.0,
            "occi.compute.hostname": "vm.example.org",
            "occi.compute.state": "active",
        },
        actions=[ACTION + "stop", ACTION + "restart", ACTION + "suspend"],
        location=location,
        links=[
            Link(
                kind=INFRA + "networkinterface",
                mixins=[
                    "http://schemas.ogf.org/occi/infrastructure/networkinterface#ipnetworkinterface"
                ],
                attributes={
                    "occi.core.id": f"nic{index}",
                    "occi.core.source": location,
                    "occi.core.target": "/network/public",
                    "occi.core.target.kind": INFRA + "network",
                    "occi.networkinterface.interface": "eth0",
                    "occi.networkinterface.mac": "02:00:00:00:00:01",
                    "occi.networkinterface.state": "active",
                },
                actions=["http://schemas.ogf.org/occi/infrastructure/networkinterface/action#down"],
            ),
            Link(
                kind=INFRA + "storagelink",
                attributes={
                    "occi.core.id": f"disk{index}",
                    # No source: an inline link starts at its resource.
                    "occi.core.target": f"/storage/{index}",
                    "occi.storagelink.deviceid": "/dev/vda",
                },
            ),
        ],
    )


def _link(identifier: str = "l1") -> Link:
    return Link(
        kind=INFRA + "storagelink",
        attributes={
            "occi.core.id": identifier,
            "occi.core.title": "disk",
            "occi.core.source": "/compute/1",
            "occi.core.source.kind": INFRA + "compute",
            "occi.core.target": "/storage/1",
            "occi.storagelink.deviceid": "/dev/vdb",
        },
    )


def test_a_resource_with_links_and_actions_validates():
    check_entity(_compute())


def test_a_bare_resource_validates():
    check_entity(Resource(kind=INFRA + "network", attributes={"occi.core.id": "n"}))


def test_a_link_validates():
    check_entity(_link())
    check_entity(
        Link(
            kind="http://schemas.ogf.org/occi/core#link",
            attributes={
                "occi.core.id": "x",
                "occi.core.source": "/a",
                "occi.core.target": "https://elsewhere.example.org/thing",
            },
        )
    )


def test_attribute_values_of_every_json_type_validate():
    resource = Resource(
        kind=INFRA + "compute",
        attributes={
            "occi.core.id": "1",
            "com.example.list": [1, "a", None],
            "com.example.object": {"a": {"b": [True]}},
            "com.example.flag": False,
            "com.example.gone": None,  # left out
        },
    )
    check_entity(resource)


@pytest.mark.parametrize(
    "members",
    [
        [],
        [_compute(1), _compute(2)],
        [_link("a"), _link("b")],
        [_compute(1), _link("a"), _compute(2)],
        [_link("a"), _compute(1)],
    ],
    ids=["empty", "resources", "links", "mixed", "links-first"],
)
def test_collections_validate(members):
    check_collection(members)


def test_action_invocations_validate():
    check_invocation(ActionInvocation(action=ACTION + "stop", attributes={"method": "graceful"}))
    check_invocation(ActionInvocation(action=ACTION + "start"))


def test_category_identifier_lists_validate():
    document = body(
        CODEC.render_category_identifiers(
            [
                "http://example.org/occi/os_tpl#ubuntu",
                Kind(scheme=INFRA, term="compute"),
                Action(scheme=ACTION, term="start"),
            ]
        )
    )
    # GFD.226 defines no identifier list; its top level admits it (checked by
    # assert_valid), rOCCI defines one.
    assert_valid(document, rocci("category-identifiers.json"))


def test_location_lists_validate_against_rocci():
    document = body(CODEC.render_locations(["https://h/compute/1", "https://h/compute/2"]))
    assert not errors(rocci("locations.json"), document)


def test_location_lists_have_no_gfd226_schema_and_none_when_empty():
    # Documented exceptions, asserted so that they cannot change unnoticed:
    # GFD.226 defines no location list (its top level admits objects only),
    document = body(CODEC.render_locations(["https://h/compute/1"]))
    assert errors(GFD_TOP, document)
    # and rOCCI's stringArray needs one item; an empty list is still `[]`
    # (a server answers an empty listing with an empty collection instead).
    empty = body(CODEC.render_locations([]))
    assert empty == []
    assert errors(rocci("locations.json"), empty)


# --- re-rendered third-party documents ------------------------------------------------


def _index() -> list[dict[str, Any]]:
    return json.loads((VECTORS / "index.json").read_text())


def _complete(entity: Any) -> bool:
    """Whether an entity has what both schemas require: kind and id, and link ends."""
    if entity.kind is None or not isinstance(entity.id, str):
        return False
    if isinstance(entity, Link):
        return entity.source is not None and entity.target is not None
    return all(_complete(link) for link in entity.links)


def test_third_party_entities_re_render_valid():
    checked = 0
    for entry in _index():
        shape = entry.get("summary", {}).get("shape")
        if entry["format"] != "json" or entry["expect"] != "positive":
            continue
        if shape not in ("resource", "link", "entity-collection"):
            continue
        path = VECTORS / entry["file"]
        if path.suffix == ".http":
            continue  # the live captures are checked in test_json_vectors
        try:
            parsed = CODEC.parse_entities(path.read_bytes(), model=MODEL)
        except ParseError:
            continue  # documents refused on purpose are covered in test_json_vectors
        for entity in parsed:
            if _complete(entity):
                check_entity(entity)
                checked += 1
    print(f"{checked} third-party entities re-rendered")
    assert checked >= 20


def test_third_party_categories_re_render_valid():
    checked = 0
    for entry in _index():
        shape = entry.get("summary", {}).get("shape")
        if entry["format"] != "json" or entry["expect"] != "positive":
            continue
        if shape not in ("category-collection/model", "mixin", "kind", "action-or-category"):
            continue
        path = VECTORS / entry["file"]
        raw = path.read_bytes()
        if path.suffix == ".http":
            raw = raw.split(b"\n\n", 1)[1]
        try:
            categories = CODEC.parse_categories(raw)
        except ParseError:
            continue
        check_categories(categories)
        checked += len(categories)
    print(f"{checked} third-party categories re-rendered")
    assert checked >= 200


# --- generated documents ---------------------------------------------------------------

GENERATED = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@GENERATED
@given(entity=entities)
def test_generated_entities_validate(entity):
    check_entity(entity)


@GENERATED
@given(members=st.lists(entities, max_size=4))
def test_generated_collections_validate(members):
    check_collection(members)


@GENERATED
@given(categories=category_lists)
def test_generated_categories_validate(categories):
    check_categories(categories)


@GENERATED
@given(invocation=invocations)
def test_generated_invocations_validate(invocation):
    check_invocation(invocation)


json_defaults = st.none() | st.recursive(
    st.booleans()
    | st.integers(min_value=-(2**53), max_value=2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=3), children, max_size=3)
    ),
    max_leaves=5,
)
definitions = st.builds(
    AttributeDefinition,
    name=attribute_names,
    type=st.sampled_from(list(AttributeType)),
    mutable=st.booleans(),
    required=st.booleans(),
    default=json_defaults,
    description=st.none() | st.text(max_size=10),
    pattern=st.none() | st.just("[a-z]+"),
    enum=st.just(()) | st.just(("a", "b")),
)
definition_maps = st.lists(definitions, max_size=4, unique_by=lambda d: d.name).map(
    lambda found: {definition.name: definition for definition in found}
)


@GENERATED
@given(
    attributes=definition_maps,
    location=st.none() | st.just("/somewhere/"),
    identifiers=st.lists(st.sampled_from(["a#b", "a#c", "d#e"]), max_size=4),
)
def test_categories_with_any_definitions_validate(attributes, location, identifiers):
    # Non-scalar defaults, patterns, enums, missing locations and repeated
    # identifiers are all things a schema would refuse if they were copied out.
    categories = [
        Kind(
            scheme="s#",
            term="k",
            attributes=attributes,
            actions=tuple(identifiers),
            location=location,
        ),
        Mixin(
            scheme="s#",
            term="m",
            attributes=attributes,
            depends=tuple(identifiers),
            applies=tuple(identifiers),
            location=location,
        ),
        Action(scheme="s#", term="a", attributes=attributes),
    ]
    check_categories(categories)


@GENERATED
@given(resource=resources())
def test_generated_resources_with_repeated_identifiers_validate(resource):
    resource.mixins = resource.mixins * 2
    resource.actions = resource.actions * 2
    check_entity(resource)
