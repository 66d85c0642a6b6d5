"""OCCI 1.1 clients, as rOCCI-cli 4 talks (extensions.md §9, text-rendering.md §4).

``User-Agent: rOCCI-cli/4.3.0 OCCI/1.1``, ``Accept: text/plain,text/occi;q=0.2``,
text/plain bodies, templates resolved through discovery by their ``rel``,
legacy OpenStack context mixins, values quoted whatever their type, header
names in any case, the location read from ``X-OCCI-Location``.
"""

from __future__ import annotations

import base64
import re
import uuid
from collections.abc import Iterator

import httpx
import pytest

from e2e.occiclient import (
    COMPUTE,
    COMPUTE_ACTION,
    IPNETWORK,
    NETWORK,
    NETWORKINTERFACE,
    OS_TPL,
    RESOURCE_TPL,
    TEXT_PLAIN,
    describe,
    media_type_of,
    path_of,
    read_categories,
    read_entity,
    read_locations,
)
from e2e.server import RunningServer

# Sim only: rOCCI-cli templates by the sim's terms; ec2's legacy context is in test_ec2.py.
pytestmark = pytest.mark.e2e

ROCCI_HEADERS = {
    "User-Agent": "rOCCI-cli/4.3.0 OCCI/1.1",
    "Accept": "text/plain,text/occi;q=0.2",
}
LEGACY_USER_DATA = "http://schemas.openstack.org/compute/instance#user_data"
LEGACY_PUBLIC_KEY = "http://schemas.openstack.org/instance/credentials#public_key"
USER_DATA = base64.b64encode(b"#!/bin/sh\necho hello from rOCCI\n").decode()
SSH_KEY = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7e2e user@host"


@pytest.fixture(scope="module")
def rocci(server: RunningServer) -> Iterator[httpx.Client]:
    """A client that sends what rOCCI-cli 4 sends."""
    with server.client(headers=ROCCI_HEADERS) as client:
        yield client


@pytest.fixture(scope="module")
def templates(rocci: httpx.Client) -> dict[str, str]:
    """``os_tpl#<term>`` / ``resource_tpl#<term>`` -> mixin id, resolved the way rOCCI-cli
    resolves ``-M os_tpl#debian-12``: among the mixins whose ``rel`` is that parent."""
    response = rocci.get("/-/")
    assert response.status_code == 200, describe(response)
    resolved = {}
    for identifier, category in read_categories(response).items():
        for parent, short in ((OS_TPL, "os_tpl"), (RESOURCE_TPL, "resource_tpl")):
            if parent in category.get("depends", []):
                resolved[f"{short}#{category['term']}"] = identifier
    return resolved


def category_line(identifier: str, category_class: str) -> str:
    scheme, _, term = identifier.rpartition("#")
    return f'Category: {term}; scheme="{scheme}#"; class="{category_class}"'


def create_compute(rocci: httpx.Client, templates: dict[str, str], *extra: str) -> httpx.Response:
    lines = [
        category_line(COMPUTE, "kind"),
        category_line(templates["os_tpl#debian-12"], "mixin"),
        category_line(templates["resource_tpl#small"], "mixin"),
        f'X-OCCI-Attribute: occi.core.id="{uuid.uuid4()}"',
        f'X-OCCI-Attribute: occi.core.title="rocci-{uuid.uuid4().hex[:6]}"',
        *extra,
    ]
    body = "\n".join(lines) + "\n"
    return rocci.post("/compute/", headers={"Content-Type": TEXT_PLAIN}, content=body)


def created_location(response: httpx.Response) -> str:
    """What rOCCI-cli 4 reads: the ``X-OCCI-Location`` header (or the body)."""
    assert response.status_code == 201, describe(response)
    header = response.headers.get("x-occi-location")
    assert header, f"1.1 clients read X-OCCI-Location: {describe(response)}"
    assert read_locations(response) == [header], "the body names the same location"
    return path_of(header)


def test_discovery_serves_rocci_cli(rocci: httpx.Client) -> None:
    response = rocci.get("/-/")
    assert response.status_code == 200, describe(response)
    assert media_type_of(response) == TEXT_PLAIN
    compute_line = next(
        line for line in response.text.splitlines() if line.startswith("Category: compute;")
    )
    assert re.search(r"occi\.compute\.state\{immutable\}", compute_line), compute_line


def test_templates_carry_location_and_rel(templates: dict[str, str], rocci: httpx.Client) -> None:
    assert "os_tpl#debian-12" in templates and "resource_tpl#small" in templates
    categories = read_categories(rocci.get("/-/"))
    for identifier in templates.values():
        assert categories[identifier].get("location"), identifier
        assert categories[identifier].get("rel"), identifier


@pytest.mark.parametrize("accept", [None, "*/*", "text/*"])
def test_without_a_specific_accept_the_answer_is_text_plain(
    server: RunningServer, accept: str | None
) -> None:
    with server.client() as client:
        if accept is None:
            del client.headers["accept"]
        else:
            client.headers["accept"] = accept
        response = client.get("/-/", headers={"User-Agent": ROCCI_HEADERS["User-Agent"]})
    assert response.status_code == 200, describe(response)
    assert media_type_of(response) == TEXT_PLAIN
    assert response.text.startswith("Category: ")


def test_create_with_legacy_context_mixins(rocci: httpx.Client, templates: dict[str, str]) -> None:
    response = create_compute(
        rocci,
        templates,
        category_line(LEGACY_USER_DATA, "mixin"),
        category_line(LEGACY_PUBLIC_KEY, "mixin"),
        f'X-OCCI-Attribute: org.openstack.compute.user_data="{USER_DATA}"',
        f'X-OCCI-Attribute: org.openstack.credentials.publickey.data="{SSH_KEY}"',
        'Link: </network/public>; rel="http://schemas.ogf.org/occi/infrastructure#network"; '
        'category="http://schemas.ogf.org/occi/infrastructure#networkinterface"',
    )
    location = created_location(response)
    doc = read_entity(rocci.get(location))
    values = set(map(str, doc.attributes.values()))
    assert USER_DATA in values, f"user_data kept (either family): {doc.attributes}"
    assert SSH_KEY in values, f"the public key kept (either family): {doc.attributes}"
    assert templates["os_tpl#debian-12"] in doc.mixins
    [nic] = doc.links_of(NETWORKINTERFACE)
    assert nic.attributes.get("occi.networkinterface.address")


def test_quoted_numbers_and_booleans_are_understood(
    rocci: httpx.Client, templates: dict[str, str]
) -> None:
    lines = [
        category_line(COMPUTE, "kind"),
        category_line(templates["os_tpl#debian-12"], "mixin"),
        'X-OCCI-Attribute: occi.compute.cores="2"',
        'X-OCCI-Attribute: occi.compute.memory="3.5"',
    ]
    response = rocci.post(
        "/compute/", headers={"Content-Type": TEXT_PLAIN}, content="\n".join(lines) + "\n"
    )
    doc = read_entity(rocci.get(created_location(response)))
    assert doc.attributes["occi.compute.cores"] == 2
    assert doc.attributes["occi.compute.memory"] == 3.5

    reservation = rocci.post(
        "/ipreservation/",
        headers={"Content-Type": TEXT_PLAIN},
        content='Category: ipreservation; scheme="http://schemas.ogf.org/occi/infrastructure#"; '
        'class="kind"\n',
    )
    unused = (
        path_of(reservation.headers.get("location", "")) if reservation.status_code == 201 else None
    )
    assert unused, describe(reservation)
    for quoted in ('"false"', "false"):
        listing = rocci.get(
            "/ipreservation/", headers={"X-OCCI-Attribute": f"occi.ipreservation.used={quoted}"}
        )
        assert listing.status_code == 200, describe(listing)
        assert unused in [path_of(u) for u in read_locations(listing)], quoted


def test_header_names_in_any_case_and_comma_lists(
    rocci: httpx.Client, templates: dict[str, str]
) -> None:
    """rack lower-cases header names; values may come as one comma-separated line."""
    os_tpl = templates["os_tpl#debian-12"]
    body = (
        'category: compute; scheme="http://schemas.ogf.org/occi/infrastructure#"; class=kind\n'
        f'CATEGORY: {os_tpl.rpartition("#")[2]}; scheme="{os_tpl.rpartition("#")[0]}#"; '
        'class="mixin"\n'
        'x-occi-attribute: occi.core.title="a, b; c", occi.compute.cores=3\n'
        'link: </network/public>; rel="http://schemas.ogf.org/occi/infrastructure#network"; '
        "category=http://schemas.ogf.org/occi/infrastructure#networkinterface\n"
    )
    response = rocci.post("/compute/", headers={"Content-Type": TEXT_PLAIN}, content=body)
    doc = read_entity(rocci.get(created_location(response)))
    assert doc.attributes["occi.core.title"] == "a, b; c"
    assert doc.attributes["occi.compute.cores"] == 3
    assert len(doc.links_of(NETWORKINTERFACE)) == 1


def test_actions_as_rocci_sends_them(rocci: httpx.Client, templates: dict[str, str]) -> None:
    location = created_location(create_compute(rocci, templates))
    body = (
        category_line(COMPUTE_ACTION + "stop", "action") + '\nX-OCCI-Attribute: method="poweroff"\n'
    )
    response = rocci.post(
        f"{location}?action=stop", headers={"Content-Type": TEXT_PLAIN}, content=body
    )
    assert response.status_code == 200, describe(response)
    assert read_entity(rocci.get(location)).attributes["occi.compute.state"] == "inactive"
    response = rocci.post(
        f"{location}?action=start",
        headers={"Content-Type": TEXT_PLAIN},
        content=category_line(COMPUTE_ACTION + "start", "action") + "\n",
    )
    assert response.status_code == 200, describe(response)
    assert read_entity(rocci.get(location)).attributes["occi.compute.state"] == "active"


def test_urls_are_absolute_for_1_1_clients_and_paths_for_1_2(
    server: RunningServer, rocci: httpx.Client, templates: dict[str, str]
) -> None:
    location = created_location(create_compute(rocci, templates))
    listed = rocci.get("/compute/", headers={"Accept": TEXT_PLAIN})
    assert server.url.rstrip("/") + location in read_locations(listed)
    with server.client() as occi12:  # says OCCI/1.2
        listed = occi12.get("/compute/", headers={"Accept": TEXT_PLAIN})
    assert location in read_locations(listed)
    uri_list = rocci.get("/compute/", headers={"Accept": "text/uri-list"})
    assert b"\r" not in uri_list.content and uri_list.content.endswith(b"\n")


def test_text_occi_comes_in_one_header_per_name(
    rocci: httpx.Client, templates: dict[str, str]
) -> None:
    location = created_location(create_compute(rocci, templates))
    response = rocci.get(location, headers={"Accept": "text/occi"})
    assert response.status_code == 200, describe(response)
    for name in ("category", "x-occi-attribute", "link"):
        assert len(response.headers.get_list(name)) == 1, name
    assert "occi.compute.state=" in response.headers["x-occi-attribute"]
    assert "state.message" not in response.headers["x-occi-attribute"]


def test_a_content_type_list_is_read_as_its_first_type(
    rocci: httpx.Client, templates: dict[str, str]
) -> None:
    body = "\n".join(
        [
            category_line(COMPUTE, "kind"),
            category_line(templates["os_tpl#debian-12"], "mixin"),
            'X-OCCI-Attribute: occi.core.title="listed"',
        ]
    )
    response = rocci.post(
        "/compute/", headers={"Content-Type": "text/plain,text/occi"}, content=body + "\n"
    )
    created = read_entity(rocci.get(created_location(response)))
    assert created.attributes["occi.core.title"] == "listed"


def test_what_the_server_manages_is_ignored_at_creation_and_a_device_name_honoured(
    rocci: httpx.Client, templates: dict[str, str]
) -> None:
    compute = created_location(
        create_compute(rocci, templates, 'X-OCCI-Attribute: occi.compute.state="suspended"')
    )
    assert read_entity(rocci.get(compute)).attributes["occi.compute.state"] == "active"
    body = "\n".join(
        [
            category_line(NETWORKINTERFACE, "kind"),
            f'X-OCCI-Attribute: occi.core.source="{compute}"',
            'X-OCCI-Attribute: occi.core.target="/network/private"',
            'X-OCCI-Attribute: occi.networkinterface.interface="eth7"',
            'X-OCCI-Attribute: occi.networkinterface.state="active"',
        ]
    )
    response = rocci.post(
        "/networkinterface/", headers={"Content-Type": TEXT_PLAIN}, content=body + "\n"
    )
    link = read_entity(rocci.get(created_location(response)))
    assert link.attributes["occi.networkinterface.interface"] == "eth7"


def test_an_attribute_brings_the_mixin_that_defines_it(rocci: httpx.Client) -> None:
    body = (
        category_line(NETWORK, "kind") + '\nX-OCCI-Attribute: occi.network.address="10.31.0.0/24"\n'
    )
    response = rocci.post("/network/", headers={"Content-Type": TEXT_PLAIN}, content=body)
    network = read_entity(rocci.get(created_location(response)))
    assert IPNETWORK in network.mixins
    assert network.attributes["occi.network.address"] == "10.31.0.0/24"


def test_a_bare_compute_gets_the_sites_default_templates(rocci: httpx.Client) -> None:
    response = rocci.post(
        "/compute/", headers={"Content-Type": TEXT_PLAIN}, content=category_line(COMPUTE, "kind")
    )
    compute = read_entity(rocci.get(created_location(response)))
    assert any(m.endswith("#ubuntu-24_04") for m in compute.mixins), compute.mixins
    assert any(m.endswith("#small") for m in compute.mixins), compute.mixins


def test_accept_application_json_is_answered_as_application_json(
    server: RunningServer,
) -> None:
    with server.client() as client:
        response = client.get("/-/", headers={"Accept": "application/json"})
    assert response.status_code == 200, describe(response)
    assert media_type_of(response) == "application/json"
    assert "kinds" in response.json()


def test_listing_then_delete_all(rocci: httpx.Client, templates: dict[str, str]) -> None:
    """Last in the module: ``DELETE /compute/`` is how rOCCI-cli deletes everything."""
    created = {created_location(create_compute(rocci, templates)) for _ in range(2)}
    response = rocci.get("/compute/")
    assert response.status_code == 200, describe(response)
    assert media_type_of(response) == TEXT_PLAIN
    assert created <= {path_of(u) for u in read_locations(response)}

    response = rocci.delete("/compute/")
    assert response.status_code in (200, 204), describe(response)
    response = rocci.get("/compute/")
    assert response.status_code in (200, 204), "1.1 allows 204 for an empty listing"
    assert read_locations(response) == []
    for location in created:
        assert rocci.get(location).status_code == 404
