"""Locations resolved against a base URL: always what urljoin makes of them."""

from __future__ import annotations

from urllib.parse import urljoin

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pyocci.rendering.urls import PLAIN_PATH, BaseUrl

BASES = [
    "http://127.0.0.1:8000/",
    "https://cloud.example.org/occi1.2/",
    "https://[::1]:8443/",
    # A scheme urljoin does not resolve against: the location comes back as it is.
    "foo://host/",
]

LOCATIONS = [
    "/compute/454d725a-4cd1-4c17-b2d1-ae5185bd4e6c",
    "/",
    "/compute/",
    "/a/../b",
    "/a/./b",
    "/.hidden/x",
    "/a/..",
    "/compute/1?action=start",
    "/compute/1#frag",
    "//other.example.org/compute/1",
    "compute/1",
    "-/",
    "",
    "https://elsewhere.example.org/storage/1",
    "urn:uuid:2f1c8a2e-0000-4000-8000-000000000000",
    "/with space",
    "/tab\there",
    "/caf\u00e9/1",
    "/a;params/b",
]


@pytest.mark.parametrize("base", BASES)
@pytest.mark.parametrize("location", LOCATIONS)
def test_a_location_resolves_as_urljoin_resolves_it(base: str, location: str) -> None:
    assert BaseUrl(base).resolve(location) == urljoin(base, location)


@given(
    base=st.sampled_from(BASES),
    location=st.text(alphabet=st.sampled_from("/.?#;:%-_aZ9 \u00e9"), max_size=24),
)
def test_any_location_resolves_as_urljoin_resolves_it(base: str, location: str) -> None:
    assert BaseUrl(base).resolve(location) == urljoin(base, location)


def test_an_entity_location_takes_the_quick_way() -> None:
    # The case the module is for: resolved by concatenating the origin (a base with a
    # path keeps only its origin, as RFC 3986 resolves an absolute path).
    location = "/compute/454d725a-4cd1-4c17-b2d1-ae5185bd4e6c"
    assert PLAIN_PATH.fullmatch(location)
    base = BaseUrl("https://cloud.example.org/occi1.2/")
    assert base.origin == "https://cloud.example.org"
    assert base.resolve(location) == "https://cloud.example.org" + location


def test_a_base_without_an_authority_has_no_origin() -> None:
    base = BaseUrl("urn:example:base")
    assert base.origin is None
    assert base.resolve("/compute/1") == urljoin("urn:example:base", "/compute/1")
