"""GFD.226's schema as pyocci ships it for occi check."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pyocci.check.documents import NewEntity
from pyocci.check.schema import SCHEMA_ID, gfd226_schema, schema_errors

#: The third-party copies of the published schema and examples, beside the project.
VECTORS = Path(__file__).resolve().parents[2].parent / "shared" / "vectors"


def test_the_shipped_schema_is_gfd226s_appendix() -> None:
    schema = gfd226_schema()
    assert schema["id"] == SCHEMA_ID
    assert schema["title"] == "OCCI v. 1.2 JSON Rendering Schema"
    published = VECTORS / "schema" / "ogf-gfd-r-p-225" / "occi-schema.fixed.json"
    if not published.is_file():
        pytest.skip(f"{published} (the published schema, to compare with) is not here")
    assert schema == json.loads(published.read_text())


def test_the_notice_travels_with_it() -> None:
    from importlib import resources

    notice = resources.files("pyocci.check").joinpath("schemas").joinpath("NOTICE").read_text()
    assert "Copyright (C) Open Grid Forum" in notice


@pytest.mark.parametrize(
    ("example", "definition"),
    [
        ("resouce_instance_example.fixed.json", "resource"),
        ("link_instance_example.fixed.json", "link"),
        ("kind_instance_example.fixed.json", "kind"),
        ("mixin_instance_example.json", "mixin"),
        ("action_invocation_example.json", "action_invocation"),
    ],
)
def test_the_specifications_examples_are_valid(example: str, definition: str) -> None:
    path = VECTORS / "ogf-spec" / "json" / example
    if not path.is_file():
        pytest.skip(f"{path} (GFD.226's examples) is not here")
    assert schema_errors(json.loads(path.read_text()), definition) == []


def test_what_is_wrong_is_said_with_where() -> None:
    assert schema_errors({"kind": "x"}, "resource") == ["'id' is a required property at /"]
    found = schema_errors({"kinds": [{"term": "compute", "scheme": 3}]}, "model")
    assert found == ["3 is not of type 'string' at /kinds/0/scheme"]
    assert len(schema_errors({"resources": [{}] * 10}, "model", limit=4)) == 4


def test_what_the_checker_sends_is_valid() -> None:
    compute = NewEntity(
        "http://schemas.ogf.org/occi/infrastructure#compute",
        ("http://x/os_tpl#debian",),
        {"occi.core.title": "vm", "occi.compute.cores": 2},
    )
    assert schema_errors(compute.json_document("1"), "resource") == []
    link = NewEntity(
        "http://schemas.ogf.org/occi/infrastructure#storagelink",
        attributes={
            "occi.core.source": "/compute/1",
            "occi.core.target": "/storage/2",
            "occi.core.target.kind": "http://schemas.ogf.org/occi/infrastructure#storage",
        },
    )
    assert schema_errors(link.json_document("2"), "link") == []
