"""Validate what the server sends against GFD.226's JSON schema and rOCCI-core 5's.

GFD.226's appendix with its ``#definitions/`` typo fixed, and rOCCI-core 5's
wrapper files (whose ``resource.json`` has the same typo, fixed alike),
loaded offline through a `referencing.Registry`; the draft-04 meta-schema
(for rOCCI's ``stringArray``) comes from jsonschema-specifications. Shared by
the rendering tests and the end-to-end tests.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import referencing
from jsonschema_specifications import REGISTRY as META_SCHEMAS
from referencing.jsonschema import DRAFT4

VECTORS = Path(__file__).resolve().parents[1].parent / "shared" / "vectors"
SCHEMAS = VECTORS / "schema"

# Registry keys only: nothing is fetched.
GFD_URI = "http://gfd226.invalid/occi-schema.json"
ROCCI_BASE = "http://rocci-core-5.invalid/schema/"


@functools.cache
def _registry() -> referencing.Registry:
    if not SCHEMAS.is_dir():
        # A clone without shared/ beside it: the check cannot run here, say so.
        pytest.skip(f"{SCHEMAS} is missing: the JSON schemas come from shared/vectors")
    resources = [
        (
            GFD_URI,
            DRAFT4.create_resource(
                json.loads((SCHEMAS / "ogf-gfd-r-p-225" / "occi-schema.fixed.json").read_text())
            ),
        )
    ]
    for path in sorted((SCHEMAS / "rocci-core-5").glob("*.json")):
        text = path.read_text().replace("#definitions/", "#/definitions/")
        resources.append((ROCCI_BASE + path.name, DRAFT4.create_resource(json.loads(text))))
    return referencing.Registry().with_resources(resources).combine(META_SCHEMAS)


@functools.cache
def _validator(ref: str) -> jsonschema.Draft4Validator:
    return jsonschema.Draft4Validator({"$ref": ref}, registry=_registry())


def gfd(definition: str) -> str:
    """A definition of GFD.226's schema."""
    return f"{GFD_URI}#/definitions/{definition}"


def rocci(wrapper: str) -> str:
    """One of rOCCI-core 5's wrapper schemas (``model.json``, ``resource.json``...)."""
    return ROCCI_BASE + wrapper


def rocci_definition(definition: str) -> str:
    """A definition inside rOCCI-core 5's ``occi-schema.json``."""
    return f"{ROCCI_BASE}occi-schema.json#/definitions/{definition}"


def schema_errors(ref: str, document: Any) -> list[str]:
    """What is wrong with `document` according to the schema at `ref`."""
    return [
        f"{error.message} at /{'/'.join(map(str, error.absolute_path))}"
        for error in _validator(ref).iter_errors(document)
    ]


def assert_valid(document: Any, *refs: str) -> None:
    """`document` validates against GFD.226's top level and every schema in `refs`."""
    for ref in (GFD_URI, *refs):
        found = schema_errors(ref, document)
        assert not found, f"{ref}: {found[:5]}\n{json.dumps(document)[:1500]}"


def assert_valid_model(document: Any, *, for_rocci: bool = False) -> None:
    """A query interface answer, and each category in it, against GFD.226's schema, and
    also rOCCI-core 5's for the answer to a client naming rOCCI (the others get GFD.226's
    `pattern` objects, which rOCCI's schema refuses)."""
    assert_valid(document, gfd("model"), *([rocci("model.json")] if for_rocci else []))
    for section, definition in (("kinds", "kind"), ("mixins", "mixin"), ("actions", "action")):
        for item in document.get(section, []):
            refs = [gfd(definition), *([rocci_definition(definition)] if for_rocci else [])]
            assert_valid(item, *refs)


def assert_valid_entity(document: Any) -> None:
    """A resource or link rendering against both schemas."""
    if "source" in document:
        assert_valid(document, gfd("link"), rocci("link.json"))
    else:
        assert_valid(document, gfd("resource"), rocci("resource.json"))


def assert_valid_collection(document: Any) -> None:
    """An entity collection (``{"resources": [...]}`` / ``{"links": [...]}``)."""
    refs = [gfd("model")]
    if document:
        # rOCCI's entity collection requires at least one member.
        refs.append(rocci("entity-collection.json"))
    if document.keys() == {"resources"}:
        refs.append(gfd("resource_collection"))
    if document.keys() == {"links"}:
        refs.append(gfd("link_collection"))
    assert_valid(document, *refs)
