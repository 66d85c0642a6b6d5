"""Location-only listings: every text rendering writes the same bytes (and headers)
from bare locations as from the entities they belong to."""

from __future__ import annotations

import pytest

from pyocci.model import Resource
from pyocci.model.infrastructure import COMPUTE
from pyocci.rendering.base import Codec, LocationWriter
from pyocci.rendering.errors import UnsupportedDocumentError
from pyocci.rendering.json import JsonCodec
from pyocci.rendering.occi11 import Occi11TextCodec, occi11_uri_list
from pyocci.rendering.text import TextOcciCodec, TextPlainCodec
from pyocci.rendering.urilist import UriListCodec

BASE = "https://cloud.example.org:8787/"

CODECS = {
    "text/plain": TextPlainCodec(),
    "text/occi": TextOcciCodec(),
    "uri-list": UriListCodec(base=BASE),
    "uri-list without base": UriListCodec(),
    "occi 1.1 uri-list": occi11_uri_list(BASE),
    "occi 1.1 text/plain": Occi11TextCodec(TextPlainCodec(), BASE),
    "occi 1.1 text/occi": Occi11TextCodec(TextOcciCodec(), BASE),
    "occi 1.1 text/occi for rOCCI": Occi11TextCodec(TextOcciCodec(), BASE, for_rocci=True),
}

LOCATIONS = [
    "/compute/6f1c2a0e-3b4d-4c5e-8f90-123456789abc",
    "/compute/with,comma;semicolon",
    "/compute/caf\u00e9",
    "/storage/a/../b",
    "/compute/q?x=1",
    "/network/public",
]


def entity(location: str) -> Resource:
    resource = Resource(kind=COMPUTE.id, attributes={"occi.core.id": location.rsplit("/", 1)[1]})
    resource.location = location
    return resource


@pytest.mark.parametrize("codec", CODECS.values(), ids=CODECS.keys())
def test_locations_are_written_as_the_entities_would_be(codec: Codec):
    from_entities = codec.open_collection()
    from_locations = codec.open_collection()
    assert isinstance(from_locations, LocationWriter)
    body = from_entities.write([entity(loc) for loc in LOCATIONS[:3]])
    body += from_entities.write([entity(loc) for loc in LOCATIONS[3:]])
    body += from_entities.close()
    located = from_locations.write_locations(LOCATIONS[:3])
    located += from_locations.write_locations(LOCATIONS[3:])
    located += from_locations.close()
    assert located == body
    assert from_locations.headers == from_entities.headers
    assert body or from_entities.headers  # something was written


def test_uri_list_resolves_paths_as_urljoin_does():
    writer = UriListCodec(base="https://cloud.example.org/occi/").open_collection()
    assert isinstance(writer, LocationWriter)
    assert writer.write_locations(["/compute/1", "/a/./b", "//other/x", "rel"]) == (
        b"https://cloud.example.org/compute/1\r\n"
        b"https://cloud.example.org/a/b\r\n"
        b"https://other/x\r\n"
        b"https://cloud.example.org/occi/rel\r\n"
    )


def test_a_location_that_breaks_a_line_is_refused():
    writer = UriListCodec(base=BASE).open_collection()
    assert isinstance(writer, LocationWriter)
    with pytest.raises(UnsupportedDocumentError, match="one line"):
        writer.write_locations(["/compute/a b"])


@pytest.mark.parametrize("codec", CODECS.values(), ids=CODECS.keys())
def test_an_entity_without_a_location_is_refused(codec: Codec):
    with pytest.raises(UnsupportedDocumentError, match="without a location"):
        codec.open_collection().write([Resource(kind=COMPUTE.id)])


def test_json_listings_are_not_location_only():
    assert not isinstance(JsonCodec().open_collection(), LocationWriter)
