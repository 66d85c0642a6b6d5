"""Unit tests of text/uri-list (RFC 2483): location lists and listings only."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyocci.model import Action, ActionInvocation, Kind, Link, Resource
from pyocci.rendering.errors import ParseError, UnsupportedDocumentError
from pyocci.rendering.urilist import MEDIA_TYPE, UriListCodec, is_absolute_uri

VECTORS = Path(__file__).resolve().parents[2].parent / "shared" / "vectors"
CODEC = UriListCodec()
BASED = UriListCodec(base="https://cloud.example.org/")


def parse_error(body: bytes) -> ParseError:
    with pytest.raises(ParseError) as caught:
        CODEC.parse_locations(body)
    assert caught.value.media_type == MEDIA_TYPE
    return caught.value


def test_media_type():
    assert CODEC.media_type == "text/uri-list"


# --- rendering ------------------------------------------------------------------------


def test_render_locations_one_per_line_with_crlf():
    rendering = CODEC.render_locations(["https://h/compute/1", "urn:uuid:1234"])
    assert rendering.content_type == MEDIA_TYPE
    assert rendering.headers == ()
    assert rendering.body == b"https://h/compute/1\r\nurn:uuid:1234\r\n"


def test_no_locations_give_an_empty_body():
    assert CODEC.render_locations([]).body == b""
    assert list(CODEC.iter_collection([])) == []
    assert CODEC.render_collection([]).body == b""


def test_listings_render_entity_locations_one_chunk_each():
    entities = [
        Resource(kind="a#b", location="https://h/compute/1"),
        Link(kind="a#c", location="https://h/link/2"),
    ]
    assert list(CODEC.iter_collection(entities)) == [
        b"https://h/compute/1\r\n",
        b"https://h/link/2\r\n",
    ]
    assert CODEC.render_collection(entities).body == b"https://h/compute/1\r\nhttps://h/link/2\r\n"


def test_a_base_resolves_relative_locations():
    entities = [Resource(kind="a#b", location="/compute/1")]
    assert BASED.render_collection(entities).body == b"https://cloud.example.org/compute/1\r\n"
    assert BASED.render_locations(["/a", "https://other/b"]).body == (
        b"https://cloud.example.org/a\r\nhttps://other/b\r\n"
    )


def test_without_a_base_locations_are_written_as_given():
    assert CODEC.render_locations(["/compute/1"]).body == b"/compute/1\r\n"
    entities = [Resource(kind="a#b", location="/compute/1")]
    assert list(CODEC.iter_collection(entities)) == [b"/compute/1\r\n"]


@pytest.mark.parametrize("location", ["", "https://h/a\r\nhttps://evil/b", "https://h/a b"])
def test_locations_that_break_the_line_format_are_refused(location):
    with pytest.raises(UnsupportedDocumentError, match="one line"):
        CODEC.render_locations([location])
    with pytest.raises(UnsupportedDocumentError, match="one line"):
        BASED.render_locations(["/a b"])


def test_an_entity_without_location_cannot_be_listed():
    with pytest.raises(UnsupportedDocumentError, match="without a location"):
        list(CODEC.iter_collection([Resource(kind="a#b", attributes={"occi.core.id": "1"})]))


def test_the_base_must_be_absolute():
    with pytest.raises(ValueError):
        UriListCodec(base="/relative/")


# --- parsing --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b"https://h/a\r\nhttps://h/b\r\n",
        b"https://h/a\nhttps://h/b\n",
        b"https://h/a\rhttps://h/b",
        b"https://h/a\r\nhttps://h/b",
        b"# a comment\r\nhttps://h/a\r\n#another\r\n\r\nhttps://h/b\r\n\r\n",
        b"\xef\xbb\xbfhttps://h/a\nhttps://h/b",
        b"  https://h/a \t\n\thttps://h/b\n",
    ],
)
def test_parse_locations(body):
    assert CODEC.parse_locations(body) == ["https://h/a", "https://h/b"]


def test_parse_an_empty_list():
    assert CODEC.parse_locations(b"") == []
    assert CODEC.parse_locations(b"# nothing here\r\n") == []


def test_urns_and_other_schemes_are_absolute_uris():
    body = b"urn:uuid:6df690d2-3158-40c4-88fb-d1c41584d6e5\nftp://h/x\nmailto:a@b\n"
    assert len(CODEC.parse_locations(body)) == 3


def test_parse_accepts_str_and_bytes_like():
    for body in ("https://h/a\n", bytearray(b"https://h/a\n"), memoryview(b"https://h/a\n")):
        assert CODEC.parse_locations(body) == ["https://h/a"]


@pytest.mark.parametrize(
    ("body", "where", "hint"),
    [
        (b"https://h/a\r\n/compute/1\r\n", "line 2", "relative"),
        (b"compute/1", "line 1", "absolute"),
        (b"# c\n\nhttps://h/a b\n", "line 3", "white space"),
        (b"https://h/<a>", "line 1", "white space or characters"),
        (b"X-OCCI-Location: https://h/a", "line 1", "white space"),
        (b"http:", "line 1", "absolute"),
        (b'{"locations": ["https://h/a"]}', "line 1", "absolute"),
        (b"https://h/a\n\xff\xfe", "line 2", "UTF-8"),
        (b"https://h/a\x00b", "line 1", "white space or characters"),
    ],
)
def test_invalid_lines_are_parse_errors(body, where, hint):
    error = parse_error(body)
    assert error.where == where
    assert hint in error.reason


def test_is_absolute_uri():
    assert is_absolute_uri("https://h/compute/1")
    assert is_absolute_uri("urn:uuid:1")
    assert not is_absolute_uri("/compute/1")
    assert not is_absolute_uri("compute/1")
    assert not is_absolute_uri("1http://x")
    assert not is_absolute_uri("")


@settings(max_examples=300, deadline=None)
@given(body=st.binary(max_size=300))
def test_any_bytes_parse_or_raise_parse_error(body):
    try:
        locations = CODEC.parse_locations(body)
    except ParseError:
        return
    assert all(is_absolute_uri(location) for location in locations)


absolute_uris = st.builds(
    lambda scheme, path: f"{scheme}://cloud.example.org/{path}",
    st.sampled_from(["http", "https"]),
    st.from_regex(r"[a-z0-9_\-]{1,10}(/[a-z0-9_\-]{1,10}){0,3}", fullmatch=True),
)


@settings(max_examples=100)
@given(locations=st.lists(absolute_uris, max_size=10))
def test_locations_round_trip(locations):
    assert CODEC.parse_locations(CODEC.render_locations(locations).body) == locations


# --- what a uri-list cannot carry -------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda: CODEC.render_categories([Kind(scheme="a#", term="b")]),
        lambda: CODEC.parse_categories(b"https://h/a"),
        lambda: CODEC.render_entity(Resource(kind="a#b", location="https://h/a")),
        lambda: CODEC.parse_entity(b"https://h/a"),
        lambda: CODEC.parse_entities(b"https://h/a"),
        lambda: CODEC.render_action(ActionInvocation(action="a#b")),
        lambda: CODEC.parse_action(b"https://h/a"),
        lambda: CODEC.render_categories([Action(scheme="a#", term="b")]),
    ],
)
def test_other_documents_are_unsupported(call):
    with pytest.raises(UnsupportedDocumentError) as caught:
        call()
    assert caught.value.media_type == MEDIA_TYPE


# --- third-party uri-lists ------------------------------------------------------------

needs_vectors = pytest.mark.skipif(
    not VECTORS.is_dir(), reason=f"third-party vectors not found at {VECTORS}"
)


@needs_vectors
@pytest.mark.parametrize(
    ("vector", "count"),
    [
        ("erlang-occi/renderers_SUITE_data/bounded_collection.uri", 2),
        ("pocci/entity-collection/uri-ok-entities.txt", 5),
        # No line break after the last URI.
        ("jocci-core/parser/text/locations_uri-list.txt", 3),
    ],
)
def test_third_party_uri_lists(vector, count):
    locations = CODEC.parse_locations((VECTORS / vector).read_bytes())
    assert len(locations) == count
    assert all(location.startswith("http") for location in locations)


@needs_vectors
def test_third_party_relative_reference_is_refused():
    # pOCCI expects an error for this list: its second line is a path, not a URI.
    body = (VECTORS / "pocci/entity-collection/uri-invalid-uri.txt").read_bytes()
    assert parse_error(body).where == "line 2"
