"""User mixins and mixin collections (GFD.223 §3.4 POST/DELETE ``/-/``, §3.7)."""

from __future__ import annotations

import json
import uuid
from urllib.parse import quote

import httpx
import pytest

from e2e.occiclient import (
    COMPUTE,
    DEBIAN,
    IPNETWORK,
    LARGE,
    OCCI_JSON,
    OS_TPL,
    RENDERINGS,
    SMALL,
    TEXT_OCCI,
    TEXT_PLAIN,
    UBUNTU,
    URI_LIST,
    EntityDoc,
    Occi,
    as_request,
    category_value,
    describe,
    locations_request,
    mixin_request,
    path_of,
    read_categories,
    read_locations,
    split_id,
)
from e2e.server import Offer

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.backends("sim", "ec2", "openstack", "memory", "opennebula"),
]

USER_SCHEME = "http://example.org/occi/e2e#"


def new_mixin(prefix: str = "tag") -> tuple[str, str]:
    """A fresh user mixin id and location."""
    term = f"{prefix}-{uuid.uuid4().hex[:8]}"
    return USER_SCHEME + term, f"/e2e/tags/{term}/"


def define(
    http: httpx.Client, identifier: str, location: str, media_type: str = TEXT_PLAIN
) -> httpx.Response:
    headers, body = mixin_request(identifier, location, media_type, title="e2e tag")
    return http.post("/-/", headers=[("Accept", media_type), *headers], content=body)


def defined(http: httpx.Client, media_type: str = TEXT_PLAIN) -> tuple[str, str]:
    identifier, location = new_mixin()
    response = define(http, identifier, location, media_type)
    assert response.status_code == 200, describe(response)
    return identifier, location


def members(http: httpx.Client, location: str) -> set[str]:
    response = http.get(location, headers={"Accept": URI_LIST})
    assert response.status_code == 200, describe(response)
    return {path_of(uri) for uri in read_locations(response)}


def send_locations(
    http: httpx.Client, method: str, location: str, paths: list[str], media_type: str = TEXT_PLAIN
) -> httpx.Response:
    base = str(http.base_url).rstrip("/")
    # RFC 2483: a uri-list holds absolute URIs; the others may be relative.
    urls = [base + p for p in paths] if media_type == URI_LIST else paths
    headers, body = locations_request(urls, media_type)
    return http.request(method, location, headers=[("Accept", TEXT_PLAIN), *headers], content=body)


@pytest.fixture(scope="module")
def computes(http: httpx.Client, offer: Offer) -> list[str]:
    occi = Occi(http, OCCI_JSON)
    doc = EntityDoc(kind=COMPUTE, mixins=[offer.image, offer.small])
    return [occi.create("/compute/", doc) for _ in range(4)]


def mixins_of(http: httpx.Client, path: str, rendering: str = TEXT_PLAIN) -> list[str]:
    return Occi(http, rendering).get(path).mixins


# --- definitions -----------------------------------------------------------------------------


@pytest.mark.parametrize("rendering", RENDERINGS)
def test_define_a_user_mixin(http: httpx.Client, rendering: str) -> None:
    identifier, location = new_mixin()
    response = define(http, identifier, location, rendering)
    assert response.status_code == 200, describe(response)
    for accept in RENDERINGS:
        found = read_categories(http.get("/-/", headers={"Accept": accept}))
        assert found.get(identifier, {}).get("class") == "mixin", accept
        assert found[identifier]["location"] == location
    assert members(http, location) == set()


def test_a_user_mixin_can_be_filtered_for_in_discovery(http: httpx.Client) -> None:
    identifier, _ = defined(http)
    response = http.get("/-/", headers={"Category": category_value(identifier, "mixin")})
    assert response.status_code == 200, describe(response)
    assert set(read_categories(response)) == {identifier}


# --- membership --------------------------------------------------------------------------------


@pytest.mark.parametrize("body", [TEXT_PLAIN, TEXT_OCCI, URI_LIST, OCCI_JSON])
def test_associate_entities_and_list_them(
    http: httpx.Client, computes: list[str], body: str
) -> None:
    identifier, location = defined(http)
    response = send_locations(http, "POST", location, computes[:2], body)
    assert response.status_code == 200, describe(response)
    assert members(http, location) == set(computes[:2])
    for rendering in RENDERINGS:
        assert identifier in mixins_of(http, computes[0], rendering), rendering
    assert identifier not in mixins_of(http, computes[2])
    for accept in (TEXT_PLAIN, TEXT_OCCI, OCCI_JSON):
        listing = http.get(location, headers={"Accept": accept})
        assert listing.status_code == 200, describe(listing)
        assert {path_of(u) for u in read_locations(listing)} == set(computes[:2]), accept


def test_associating_twice_keeps_one_membership(http: httpx.Client, computes: list[str]) -> None:
    identifier, location = defined(http)
    for _ in range(2):
        assert send_locations(http, "POST", location, computes[:1]).status_code == 200
    listed = read_locations(http.get(location, headers={"Accept": URI_LIST}))
    assert [path_of(u) for u in listed] == computes[:1]
    assert mixins_of(http, computes[0]).count(identifier) == 1


@pytest.mark.parametrize("body", [TEXT_PLAIN, OCCI_JSON])
def test_put_replaces_the_membership(http: httpx.Client, computes: list[str], body: str) -> None:
    identifier, location = defined(http)
    assert send_locations(http, "POST", location, computes[:2], body).status_code == 200
    response = send_locations(http, "PUT", location, computes[1:3], body)
    assert response.status_code == 200, describe(response)
    assert members(http, location) == set(computes[1:3])
    assert identifier not in mixins_of(http, computes[0])
    assert identifier in mixins_of(http, computes[2])


@pytest.mark.parametrize("body", [TEXT_PLAIN, URI_LIST, OCCI_JSON])
def test_delete_disassociates_some_then_all(
    http: httpx.Client, computes: list[str], body: str
) -> None:
    identifier, location = defined(http)
    assert send_locations(http, "POST", location, computes[:3], body).status_code == 200
    response = send_locations(http, "DELETE", location, computes[:1], body)
    assert response.status_code == 200, describe(response)
    assert members(http, location) == set(computes[1:3])
    assert identifier not in mixins_of(http, computes[0])

    response = http.delete(location)
    assert response.status_code == 200, describe(response)
    assert members(http, location) == set()
    assert identifier not in mixins_of(http, computes[1])
    assert identifier in read_categories(http.get("/-/")), "the mixin itself stays"


def test_a_user_mixin_given_at_creation_or_in_an_update(http: httpx.Client, offer: Offer) -> None:
    identifier, location = defined(http)
    occi = Occi(http, TEXT_PLAIN)
    created = occi.create("/compute/", offer.compute(identifier))
    updated = occi.create("/compute/", offer.compute())
    response = occi.update(updated, EntityDoc(mixins=[identifier]))
    assert response.status_code == 200, describe(response)
    assert members(http, location) == {created, updated}
    assert identifier in occi.get(created).mixins
    filtered = http.get(
        "/compute/",
        headers={"Accept": URI_LIST, "Category": category_value(identifier, "mixin")},
    )
    assert {path_of(u) for u in read_locations(filtered)} == {created, updated}


def test_deleting_a_member_entity_drops_its_membership(http: httpx.Client, offer: Offer) -> None:
    _, location = defined(http)
    occi = Occi(http, TEXT_PLAIN)
    doomed = occi.create("/compute/", offer.compute())
    assert send_locations(http, "POST", location, [doomed]).status_code == 200
    assert occi.delete(doomed).status_code in (200, 204)
    assert members(http, location) == set()


# --- removal -----------------------------------------------------------------------------------


@pytest.mark.parametrize("rendering", RENDERINGS)
def test_delete_a_user_mixin_named_in_the_body(
    http: httpx.Client, computes: list[str], rendering: str
) -> None:
    identifier, location = defined(http)
    assert send_locations(http, "POST", location, computes[:1]).status_code == 200
    headers, body = mixin_request(identifier, location, rendering)
    response = http.request(
        "DELETE", "/-/", headers=[("Accept", rendering), *headers], content=body
    )
    assert response.status_code == 200, describe(response)
    assert identifier not in read_categories(http.get("/-/"))
    assert http.get(location).status_code == 404
    assert identifier not in mixins_of(http, computes[0])


def test_delete_a_user_mixin_named_in_the_query(http: httpx.Client, computes: list[str]) -> None:
    identifier, location = defined(http)
    assert send_locations(http, "POST", location, computes[:1]).status_code == 200
    response = http.delete(f"/-/?category={quote(identifier, safe='')}")
    assert response.status_code == 200, describe(response)
    assert identifier not in read_categories(http.get("/-/"))
    assert http.get(location).status_code == 404
    assert identifier not in mixins_of(http, computes[0])


@pytest.mark.parametrize("rendering", RENDERINGS)
@pytest.mark.parametrize("which", ["image", "template"])
def test_removing_a_provider_mixin_is_403(
    http: httpx.Client, offer: Offer, which: str, rendering: str
) -> None:
    assert_not_removable(http, {"image": offer.image, "template": offer.small}[which], rendering)


@pytest.mark.backends("sim", "ec2", "memory", "opennebula")  # no networks on OpenStack yet
@pytest.mark.parametrize("rendering", RENDERINGS)
def test_removing_the_ipnetwork_mixin_is_403(http: httpx.Client, rendering: str) -> None:
    assert_not_removable(http, IPNETWORK, rendering)


def assert_not_removable(http: httpx.Client, provider: str, rendering: str) -> None:
    """Deleting a mixin the server provides is 403, and it stays."""
    if rendering == OCCI_JSON:
        scheme, term = split_id(provider)
        document = {"mixins": [{"term": term, "scheme": scheme}]}
        headers, body = [("Content-Type", OCCI_JSON)], json.dumps(document).encode()
    else:
        headers, body = as_request([("Category", category_value(provider, "mixin"))], rendering)
    response = http.request(
        "DELETE", "/-/", headers=[("Accept", rendering), *headers], content=body
    )
    assert response.status_code == 403, describe(response)
    assert response.headers.get("x-occi-error")
    assert provider in read_categories(http.get("/-/"))


def test_removing_an_unknown_mixin_is_404(http: httpx.Client) -> None:
    identifier, _ = new_mixin("never-defined")
    response = http.delete(f"/-/?category={quote(identifier, safe='')}")
    assert response.status_code == 404, describe(response)


# --- refused definitions ------------------------------------------------------------------------


@pytest.mark.parametrize("rendering", [TEXT_PLAIN, OCCI_JSON])
def test_the_ogf_scheme_is_reserved(http: httpx.Client, rendering: str) -> None:
    identifier = "http://schemas.ogf.org/occi/infrastructure#mine"
    response = define(http, identifier, "/e2e/mine/", rendering)
    assert response.status_code == 400, describe(response)
    assert "scheme" in response.headers.get("x-occi-error", "")
    assert identifier not in read_categories(http.get("/-/"))


@pytest.mark.parametrize("rendering", RENDERINGS)
@pytest.mark.parametrize("taken", [OS_TPL, COMPUTE, "{image}"])
def test_a_provider_categorys_term_is_refused(
    http: httpx.Client, offer: Offer, rendering: str, taken: str
) -> None:
    """Clients name categories by term: a user mixin os_tpl (in any scheme) would make
    the term name two categories, and the provider's unreachable by it."""
    taken = taken.format(image=offer.image)
    _, term = split_id(taken)
    identifier = USER_SCHEME + term
    response = define(http, identifier, f"/e2e/tags/{term}-{uuid.uuid4().hex[:6]}/", rendering)
    assert response.status_code == 409, describe(response)
    message = response.headers.get("x-occi-error", "")
    assert f"{term} is the term of {taken}" in message
    assert identifier not in read_categories(http.get("/-/"))


@pytest.mark.parametrize("taken", ["/compute/", "/-/", "{image}", "/compute/x/"])
def test_a_location_in_use_is_refused(http: httpx.Client, offer: Offer, taken: str) -> None:
    taken = taken.format(image=offer.location(offer.image))
    identifier, _ = new_mixin("clash")
    response = define(http, identifier, taken)
    assert response.status_code in (400, 409), describe(response)
    assert response.headers.get("x-occi-error")
    assert identifier not in read_categories(http.get("/-/"))


def test_another_user_mixins_location_is_refused(http: httpx.Client) -> None:
    _, location = defined(http)
    identifier, _ = new_mixin("second")
    response = define(http, identifier, location)
    assert response.status_code in (400, 409), describe(response)
    assert location in response.headers.get("x-occi-error", "")


def test_the_same_mixin_twice_is_refused(http: httpx.Client) -> None:
    identifier, location = defined(http)
    response = define(http, identifier, "/e2e/elsewhere/" + uuid.uuid4().hex[:6] + "/")
    assert response.status_code in (400, 409), describe(response)
    assert response.headers.get("x-occi-error")
    assert read_categories(http.get("/-/"))[identifier]["location"] == location


def test_only_mixins_can_be_defined(http: httpx.Client) -> None:
    body = 'Category: thing; scheme="http://example.org/occi/e2e#"; class="kind"; '
    body += 'location="/things/"\n'
    response = http.post("/-/", headers={"Content-Type": TEXT_PLAIN}, content=body)
    assert response.status_code == 400, describe(response)
    assert response.headers.get("x-occi-error")


# --- templates through their collections -------------------------------------------------------


@pytest.mark.backends("sim")  # EC2, OpenStack, OpenNebula: no rebuild (501)
def test_associating_an_os_template_rebuilds(http: httpx.Client) -> None:
    occi = Occi(http, TEXT_PLAIN)
    compute = occi.create("/compute/", EntityDoc(kind=COMPUTE, mixins=[DEBIAN, SMALL]))
    response = send_locations(http, "POST", "/mixin/os_tpl/ubuntu-24_04/", [compute])
    assert response.status_code == 200, describe(response)
    doc = occi.get(compute)
    assert UBUNTU in doc.mixins
    assert DEBIAN not in doc.mixins, "GFD.224 §3.7: the old os_tpl MUST be removed"
    assert SMALL in doc.mixins
    assert compute in members(http, "/mixin/os_tpl/ubuntu-24_04/")
    assert compute not in members(http, "/mixin/os_tpl/debian-12/")


@pytest.mark.backends("sim")  # sim sizes; test_ec2.py and test_openstack.py resize theirs
def test_associating_a_resource_template_resizes(http: httpx.Client) -> None:
    occi = Occi(http, OCCI_JSON)
    compute = occi.create("/compute/", EntityDoc(kind=COMPUTE, mixins=[DEBIAN, SMALL]))
    response = send_locations(http, "POST", "/mixin/resource_tpl/large/", [compute], OCCI_JSON)
    assert response.status_code == 200, describe(response)
    doc = occi.get(compute)
    assert LARGE in doc.mixins and SMALL not in doc.mixins
    assert doc.attributes["occi.compute.cores"] == 4
    assert doc.attributes["occi.compute.memory"] == 4.0


def test_associating_the_parent_os_tpl_itself_is_refused(
    http: httpx.Client, computes: list[str], offer: Offer
) -> None:
    response = send_locations(http, "POST", "/mixin/os_tpl/", computes[:1])
    assert response.status_code == 400, describe(response)
    assert offer.image in mixins_of(http, computes[0])
