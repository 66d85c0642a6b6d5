"""One shape for what every rendering says, and comparing renderings."""

from __future__ import annotations

import json

import httpx
import pytest

from pyocci.check import spec
from pyocci.check.documents import (
    NewEntity,
    differences,
    read_discovery,
    read_entity,
    request_body,
)
from pyocci.check.wire import Answer

INFRA = "http://schemas.ogf.org/occi/infrastructure#"


def answer(media_type: str, body: str = "", headers: list[tuple[str, str]] | None = None) -> Answer:
    fields = httpx.Headers([("content-type", media_type), *(headers or [])])
    return Answer("GET", "/x", 200, fields, body.encode())


def same_path(location: str) -> str:
    return location.removeprefix("http://h")


KIND_JSON = {
    "kinds": [
        {
            "term": "compute",
            "scheme": INFRA,
            "parent": "http://schemas.ogf.org/occi/core#resource",
            "location": "/compute/",
            "attributes": {
                "occi.compute.state": {"mutable": False, "type": "string", "default": "inactive"},
                "occi.compute.cores": {"mutable": True, "required": False},
                "occi.storage.size": {"required": True},
            },
        }
    ],
    "mixins": [
        {
            "term": "debian",
            "scheme": "http://x/os_tpl#",
            "location": "/os/debian/",
            "depends": [INFRA + "os_tpl"],
            "applies": [INFRA + "compute"],
        }
    ],
}
KIND_TEXT = (
    'Category: compute; scheme="http://schemas.ogf.org/occi/infrastructure#"; class="kind"; '
    'rel="http://schemas.ogf.org/occi/core#resource"; location="/compute/"; '
    'attributes="occi.compute.state{immutable} occi.compute.cores '
    'occi.storage.size{immutable required}"\n'
    'Category: debian; scheme="http://x/os_tpl#"; class="mixin"; location="/os/debian/"; '
    'rel="http://schemas.ogf.org/occi/infrastructure#os_tpl"\n'
)


def test_json_and_text_discovery_read_alike() -> None:
    from_json = read_discovery(answer(spec.OCCI_JSON, json.dumps(KIND_JSON)))
    from_text = read_discovery(answer(spec.TEXT_PLAIN, KIND_TEXT))
    assert from_json.problems == from_text.problems == []
    for found in (from_json, from_text):
        kind = found.kind(INFRA + "compute")
        assert kind is not None
        assert kind.parent == "http://schemas.ogf.org/occi/core#resource"
        # GFD.226: absent mutable means immutable; GFD.229: absent {immutable} means mutable.
        assert kind.attributes == {
            "occi.compute.state": (False, False),
            "occi.compute.cores": (True, False),
            "occi.storage.size": (False, True),
        }
        assert [m.identifier for m in found.templates(INFRA + "os_tpl")] == [
            "http://x/os_tpl#debian"
        ]
    assert from_json.kind(INFRA + "compute").defaults == {"occi.compute.state": "inactive"}


def test_text_occi_discovery_wants_ok_in_the_body() -> None:
    headers = [("category", line.partition(": ")[2]) for line in KIND_TEXT.splitlines()]
    good = read_discovery(answer(spec.TEXT_OCCI, "OK", headers))
    assert good.problems == [] and len(good.categories) == 2
    bad = read_discovery(answer(spec.TEXT_OCCI, "Category: x", headers))
    assert bad.problems and "OK" in bad.problems[0]


def test_a_category_rendered_twice_is_a_problem() -> None:
    found = read_discovery(answer(spec.TEXT_PLAIN, KIND_TEXT + KIND_TEXT.splitlines()[0] + "\n"))
    assert found.problems == [f"{INFRA}compute is rendered twice"]


COMPUTE_JSON = {
    "kind": INFRA + "compute",
    "mixins": ["http://x/os_tpl#debian"],
    "id": "1",
    "title": "vm",
    "attributes": {
        "occi.compute.cores": 2,
        "occi.compute.memory": 2.0,
        "occi.compute.state": "active",
    },
    "actions": [INFRA.replace("#", "/") + "compute/action#stop"],
    "links": [
        {
            "kind": INFRA + "storagelink",
            "id": "9",
            "source": {"location": "/compute/1"},
            "target": {"location": "http://h/storage/2", "kind": INFRA + "storage"},
        }
    ],
}
COMPUTE_TEXT = (
    'Category: compute; scheme="http://schemas.ogf.org/occi/infrastructure#"; class="kind"\n'
    'Category: debian; scheme="http://x/os_tpl#"; class="mixin"\n'
    'Link: </storage/2>; rel="http://schemas.ogf.org/occi/infrastructure#storage"; '
    'self="/storagelink/9"; category="http://schemas.ogf.org/occi/infrastructure#storagelink"\n'
    "Link: </compute/1?action=stop>; "
    'rel="http://schemas.ogf.org/occi/infrastructure/compute/action#stop"\n'
    'X-OCCI-Attribute: occi.core.id="1"\nX-OCCI-Attribute: occi.core.title="vm"\n'
    "X-OCCI-Attribute: occi.compute.cores=2\nX-OCCI-Attribute: occi.compute.memory=2\n"
    'X-OCCI-Attribute: occi.compute.state="active"\n'
)


def test_json_and_text_renderings_of_one_entity_agree() -> None:
    from_json = read_entity(answer(spec.OCCI_JSON, json.dumps(COMPUTE_JSON)))
    from_text = read_entity(answer(spec.TEXT_PLAIN, COMPUTE_TEXT))
    assert from_json.problems == from_text.problems == []
    assert differences(from_json, from_text, same_path) == []


@pytest.mark.parametrize(
    ("change", "said"),
    [
        ({"occi.compute.cores": 3}, "occi.compute.cores: 2 / 3"),
        ({"occi.compute.state": "inactive"}, "occi.compute.state"),
        ({"occi.compute.memory": "2"}, "occi.compute.memory: 2.0 / '2'"),
    ],
)
def test_differences_are_named(change: dict, said: str) -> None:
    other = json.loads(json.dumps(COMPUTE_JSON))
    other["attributes"].update(change)
    found = differences(
        read_entity(answer(spec.OCCI_JSON, json.dumps(COMPUTE_JSON))),
        read_entity(answer(spec.OCCI_JSON, json.dumps(other))),
        same_path,
    )
    assert len(found) == 1 and said in found[0]


def test_a_text_entity_needs_its_kind_first() -> None:
    lines = COMPUTE_TEXT.splitlines()
    swapped = "\n".join([lines[1], lines[0], *lines[2:]])
    assert (
        "the kind is not the first Category (GFD.229)"
        in read_entity(answer(spec.TEXT_PLAIN, swapped)).problems
    )
    no_kind = "\n".join(lines[1:])
    assert read_entity(answer(spec.TEXT_PLAIN, no_kind)).kind is None


def test_a_json_entity_whose_id_members_disagree_is_a_problem() -> None:
    document = dict(COMPUTE_JSON, attributes={"occi.core.id": "2"})
    assert read_entity(answer(spec.OCCI_JSON, json.dumps(document))).problems == [
        "id and occi.core.id differ"
    ]


def test_requests_in_every_rendering() -> None:
    entity = NewEntity(
        INFRA + "compute",
        ("http://x/os_tpl#debian",),
        {"occi.core.title": 'a "vm"', "occi.compute.cores": 2},
        links=(("/network/1", INFRA + "network", INFRA + "networkinterface"),),
    )
    body, headers = request_body(entity, spec.TEXT_PLAIN, "1")
    assert headers == []
    sent = read_entity(answer(spec.TEXT_PLAIN, body.decode()))
    assert sent.problems == []
    assert (sent.kind, sent.mixins) == (INFRA + "compute", {"http://x/os_tpl#debian"})
    assert sent.attributes == {"occi.core.title": 'a "vm"', "occi.compute.cores": 2}
    assert [(link.target, link.kind) for link in sent.links] == [
        ("/network/1", INFRA + "networkinterface")
    ]
    body, headers = request_body(entity, spec.TEXT_OCCI, "1")
    assert body == b"" and [name for name, _ in headers].count("Category") == 2
    with pytest.raises(ValueError, match="inline links"):
        request_body(entity, spec.OCCI_JSON, "1")
