"""The checker's reader of GFD.229 text renderings: what it reads, and what it flags."""

from __future__ import annotations

import pytest

from pyocci.check import text

COMPUTE_KIND = (
    'compute; scheme="http://schemas.ogf.org/occi/infrastructure#"; class="kind"; '
    'title="Compute Resource"; rel="http://schemas.ogf.org/occi/core#resource"; '
    'location="/compute/"; attributes="occi.compute.cores occi.compute.state{immutable} '
    'occi.storage.size{required}"; '
    'actions="http://schemas.ogf.org/occi/infrastructure/compute/action#start"'
)


def test_split_outside_leaves_quotes_and_angles_whole() -> None:
    value = '<http://x/a,b>; rel="p, q"; x="a\\",b", other'
    assert text.split_outside(value, ",") == ['<http://x/a,b>; rel="p, q"; x="a\\",b"', "other"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [('"plain"', "plain"), ('"with \\"quote\\""', 'with "quote"'), ('"a\\\\b"', "a\\b")],
)
def test_unquote_reads_escapes(raw: str, expected: str) -> None:
    assert text.unquote(raw) == expected
    assert text.unquote(text.quote(expected)) == expected


@pytest.mark.parametrize("raw", ["unquoted", '"open', '"in"side"', '"trailing\\"'])
def test_unquote_refuses_what_is_no_quoted_string(raw: str) -> None:
    assert text.unquote(raw) is None


def test_a_full_kind_is_read() -> None:
    problems: list[str] = []
    category = text.parse_category(COMPUTE_KIND, problems)
    assert problems == []
    assert category is not None
    assert category.identifier == "http://schemas.ogf.org/occi/infrastructure#compute"
    assert category.category_class == "kind"
    assert category.rel == ["http://schemas.ogf.org/occi/core#resource"]
    assert category.location == "/compute/"
    assert category.attributes == {
        "occi.compute.cores": frozenset(),
        "occi.compute.state": frozenset({"immutable"}),
        "occi.storage.size": frozenset({"required"}),
    }
    assert category.actions == ["http://schemas.ogf.org/occi/infrastructure/compute/action#start"]


def test_an_unquoted_class_is_read_as_the_abnf_allows() -> None:
    problems: list[str] = []
    category = text.parse_category('start; scheme="http://s/action#"; class=action', problems)
    assert problems == []
    assert category is not None and category.category_class == "action"


@pytest.mark.parametrize(
    ("value", "flagged"),
    [
        ('-bad; scheme="http://s#"; class="kind"', "term"),
        ('ok; scheme=http://s#; class="kind"', "no quoted scheme"),
        ('ok; scheme="http://s#"; class="thing"', "class"),
        ('ok; scheme="http://s#"; class="kind"; colour="red"', "'colour'"),
        ('ok; scheme="http://s#"; class="kind"; title=unquoted', "title is not a quoted"),
        ('ok; scheme="http://s#"; class="kind"; attributes="a{mutable}"', "properties"),
    ],
)
def test_departures_from_the_grammar_are_problems(value: str, flagged: str) -> None:
    problems: list[str] = []
    text.parse_category(value, problems)
    assert any(flagged in problem for problem in problems), problems


@pytest.mark.parametrize(
    ("raw", "value", "valid"),
    [
        ('"active"', "active", True),
        ("2", 2, True),
        ("2.5", 2.5, True),
        ("true", True, True),
        ("false", False, True),
        ("-3", -3, True),
        ("active", "active", False),
        ('"unterminated', '"unterminated', False),
    ],
)
def test_attribute_values(raw: str, value: object, valid: bool) -> None:
    assert text.parse_value(raw) == (value, valid)


def test_a_body_with_every_structure() -> None:
    body = (
        'Category: compute; scheme="http://schemas.ogf.org/occi/infrastructure#"; class="kind"\n'
        'Link: </network/1>; rel="http://schemas.ogf.org/occi/infrastructure#network"; '
        'self="/networkinterface/9"; '
        'category="http://schemas.ogf.org/occi/infrastructure#networkinterface"; '
        'occi.networkinterface.interface="eth0"\n'
        "Link: </compute/1?action=stop>; "
        'rel="http://schemas.ogf.org/occi/infrastructure/compute/action#stop"\n'
        'X-OCCI-Attribute: occi.core.id="1", occi.compute.cores=2\n'
        "X-OCCI-Location: /compute/1\n"
    )
    read = text.read_body(body)
    assert read.problems == []
    assert [c.term for c in read.categories] == ["compute"]
    link, action = read.links
    assert (link.target, link.self_location, link.is_action) == (
        "/network/1",
        "/networkinterface/9",
        False,
    )
    assert link.categories == ["http://schemas.ogf.org/occi/infrastructure#networkinterface"]
    assert link.attributes == {"occi.networkinterface.interface": "eth0"}
    assert action.is_action
    assert read.attributes == {"occi.core.id": "1", "occi.compute.cores": 2}
    assert read.locations == ["/compute/1"]


def test_a_line_of_no_known_structure_is_a_problem() -> None:
    read = text.read_body("Categroy: compute\nX-OCCI-Attribute: a=1\n")
    assert len(read.problems) == 1 and "line 1" in read.problems[0]
    assert read.attributes == {"a": 1}


def test_an_attribute_given_twice_is_a_problem() -> None:
    read = text.read_body("X-OCCI-Attribute: a=1\nX-OCCI-Attribute: a=2\n")
    assert read.problems == ["X-OCCI-Attribute a appears twice"]


def test_headers_are_read_case_insensitively_and_others_ignored() -> None:
    read = text.read_headers(
        [
            ("content-type", "text/occi"),
            ("category", 'compute; scheme="http://s#"; class="kind"'),
            ("x-occi-attribute", 'occi.core.title="a, b", occi.compute.cores=1'),
        ]
    )
    assert read.problems == []
    assert read.attributes == {"occi.core.title": "a, b", "occi.compute.cores": 1}


def test_written_structures_read_back() -> None:
    value = text.category_value("http://s/x#tag", "mixin", title='a "quoted" title', location="/t/")
    body = text.write_lines(
        [("Category", value), ("X-OCCI-Attribute", f"t={text.value_text(1.5)}")]
    )
    read = text.read_body(body)
    assert read.problems == []
    assert read.categories[0].title == 'a "quoted" title'
    assert read.categories[0].location == "/t/"
    assert read.attributes == {"t": 1.5}
