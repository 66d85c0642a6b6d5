"""The text renderings (GFD.229): text/plain and text/occi, parse and render.

Every structure (Category, Link, X-OCCI-Attribute, X-OCCI-Location), every
tolerance the renderings promise, render -> parse round trips, and the
errors: a parser raises ParseError (saying what and where) for bad input and
nothing else.
"""

from __future__ import annotations

import email.message
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyocci.model import (
    Action,
    ActionInvocation,
    AttributeDefinition,
    Kind,
    Link,
    Mixin,
    Resource,
    standard_model,
)
from pyocci.rendering.errors import ParseError, UnsupportedDocumentError
from pyocci.rendering.text import (
    TextOcciCodec,
    TextPlainCodec,
    parse_header_attributes,
    parse_header_categories,
)

PLAIN = TextPlainCodec()
OCCI = TextOcciCodec()
CODECS = [PLAIN, OCCI]

CORE = "http://schemas.ogf.org/occi/core#"
INFRA = "http://schemas.ogf.org/occi/infrastructure#"
COMPUTE = INFRA + "compute"
NETWORK = INFRA + "network"
STORAGE = INFRA + "storage"
NETWORKINTERFACE = INFRA + "networkinterface"
IPNETWORKINTERFACE = (
    "http://schemas.ogf.org/occi/infrastructure/networkinterface#ipnetworkinterface"
)
COMPUTE_ACTION = "http://schemas.ogf.org/occi/infrastructure/compute/action#"
OS_TPL = INFRA + "os_tpl"
UBUNTU = "http://example.org/occi/os_tpl#ubuntu"

COMPUTE_CATEGORY = f'Category: compute; scheme="{INFRA}"; class="kind"'


def body(*lines: str) -> bytes:
    return "".join(line + "\r\n" for line in lines).encode()


def as_headers(*lines: str) -> list[tuple[str, str]]:
    pairs = []
    for line in lines:
        name, _, value = line.partition(":")
        pairs.append((name, value.strip()))
    return pairs


def parse(codec, method: str, *lines: str, **kwargs):
    """Parse the same document in either codec: body lines or header pairs."""
    if codec is PLAIN:
        return getattr(codec, method)(body(*lines), **kwargs)
    return getattr(codec, method)(b"OK", as_headers(*lines), **kwargs)


def reparse(codec, method: str, rendering, **kwargs):
    return getattr(codec, method)(rendering.body, rendering.headers, **kwargs)


def sample_compute() -> Resource:
    location = "/compute/42"
    return Resource(
        kind=COMPUTE,
        mixins=[UBUNTU],
        location=location,
        actions=[COMPUTE_ACTION + "stop", COMPUTE_ACTION + "restart"],
        attributes={
            "occi.core.id": "42",
            "occi.core.title": 'my "quoted" vm \\ backslash',
            "occi.compute.cores": 2,
            "occi.compute.memory": 2.0,
            "occi.compute.state": "active",
            "eu.egi.fedcloud.flag": False,
            "occi.core.summary": None,  # not rendered
        },
        links=[
            Link(
                kind=NETWORKINTERFACE,
                mixins=[IPNETWORKINTERFACE],
                location="/networkinterface/42_0",
                attributes={
                    "occi.core.id": "42_0",
                    "occi.core.source": location,
                    "occi.core.target": "/network/public",
                    "occi.core.target.kind": NETWORK,
                    "occi.networkinterface.interface": "eth0",
                    "occi.networkinterface.address": "10.0.0.42",
                },
            )
        ],
    )


def without_none(entity):
    entity.attributes = {k: v for k, v in entity.attributes.items() if v is not None}
    entity.location = None  # the top entity's own location is not carried by text
    return entity


# --- Categories ---------------------------------------------------------------------------


class TestCategoryRendering:
    def test_a_kind_in_full(self):
        kind = Kind(
            scheme=INFRA,
            term="compute",
            title="Compute Resource",
            parent=CORE + "resource",
            location="/compute/",
            attributes={
                "occi.compute.cores": AttributeDefinition(name="occi.compute.cores"),
                "occi.compute.state": AttributeDefinition(name="occi.compute.state", mutable=False),
                "occi.core.id": AttributeDefinition(
                    name="occi.core.id", mutable=False, required=True
                ),
                "occi.x.y": AttributeDefinition(name="occi.x.y", required=True),
            },
            actions=(COMPUTE_ACTION + "start", COMPUTE_ACTION + "stop"),
        )
        rendering = PLAIN.render_categories([kind])
        assert rendering.content_type == "text/plain"
        assert (
            rendering.body
            == (
                f'Category: compute; scheme="{INFRA}"; class="kind"; title="Compute Resource"; '
                f'rel="{CORE}resource"; location="/compute/"; attributes="occi.compute.cores '
                "occi.compute.state{immutable} occi.core.id{immutable required} "
                'occi.x.y{required}"; '
                f'actions="{COMPUTE_ACTION}start {COMPUTE_ACTION}stop"\r\n'
            ).encode()
        )

    def test_a_mixin_rel_is_its_depends_list(self):
        mixin = Mixin(
            scheme="http://example.org/tpl#",
            term="big",
            depends=(INFRA + "resource_tpl", "http://example.org/x#y"),
            applies=(COMPUTE,),
            location="/mixin/big/",
        )
        line = PLAIN.render_categories([mixin]).body.decode()
        assert f'rel="{INFRA}resource_tpl http://example.org/x#y"' in line
        assert COMPUTE not in line  # applies has no text form

    def test_an_action_with_parameters(self):
        action = Action(
            scheme=COMPUTE_ACTION,
            term="stop",
            title="Stop",
            attributes={"method": AttributeDefinition(name="method")},
        )
        assert (
            PLAIN.render_categories([action]).body
            == (
                f'Category: stop; scheme="{COMPUTE_ACTION}"; class="action"; title="Stop"; '
                'attributes="method"\r\n'
            ).encode()
        )

    def test_text_occi_puts_one_header_per_category_and_ok_in_the_body(self):
        categories = [
            Kind(scheme=INFRA, term="compute"),
            Mixin(scheme=INFRA, term="os_tpl", location="/mixin/os_tpl/"),
        ]
        rendering = OCCI.render_categories(categories)
        assert rendering.content_type == "text/occi"
        assert rendering.body == b"OK"
        assert [name for name, _ in rendering.headers] == ["Category", "Category"]
        assert rendering.headers[1][1] == (
            f'os_tpl; scheme="{INFRA}"; class="mixin"; location="/mixin/os_tpl/"'
        )

    def test_a_title_with_a_line_break_cannot_be_written(self):
        with pytest.raises(UnsupportedDocumentError, match="line break"):
            PLAIN.render_categories([Kind(scheme=INFRA, term="x", title="a\nb")])


class TestCategoryParsing:
    @pytest.mark.parametrize("codec", CODECS, ids=["plain", "occi"])
    def test_a_full_kind(self, codec):
        [kind] = parse(
            codec,
            "parse_categories",
            f'Category: compute; scheme="{INFRA}"; class="kind"; title="Compute Resource"; '
            f'rel="{CORE}resource"; location="/compute/"; '
            'attributes="occi.compute.cores occi.compute.state{immutable} '
            'occi.core.id{immutable required} occi.x{required} occi.y{required immutable}"; '
            f'actions="{COMPUTE_ACTION}start {COMPUTE_ACTION}stop"',
        )
        assert kind == Kind(
            scheme=INFRA,
            term="compute",
            title="Compute Resource",
            parent=CORE + "resource",
            location="/compute/",
            attributes={
                "occi.compute.cores": AttributeDefinition(name="occi.compute.cores"),
                "occi.compute.state": AttributeDefinition(name="occi.compute.state", mutable=False),
                "occi.core.id": AttributeDefinition(
                    name="occi.core.id", mutable=False, required=True
                ),
                "occi.x": AttributeDefinition(name="occi.x", required=True),
                "occi.y": AttributeDefinition(name="occi.y", mutable=False, required=True),
            },
            actions=(COMPUTE_ACTION + "start", COMPUTE_ACTION + "stop"),
        )

    def test_no_property_means_mutable_and_optional(self):
        [kind] = parse(
            PLAIN,
            "parse_categories",
            f'Category: c; scheme="{INFRA}"; class="kind"; attributes="a.b"',
        )
        definition = kind.attributes["a.b"]
        assert definition.mutable is True
        assert definition.required is False

    def test_class_may_be_unquoted(self):
        [mixin] = parse(
            PLAIN, "parse_categories", f'Category: os_tpl; scheme="{INFRA}"; class=mixin'
        )
        assert isinstance(mixin, Mixin)
        assert mixin.id == OS_TPL

    def test_a_mixin_rel_list_becomes_depends(self):
        # rOCCI sends depends and applies together in rel.
        [mixin] = parse(
            PLAIN,
            "parse_categories",
            'Category: ubuntu; scheme="http://example.org/occi/os_tpl#"; class="mixin"; '
            f'rel="{OS_TPL} {COMPUTE}"; location="/mixin/os_tpl/ubuntu/"',
        )
        assert mixin.depends == (OS_TPL, COMPUTE)
        assert mixin.applies == ()
        assert mixin.location == "/mixin/os_tpl/ubuntu/"

    def test_a_kind_rel_is_its_parent(self):
        [kind] = parse(
            PLAIN,
            "parse_categories",
            f'Category: c; scheme="{INFRA}"; class="kind"; rel="{CORE}link"',
        )
        assert kind.parent == CORE + "link"

    def test_an_action(self):
        [action] = parse(
            PLAIN,
            "parse_categories",
            f'Category: stop; scheme="{COMPUTE_ACTION}"; class="action"; attributes="method"',
        )
        assert action == Action(
            scheme=COMPUTE_ACTION,
            term="stop",
            attributes={"method": AttributeDefinition(name="method")},
        )

    def test_terms_may_start_with_a_digit(self):
        [mixin] = parse(
            PLAIN,
            "parse_categories",
            'Category: 1; scheme="http://schemas.openstack.org/template/resource#"; class="mixin"',
        )
        assert mixin.term == "1"

    def test_escaped_quotes_and_separators_inside_a_title(self):
        [kind] = parse(
            PLAIN,
            "parse_categories",
            'Category: a; scheme="http://a.a/a#"; class="kind"; title="x\\"y;z,w<>=\\\\q\\n"',
        )
        assert kind.title == 'x"y;z,w<>=\\qn'

    def test_other_fields_are_ignored_in_a_category_collection(self):
        categories = parse(
            PLAIN,
            "parse_categories",
            COMPUTE_CATEGORY,
            'X-OCCI-Attribute: a.b="c"',
            "X-OCCI-Location: /x",
        )
        assert [c.id for c in categories] == [COMPUTE]

    @pytest.mark.parametrize(
        ("line", "message"),
        [
            ('Category: compute; class="kind"', "no scheme"),
            (f'Category: compute; scheme="{INFRA}"', "no class"),
            (f'Category: compute; scheme="{INFRA}"; class="myClass"', "kind, mixin or action"),
            (f'Category: compute; scheme="{INFRA}; class="kind"', "unterminated quoted string"),
            (f'Category: compute; scheme="{INFRA}"; class="kind"; title="x', "unterminated"),
            (
                f'Category: e; scheme="{CORE}"; class="kind"; '
                'attributes="a{immutable} test{asdasd}"',
                "unknown attribute property 'asdasd'",
            ),
            (f'Category: e; scheme="{CORE}"; class="kind"; attributes="a{{immutable"', "attribute"),
            (f'Category: ; scheme="{CORE}"; class="kind"', "starts with the term"),
            (f'Category: -bad; scheme="{CORE}"; class="kind"', "not a valid category term"),
            (f'Category: e; scheme="{CORE}"; scheme="{CORE}"; class="kind"', "scheme twice"),
            (f'Category: e; scheme="{CORE}"; class="kind"; title', "has no value"),
            (f'Category: e; scheme="{CORE}"; class="kind" junk', "has no value"),
            (f'Category: e; scheme="{CORE}"; class="kind"\\nCategory: x', "unexpected"),
        ],
    )
    def test_malformed_categories(self, line, message):
        with pytest.raises(ParseError) as caught:
            parse(PLAIN, "parse_categories", COMPUTE_CATEGORY, line)
        assert message in caught.value.reason
        assert caught.value.where == "line 2"
        assert caught.value.media_type == "text/plain"

    def test_a_category_named_twice_is_an_error(self):
        with pytest.raises(ParseError, match="appears twice") as caught:
            parse(PLAIN, "parse_categories", COMPUTE_CATEGORY, COMPUTE_CATEGORY + '; title="x"')
        assert caught.value.where == "line 2"

    def test_same_term_in_another_scheme_is_another_category(self):
        categories = parse(
            PLAIN,
            "parse_categories",
            COMPUTE_CATEGORY,
            'Category: compute; scheme="http://opennebula.org/occi/infrastructure#"; class="mixin"',
        )
        assert len(categories) == 2

    def test_text_occi_reports_the_header(self):
        with pytest.raises(ParseError) as caught:
            OCCI.parse_categories(
                b"OK",
                [("Host", "x"), ("Category", COMPUTE_CATEGORY[10:]), ("Category", "bad; x=1")],
            )
        assert caught.value.where == "header Category #2"
        assert caught.value.media_type == "text/occi"


# --- Entities -----------------------------------------------------------------------------


class TestEntityRendering:
    def test_order_and_form_of_every_line(self):
        lines = PLAIN.render_entity(sample_compute()).body.decode().split("\r\n")
        assert lines == [
            COMPUTE_CATEGORY,
            'Category: ubuntu; scheme="http://example.org/occi/os_tpl#"; class="mixin"',
            f'Link: </network/public>; rel="{NETWORK}"; self="/networkinterface/42_0"; '
            f'category="{NETWORKINTERFACE} {IPNETWORKINTERFACE}"; occi.core.id="42_0"; '
            'occi.core.source="/compute/42"; occi.networkinterface.interface="eth0"; '
            'occi.networkinterface.address="10.0.0.42"',
            f'Link: </compute/42?action=stop>; rel="{COMPUTE_ACTION}stop"',
            f'Link: </compute/42?action=restart>; rel="{COMPUTE_ACTION}restart"',
            'X-OCCI-Attribute: occi.core.id="42"',
            'X-OCCI-Attribute: occi.core.title="my \\"quoted\\" vm \\\\ backslash"',
            "X-OCCI-Attribute: occi.compute.cores=2",
            "X-OCCI-Attribute: occi.compute.memory=2.0",
            'X-OCCI-Attribute: occi.compute.state="active"',
            "X-OCCI-Attribute: eu.egi.fedcloud.flag=false",
            "",
        ]

    def test_text_occi_uses_the_same_values_as_headers(self):
        plain = PLAIN.render_entity(sample_compute()).body.decode().split("\r\n")[:-1]
        rendering = OCCI.render_entity(sample_compute())
        assert rendering.body == b"OK"
        assert [f"{name}: {value}" for name, value in rendering.headers] == plain

    def test_an_action_link_without_an_entity_location(self):
        entity = Resource(kind=COMPUTE, actions=[COMPUTE_ACTION + "start"])
        assert f'Link: <?action=start>; rel="{COMPUTE_ACTION}start"' in (
            PLAIN.render_entity(entity).body.decode()
        )

    def test_a_partial_update_renders_without_a_kind(self):
        entity = Resource(kind=None, mixins=[UBUNTU], attributes={"occi.core.title": "x"})
        assert PLAIN.render_entity(entity).body == body(
            'Category: ubuntu; scheme="http://example.org/occi/os_tpl#"; class="mixin"',
            'X-OCCI-Attribute: occi.core.title="x"',
        )

    def test_an_inline_link_without_target_kind_has_no_rel(self):
        link = Link(kind=NETWORKINTERFACE, attributes={"occi.core.target": "/network/1"})
        text = PLAIN.render_entity(Resource(kind=COMPUTE, links=[link])).body.decode()
        assert f'Link: </network/1>; category="{NETWORKINTERFACE}"' in text

    def test_a_link_at_its_own_url_renders_like_a_resource(self):
        link = Link(
            kind=NETWORKINTERFACE,
            mixins=[IPNETWORKINTERFACE],
            location="/networkinterface/1",
            attributes={
                "occi.core.id": "1",
                "occi.core.source": "/compute/1",
                "occi.core.source.kind": COMPUTE,
                "occi.core.target": "/network/1",
                "occi.core.target.kind": NETWORK,
            },
        )
        assert PLAIN.render_entity(link).body == body(
            f'Category: networkinterface; scheme="{INFRA}"; class="kind"',
            'Category: ipnetworkinterface; scheme="http://schemas.ogf.org/occi/infrastructure/'
            'networkinterface#"; class="mixin"',
            'X-OCCI-Attribute: occi.core.id="1"',
            'X-OCCI-Attribute: occi.core.source="/compute/1"',
            f'X-OCCI-Attribute: occi.core.source.kind="{COMPUTE}"',
            'X-OCCI-Attribute: occi.core.target="/network/1"',
            f'X-OCCI-Attribute: occi.core.target.kind="{NETWORK}"',
        )

    @pytest.mark.parametrize("bad", ["a\nb", "a\rb", "a\x00b", "tab\tis fine"])
    def test_strings_with_line_breaks_or_controls_cannot_be_written(self, bad):
        entity = Resource(kind=COMPUTE, attributes={"occi.core.title": bad})
        if "\t" in bad:
            assert PLAIN.parse_entity(PLAIN.render_entity(entity).body).title == bad
            return
        for codec in CODECS:
            with pytest.raises(UnsupportedDocumentError) as caught:
                codec.render_entity(entity)
            assert "occi.core.title" in str(caught.value)
            assert caught.value.media_type == codec.media_type

    def test_non_finite_numbers_cannot_be_written(self):
        entity = Resource(kind=COMPUTE, attributes={"occi.compute.memory": math.inf})
        with pytest.raises(UnsupportedDocumentError, match="the number infinity"):
            PLAIN.render_entity(entity)

    def test_a_kind_identifier_without_hash_cannot_be_written(self):
        with pytest.raises(UnsupportedDocumentError, match="no '#'"):
            PLAIN.render_entity(Resource(kind="urn:compute"))


class TestEntityParsing:
    @pytest.mark.parametrize("codec", CODECS, ids=["plain", "occi"])
    def test_round_trip(self, codec):
        entity = sample_compute()
        parsed = reparse(codec, "parse_entity", codec.render_entity(entity))
        assert isinstance(parsed, Resource)
        assert parsed == without_none(sample_compute())

    def test_an_inline_link_becomes_a_link(self):
        resource = parse(
            PLAIN,
            "parse_entity",
            COMPUTE_CATEGORY,
            f'Link: </network/1>; rel="{NETWORK} {CORE}resource"; self="/ni/1"; '
            f'category="{NETWORKINTERFACE} {IPNETWORKINTERFACE}"; '
            'occi.networkinterface.interface="eth0"; occi.x.count=3; occi.x.flag=true; '
            "occi.x.token=static",
        )
        [link] = resource.links
        assert link == Link(
            kind=NETWORKINTERFACE,
            mixins=[IPNETWORKINTERFACE],
            location="/ni/1",
            attributes={
                "occi.networkinterface.interface": "eth0",
                "occi.x.count": 3,
                "occi.x.flag": True,
                # GFD.229 allows a bare token as a link attribute value.
                "occi.x.token": "static",
                "occi.core.target": "/network/1",
                "occi.core.target.kind": NETWORK,
            },
        )

    def test_an_inline_link_without_category_is_a_core_link(self):
        resource = parse(PLAIN, "parse_entity", 'Link: <http://x/r1>; rel="/rel"; self="mylink1"')
        [link] = resource.links
        assert link.kind == CORE + "link"
        assert link.mixins == []
        assert link.target == "http://x/r1"
        assert link.target_kind == "/rel"
        assert link.location == "mylink1"

    def test_explicit_link_attributes_win_over_the_uri_and_rel(self):
        resource = parse(
            PLAIN,
            "parse_entity",
            f'Link: <http://cloud/network/1>; rel="{NETWORK}"; occi.core.target="/network/1"',
        )
        assert resource.links[0].target == "/network/1"

    def test_action_links_become_actions(self):
        resource = parse(
            PLAIN,
            "parse_entity",
            COMPUTE_CATEGORY,
            f'Link: </compute/1?action=stop>; rel="{COMPUTE_ACTION}stop"',
            f'Link: <http://h/compute/1?action=start>;rel="{COMPUTE_ACTION}start";',
            f'Link: </compute/1?action=x> ; rel="{COMPUTE_ACTION}suspend" ; title="Suspend"',
        )
        assert resource.actions == [
            COMPUTE_ACTION + "stop",
            COMPUTE_ACTION + "start",
            COMPUTE_ACTION + "suspend",
        ]
        assert resource.links == []

    def test_a_document_without_a_kind_is_a_partial_update(self):
        entity = parse(
            PLAIN,
            "parse_entity",
            'Category: ubuntu; scheme="http://example.org/occi/os_tpl#"; class="mixin"',
            'X-OCCI-Attribute: occi.core.title="renamed"',
        )
        assert isinstance(entity, Resource)
        assert entity.kind is None
        assert entity.mixins == [UBUNTU]
        assert entity.title == "renamed"

    def test_without_a_model_source_or_target_makes_a_link(self):
        for attribute in ("occi.core.source", "occi.core.target"):
            entity = parse(
                PLAIN,
                "parse_entity",
                f'Category: networkinterface; scheme="{INFRA}"; class="kind"',
                f'X-OCCI-Attribute: {attribute}="/x/1"',
            )
            assert isinstance(entity, Link)

    def test_with_a_model_the_kind_decides_and_values_are_coerced(self):
        model = standard_model()
        entity = parse(
            PLAIN,
            "parse_entity",
            f'Category: networkinterface; scheme="{INFRA}"; class="kind"',
            'X-OCCI-Attribute: occi.core.id="1", occi.networkinterface.interface="eth0"',
            model=model,
        )
        assert isinstance(entity, Link)  # no source or target, but a link kind
        storage = parse(
            PLAIN,
            "parse_entity",
            f'Category: compute; scheme="{INFRA}"; class="kind"',
            'X-OCCI-Attribute: occi.compute.cores="4", occi.compute.memory="2"',
            model=model,
        )
        assert isinstance(storage, Resource)
        assert storage.attributes["occi.compute.cores"] == 4
        assert storage.attributes["occi.compute.memory"] == 2.0

    def test_with_a_model_quoted_booleans_become_booleans(self):
        # OOI quotes booleans; the model knows the type.
        model = standard_model()
        boolean = next(
            (category, name)
            for category in model
            for name, definition in category.attributes.items()
            if definition.type.value == "boolean"
        )
        category, name = boolean
        entity = parse(
            PLAIN,
            "parse_entity",
            f'Category: {category.term}; scheme="{category.scheme}"; '
            f'class="{category.category_class}"',
            f'X-OCCI-Attribute: {name}="true"',
            model=model,
        )
        assert entity.attributes[name] is True

    def test_with_a_model_lists_come_back_from_json_strings(self):
        model = standard_model()
        rules = [{"protocol": "tcp", "range": "22"}]
        entity = Resource(
            kind=INFRA + "securitygroup", attributes={"occi.securitygroup.rules": rules}
        )
        rendering = PLAIN.render_entity(entity)
        assert b'occi.securitygroup.rules="[{\\"protocol\\":\\"tcp\\"' in rendering.body
        assert PLAIN.parse_entity(rendering.body).attributes["occi.securitygroup.rules"] == (
            '[{"protocol":"tcp","range":"22"}]'
        )
        parsed = PLAIN.parse_entity(rendering.body, model=model)
        assert parsed.attributes["occi.securitygroup.rules"] == rules

    def test_with_a_model_deeply_nested_json_is_left_alone(self):
        deep = "[" * 50_000
        entity = PLAIN.parse_entity(
            body(
                f'Category: securitygroup; scheme="{INFRA}"; class="kind"',
                f'X-OCCI-Attribute: occi.securitygroup.rules="{deep}"',
            ),
            model=standard_model(),
        )
        assert entity.attributes["occi.securitygroup.rules"] == deep

    def test_a_link_round_trips_as_a_link(self):
        link = Link(
            kind=NETWORKINTERFACE,
            attributes={
                "occi.core.id": "9",
                "occi.core.source": "/compute/1",
                "occi.core.target": "/network/1",
            },
        )
        for codec in CODECS:
            parsed = reparse(codec, "parse_entity", codec.render_entity(link))
            assert isinstance(parsed, Link)
            assert parsed == link

    @pytest.mark.parametrize(
        ("lines", "message", "where"),
        [
            (
                [COMPUTE_CATEGORY, f'Category: storage; scheme="{INFRA}"; class="kind"'],
                "exactly one kind",
                "line 2",
            ),
            (
                [COMPUTE_CATEGORY, f'Category: stop; scheme="{COMPUTE_ACTION}"; class="action"'],
                "action invocation",
                "line 2",
            ),
            (
                [COMPUTE_CATEGORY, "X-OCCI-Attribute: a.b=1", "X-OCCI-Attribute: a.b=2"],
                "a.b is given twice",
                "line 3",
            ),
            ([COMPUTE_CATEGORY, 'Link: /network/1; rel="x#y"'], "starts with <URI>", "line 2"),
            ([COMPUTE_CATEGORY, 'Link: <>; rel="x#y"'], "target URI", "line 2"),
            ([COMPUTE_CATEGORY, "Link: </c/1?action=stop>"], "has no rel", "line 2"),
            ([COMPUTE_CATEGORY, 'Link: </c/1?action=stop>; rel="  "'], "has no rel", "line 2"),
            ([COMPUTE_CATEGORY, 'Link: </n/1>; rel="x#y"; a.b="1"; a.b="2"'], "twice", "line 2"),
            ([COMPUTE_CATEGORY, 'Link: </n/1>; rel="x#y; self="/l"'], "unterminated", "line 2"),
            (
                [
                    f'Category: networkinterface; scheme="{INFRA}"; class="kind"',
                    'X-OCCI-Attribute: occi.core.source="/c/1"',
                    'Link: </n/1>; rel="x#y"',
                ],
                "cannot carry inline links",
                None,
            ),
        ],
    )
    def test_malformed_entities(self, lines, message, where):
        with pytest.raises(ParseError) as caught:
            parse(PLAIN, "parse_entity", *lines)
        assert message in caught.value.reason
        assert caught.value.where == where

    def test_duplicate_mixins_are_kept_once(self):
        mixin = 'Category: ubuntu; scheme="http://example.org/occi/os_tpl#"; class="mixin"'
        entity = parse(PLAIN, "parse_entity", COMPUTE_CATEGORY, mixin, mixin)
        assert entity.mixins == [UBUNTU]


# --- Attribute values ---------------------------------------------------------------------


def attribute_line(value) -> str:
    rendering = PLAIN.render_entity(Resource(kind=None, attributes={"a.b": value}))
    return rendering.body.decode().removeprefix("X-OCCI-Attribute: a.b=").removesuffix("\r\n")


def attribute_value(text: str):
    return PLAIN.parse_entity(f"X-OCCI-Attribute: a.b={text}".encode()).attributes["a.b"]


class TestValues:
    @pytest.mark.parametrize(
        ("value", "text"),
        [
            ("plain", '"plain"'),
            ('a "quote"', '"a \\"quote\\""'),
            ("back\\slash", '"back\\\\slash"'),
            ("", '""'),
            ("ünïcode, with; separators=<>", '"ünïcode, with; separators=<>"'),
            (2, "2"),
            (-7, "-7"),
            (2.0, "2.0"),
            (0.1, "0.1"),
            (1e-07, "0.0000001"),
            (1e22, "10000000000000000000000.0"),
            (-0.0, "-0.0"),
            (True, "true"),
            (False, "false"),
            ([1, "a"], '"[1,\\"a\\"]"'),
            ({"k": [1]}, '"{\\"k\\":[1]}"'),
        ],
    )
    def test_rendered_forms(self, value, text):
        assert attribute_line(value) == text

    @pytest.mark.parametrize(
        ("text", "value"),
        [
            ('"x"', "x"),
            ('"a\\"b"', 'a"b'),
            ('"a\\\\b"', "a\\b"),
            ('"\\a\\b\\c"', "abc"),  # any escaped character stands for itself
            ('"true"', "true"),  # quoted: a string (a model may coerce it)
            ('"2"', "2"),
            ("true", True),
            ("false", False),
            ("2", 2),
            ("-2", -2),
            ("+2", 2),
            ("2.5", 2.5),
            ("2.", 2.0),
            (".5", 0.5),
            ("-1.5e3", -1500.0),
            ("1E-2", 0.01),
            ("2.50000", 2.5),
        ],
    )
    def test_parsed_forms(self, text, value):
        parsed = attribute_value(text)
        assert parsed == value
        assert type(parsed) is type(value)

    @pytest.mark.parametrize("text", ["static", "null", "1.2.3", "0x10", "1e999", "1" * 5000])
    def test_other_bare_values_are_errors(self, text):
        with pytest.raises(ParseError) as caught:
            attribute_value(text)
        assert caught.value.where == "line 1"
        assert "a.b" in caught.value.reason

    def test_the_error_for_a_bare_word_says_what_was_expected(self):
        with pytest.raises(
            ParseError, match=r'quoted string .*a\.b="static".*number, true or false'
        ):
            attribute_value("static")

    def test_none_values_are_not_rendered(self):
        entity = Resource(kind=None, attributes={"a.b": None, "c.d": 1})
        assert PLAIN.render_entity(entity).body == b"X-OCCI-Attribute: c.d=1\r\n"

    def test_an_unrenderable_type(self):
        with pytest.raises(UnsupportedDocumentError, match="a value no OCCI rendering carries"):
            attribute_line(object())

    @settings(max_examples=300)
    @given(
        value=st.one_of(
            st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs"))),
            st.integers(),
            st.floats(allow_nan=False, allow_infinity=False),
            st.booleans(),
        )
    )
    def test_scalars_round_trip_exactly(self, value):
        parsed = attribute_value(attribute_line(value))
        assert parsed == value
        assert type(parsed) is type(value)
        if isinstance(value, float):
            assert "e" not in attribute_line(value).lower()
            assert math.copysign(1.0, parsed) == math.copysign(1.0, value)


# --- Multiple values and tolerances -------------------------------------------------------


class TestTolerances:
    def test_comma_separated_values_in_every_structure(self):
        entity = parse(
            PLAIN,
            "parse_entity",
            f'Category: compute; scheme="{INFRA}"; class="kind", '
            'ubuntu; scheme="http://example.org/occi/os_tpl#"; class="mixin"',
            'X-OCCI-Attribute: occi.core.id="1", occi.core.summary="A super, virtual computer",'
            "occi.compute.cores=4 , occi.compute.speed=1.5",
            f'Link: </compute/1?action=stop>; rel="{COMPUTE_ACTION}stop", '
            f'</network/a,b>; rel="{NETWORK}"; self="/l/1"',
        )
        assert entity.kind == COMPUTE
        assert entity.mixins == [UBUNTU]
        assert entity.attributes == {
            "occi.core.id": "1",
            "occi.core.summary": "A super, virtual computer",
            "occi.compute.cores": 4,
            "occi.compute.speed": 1.5,
        }
        assert entity.actions == [COMPUTE_ACTION + "stop"]
        assert entity.links[0].target == "/network/a,b"  # a comma inside <...>

    def test_repeated_lines_and_comma_lists_mean_the_same(self):
        repeated = parse(
            PLAIN,
            "parse_entity",
            COMPUTE_CATEGORY,
            'X-OCCI-Attribute: occi.core.id="1"',
            "X-OCCI-Attribute: occi.compute.cores=2",
        )
        comma = parse(
            PLAIN,
            "parse_entity",
            COMPUTE_CATEGORY,
            'X-OCCI-Attribute: occi.core.id="1",occi.compute.cores=2',
        )
        assert repeated == comma

    def test_empty_list_elements_are_ignored(self):
        entity = parse(PLAIN, "parse_entity", "X-OCCI-Attribute: a.b=1,, c.d=2,")
        assert entity.attributes == {"a.b": 1, "c.d": 2}

    @pytest.mark.parametrize(
        "line",
        [
            f'Category: compute;scheme="{INFRA}";class="kind"',
            f'Category:compute ;  scheme = "{INFRA}" ;class= kind ;',
            f'Category: compute; scheme="{INFRA}"; class="kind";',
            f'Category: compute; scheme="{INFRA}"; class="kind";;',
            f'Category: compute; scheme="{INFRA}" class="kind"',  # the GFD.229 example
            f'category: compute; scheme="{INFRA}"; class="kind"',
            f'CATEGORY: compute; scheme="{INFRA}"; class="kind"',
            f'X-OCCI-Category: compute; scheme="{INFRA}"; class="kind"',
            f'  Category:   compute; scheme="{INFRA}"; class=KIND  ',
        ],
    )
    def test_spacing_semicolons_and_field_name_spelling(self, line):
        for codec in CODECS:
            entity = parse(codec, "parse_entity", line)
            assert entity.kind == COMPUTE

    def test_space_separated_link_attributes_from_rocci_4(self):
        resource = parse(
            PLAIN,
            "parse_entity",
            f'Link: </storage/1>;rel="{STORAGE}";self="/sl/1";category="{INFRA}storagelink";'
            'occi.core.id="b2" occi.core.title="monitoring" org.x.bus="ide"',
        )
        assert resource.links[0].attributes["org.x.bus"] == "ide"
        assert resource.links[0].title == "monitoring"

    @pytest.mark.parametrize("name", ["x-occi-attribute", "X-oCcI-AtTriBute", "X-OCCI-ATTRIBUTE"])
    def test_header_names_are_case_insensitive(self, name):
        for codec in CODECS:
            entity = parse(codec, "parse_entity", f'{name}: a.b="c";')
            assert entity.attributes == {"a.b": "c"}

    def test_aliases_link_and_location(self):
        entity = parse(
            PLAIN, "parse_entity", f'X-OCCI-Link: </c/1?action=stop>; rel="{COMPUTE_ACTION}stop"'
        )
        assert entity.actions == [COMPUTE_ACTION + "stop"]
        assert parse(OCCI, "parse_locations", "Location: /compute/1", "X-OCCI-Location: /c/2") == [
            "/compute/1",
            "/c/2",
        ]

    def test_lf_crlf_blank_lines_and_a_byte_order_mark(self):
        text = f"\ufeff\n\n{COMPUTE_CATEGORY}\nX-OCCI-Attribute: a.b=1\r\n\r\n  \n"
        entity = PLAIN.parse_entity(text.encode())
        assert entity.kind == COMPUTE
        assert entity.attributes == {"a.b": 1}

    @pytest.mark.parametrize(
        ("document", "message", "where"),
        [
            (
                b'Nocategory: entity; scheme="x#"; class="kind"',
                "unknown field 'Nocategory'",
                "line 1",
            ),
            (b'Category2: e; scheme="x#"; class="kind"', "unknown field", "line 1"),
            (b"\r\nTest\r\n", "expected 'Name: value'", "line 2"),
            (b"https://example.com/compute/1", "unknown field 'https'", "line 1"),
            (
                b"X-OCCI-Attribute: a.b=1\nX-OCCI-Attribute: occi.core.title",
                "has no value",
                "line 2",
            ),
            (b"X-OCCI-Attribute: a.b", "has no value", "line 1"),
            (b"X-OCCI-Attribute: a.b=", "has no value", "line 1"),
            (b'X-OCCI-Attribute: a.b="x', "unterminated", "line 1"),
            (b'X-OCCI-Attribute: a.b="x" c.d=1', "separate attributes", "line 1"),
            (b'X-OCCI-Attribute: a.b="x"y', "after the value", "line 1"),
            (b"X-OCCI-Attribute: =1", "expected name=value", "line 1"),
        ],
    )
    def test_text_plain_line_errors(self, document, message, where):
        for method in ("parse_entity", "parse_categories", "parse_action", "parse_locations"):
            if (
                method in ("parse_categories", "parse_locations")
                and b"X-OCCI-Attribute" in document
            ):
                continue  # attribute lines are not read for those documents
            with pytest.raises(ParseError) as caught:
                getattr(PLAIN, method)(document)
            assert message in caught.value.reason, method
            assert caught.value.where == where

    def test_text_occi_ignores_unrelated_headers(self):
        headers = [
            ("Host", "cloud.example.org"),
            ("Content-Type", "text/occi"),
            ("User-Agent", "rOCCI-cli/4.3 OCCI/1.1"),
            ("Accept", "text/occi; q=0.2, */*"),
            ("Category", COMPUTE_CATEGORY.removeprefix("Category: ")),
            ("X-Auth-Token", "secret; not=an, attribute"),
            ("X-OCCI-Attribute", 'occi.core.title="x"'),
        ]
        entity = OCCI.parse_entity(b"", headers)
        assert entity.kind == COMPUTE
        assert entity.attributes == {"occi.core.title": "x"}

    def test_text_occi_headers_as_a_mapping_a_message_or_bytes(self):
        expected = {"occi.core.title": "x"}
        assert OCCI.parse_entity(b"OK", {"X-OCCI-Attribute": 'occi.core.title="x"'}).attributes == (
            expected
        )
        message = email.message.Message()
        message["X-OCCI-Attribute"] = 'occi.core.title="x"'
        message["X-OCCI-Attribute"] = "occi.compute.cores=2"
        assert OCCI.parse_entity(b"OK", message).attributes == {**expected, "occi.compute.cores": 2}
        assert OCCI.parse_entity(
            b"OK", [(b"X-OCCI-Attribute", b'occi.core.title="x"')]
        ).attributes == (expected)
        with pytest.raises(ParseError, match="not UTF-8"):
            OCCI.parse_entity(b"OK", [("X-OCCI-Attribute", b"\xff")])


# --- Locations ----------------------------------------------------------------------------


class TestLocations:
    LOCATIONS = ["https://cloud.example.org/compute/1", "/compute/2", "compute/3", "/a?b=c#d"]

    def test_render(self):
        assert PLAIN.render_locations(self.LOCATIONS).body == body(
            *(f"X-OCCI-Location: {location}" for location in self.LOCATIONS)
        )
        rendering = OCCI.render_locations(self.LOCATIONS)
        assert rendering.body == b"OK"
        assert rendering.headers == tuple(("X-OCCI-Location", loc) for loc in self.LOCATIONS)

    @pytest.mark.parametrize("codec", CODECS, ids=["plain", "occi"])
    def test_round_trip(self, codec):
        assert reparse(codec, "parse_locations", codec.render_locations(self.LOCATIONS)) == (
            self.LOCATIONS
        )

    def test_relative_references_and_comma_lists(self):
        assert parse(PLAIN, "parse_locations", "x-occi-location: /resource0, /resource1,") == [
            "/resource0",
            "/resource1",
        ]

    def test_duplicates_are_kept(self):
        assert parse(PLAIN, "parse_locations", "X-OCCI-Location: /a", "Location: /a") == [
            "/a",
            "/a",
        ]

    @pytest.mark.parametrize("bad", ["/a b", "</a>", '/a"', "/a\x01", "/a{b}", "/a\\b"])
    def test_a_location_that_is_not_a_uri_reference(self, bad):
        with pytest.raises(ParseError, match="not a URI-reference") as caught:
            PLAIN.parse_locations(f"X-OCCI-Location: /ok\nX-OCCI-Location: {bad}".encode())
        assert caught.value.where == "line 2"

    def test_characters_a_uri_cannot_hold_are_percent_encoded_when_rendering(self):
        rendering = PLAIN.render_locations(["/compute/a b,c"])
        assert rendering.body == b"X-OCCI-Location: /compute/a%20b%2Cc\r\n"

    def test_listings(self):
        entities = [
            Resource(kind=COMPUTE, location="/compute/1"),
            Link(kind=NETWORKINTERFACE, location="/link/2"),
        ]
        assert b"".join(PLAIN.iter_collection(iter(entities))) == body(
            "X-OCCI-Location: /compute/1", "X-OCCI-Location: /link/2"
        )
        assert PLAIN.render_collection(entities).headers == ()
        rendering = OCCI.render_collection(entities)
        assert rendering.body == b"OK"
        assert rendering.headers == (
            ("X-OCCI-Location", "/compute/1"),
            ("X-OCCI-Location", "/link/2"),
        )
        assert PLAIN.render_collection([]).body == b""

    def test_a_large_listing_streams_in_chunks(self):
        entities = (Resource(kind=COMPUTE, location=f"/compute/{i}") for i in range(1000))
        chunks = list(PLAIN.iter_collection(entities))
        assert len(chunks) > 1
        assert PLAIN.parse_locations(b"".join(chunks))[-1] == "/compute/999"

    def test_a_listing_entry_needs_a_location(self):
        with pytest.raises(UnsupportedDocumentError):
            list(PLAIN.iter_collection([Resource(kind=COMPUTE)]))


# --- Action invocations -------------------------------------------------------------------


class TestActions:
    STOP = ActionInvocation(action=COMPUTE_ACTION + "stop", attributes={"method": "graceful"})

    def test_render(self):
        assert PLAIN.render_action(self.STOP).body == body(
            f'Category: stop; scheme="{COMPUTE_ACTION}"; class="action"',
            'X-OCCI-Attribute: method="graceful"',
        )

    @pytest.mark.parametrize("codec", CODECS, ids=["plain", "occi"])
    def test_round_trip(self, codec):
        assert reparse(codec, "parse_action", codec.render_action(self.STOP)) == self.STOP

    def test_with_a_model_parameters_are_coerced(self):
        model = standard_model()
        invocation = parse(
            PLAIN,
            "parse_action",
            f'Category: stop; scheme="{COMPUTE_ACTION}"; class=action',
            'X-OCCI-Attribute: method="graceful"',
            model=model,
        )
        assert invocation == self.STOP

    @pytest.mark.parametrize(
        ("lines", "message"),
        [
            (['X-OCCI-Attribute: method="graceful"'], "no action Category"),
            ([COMPUTE_CATEGORY], 'class="action"'),
            (
                [
                    f'Category: stop; scheme="{COMPUTE_ACTION}"; class="action"',
                    f'Category: start; scheme="{COMPUTE_ACTION}"; class="action"',
                ],
                "one action at a time",
            ),
            (
                [
                    f'Category: stop; scheme="{COMPUTE_ACTION}"; class="action"',
                    "X-OCCI-Attribute: method=1, method=2",
                ],
                "parameter method is given twice",
            ),
        ],
    )
    def test_malformed_invocations(self, lines, message):
        with pytest.raises(ParseError, match=message):
            parse(PLAIN, "parse_action", *lines)


# --- Errors: only ParseError, whatever the bytes ------------------------------------------


def every_parse(document: bytes) -> None:
    headers = []
    for line in document.decode("utf-8", "replace").split("\n"):
        name, _, value = line.partition(":")
        headers.append((name, value))
    model = standard_model()
    for codec, args in ((PLAIN, (document,)), (OCCI, (b"OK", headers))):
        for call in (
            lambda a=args, c=codec: c.parse_entity(*a),
            lambda a=args, c=codec: c.parse_entity(*a, model=model),
            lambda a=args, c=codec: c.parse_categories(*a),
            lambda a=args, c=codec: c.parse_action(*a, model=model),
            lambda a=args, c=codec: c.parse_locations(*a),
        ):
            try:
                call()
            except ParseError as error:
                assert error.media_type == codec.media_type
                assert error.reason


class TestOnlyParseErrors:
    def test_invalid_utf8(self):
        with pytest.raises(ParseError, match="not UTF-8") as caught:
            PLAIN.parse_entity(b'X-OCCI-Attribute: a.b="\xff"')
        assert caught.value.where == "byte 23"

    @pytest.mark.parametrize(
        "document",
        [
            b"",
            b"\x00\x01\x02",
            b"Category:",
            b"Category: ;;;;",
            b'Category: a; scheme="x#"; class="kind"; attributes="{}"',
            b"Link: <",
            b"Link: <a",
            b'Link: <a>; rel="',
            b'Link: <a?action=b>; rel=""',
            b'Link: <a>; category="   "; rel="   "',
            b"X-OCCI-Attribute: a=" + b"9" * 10_000,
            b"X-OCCI-Location: ,,,",
            b'Category: a; scheme="' + b'\\"' * 5000,
            b"Link: " + b"<" * 5000,
            b"X-OCCI-Attribute: " + b" " * 20_000 + b"x",
        ],
    )
    def test_awkward_documents(self, document):
        every_parse(document)

    @settings(max_examples=300, deadline=None)
    @given(
        st.text(
            alphabet=st.sampled_from(
                list('CategoryLinkX-OCCI-AttributeLocation:;,="\\<>{}#?/. \t\r\nab1')
            ),
            max_size=200,
        )
    )
    def test_grammar_soup(self, document):
        every_parse(document.encode())

    @settings(max_examples=200, deadline=None)
    @given(st.binary(max_size=300))
    def test_random_bytes(self, document):
        every_parse(document)


# --- Filters in request headers -----------------------------------------------------------


class TestRequestHeaderHelpers:
    def test_categories(self):
        headers = [
            ("Accept", "application/occi+json"),
            ("Category", f'compute; scheme="{INFRA}"; class="kind"'),
            ("category", 'ubuntu; scheme="http://example.org/occi/os_tpl#"; class="mixin"'),
        ]
        categories = parse_header_categories(headers)
        assert [type(c) for c in categories] == [Kind, Mixin]
        assert [c.id for c in categories] == [COMPUTE, UBUNTU]
        assert parse_header_categories({"Host": "x"}) == []

    def test_attributes(self):
        headers = {"X-OCCI-Attribute": 'occi.compute.state="active", occi.compute.cores=2'}
        assert parse_header_attributes(headers) == {
            "occi.compute.state": "active",
            "occi.compute.cores": 2,
        }

    def test_errors_name_the_header(self):
        with pytest.raises(ParseError) as caught:
            parse_header_attributes([("X-OCCI-Attribute", "occi.compute.state=active")])
        assert caught.value.where == "header X-OCCI-Attribute #1"
        with pytest.raises(ParseError):
            parse_header_categories([("Category", "compute")])


# --- Round trips of whole documents -------------------------------------------------------


@pytest.mark.parametrize("codec", CODECS, ids=["plain", "occi"])
def test_a_category_collection_round_trips(codec):
    categories = [
        Kind(
            scheme=INFRA,
            term="compute",
            title='Compute "Resource"',
            parent=CORE + "resource",
            location="/compute/",
            attributes={
                "occi.compute.cores": AttributeDefinition(name="occi.compute.cores"),
                "occi.compute.state": AttributeDefinition(name="occi.compute.state", mutable=False),
            },
            actions=(COMPUTE_ACTION + "start",),
        ),
        Mixin(
            scheme="http://example.org/occi/os_tpl#",
            term="ubuntu",
            title="Ubuntu, 22.04; LTS",
            depends=(OS_TPL,),
            location="/mixin/os_tpl/ubuntu/",
        ),
        Mixin(scheme="http://example.org/tags#", term="tag", location="/tags/tag/"),
        Action(
            scheme=COMPUTE_ACTION,
            term="stop",
            attributes={"method": AttributeDefinition(name="method", required=True)},
        ),
    ]
    assert reparse(codec, "parse_categories", codec.render_categories(categories)) == categories


def test_the_standard_model_round_trips_in_text():
    model = standard_model()
    parsed = reparse(PLAIN, "parse_categories", PLAIN.render_categories(model))
    by_id = {category.id: category for category in parsed}
    for category in model:
        again = by_id[category.id]
        assert type(again) is type(category)
        assert again.title == category.title
        assert list(again.attributes) == list(category.attributes)
        for name, definition in category.attributes.items():
            assert again.attributes[name].mutable == definition.mutable
            assert again.attributes[name].required == definition.required
        if isinstance(category, Kind):
            assert again.parent == category.parent
            assert again.actions == category.actions
        if isinstance(category, Mixin):
            assert again.depends == category.depends
