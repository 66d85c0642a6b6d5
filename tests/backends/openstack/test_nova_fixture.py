"""The Nova fixture is real Nova: openstacksdk drives it over HTTP."""

from __future__ import annotations

from typing import Any

import httpx
import openstack.exceptions
import pytest
from openstack_helpers import IMAGE

from novaserver import NovaServer


def test_flavors_are_nova_defaults(sdk: Any) -> None:
    flavors = {flavor.name: flavor for flavor in sdk.compute.flavors()}
    assert {"m1.tiny", "m1.small", "m1.medium"} <= set(flavors)
    assert flavors["m1.small"].vcpus == 1
    assert flavors["m1.small"].ram == 2048


def test_images_are_listed_by_the_image_api(sdk: Any) -> None:
    images = list(sdk.image.images())
    assert images, "the fake Glance ships images"
    assert all(image.status == "active" for image in images)


def test_image_api_pages_with_markers(sdk: Any) -> None:
    everything = [image.id for image in sdk.image.images()]
    paged = [image.id for image in sdk.image.images(limit=2)]
    assert paged == everything
    assert len(everything) > 2


def test_requests_without_a_token_are_refused(nova: NovaServer) -> None:
    response = httpx.get(f"{nova.compute_url}/servers")
    assert response.status_code == 401


def test_server_lifecycle(sdk: Any) -> None:
    # A known image: some of the fake Glance's images carry properties no host
    # satisfies, and the listing order is not fixed.
    flavor = sdk.compute.find_flavor("m1.tiny")
    server = sdk.compute.create_server(
        name="smoke", image_id=IMAGE, flavor_id=flavor.id, networks="none"
    )
    try:
        server = _active(sdk, server)
        sdk.compute.stop_server(server)
        assert sdk.compute.wait_for_server(server, status="SHUTOFF", wait=120).status == "SHUTOFF"
        sdk.compute.start_server(server)
        assert sdk.compute.wait_for_server(server, status="ACTIVE", wait=120).status == "ACTIVE"
    finally:
        sdk.compute.delete_server(server)
    sdk.compute.wait_for_delete(server, wait=120)
    assert sdk.compute.find_server(server.id) is None


def _active(sdk: Any, server: Any) -> Any:
    """Wait for ACTIVE; a server that fails says why (Nova's fault), not only that it did."""
    try:
        return sdk.compute.wait_for_server(server, status="ACTIVE", wait=120)
    except openstack.exceptions.ResourceFailure:
        fault = sdk.compute.get_server(server.id).fault
        pytest.fail(f"server {server.id} went to ERROR: {fault}")
