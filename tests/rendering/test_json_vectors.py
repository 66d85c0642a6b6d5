"""Third-party JSON vectors: what other implementations send must read as what it says.

``shared/vectors/index.json`` lists every vector with its upstream
expectation and a summary of what it should parse to (counted from the raw
text by a line scanner, not by pyocci). Every JSON vector is checked here,
one test case each:

* positive vectors parse, with the parser for their shape, to what the
  summary says;
* negative vectors, vectors invalid as published, and vectors that are not
  strict JSON raise ParseError from every parser and nothing else -- except a
  document that is well-formed but semantically wrong, which must parse and
  then fail `Model.validate`;
* JSON Schemas and other non-OCCI documents (shape ``other``) are refused.

Where the upstream expectation contradicts the specification, the table
`CONTRADICTIONS` says why and the spec behaviour is asserted; where a
summary misreads its document, `SUMMARY_CORRECTIONS` says what the document
really is; where pyocci tolerates a dialect outside GFD.226, `DIALECTS` says
which. A meta-test keeps the tables and the vectors in step, so nothing is
skipped silently.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pyocci.model import (
    Action,
    Entity,
    Kind,
    Link,
    Mixin,
    Resource,
    ValidationError,
    standard_model,
)
from pyocci.rendering.errors import ParseError
from pyocci.rendering.json import JsonCodec
from pyocci.rendering.urilist import UriListCodec

VECTORS = Path(__file__).resolve().parents[2].parent / "shared" / "vectors"

pytestmark = pytest.mark.skipif(
    not (VECTORS / "index.json").is_file(),
    reason=f"the third-party vectors are not at {VECTORS} (shared/vectors beside the repository)",
)

CODEC = JsonCodec()
URI_LIST = UriListCodec()
MODEL = standard_model()
CORE_NAMES = {
    "occi.core.id",
    "occi.core.title",
    "occi.core.summary",
    "occi.core.source",
    "occi.core.source.kind",
    "occi.core.target",
    "occi.core.target.kind",
}


def _index() -> list[dict[str, Any]]:
    index = VECTORS / "index.json"
    return json.loads(index.read_text()) if index.is_file() else []


INDEX = _index()
JSON_VECTORS = [entry for entry in INDEX if entry["format"].startswith("json")]


def body_of(relative: str) -> bytes:
    """A vector's bytes; for a raw HTTP capture, its body."""
    raw = (VECTORS / relative).read_bytes()
    if relative.endswith(".http"):
        return split_http(raw)[1]
    return raw


def split_http(raw: bytes) -> tuple[dict[str, str], bytes]:
    """Headers (lower-cased names) and body of a raw HTTP response."""
    separator = b"\r\n\r\n" if b"\r\n\r\n" in raw else b"\n\n"
    head, _, body = raw.partition(separator)
    headers = {}
    for line in head.decode("latin-1").splitlines()[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return headers, body


PARSERS: dict[str, Callable[[bytes], Any]] = {
    "parse_entity": CODEC.parse_entity,
    "parse_entities": CODEC.parse_entities,
    "parse_entities with the model": lambda body: CODEC.parse_entities(body, model=MODEL),
    "parse_categories": CODEC.parse_categories,
    "parse_action": CODEC.parse_action,
    "parse_locations": CODEC.parse_locations,
}


def assert_refused(body: bytes, expected_where: dict[str, str] | None = None) -> None:
    """Every parser raises ParseError (never another exception)."""
    for name, parse in PARSERS.items():
        with pytest.raises(ParseError) as caught:
            parse(body)
        if expected_where and name in expected_where:
            assert caught.value.where == expected_where[name], name


# --- the tables ---------------------------------------------------------------------

#: Upstream says positive; the spec says otherwise; pyocci follows the spec.
#: Value: (reason, {parser: expected `where`}).
CONTRADICTIONS: dict[str, tuple[str, dict[str, str]]] = {
    "erlang-occi/parsers_SUITE_data/collection.json": (
        "trailing commas: not JSON (RFC 8259); erocci's parser is lenient",
        {"parse_entities": "line 5 column 5"},
    ),
    **{
        f"erocci/{directory}/valid_provider_mixin.json": (
            "trailing comma: not JSON (RFC 8259)",
            {"parse_categories": "line 6 column 9"},
        )
        for directory in (
            "apps-listener-http/test/occi_http_SUITE_data",
            "test/occi_http_SUITE_data",
            "test/occi_http_json_SUITE_data",
        )
    },
    "martserver/mart.servlet/src/test/resources/testjson/second_query_interface.json": (
        "the file holds no JSON at all (blank); an empty body is not a document",
        {"parse_categories": ""},
    ),
    "live/pyssf-0.4.7__compute_instance__json.http": (
        "pyssf's OCCI 1.1 JSON gives `kind` as a full category object and actions as "
        "objects; GFD.226 requires identifier strings",
        {"parse_entity": "/kind"},
    ),
    "live/pyssf-0.4.7__query__json.http": (
        "pyssf answers the query interface with a bare array of category objects "
        "(no kinds/mixins/actions sections, no class); GFD.226 needs the sections",
        {"parse_categories": "", "parse_locations": "/0"},
    ),
    "live/pyssf-0.4.7__compute_collection__json.http": (
        "pyssf lists a collection as a bare array of its own entity objects; GFD.226 "
        'needs {"resources": [...]}, and the members have object kinds',
        {"parse_entities": "", "parse_locations": "/0"},
    ),
}

#: Upstream negative, but the document is well-formed: it must parse and then
#: fail validation against the standard model.
SEMANTIC_NEGATIVES: dict[str, str] = {
    "martserver/mart.servlet/src/test/resources/testjson/integration/creation/bad_resource.json": (
        "valid JSON rendering of a resource whose kind (infrastructure#test) does not exist"
    ),
}

#: Upstream negatives and their expected ParseError locations.
NEGATIVE_WHERE: dict[str, dict[str, str]] = {
    **{
        f"erocci/{directory}/invalid_compute.json": {"parse_entity": "/kind"}
        for directory in (
            "apps-listener-http/test/occi_http_SUITE_data",
            "test/occi_http_SUITE_data",
            "test/occi_http_json_SUITE_data",
            "tests/json",
        )
    },
    "ogf-spec/json/resouce_instance_example.verbatim-invalid.json": {
        "parse_entity": "line 38 column 28"
    },
    "ogf-spec/json/link_instance_example.verbatim-invalid.json": {
        "parse_entity": "line 19 column 20"
    },
    "ogf-spec/json/kind_instance_example.verbatim-invalid.json": {
        "parse_categories": "line 12 column 13"
    },
}

#: The summary misreads the document; what it really is, and how it is checked.
SUMMARY_CORRECTIONS: dict[str, str] = {
    "rocci-core-4.3/collection_samples/collection1.json": (
        "an rOCCI-core 4 Collection: one kind, one mixin, one action, a resource, a link "
        "and an action invocation wrapped as {'action': {'action': id}}"
    ),
    "rocci-core-4.3/collection_samples/directory2/collection2.json": (
        "an rOCCI-core 4 Collection, like collection1.json"
    ),
    "martserver/mart.servlet/src/test/resources/testjson/actions.json": (
        "an action collection with an extra, non-OCCI `Category` member, which is "
        "ignored like any unknown member; the action reads normally"
    ),
}

#: Outside GFD.226, but an unambiguous dialect of a real implementation: parsed.
DIALECTS: dict[str, str] = {
    "erlang-occi/renderers_SUITE_data/categories.json": (
        "erocci writes an empty title as [] (Erlang's empty string): read as no title"
    ),
    "live/ooi-1.2.0-fakenova__query__json.http": (
        "OOI writes numeric flavour ids as JSON numbers in `term`: read as their digits"
    ),
    "martserver/mart.servlet/src/test/resources/testjson/test.json": (
        'MartServer writes "parent": "" for the root kind: read as no parent'
    ),
}


def _entry(file: str) -> dict[str, Any]:
    return next(entry for entry in INDEX if entry["file"] == file)


def _is_negative(entry: dict[str, Any]) -> bool:
    return (
        entry["expect"].startswith(("NEGATIVE", "INVALID"))
        or entry["format"] != "json"
        or entry["file"] in CONTRADICTIONS
    )


# --- the tables are in step with the vectors ------------------------------------------


def test_every_table_entry_is_a_json_vector():
    files = {entry["file"] for entry in JSON_VECTORS}
    for table in (
        CONTRADICTIONS,
        SEMANTIC_NEGATIVES,
        NEGATIVE_WHERE,
        SUMMARY_CORRECTIONS,
        DIALECTS,
    ):
        assert set(table) <= files


def test_every_upstream_positive_that_is_refused_is_explained():
    for entry in JSON_VECTORS:
        if entry["expect"] == "positive" and entry["format"] != "json":
            assert entry["file"] in CONTRADICTIONS, entry["file"]


def test_the_vectors_are_all_here():
    assert len(JSON_VECTORS) >= 190


# --- one test per vector ---------------------------------------------------------------


@pytest.mark.parametrize("entry", JSON_VECTORS, ids=[entry["file"] for entry in JSON_VECTORS])
def test_json_vector(entry):
    file = entry["file"]
    body = body_of(file)
    summary = entry.get("summary", {})
    shape = summary.get("shape")

    if file in SEMANTIC_NEGATIVES:
        (entity,) = CODEC.parse_entities(body, model=MODEL)
        with pytest.raises(ValidationError):
            MODEL.validate(entity)
        return
    if _is_negative(entry):
        where = CONTRADICTIONS[file][1] if file in CONTRADICTIONS else NEGATIVE_WHERE.get(file)
        assert_refused(body, where)
        return
    if file in SUMMARY_CORRECTIONS:
        CORRECTED[file](body)
        return
    CHECKS[shape](body, summary)


# --- checks by shape ----------------------------------------------------------------


def _term(identifier: str | None) -> str:
    return "None" if identifier is None else identifier.rsplit("#", 1)[-1]


def _check_entity(entity: Entity, summary: dict[str, Any]) -> None:
    expected_class = Link if summary["shape"] == "link" else Resource
    assert type(entity) is expected_class
    assert entity.kind == summary["kind"]
    assert entity.mixins == summary["mixins"]
    named = set(summary["attributes"])
    assert named <= entity.attributes.keys()
    # Besides what `attributes` names, only core values given as members.
    assert entity.attributes.keys() - named <= CORE_NAMES
    assert len(entity.actions) == summary["actions"]
    if isinstance(entity, Resource):
        assert len(entity.links) == summary["links"]
    else:
        assert (entity.source, entity.target) == (summary["source"], summary["target"])


def check_entity(body: bytes, summary: dict[str, Any]) -> None:
    _check_entity(CODEC.parse_entity(body), summary)
    # The model neither breaks nor changes what the document says.
    with_model = CODEC.parse_entity(body, model=MODEL)
    assert type(with_model) is type(CODEC.parse_entity(body))
    assert with_model.kind == summary["kind"]


def _check_collection(entities: list[Entity], summary: dict[str, Any]) -> None:
    resources = [e for e in entities if isinstance(e, Resource)]
    links = [e for e in entities if isinstance(e, Link)]
    assert len(resources) == summary.get("resources", 0)
    assert len(links) == summary.get("links", 0)
    # Resources come first, then links.
    assert entities == resources + links
    for member, found in (("resources", resources), ("links", links)):
        if f"{member}_kinds" in summary:
            assert {_term(e.kind) for e in found} == set(summary[f"{member}_kinds"])


def check_entity_collection(body: bytes, summary: dict[str, Any]) -> None:
    _check_collection(CODEC.parse_entities(body), summary)
    _check_collection(CODEC.parse_entities(body, model=MODEL), summary)


def _terms(categories: list[Any], cls: type) -> list[str]:
    return [c.term for c in categories if type(c) is cls]


def _check_terms(found: list[str], listed: list[Any]) -> None:
    # The summary lists at most a dozen terms, then "...".
    if listed and listed[-1] == "...":
        listed = listed[:-1]
        found = found[: len(listed)]
    assert found == [str(term) for term in listed]


def check_category_collection(body: bytes, summary: dict[str, Any]) -> None:
    categories = CODEC.parse_categories(body)
    for member, cls in (("kinds", Kind), ("mixins", Mixin), ("actions", Action)):
        terms = _terms(categories, cls)
        assert len(terms) == summary.get(member, 0), member
        if f"{member}_terms" in summary:
            _check_terms(terms, summary[f"{member}_terms"])
    if "resources" in summary or "links" in summary:
        _check_collection(CODEC.parse_entities(body), summary)


def check_category_identifiers(body: bytes, summary: dict[str, Any]) -> None:
    categories = CODEC.parse_categories(body)
    for member, cls in (("kinds", Kind), ("mixins", Mixin), ("actions", Action)):
        assert len(_terms(categories, cls)) == summary.get(member, 0)
    for category in categories:
        assert not category.attributes  # identifiers only


def _check_category(cls: type) -> Callable[[bytes, dict[str, Any]], None]:
    def check(body: bytes, summary: dict[str, Any]) -> None:
        (category,) = CODEC.parse_categories(body)
        assert type(category) is cls
        assert category.id == summary["id"]
        assert list(category.attributes) == summary["attributes"]
        for member in ("location", "parent"):
            if member in summary:
                assert getattr(category, member) == summary[member]
        for member in ("depends", "applies", "actions"):
            if member in summary:
                assert list(getattr(category, member)) == summary[member]

    return check


def check_action_invocation(body: bytes, summary: dict[str, Any]) -> None:
    invocation = CODEC.parse_action(body)
    assert invocation.action == summary["action"]
    assert list(invocation.attributes) == summary["attributes"]
    assert CODEC.parse_action(body, model=MODEL).action == summary["action"]


def check_locations(body: bytes, summary: dict[str, Any]) -> None:
    locations = CODEC.parse_locations(body)
    assert len(locations) == summary.get("locations", len(locations)) > 0
    assert all(isinstance(location, str) and location for location in locations)


def check_refused(body: bytes, summary: dict[str, Any]) -> None:
    """JSON Schemas and other non-OCCI JSON: no parser takes them for OCCI."""
    assert_refused(body)


CHECKS: dict[str | None, Callable[[bytes, dict[str, Any]], None]] = {
    "resource": check_entity,
    "link": check_entity,
    "entity-collection": check_entity_collection,
    "category-collection/model": check_category_collection,
    "category-identifiers (json)": check_category_identifiers,
    "mixin": _check_category(Mixin),
    "kind": _check_category(Kind),
    # A lone category with neither location nor relations is read as an Action.
    "action-or-category": _check_category(Action),
    "action-invocation": check_action_invocation,
    "location-list": check_locations,
    "locations": check_locations,
    "other": check_refused,
    "entity-like (no kind)": check_refused,  # JSON Schemas, with id and title members
}


# --- corrected summaries ------------------------------------------------------------


def _check_rocci4_collection(action: str, kind: str, mixin: str, start: str) -> Callable:
    def check(body: bytes) -> None:
        categories = CODEC.parse_categories(body)
        assert [(type(c), c.term) for c in categories] == [
            (Kind, kind),
            (Mixin, mixin),
            (Action, start),
        ]
        (compute,) = [c for c in categories if isinstance(c, Kind)]
        # rOCCI-core 4 nests attribute descriptions and says `related`.
        assert "occi.core.id" in compute.attributes
        assert compute.attributes["occi.core.title"].mutable is True
        assert compute.attributes["occi.core.id"].mutable is False  # GFD.226 default
        resource, link = CODEC.parse_entities(body)
        assert isinstance(resource, Resource) and isinstance(link, Link)
        assert resource.id and link.id
        assert CODEC.parse_action(body).action == action

    return check


def _check_martserver_actions(body: bytes) -> None:
    (stop,) = CODEC.parse_categories(body)
    assert isinstance(stop, Action)
    assert stop.id == "http://schemas.ogf.org/occi/infrastructure/compute/action#stop"
    assert stop.attributes["method"].default == "poweroff"


CORRECTED: dict[str, Callable[[bytes], None]] = {
    "rocci-core-4.3/collection_samples/collection1.json": _check_rocci4_collection(
        "http://schemas.ogf.org/occi/core#action_instance", "compute", "my_mixin", "start"
    ),
    "rocci-core-4.3/collection_samples/directory2/collection2.json": _check_rocci4_collection(
        "http://schemas.ogf.org/occi/core/entity/action#testaction",
        "storage",
        "another_mixin",
        "stop",
    ),
    "martserver/mart.servlet/src/test/resources/testjson/actions.json": _check_martserver_actions,
}


def test_corrections_cover_their_table():
    assert set(CORRECTED) == set(SUMMARY_CORRECTIONS)


# --- dialects, in detail ------------------------------------------------------------


def test_dialect_erocci_empty_title():
    file = "erlang-occi/renderers_SUITE_data/categories.json"
    debian6 = next(c for c in CODEC.parse_categories(body_of(file)) if c.term == "debian6")
    assert debian6.title is None


def test_dialect_ooi_integer_terms():
    file = "live/ooi-1.2.0-fakenova__query__json.http"
    flavours = [
        c
        for c in CODEC.parse_categories(body_of(file))
        if c.scheme == "http://schemas.openstack.org/template/resource#"
    ]
    assert [c.term for c in flavours] == ["1", "2"]
    assert flavours[0].attributes["occi.compute.cores"].default == 2


def test_dialect_martserver_empty_parent():
    file = "martserver/mart.servlet/src/test/resources/testjson/test.json"
    entity = next(c for c in CODEC.parse_categories(body_of(file)) if c.term == "entity")
    assert entity.parent is None


def test_dialect_erocci_nested_attributes_and_bare_links():
    entity = CODEC.parse_entity(body_of("erocci/tests/json/valid_compute.json"))
    assert entity.attributes == {
        "occi.core.title": "ThisPC",
        "occi.compute.architecture": "x86",
        "occi.compute.cores": 1,
        "occi.compute.hostname": "pc001",
        "occi.compute.memory": 5,
        "occi.compute.speed": 4000,
    }
    (resource,) = CODEC.parse_entities(body_of("erocci/tests/json/valid1.json"))
    (link,) = resource.links
    assert link.target == "/storage/22fe83ae-a20f-54fc-b436-cec85c94c5e8"
    (link,) = CODEC.parse_entities(body_of("erocci/tests/json/valid2.json"))
    assert link.source == "/compute/996ad860-2a9a-504f-8861-aeafd0b2ae29"


def test_dialect_erocci_link_ends_in_nested_attributes():
    (link,) = CODEC.parse_entities(body_of("erocci/test/occi_http_json_SUITE_data/link1.json"))
    assert isinstance(link, Link)
    assert link.source == "http://localhost:8080/myresources/id2"
    assert link.attributes["occi.networkinterface.mac"] == "00:80:41:ae:fd:7e"


def test_dialect_erocci_nested_attribute_descriptions():
    (mixin,) = CODEC.parse_categories(body_of("erocci/tests/json/valid_mixin.json"))
    assert list(mixin.attributes) == ["occi.compute.speed"]
    assert mixin.attributes["occi.compute.speed"].default == 2.8


def test_dialect_erocci_location_member():
    entity = CODEC.parse_entity(body_of("erlang-occi/renderers_SUITE_data/compute_b.json"))
    assert entity.location == "http://example.org:8080/ns1/mycompute0"
    assert entity.links[0].location == "http://example.org:8080/ns1/mycompute0/netif0"


def test_dialect_erocci_partial_update_without_kind():
    (entity,) = CODEC.parse_entities(body_of("erocci/tests/json/valid_partial_compute.json"))
    assert entity.kind is None
    assert entity.attributes["occi.compute.cores"] == 2


def test_rocci_5_instance_in_full():
    entity = CODEC.parse_entity(body_of("rocci-core-5/instance.json"), model=MODEL)
    assert isinstance(entity, Resource)
    assert entity.location == "/compute/89878"
    assert entity.attributes["occi.compute.cores"] == 1
    disk, nic = entity.links
    assert isinstance(disk, Link) and isinstance(nic, Link)
    assert (disk.source, disk.target, disk.target_kind) == (
        "/compute/89878",
        "/storage/5401",
        "http://schemas.ogf.org/occi/infrastructure#storage",
    )
    assert nic.mixins == [
        "http://schemas.ogf.org/occi/infrastructure/networkinterface#ipnetworkinterface"
    ]
    assert nic.location == "/networkinterface/compute_89878_nic_0"


def test_rocci_5_model_patterns_and_types():
    categories = CODEC.parse_categories(body_of("rocci-core-5/model.json"))
    restart = next(c for c in categories if c.term == "restart")
    method = restart.attributes["method"]
    assert method.pattern == "(?-mix:^(graceful|warm|cold)$)"
    assert (method.mutable, method.required, method.default) == (True, False, "cold")


def test_a_kind_with_a_json_schema_pattern():
    (kind,) = CODEC.parse_categories(body_of("ogf-spec/json/kind_instance_example.fixed.json"))
    hostname = kind.attributes["occi.compute.hostname"]
    assert (hostname.mutable, hostname.description) == (True, "Hostname of the compute resource")
    assert hostname.pattern is None  # a JSON Schema regex is unanchored: not the model's


# --- live captures ------------------------------------------------------------------

CAPTURES = (
    json.loads((VECTORS / "live" / "captures.json").read_text())
    if (VECTORS / "live" / "captures.json").is_file()
    else []
)
READABLE = ("application/occi+json", "application/json", "text/uri-list")


def _media_type(headers: dict[str, str]) -> str:
    return headers.get("content-type", "").split(";")[0].strip().lower()


LIVE = [
    capture
    for capture in CAPTURES
    if _media_type(split_http((VECTORS / capture["file"]).read_bytes())[0]) in READABLE
]


def test_live_captures_are_found():
    assert len(LIVE) == 8


@pytest.mark.parametrize("capture", LIVE, ids=[capture["file"] for capture in LIVE])
def test_live_capture(capture):
    headers, body = split_http((VECTORS / capture["file"]).read_bytes())
    media_type = _media_type(headers)
    target = capture["request"].split()[1]
    server = capture["file"].split("__")[0]
    if media_type == "text/uri-list":
        locations = URI_LIST.parse_locations(body)
        assert len(locations) == {"live/ooi-1.2.0-fakenova": 3, "live/pyssf-0.4.7": 8}[server]
        assert all(location.startswith("http://127.0.0.1:") for location in locations)
        assert all("/compute/" in location for location in locations)
        return
    if capture["file"] in CONTRADICTIONS:
        assert_refused(body, CONTRADICTIONS[capture["file"]][1])
        return
    if target == "/-/":
        categories = CODEC.parse_categories(body)
        kinds = [c for c in categories if isinstance(c, Kind)]
        assert len(kinds) == 9
        assert {"compute", "network", "storage", "networkinterface"} <= {k.term for k in kinds}
        assert len([c for c in categories if isinstance(c, Action)]) == 12
        compute = next(k for k in kinds if k.term == "compute")
        assert compute.parent == "http://schemas.ogf.org/occi/core#resource"
        assert compute.location.endswith("/compute/")
    elif target == "/compute/":
        computes = CODEC.parse_entities(body, model=MODEL)
        assert [c.title for c in computes] == ["foo", "bar", "baz"]
        assert all(c.location == f"/compute/{c.id}" for c in computes)
        assert all(len(c.actions) == 5 for c in computes)
    else:
        compute = CODEC.parse_entity(body, model=MODEL)
        assert isinstance(compute, Resource)
        assert compute.id == target.rsplit("/", 1)[-1]
        assert compute.location == target
        assert compute.attributes["occi.compute.cores"] == 2
        assert compute.attributes["occi.compute.state"] == "active"
        assert "http://schemas.openstack.org/template/resource#1" in compute.mixins
