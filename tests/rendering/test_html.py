"""The HTML view's pages (pyocci.rendering.html): what they show, and that everything a
client wrote is escaped."""

from __future__ import annotations

import base64
import hashlib
import re

import pytest

from pyocci.model.attribute import AttributeDefinition, AttributeType
from pyocci.model.category import Mixin
from pyocci.model.entity import Link, Resource
from pyocci.model.infrastructure import COMPUTE, NETWORKINTERFACE, STORAGE
from pyocci.model.registry import OS_TPL_ID, RESOURCE_TPL_ID
from pyocci.model.standard import standard_model
from pyocci.rendering.html import (
    Frame,
    ListingFilters,
    Paging,
    action_form,
    attribute_field,
    creatable_kind,
    creation_fields,
    entity_row,
    render_create,
    render_delete,
    render_entity,
    render_error,
    render_listing,
    render_query_interface,
    template_pickers,
)
from pyocci.rendering.html.environment import STYLE, STYLE_HASH, href, show

FRAME = Frame(
    csrf_token="tok<en>",
    tenant='physics"<b>',
    collections=[COMPUTE, STORAGE],
    path="/compute/",
    server="pyocci test",
)
EVIL = "<script>alert(1)</script>\"'&"
STOP = "http://schemas.ogf.org/occi/infrastructure/compute/action#stop"


def model_with_templates():
    model = standard_model()
    for mixin in (
        Mixin(scheme="http://example.org/os#", term="debian", title="Debian", depends=(OS_TPL_ID,)),
        Mixin(
            scheme="http://example.org/size#",
            term="small",
            title="Small",
            depends=(RESOURCE_TPL_ID,),
            attributes={
                "occi.compute.cores": AttributeDefinition(
                    name="occi.compute.cores", type=AttributeType.INTEGER, default=1
                )
            },
        ),
    ):
        model.add(mixin)
    return model


def evil_compute() -> Resource:
    link = Link(
        kind=NETWORKINTERFACE.id,
        location="/networkinterface/n1",
        attributes={
            "occi.core.id": "n1",
            "occi.core.source": "/compute/c1",
            "occi.core.target": "javascript:alert(1)",
        },
    )
    return Resource(
        kind=COMPUTE.id,
        location="/compute/c1",
        attributes={
            "occi.core.id": "c1",
            "occi.core.title": EVIL,
            "occi.core.summary": EVIL,
            "occi.compute.hostname": EVIL,
            "occi.compute.state": "active",
        },
        links=[link],
        actions=[STOP],
    )


def test_every_value_a_client_wrote_is_escaped() -> None:
    model = standard_model()
    entity = evil_compute()
    page = render_entity(FRAME, model, entity, [action_form(model.action(STOP))], []).decode()
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&#34;&#39;&amp;" in page
    assert 'value="tok&lt;en&gt;"' in page
    assert "physics&#34;&lt;b&gt;" in page
    # A link target that is no path or http(s) URL is shown, never linked.
    assert 'href="javascript' not in page
    assert "javascript:alert(1)" in page
    listing = render_listing(
        FRAME, COMPUTE, [entity_row(model, entity)], Paging(1, 20, 1, (20,)), ListingFilters(), True
    ).decode()
    assert "<script>alert" not in listing and "&lt;script&gt;" in listing
    delete = render_delete(FRAME, entity).decode()
    assert "<script>alert" not in delete
    error = render_error(None, 400, "Bad Request", EVIL, "/compute/").decode()
    assert "<script>alert" not in error


def test_the_stylesheet_is_the_one_the_policy_allows() -> None:
    page = render_error(None, 404, "Not Found", "gone", "/").decode()
    inline = re.search(r"<style>(.*?)</style>", page, re.DOTALL)
    assert inline is not None and inline.group(1) == STYLE
    digest = base64.b64encode(hashlib.sha256(inline.group(1).encode()).digest()).decode()
    assert f"'sha256-{digest}'" == STYLE_HASH
    assert "<script" not in page


@pytest.mark.parametrize(
    ("location", "linked"),
    [
        ("/compute/c1", "/compute/c1"),
        ("https://example.org/x", "https://example.org/x"),
        ("//evil.example/x", None),
        ("javascript:alert(1)", None),
        ("JaVaScRiPt:alert(1)", None),
        ("data:text/html,x", None),
        (None, None),
        (42, None),
    ],
)
def test_only_paths_and_http_urls_are_linked(location: object, linked: str | None) -> None:
    assert href(location) == linked


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (True, "true"),
        (None, ""),
        ([1, "a"], '[1, "a"]'),
        ({"b": 1, "a": 2}, '{"a": 2, "b": 1}'),
        (1.5, "1.5"),
        ("é", "é"),
    ],
)
def test_values_are_shown_as_json_spells_them(value: object, shown: str) -> None:
    assert show(value) == shown


def test_an_entity_page_offers_its_actions_links_and_delete() -> None:
    model = standard_model()
    page = render_entity(FRAME, model, evil_compute(), [action_form(model.action(STOP))], [])
    text = page.decode()
    assert f'name="action" value="{STOP}"' in text
    assert 'name="attribute:method"' in text
    # The server's default is what the form sends unless a person chooses otherwise.
    assert '<option value="" selected>(default: poweroff)</option>' in text
    assert '<option value="graceful">graceful</option>' in text
    assert 'href="/compute/c1?form=delete"' in text
    assert 'name="operation" value="unlink"' in text
    assert 'id="state">active<' in text


def test_the_query_interface_groups_categories() -> None:
    model = model_with_templates()
    page = render_query_interface(FRAME, model, list(model), filtered=False).decode()
    os_section = page.split('id="os-templates"', 1)[1].split("</section>", 1)[0]
    assert "http://example.org/os#debian" in os_section
    sizes = page.split('id="resource-templates"', 1)[1].split("</section>", 1)[0]
    assert "<code>occi.compute.cores</code> = 1" in sizes
    kinds = page.split('id="kinds"', 1)[1].split('id="os-templates"', 1)[0]
    assert "http://schemas.ogf.org/occi/infrastructure#compute" in kinds
    assert "http://example.org/os#debian" not in kinds


def test_a_create_form_picks_templates_and_fills_attributes() -> None:
    model = model_with_templates()
    pickers = template_pickers(model, COMPUTE)
    assert [p.parent.term for p in pickers] == ["os_tpl", "resource_tpl"]
    assert [c.label for c in pickers[1].choices] == ["Small (cores 1)"]
    assert template_pickers(model, STORAGE) == []
    fields = {f.name for f in creation_fields(model, COMPUTE)}
    assert "attribute:occi.compute.cores" in fields
    assert not fields & {"attribute:occi.core.id", "attribute:occi.compute.state"}
    page = render_create(FRAME, COMPUTE, pickers, creation_fields(model, COMPUTE)).decode()
    assert 'action="/compute/"' in page and 'name="mixin"' in page
    storage = render_create(FRAME, STORAGE, [], creation_fields(model, STORAGE)).decode()
    assert re.search(r'name="attribute:occi.storage.size"[^>]* required', storage)


def test_resources_are_creatable_links_are_not() -> None:
    model = standard_model()
    assert creatable_kind(model, COMPUTE)
    assert not creatable_kind(model, NETWORKINTERFACE)
    assert not creatable_kind(model, model.kind("http://schemas.ogf.org/occi/core#resource"))


def test_attribute_inputs_follow_the_types() -> None:
    def field(kind: AttributeType, **more: object):
        return attribute_field(AttributeDefinition(name="x.y.z", type=kind, **more))

    assert field(AttributeType.INTEGER).step == "1"
    assert field(AttributeType.NUMBER, default=2.5).placeholder == "2.5"
    assert field(AttributeType.BOOLEAN).input == "checkbox"
    enum = field(AttributeType.ENUM, enum=("a", "b"), default="a")
    assert [c.value for c in enum.choices] == ["", "a", "b"]
    assert enum.choices[0].label == "(default: a)"
    required = field(AttributeType.ENUM, enum=("a",), required=True)
    assert [c.value for c in required.choices] == ["a"] and required.required
    assert field(AttributeType.STRING, required=True).label == "z"
