"""GFD.226's JSON schema, shipped with pyocci, and validation against its definitions.

The schema is the appendix of GFD.226 "JSON Rendering" (draft-04) with its
``#definitions/`` references corrected to ``#/definitions/``; see
``schemas/NOTICE`` for where it comes from and the Open Grid Forum's
copyright notice, which allows copies that help implement the document.
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any

import jsonschema
import referencing
from referencing.jsonschema import DRAFT4

#: The schema's own ``id``; its references resolve against it (nothing is fetched).
SCHEMA_ID = "http://schemas.ogf.org/occi/OCCI-schema.json"
SCHEMA_FILE = "gfd226-occi-schema.json"


@functools.cache
def gfd226_schema() -> dict[str, Any]:
    """The schema document."""
    folder = resources.files("pyocci.check").joinpath("schemas")
    return json.loads(folder.joinpath(SCHEMA_FILE).read_text("utf-8"))


@functools.cache
def _validator(definition: str | None) -> jsonschema.Draft4Validator:
    registry = referencing.Registry().with_resource(
        SCHEMA_ID, DRAFT4.create_resource(gfd226_schema())
    )
    reference = SCHEMA_ID if definition is None else f"{SCHEMA_ID}#/definitions/{definition}"
    return jsonschema.Draft4Validator({"$ref": reference}, registry=registry)


def schema_errors(document: Any, definition: str | None = None, *, limit: int = 5) -> list[str]:
    """What is wrong with `document` as an instance of `definition` (``resource``, ``model``,
    ...; None: the schema's top level), at most `limit` messages."""
    found = []
    for error in _validator(definition).iter_errors(document):
        where = "/" + "/".join(str(part) for part in error.absolute_path)
        found.append(f"{error.message[:200]} at {where}")
        if len(found) >= limit:
            break
    return found
