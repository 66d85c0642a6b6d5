"""Throw random bytes and mutated real documents at every parser.

Whatever comes in, a parser either returns or raises a ParseError (or
UnsupportedDocumentError for a document its media type cannot carry):
never another exception, which a server would turn into a 500.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pyocci.model import standard_model
from pyocci.rendering import CODECS, ParseError, UnsupportedDocumentError
from pyocci.rendering.negotiation import OCCI_JSON, TEXT_OCCI, TEXT_PLAIN, URI_LIST

VECTORS = Path(__file__).resolve().parents[2].parent / "shared" / "vectors"
MODEL = standard_model()
EXPECTED = (ParseError, UnsupportedDocumentError)


def _seed_documents() -> list[bytes]:
    """Real documents to mutate: every text and JSON vector, or a few built-in ones."""
    seeds = [
        b'Category: compute; scheme="http://schemas.ogf.org/occi/infrastructure#"; class="kind"\r\n'
        b'X-OCCI-Attribute: occi.core.id="1", occi.compute.cores=2\r\n'
        b'Link: </network/1>; rel="http://schemas.ogf.org/occi/infrastructure#network"; '
        b'category="http://schemas.ogf.org/occi/infrastructure#networkinterface"\r\n',
        b'{"kind": "http://schemas.ogf.org/occi/infrastructure#compute", "id": "1", '
        b'"attributes": {"occi.compute.cores": 2}, "links": [{"kind": "k#l", "id": "2", '
        b'"source": {"location": "/c/1"}, "target": {"location": "/n/1"}}]}',
    ]
    index = VECTORS / "index.json"
    if index.exists():
        for entry in json.loads(index.read_text()):
            if entry["format"].startswith(("text", "json")):
                seeds.append((VECTORS / entry["file"]).read_bytes())
    return seeds


SEEDS = _seed_documents()


@st.composite
def mutated_documents(draw) -> bytes:
    """A real document with a few random byte edits: flips, insertions, cuts, splices."""
    document = bytearray(draw(st.sampled_from(SEEDS)))
    interesting = b'";,<>{}[]:=\\\r\n \x00\xff#?'
    for _ in range(draw(st.integers(min_value=1, max_value=6))):
        if not document:
            break
        position = draw(st.integers(min_value=0, max_value=len(document) - 1))
        operation = draw(st.sampled_from(["replace", "insert", "delete", "truncate", "splice"]))
        if operation == "replace":
            document[position] = draw(st.sampled_from(interesting))
        elif operation == "insert":
            document[position:position] = draw(st.binary(min_size=1, max_size=4))
        elif operation == "delete":
            end = position + draw(st.integers(min_value=1, max_value=16))
            del document[position:end]
        elif operation == "truncate":
            del document[position:]
        else:
            other = draw(st.sampled_from(SEEDS))
            start = draw(st.integers(min_value=0, max_value=max(len(other) - 1, 0)))
            document[position:position] = other[start : start + 64]
    return bytes(document)


def _headers_from(document: bytes) -> list[tuple[str, str]]:
    """Read a document's lines as headers, the way text/occi receives them."""
    headers = []
    for line in document.decode("utf-8", "replace").splitlines():
        name, _, value = line.partition(":")
        headers.append((name, value))
    return headers


def _every_parse(document: bytes) -> None:
    for media_type in (TEXT_PLAIN, TEXT_OCCI, OCCI_JSON, URI_LIST):
        codec = CODECS[media_type]
        headers = _headers_from(document) if media_type == TEXT_OCCI else ()
        for parse in (
            lambda c=codec, h=headers: c.parse_entity(document, h),
            lambda c=codec, h=headers: c.parse_entity(document, h, model=MODEL),
            lambda c=codec, h=headers: c.parse_entities(document, h, model=MODEL),
            lambda c=codec, h=headers: c.parse_categories(document, h),
            lambda c=codec, h=headers: c.parse_action(document, h, model=MODEL),
            lambda c=codec, h=headers: c.parse_locations(document, h),
        ):
            with contextlib.suppress(EXPECTED):
                parse()


FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(document=st.binary(max_size=512))
def test_random_bytes_only_raise_parse_errors(document):
    _every_parse(document)


@FUZZ
@given(document=mutated_documents())
def test_mutated_documents_only_raise_parse_errors(document):
    _every_parse(document)


@FUZZ
@given(
    document=st.text(
        alphabet=st.sampled_from(list('Category:X-OCCI-Attribute Link<>;="\\,{}[]#?/.ab1\r\n')),
        max_size=200,
    )
)
def test_grammar_soup_only_raises_parse_errors(document):
    _every_parse(document.encode())


@pytest.mark.parametrize("depth", [50, 5000])
def test_deeply_nested_json_is_a_parse_error_not_a_crash(depth):
    document = b'{"kind": "a#b", "id": "1", "attributes": ' + b"[" * depth + b"]" * depth + b"}"
    _every_parse(document)
