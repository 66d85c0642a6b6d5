"""Third-party text vectors (shared/vectors, see its SOURCES.md) through the text codecs.

`index.json` lists every vector with an upstream expectation and a summary of
what it holds. Every ``format: text`` entry is checked here:

* positive and "expected re-rendering" vectors must parse to what the summary
  says (kinds, mixins, attributes, inline links, action links, action
  categories, locations), the document type chosen from the summary;
* NEGATIVE vectors must raise ParseError, and nothing else, for the reason
  upstream meant;
* where an upstream expectation contradicts GFD.229 the vector sits in a
  small table below with the reason, and the spec behaviour is asserted;
* vectors a summary cannot drive (header-value fixtures, spec listings,
  text/uri-list documents filed as text) have their own tables and checks.

Nothing is skipped silently: a test checks that the tables and the index
agree, so a new or renamed vector fails until it is handled.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from pyocci.model import Action, Kind, Link, Mixin, Resource
from pyocci.rendering.errors import ParseError
from pyocci.rendering.text import TextOcciCodec, TextPlainCodec

VECTORS = Path(__file__).resolve().parents[2].parent / "shared" / "vectors"
if not (VECTORS / "index.json").is_file():
    pytest.skip(
        f"third-party vectors not found at {VECTORS} (shared/ beside the clone)",
        allow_module_level=True,
    )

PLAIN = TextPlainCodec()
OCCI = TextOcciCodec()

INDEX: list[dict[str, Any]] = json.loads((VECTORS / "index.json").read_text())
TEXT_ENTRIES = {entry["file"]: entry for entry in INDEX if entry["format"] == "text"}

# --- where GFD.229 and the upstream expectation disagree ----------------------------------

_MADE_UP_CLASS = (
    'pOCCI\'s fixtures for its generic parser use class="myClass"; GFD.229: '
    'class = "action" | "mixin" | "kind"'
)
_LITERAL_BACKSLASH_N = (
    "a literal backslash-n (an escaping slip in the Ruby fixture) glues a second Category "
    "onto the first value; GFD.229 has no escapes outside quoted strings"
)

#: Upstream expects these to parse; they break GFD.229. We assert a ParseError
#: whose reason contains the given text.
SPEC_REJECTS: dict[str, tuple[str, str]] = {
    "pocci/basic/http-resource.txt": ("class 'myClass'", _MADE_UP_CLASS),
    "pocci/basic/http-resource2.txt": ("class 'myClass'", _MADE_UP_CLASS),
    "pocci/basic/text-category1.txt": ("class 'myClass'", _MADE_UP_CLASS),
    "pocci/basic/text-category2.txt": ("class 'myClass'", _MADE_UP_CLASS),
    "pocci/basic/text-resource.txt": ("class 'myClass'", _MADE_UP_CLASS),
    "pocci/basic/text-resource2.txt": ("class 'myClass'", _MADE_UP_CLASS),
    "rocci-core-4.3/parser/text_samples/occi_resource_w_attributes.text": (
        "unexpected '\\\\nCategory",
        _LITERAL_BACKSLASH_N,
    ),
    "rocci-core-4.3/parser/text_samples/occi_resource_w_inline_links_only.text": (
        "unexpected '\\\\nCategory",
        _LITERAL_BACKSLASH_N,
    ),
    "rocci-core-4.3/parser/text_samples/occi_compute_rocci_server.expected": (
        "parameter 'Link' has no value",
        "rOCCI's output oracle lost a line break: line 10 reads "
        '...bridge="xenbr0"Link: </storage/...>, two Link values glued together',
    ),
    "erlang-occi/parsers_SUITE_data/netif_link.occi": (
        "bare value 'static'",
        "GFD.229 attribute-value = string | number | bool | enum-val, enum-val = string "
        "(a quoted-string); the bare word static is none of them",
    ),
    "jocci-core/rendering/text/kind_plain.txt": (
        "appears twice",
        "jOCCI keeps one rendering of the same Kind per line (nine test cases in one file); "
        "read as one collection it names core#entity nine times. Each line is checked alone",
    ),
    "jocci-core/rendering/text/mixin_plain.txt": (
        "appears twice",
        "as kind_plain.txt: six renderings of the same Mixin, one per line",
    ),
}

#: Upstream expects an error; GFD.229 says the document is valid. We assert the parse.
SPEC_ACCEPTS: dict[str, str] = {
    "pocci/entity-collection/invalid-uri.txt": (
        "pOCCI refuses the relative /compute/... location; GFD.229 location-value = "
        "URI-reference, and relative references are URI-references"
    ),
}

# --- vectors a summary cannot drive -------------------------------------------------------

#: text/uri-list documents filed under "text": not text/plain, so the text/plain
#: parser must refuse them (a URI line is no "Name: value" line).
URI_LISTS = {
    "pocci/entity-collection/uri-ok-entities.txt",
    "pocci/entity-collection/uri-invalid-uri.txt",
    "jocci-core/parser/text/locations_uri-list.txt",
    "erlang-occi/renderers_SUITE_data/bounded_collection.uri",
    "live/pyssf-0.4.7__compute_collection__uri_list.http",
    "live/ooi-1.2.0-fakenova__compute_collection__uri_list.http",
}

#: jOCCI's text/occi fixtures hold header *values* only (one per line, or comma
#: separated), one file per header. Read as headers of the given names, each
#: group must parse exactly like its text/plain sibling.
_JOCCI = "jocci-core/"
HEADER_VALUE_GROUPS: list[tuple[str, str, list[tuple[str, str]]]] = [
    (
        "parse_action",
        "parser/text/collection_plain_action.txt",
        [
            ("parser/text/collection_occi_action_category.txt", "Category"),
            ("parser/text/collection_occi_action_attribute.txt", "X-OCCI-Attribute"),
        ],
    ),
    (
        "parse_entity",
        "parser/text/collection_plain_link.txt",
        [
            ("parser/text/collection_occi_link_category.txt", "Category"),
            ("parser/text/collection_occi_link_attribute.txt", "X-OCCI-Attribute"),
        ],
    ),
    (
        "parse_entity",
        "parser/text/collection_plain_resource.txt",
        [
            ("parser/text/collection_occi_resource_category.txt", "Category"),
            ("parser/text/collection_occi_resource_attribute.txt", "X-OCCI-Attribute"),
            ("parser/text/collection_occi_resource_link.txt", "Link"),
        ],
    ),
    *(
        (
            "parse_categories",
            f"parser/text/model_plain_{name}.txt",
            [(f"parser/text/model_occi_{name}.txt", "Category")],
        )
        for name in (
            "actions_full",
            "actions_minimal",
            "all",
            "kinds_full",
            "kinds_minimal",
            "mixins_full",
            "mixins_minimal",
        )
    ),
    (
        "parse_action",
        "rendering/text/action_plain.txt",
        [
            ("rendering/text/action_headers_category.txt", "Category"),
            ("rendering/text/action_headers_attributes.txt", "X-OCCI-Attribute"),
        ],
    ),
    (
        "parse_entity",
        "rendering/text/inline_link_plain.txt",
        [("rendering/text/inline_link_headers.txt", "Link")],
    ),
    (
        "parse_entity",
        "rendering/text/link_plain.txt",
        [
            ("rendering/text/link_headers_categories.txt", "Category"),
            ("rendering/text/link_headers_attributes.txt", "X-OCCI-Attribute"),
        ],
    ),
    (
        "parse_entity",
        "rendering/text/resource_plain.txt",
        [
            ("rendering/text/resource_headers_categories.txt", "Category"),
            ("rendering/text/resource_headers_attributes.txt", "X-OCCI-Attribute"),
            ("rendering/text/resource_headers_links.txt", "Link"),
        ],
    ),
]
#: The per-line fixtures (see SPEC_REJECTS): header file -> text/plain sibling.
HEADER_VALUE_LINES = {
    "rendering/text/kind_headers.txt": "rendering/text/kind_plain.txt",
    "rendering/text/mixin_headers.txt": "rendering/text/mixin_plain.txt",
}
HEADER_VALUE_FILES = {_JOCCI + name for _, _, group in HEADER_VALUE_GROUPS for name, _ in group} | {
    _JOCCI + name for name in HEADER_VALUE_LINES
}

#: GFD.229's examples as typeset in the spec ("< " response markers, "\" line
#: continuations): not a wire format. Raw, the text/plain parser refuses them;
#: unwrapped, they must parse like the cleaned sibling the index also holds.
SPEC_LISTINGS = {
    "ogf-spec/text/compute_text_plain.verbatim.txt": "ogf-spec/text/compute_text_plain.txt",
    "ogf-spec/text/compute_text_occi_headers.verbatim.txt": (
        "ogf-spec/text/compute_text_occi_headers.txt"
    ),
}

#: The index's scanner miscounted; the vector itself is fine.
SUMMARY_ARTEFACTS = {
    "rocci-core-4.3/parser/text_samples/occi_link_w_category.text": (
        "categories_without_class: the scanner split the quoted title "
        '"aA1!\\"...:,;<>" at its inner ";" and counted a class-less category; '
        "a quoted-string may hold ';'. The one Kind and one Link are asserted."
    ),
}

#: Why each NEGATIVE vector fails: (text in the reason, where).
NEGATIVE_REASONS: dict[str, tuple[str, str | None]] = {
    "pocci/category-collection/text-duplicity.txt": ("appears twice", "line 3"),
    "pocci/category-collection/text-error-attrdef.txt": ("property 'asdasd'", "line 1"),
    "pocci/category-collection/text-error-attrdef2.txt": ("unterminated", "line 1"),
    "pocci/category-collection/text-error-category.txt": ("unknown field 'Nocategory'", "line 1"),
    "pocci/category-collection/text-error-category2.txt": ("unknown field 'Category2'", "line 1"),
    "pocci/category-collection/text-missing-class.txt": ("has no class", "line 1"),
    "pocci/category-collection/text-missing-scheme.txt": ("has no scheme", "line 2"),
    "pocci/entity-collection/invalid-format.txt": ("unknown field 'https'", "line 1"),
    "pocci/entity-collection/uri-invalid-uri.txt": ("unknown field 'https'", "line 1"),
    # The first error in the bad-attr pair is the made-up class (see SPEC_REJECTS);
    # `test_the_bad_attribute_vectors_fail_on_the_attribute` checks the intended one.
    "pocci/resource/http-bad-attr.txt": ("class 'myClass'", "header Category #1"),
    "pocci/resource/text-bad-attr.txt": ("class 'myClass'", "line 1"),
    "pocci/resource/text-bad-quote-attribute.txt": ("unterminated", "line 2"),
    "pocci/resource/text-bad-quote-category.txt": ("unterminated", "line 1"),
    "pocci/resource/text-bad-quote-link.txt": ("unterminated", "line 3"),
    "pocci/resource/text-invalid-format.txt": ("expected 'Name: value'", "line 1"),
}


# --- reading vectors ----------------------------------------------------------------------


def split_http(raw: bytes) -> tuple[list[tuple[str, str]], bytes]:
    """A raw HTTP response or header dump: its header fields and its body."""
    for separator in (b"\r\n\r\n", b"\n\n"):
        head, found, body = raw.partition(separator)
        if found:
            break
    else:
        head, body = raw, b""
    headers = []
    for line in head.decode("utf-8").splitlines():
        if line.startswith("HTTP/") or not line.strip():
            continue
        name, _, value = line.partition(":")
        headers.append((name, value.strip()))
    return headers, body


def is_header_dump(file: str) -> bool:
    """pOCCI's http-* files and the spec's text/occi example are header dumps."""
    return "/http-" in file or "occi_headers" in file


def load(file: str) -> tuple[TextPlainCodec | TextOcciCodec, bytes, list[tuple[str, str]]]:
    """The codec a vector is for, and the body and headers to give it."""
    raw = (VECTORS / file).read_bytes()
    if file.endswith(".http"):
        headers, body = split_http(raw)
        if "__text_occi" in file:
            return OCCI, body, headers
        return PLAIN, body, []
    if is_header_dump(file):
        headers, _ = split_http(raw)
        return OCCI, b"", headers
    return PLAIN, raw, []


def document_type(summary: dict[str, Any]) -> str | None:
    """Which parser a summary calls for."""
    if "locations" in summary:
        return "parse_locations"
    if "actions_defs" in summary and "attributes" in summary:
        return "parse_action"
    if any(key in summary for key in ("attributes", "links", "action_links")):
        return "parse_entity"
    if any(
        key in summary for key in ("kinds", "mixins", "actions_defs", "categories_without_class")
    ):
        return "parse_categories"
    return None


def parse_vector(file: str, method: str | None = None) -> Any:
    codec, body, headers = load(file)
    method = method or document_type(TEXT_ENTRIES[file]["summary"]) or "parse_entity"
    return getattr(codec, method)(body, headers)


def term(identifier: str | None) -> str | None:
    return None if identifier is None else identifier.rpartition("#")[2]


def check_names(found: list[str], expected: Any, what: str) -> None:
    """`expected` is a list of names, or "N (a, b, ...)" / "N attributes (a, b, ...)"."""
    if isinstance(expected, list):
        assert found == expected, what
        return
    match = re.fullmatch(r"(\d+)[^(]*\((.*)\)", expected)
    assert match is not None, f"unreadable summary for {what}: {expected!r}"
    listed = [name.strip() for name in match.group(2).split(",") if name.strip() != "..."]
    assert len(found) == int(match.group(1)), what
    assert found[: len(listed)] == listed, what


def check_summary(file: str, parsed: Any, summary: dict[str, Any]) -> None:
    method = document_type(summary)
    if method == "parse_locations":
        assert len(parsed) == summary["locations"]
    elif method == "parse_categories":
        kinds = [c.term for c in parsed if isinstance(c, Kind)]
        mixins = [c.term for c in parsed if isinstance(c, Mixin)]
        actions = [c.term for c in parsed if isinstance(c, Action)]
        check_names(kinds, summary.get("kinds", []), "kinds")
        check_names(mixins, summary.get("mixins", []), "mixins")
        check_names(actions, summary.get("actions_defs", []), "action categories")
    elif method == "parse_action":
        check_names([term(parsed.action)], summary["actions_defs"], "action")
        expected = summary["attributes"]
        assert list(parsed.attributes) == expected
    else:
        assert method == "parse_entity"
        kinds = summary.get("kinds", [])
        assert len(kinds) <= 1
        assert term(parsed.kind) == (kinds[0] if kinds else None)
        check_names([term(m) for m in parsed.mixins], summary.get("mixins", []), "mixins")
        attributes = summary.get("attributes", [])
        if isinstance(attributes, list):
            assert set(parsed.attributes) == set(attributes)
            assert len(parsed.attributes) == len(attributes)
        else:
            check_names(list(parsed.attributes), attributes, "attributes")
        links = parsed.links if isinstance(parsed, Resource) else []
        assert len(links) == summary.get("links", 0)
        assert all(isinstance(link, Link) and link.target for link in links)
        assert len(parsed.actions) == summary.get("action_links", 0)
    if file not in SUMMARY_ARTEFACTS:
        assert "categories_without_class" not in summary


SPECIAL = (
    set(SPEC_REJECTS) | set(SPEC_ACCEPTS) | URI_LISTS | HEADER_VALUE_FILES | set(SPEC_LISTINGS)
)
#: Positive and "expected re-rendering" vectors the index summary checks.
SUMMARY_DRIVEN = sorted(
    file
    for file, entry in TEXT_ENTRIES.items()
    if not entry["expect"].startswith("NEGATIVE") and file not in SPECIAL
)


# --- the index and the tables agree -------------------------------------------------------


def test_every_table_entry_is_a_text_vector():
    named = (
        set(SPEC_REJECTS)
        | set(SPEC_ACCEPTS)
        | URI_LISTS
        | HEADER_VALUE_FILES
        | set(SPEC_LISTINGS)
        | set(SPEC_LISTINGS.values())
        | set(SUMMARY_ARTEFACTS)
        | set(NEGATIVE_REASONS)
        | {_JOCCI + plain for _, plain, _ in HEADER_VALUE_GROUPS}
        | {_JOCCI + plain for plain in HEADER_VALUE_LINES.values()}
    )
    assert named <= set(TEXT_ENTRIES), sorted(named - set(TEXT_ENTRIES))


@pytest.mark.parametrize("pattern", ["*.txt", "*.text", "*.occi", "*.expected", "*.http", "*.uri"])
def test_the_index_lists_every_vector_on_disk(pattern):
    """So that a vector added without an index entry cannot go unchecked."""
    indexed = {entry["file"] for entry in INDEX}
    on_disk = {path.relative_to(VECTORS).as_posix() for path in VECTORS.rglob(pattern)}
    assert on_disk, pattern
    assert on_disk <= indexed, sorted(on_disk - indexed)


def test_every_text_vector_has_a_check():
    checked = set(SUMMARY_DRIVEN) | set(NEGATIVE_REASONS) | SPECIAL
    assert set(TEXT_ENTRIES) == checked, sorted(set(TEXT_ENTRIES) - checked)
    print(
        f"\n{len(TEXT_ENTRIES)} text vectors: {len(SUMMARY_DRIVEN)} checked against their "
        f"summary, {len(NEGATIVE_REASONS)} negative, {len(SPEC_REJECTS)} rejected and "
        f"{len(SPEC_ACCEPTS)} accepted per GFD.229 against upstream, {len(URI_LISTS)} "
        f"uri-lists, {len(HEADER_VALUE_FILES)} header-value fixtures, "
        f"{len(SPEC_LISTINGS)} spec listings"
    )


# --- positive and "expected re-rendering" vectors -----------------------------------------


@pytest.mark.parametrize("file", SUMMARY_DRIVEN)
def test_positive_vector_parses_to_its_summary(file):
    summary = TEXT_ENTRIES[file]["summary"]
    assert document_type(summary) is not None, f"{file}: nothing to check; put it in a table"
    check_summary(file, parse_vector(file), summary)


_OCCI_FIELDS = {"category", "link", "x-occi-attribute", "x-occi-location", "location"}


@pytest.mark.parametrize("file", [f for f in SUMMARY_DRIVEN if is_header_dump(f)])
def test_header_dumps_say_the_same_as_a_body(file):
    """A text/occi header dump, its OCCI fields written as body lines, reads the same."""
    headers, _ = split_http((VECTORS / file).read_bytes())
    document = "".join(
        f"{name}: {value}\r\n" for name, value in headers if name.lower() in _OCCI_FIELDS
    )
    method = document_type(TEXT_ENTRIES[file]["summary"])
    assert getattr(PLAIN, method)(document.encode()) == parse_vector(file)


# --- negative vectors ---------------------------------------------------------------------


@pytest.mark.parametrize("file", sorted(f for f in NEGATIVE_REASONS))
def test_negative_vector_is_a_parse_error(file):
    expected, where = NEGATIVE_REASONS[file]
    codec, body, headers = load(file)
    method = document_type(TEXT_ENTRIES[file]["summary"])
    methods = [method] if method else ["parse_entity", "parse_categories", "parse_action"]
    for name in methods:
        with pytest.raises(ParseError) as caught:
            getattr(codec, name)(body, headers)
        assert expected in caught.value.reason, (name, caught.value.reason)
        assert caught.value.where == where
        assert caught.value.media_type == codec.media_type


@pytest.mark.parametrize(
    "file", ["pocci/resource/http-bad-attr.txt", "pocci/resource/text-bad-attr.txt"]
)
def test_the_bad_attribute_vectors_fail_on_the_attribute(file):
    """With the made-up class made a real one, the error is the one upstream meant."""
    codec, body, headers = load(file)
    body = body.replace(b'class="myClass"', b'class="kind"')
    headers = [(n, v.replace('class="myClass"', 'class="kind"')) for n, v in headers]
    with pytest.raises(ParseError, match=r"occi\.core\.title has no value"):
        codec.parse_entity(body, headers)


# --- where GFD.229 wins -------------------------------------------------------------------


@pytest.mark.parametrize("file", sorted(SPEC_REJECTS))
def test_spec_rejects(file):
    expected, _reason = SPEC_REJECTS[file]
    with pytest.raises(ParseError) as caught:
        parse_vector(file)
    assert expected in caught.value.reason, caught.value.reason


def test_pocci_fixtures_parse_once_the_class_is_a_real_one():
    for file, (expected, _reason) in SPEC_REJECTS.items():
        if expected != "class 'myClass'":
            continue
        codec, body, headers = load(file)
        body = body.replace(b'class="myClass"', b'class="kind"')
        headers = [(n, v.replace('class="myClass"', 'class="kind"')) for n, v in headers]
        entity = codec.parse_entity(body, headers)
        assert entity.kind == "myScheme" + "kind"
        summary = TEXT_ENTRIES[file]["summary"]
        assert set(entity.attributes) == set(summary.get("attributes", []))
        assert len(entity.links) == summary.get("links", 0)


def test_the_backslash_n_fixtures_parse_once_split():
    for file, (expected, _reason) in SPEC_REJECTS.items():
        if "nCategory" not in expected:
            continue
        text = (VECTORS / file).read_text().replace("\\nCategory", "\nCategory")
        entity = PLAIN.parse_entity(text.encode())
        summary = TEXT_ENTRIES[file]["summary"]
        assert term(entity.kind) == summary["kinds"][0]
        # The glued-on value is the OpenNebula "compute" mixin the scanner missed.
        assert [term(m) for m in entity.mixins] == ["compute", *summary["mixins"]]
        assert set(entity.attributes) == set(summary["attributes"])
        assert len(entity.links) == summary.get("links", 0)


def test_the_glued_rocci_oracle_parses_once_split():
    file = "rocci-core-4.3/parser/text_samples/occi_compute_rocci_server.expected"
    text = (VECTORS / file).read_text().replace('"xenbr0"Link:', '"xenbr0"\nLink:')
    entity = PLAIN.parse_entity(text.encode())
    assert len(entity.links) == 4  # two links, each rendered twice by the oracle
    assert term(entity.kind) == "compute"


def test_erlang_bare_enum_parses_once_quoted():
    file = "erlang-occi/parsers_SUITE_data/netif_link.occi"
    text = (VECTORS / file).read_text().replace("=static", '="static"')
    entity = PLAIN.parse_entity(text.encode())
    assert isinstance(entity, Link)
    assert entity.attributes["occi.networkinterface.allocation"] == "static"
    assert set(entity.attributes) == set(TEXT_ENTRIES[file]["summary"]["attributes"])


@pytest.mark.parametrize("header_file", sorted(HEADER_VALUE_LINES))
def test_jocci_one_rendering_per_line(header_file):
    """kind_plain/mixin_plain: each line alone is one category, as its header twin says."""
    plain_file = HEADER_VALUE_LINES[header_file]
    plain_lines = [
        line for line in (VECTORS / _JOCCI / plain_file).read_text().splitlines() if line
    ]
    header_lines = [
        line for line in (VECTORS / _JOCCI / header_file).read_text().splitlines() if line
    ]
    summary = TEXT_ENTRIES[_JOCCI + plain_file]["summary"]
    expected_terms = summary.get("kinds") or summary.get("mixins")
    assert len(plain_lines) == len(header_lines) == len(expected_terms)
    for plain_line, header_line, expected in zip(
        plain_lines, header_lines, expected_terms, strict=True
    ):
        [category] = PLAIN.parse_categories(plain_line.encode())
        assert category.term == expected
        assert OCCI.parse_categories(b"OK", [("Category", header_line)]) == [category]


@pytest.mark.parametrize("file", sorted(SPEC_ACCEPTS))
def test_spec_accepts(file):
    locations = parse_vector(file)
    assert len(locations) == TEXT_ENTRIES[file]["summary"]["locations"]
    assert any(location.startswith("/") for location in locations)


# --- vectors the summary cannot drive -----------------------------------------------------


@pytest.mark.parametrize("file", sorted(URI_LISTS))
def test_uri_lists_are_not_text_plain(file):
    codec, body, _ = load(file)
    assert codec is PLAIN
    with pytest.raises(ParseError) as caught:
        PLAIN.parse_locations(body)
    assert caught.value.where is not None and caught.value.where.startswith("line ")


@pytest.mark.parametrize(
    ("method", "plain_file", "group"),
    HEADER_VALUE_GROUPS,
    ids=[plain for _, plain, _ in HEADER_VALUE_GROUPS],
)
def test_jocci_header_values_parse_like_the_plain_sibling(method, plain_file, group):
    headers = []
    for file, name in group:
        for line in (VECTORS / _JOCCI / file).read_text().splitlines():
            if line.strip():
                headers.append((name, line))
    from_headers = getattr(OCCI, method)(b"OK", headers)
    from_body = getattr(PLAIN, method)((VECTORS / _JOCCI / plain_file).read_bytes())
    assert from_headers == from_body
    check_summary(_JOCCI + plain_file, from_body, TEXT_ENTRIES[_JOCCI + plain_file]["summary"])


def unwrap_listing(text: str) -> str:
    """Undo the spec's typesetting: drop "< " markers, join "\\" continuations, drop "OK"."""
    lines = []
    pending = ""
    for line in text.splitlines():
        line = line.removeprefix("< ").strip()
        if line.endswith("\\"):
            pending += line[:-1].strip() + " "
            continue
        line = pending + line
        pending = ""
        if line and line != "OK":
            lines.append(line)
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("file", sorted(SPEC_LISTINGS))
def test_spec_listings(file):
    raw = (VECTORS / file).read_bytes()
    with pytest.raises(ParseError, match="unknown field '< Category'"):
        PLAIN.parse_entity(raw)
    unwrapped = unwrap_listing(raw.decode()).encode()
    sibling = SPEC_LISTINGS[file]
    assert PLAIN.parse_entity(unwrapped) == parse_vector(sibling)
    headers = [
        (name, value.strip())
        for name, _, value in (line.partition(":") for line in unwrapped.decode().splitlines())
    ]
    assert OCCI.parse_entity(b"OK", headers) == parse_vector(sibling)


def test_summary_artefacts_are_known():
    for file in SUMMARY_ARTEFACTS:
        assert "categories_without_class" in TEXT_ENTRIES[file]["summary"]
        check_summary(file, parse_vector(file), TEXT_ENTRIES[file]["summary"])


# --- live captures ------------------------------------------------------------------------

CAPTURES = json.loads((VECTORS / "live" / "captures.json").read_text())
TEXT_CAPTURES = [
    capture
    for capture in CAPTURES
    if "__text_plain" in capture["file"] or "__text_occi" in capture["file"]
]
SERVERS = sorted({Path(c["file"]).name.split("__")[0] for c in TEXT_CAPTURES})


def test_the_live_captures_are_all_here():
    assert len(TEXT_CAPTURES) == 12
    assert SERVERS == ["ooi-1.2.0-fakenova", "pyssf-0.4.7"]
    assert all(capture["status"] == 200 for capture in TEXT_CAPTURES)


@pytest.mark.parametrize("capture", TEXT_CAPTURES, ids=[c["file"] for c in TEXT_CAPTURES])
def test_live_capture(capture):
    file = capture["file"]
    codec, body, headers = load(file)
    assert codec.media_type in capture["request"]
    if codec is OCCI:
        assert body in (b"", b"OK")  # text/occi: all in the headers
        assert any(name.lower() == "content-type" for name, _ in headers)
    summary = TEXT_ENTRIES[file]["summary"]
    parsed = parse_vector(file)
    check_summary(file, parsed, summary)
    if "/-/" in capture["request"]:
        ids = {category.id for category in parsed}
        assert {
            "http://schemas.ogf.org/occi/infrastructure#compute",
            "http://schemas.ogf.org/occi/infrastructure#network",
            "http://schemas.ogf.org/occi/infrastructure#storage",
            "http://schemas.ogf.org/occi/infrastructure/compute/action#start",
        } <= ids
        templates = [c for c in parsed if isinstance(c, Mixin) and c.depends]
        assert templates, "os/resource templates name what they depend on in rel"
    elif "/compute/ " in capture["request"]:
        assert all(location.startswith("http://127.0.0.1:") for location in parsed)
    else:
        assert parsed.kind == "http://schemas.ogf.org/occi/infrastructure#compute"
        assert isinstance(parsed, Resource)
        assert parsed.attributes["occi.compute.state"] == "active"
        assert {term(action) for action in parsed.actions} >= {"stop", "restart", "suspend"}
        for link in parsed.links:
            assert link.kind.endswith(("#storagelink", "#networkinterface"))
            assert link.location and link.target


@pytest.mark.parametrize("server", SERVERS)
@pytest.mark.parametrize("document", ["query", "compute_collection", "compute_instance"])
def test_live_text_plain_and_text_occi_say_the_same(server, document):
    plain = parse_vector(f"live/{server}__{document}__text_plain.http")
    occi = parse_vector(f"live/{server}__{document}__text_occi.http")
    assert plain == occi
