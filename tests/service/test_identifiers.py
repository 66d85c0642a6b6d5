"""Entity ids and user mixin locations a client may choose."""

from __future__ import annotations

import pytest

from pyocci.service.errors import BadRequestError
from pyocci.service.identifiers import MAX_ID_LENGTH, check_entity_id, check_location_path


@pytest.mark.parametrize(
    "entity_id", ["a", "0f8fad5b-d9cb-469f-a165-70867728950e", "vm_1.x~y", "x" * MAX_ID_LENGTH]
)
def test_ids_a_url_carries_as_they_are_pass(entity_id: str) -> None:
    check_entity_id(entity_id)


@pytest.mark.parametrize(
    "entity_id",
    [
        "€",
        "café",
        "a%b",
        "a,b",
        "a;b",
        "a b",
        "a/b",
        ".",
        "..",
        "a\x00",
        "",
        "x" * (MAX_ID_LENGTH + 1),
    ],
)
def test_other_ids_are_refused_saying_what_to_use(entity_id: str) -> None:
    with pytest.raises(BadRequestError, match="id"):
        check_entity_id(entity_id)


@pytest.mark.parametrize("location", ["/my/", "/my/stuff/", "/mixin/user/tag-1/"])
def test_plain_locations_pass(location: str) -> None:
    check_location_path(location)


@pytest.mark.parametrize(
    "location", ["my/", "/my", "/caf\u00e9/", "/a b/", "/a/../b/", "//", "/a//b/", "/a?b/", "/a#b/"]
)
def test_other_locations_are_refused(location: str) -> None:
    with pytest.raises(BadRequestError, match="location"):
        check_location_path(location)


@pytest.mark.parametrize("location", ["/-/identity/", "/-/mine/", "/.well-known/x/"])
def test_the_servers_own_paths_are_refused(location: str) -> None:
    with pytest.raises(BadRequestError, match="are the server's own"):
        check_location_path(location)
