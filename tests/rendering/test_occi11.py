from __future__ import annotations

import pytest

from pyocci.model import Kind, Link, Mixin, Resource, standard_model
from pyocci.model.attribute import AttributeDefinition
from pyocci.model.category import attribute_map
from pyocci.rendering.occi11 import (
    Occi11TextCodec,
    fold_fields,
    occi11_uri_list,
    without_extensions,
)
from pyocci.rendering.text import TextOcciCodec, TextPlainCodec

BASE = "https://cloud.example.org/"
INFRA = "http://schemas.ogf.org/occi/infrastructure#"
COMPUTE, NETWORK, STORAGE = INFRA + "compute", INFRA + "network", INFRA + "storage"
STORAGELINK = INFRA + "storagelink"
DEBIAN = "http://example.org/os_tpl#debian"
ALPINE = "http://example.org/os_tpl#alpine"
PLAIN = Occi11TextCodec(TextPlainCodec(), BASE)
HEADERS = Occi11TextCodec(TextOcciCodec(), BASE)
FOR_ROCCI = Occi11TextCodec(TextOcciCodec(), BASE, for_rocci=True)


def compute(**attributes: object) -> Resource:
    return Resource(
        kind=COMPUTE,
        mixins=[DEBIAN, ALPINE],
        location="/compute/42",
        actions=[INFRA.replace("#", "/compute/action#") + "stop"],
        attributes={
            "occi.core.id": "42",
            "occi.core.title": "web, front; end",
            "occi.compute.state": "active",
            "occi.compute.state.message": "running fine",
            **attributes,
        },
        links=[
            Link(
                kind=STORAGELINK,
                location="/storagelink/42_7",
                attributes={
                    "occi.core.id": "42_7",
                    "occi.core.source": "/compute/42",
                    "occi.core.source.kind": COMPUTE,
                    "occi.core.target": "/storage/7",
                    "occi.core.target.kind": STORAGE,
                    "occi.storagelink.deviceid": "/dev/vdb",
                },
            )
        ],
    )


def header(rendering, name: str) -> str:
    values = [value for key, value in rendering.headers if key == name]
    assert len(values) == 1, f"{name}: {values}"
    return values[0]


def test_of_a_name_and_its_extensions_the_extensions_go() -> None:
    names = ["occi.compute.state", "occi.compute.state.message", "occi.core.target", "a.b.c.d"]
    names += ["occi.core.target.kind", "a.b"]
    assert without_extensions(names) == {
        "occi.compute.state.message",
        "occi.core.target.kind",
        "a.b.c.d",
    }


def test_entities_carry_absolute_urls_and_no_extending_attribute() -> None:
    body = PLAIN.render_entity(compute()).body.decode()
    assert 'occi.compute.state="active"' in body
    assert "state.message" not in body
    link = next(line for line in body.splitlines() if line.startswith("Link: <https"))
    # rel stays (1.1 requires it), target.kind goes, locations are absolute.
    assert link.startswith(f'Link: <{BASE}storage/7>; rel="{STORAGE}"')
    assert f'self="{BASE}storagelink/42_7"' in link
    assert f'occi.core.source="{BASE}compute/42"' in link
    assert "kind" not in link.split("category=", 1)[1].replace(STORAGELINK, "")
    assert f"Link: <{BASE}compute/42?action=stop>" in body
    # text/plain keeps commas and semicolons of values: its readers match quotes.
    assert 'occi.core.title="web, front; end"' in body


def test_text_occi_folds_every_field_into_one_header() -> None:
    rendering = HEADERS.render_entity(compute())
    names = [name for name, _ in rendering.headers]
    assert sorted(names) == sorted(set(names))
    category = header(rendering, "Category")
    assert category.startswith("compute;") and ",debian;" in category and ", " not in category
    assert header(rendering, "X-OCCI-Location") == BASE + "compute/42"
    attributes = header(rendering, "X-OCCI-Attribute")
    # Readers split on every comma: none is left inside a value.
    assert 'occi.core.title="web%2C front%3B end"' in attributes
    assert rendering.body == b"OK"


def test_for_rocci_the_kind_sorts_before_the_mixins() -> None:
    pieces = header(FOR_ROCCI.render_entity(compute()), "Category").split(",")
    assert [piece.split(";")[0] for piece in pieces] == ["debian", " compute", "alpine"]
    # rOCCI-core sorts "Category: <piece>" lines: the kind must come first.
    assert sorted(f"Category: {piece}" for piece in pieces)[0] == "Category:  " + pieces[1][1:]


def test_a_lone_kind_stays_first() -> None:
    entity = Resource(kind=STORAGE, location="/storage/7", attributes={"occi.core.id": "7"})
    assert header(FOR_ROCCI.render_entity(entity), "Category").startswith("storage;")


def test_listings_are_absolute_urls() -> None:
    entities = [Resource(kind=COMPUTE, location=f"/compute/{n}") for n in (1, 2)]
    plain = PLAIN.render_collection(entities)
    assert (
        plain.body
        == f"X-OCCI-Location: {BASE}compute/1\r\nX-OCCI-Location: {BASE}compute/2\r\n".encode()
    )
    folded = HEADERS.render_collection(entities)
    urls = f"{BASE}compute/1,{BASE}compute/2"
    assert header(folded, "X-OCCI-Location") == urls
    # jOCCI reads a text/occi listing from Location; rOCCI would take it for a URL more.
    assert header(folded, "Location") == urls
    assert "Location" not in dict(FOR_ROCCI.render_collection(entities).headers)


def test_an_empty_listing_has_no_location_headers() -> None:
    assert HEADERS.render_collection([]).headers == ()


def test_created_locations_are_absolute() -> None:
    rendering = HEADERS.render_locations(["/compute/1", "https://elsewhere.org/x"])
    assert header(rendering, "X-OCCI-Location") == f"{BASE}compute/1,https://elsewhere.org/x"


def test_the_query_interface_is_1_1_safe() -> None:
    kind = Kind(
        scheme="http://example.org/k#",
        term="thing",
        title="Things; mostly, small",
        location="/thing/",
        attributes=attribute_map(
            [AttributeDefinition(name="x.state"), AttributeDefinition(name="x.state.message")]
        ),
    )
    plain = PLAIN.render_categories([kind]).body.decode()
    assert 'title="Things%3B mostly, small"' in plain
    assert 'attributes="x.state"' in plain
    folded = header(HEADERS.render_categories([kind]), "Category")
    assert 'title="Things%3B mostly%2C small"' in folded


def test_the_standard_model_has_no_separator_in_a_title() -> None:
    for category in standard_model():
        assert not set(category.title or "") & {";", ","}, category.id


def test_parsing_is_the_wrapped_codecs() -> None:
    body = (
        b'Category: compute; scheme="http://schemas.ogf.org/occi/infrastructure#"; class="kind"\n'
    )
    assert PLAIN.parse_entity(body).kind == COMPUTE
    assert PLAIN.parse_locations(f"X-OCCI-Location: {BASE}compute/1\n".encode()) == [
        f"{BASE}compute/1"
    ]


def test_variants_differ_from_the_plain_codec_and_each_other() -> None:
    variants = {TextPlainCodec().variant, PLAIN.variant, HEADERS.variant, FOR_ROCCI.variant}
    assert len(variants) == 4


def test_fold_fields_keeps_the_order_names_first_appear() -> None:
    fields = [("Category", "a"), ("Link", "l"), ("Category", "b")]
    assert fold_fields(fields) == (("Category", "a,b"), ("Link", "l"))


def test_uri_list_lines_end_in_lf_alone() -> None:
    body = occi11_uri_list(BASE).render_locations(["/compute/1", "/compute/2"]).body
    assert body == f"{BASE}compute/1\n{BASE}compute/2\n".encode()


@pytest.mark.parametrize("codec", [PLAIN, HEADERS])
def test_a_user_mixin_in_the_query_interface_renders(codec: Occi11TextCodec) -> None:
    mixin = Mixin(scheme="http://example.org/u#", term="my_tag", location="/mixin/u/my_tag/")
    rendering = codec.render_categories([mixin])
    assert b"my_tag" in rendering.body or "my_tag" in str(rendering.headers)
