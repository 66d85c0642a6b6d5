"""The openstack backend end to end: a real occi-server in front of the real Nova fixture.

Discovery of Nova's flavors and the images, a compute's life (create, the
actions, resize by template swap, save, delete) over OCCI's HTTP renderings,
and Nova going out of reach (503 with Retry-After) and coming back while
occi-server keeps running.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
from tcpproxy import TcpProxy

from e2e.occiclient import (
    COMPUTE,
    COMPUTE_ACTION,
    OCCI_JSON,
    TEXT_PLAIN,
    EntityDoc,
    Occi,
    describe,
    read_categories,
)
from e2e.server import RunningServer, occi_server
from motoserver import toml_settings
from novaserver import ADMIN_TOKEN, NovaServer

OS_TPL = "http://schemas.pyocci.org/openstack/os_tpl#"
RESOURCE_TPL = "http://schemas.pyocci.org/openstack/resource_tpl#"
IMAGE = OS_TPL + "155d900f-4e14-4e4c-a73d-069cbf4541e6"
TINY, SMALL = RESOURCE_TPL + "1", RESOURCE_TPL + "2"


def openstack_config(compute_endpoint: str, image_endpoint: str) -> str:
    """A server configuration for the openstack backend on these endpoints."""
    settings = {
        "token": ADMIN_TOKEN,
        "compute_endpoint": compute_endpoint,
        "image_endpoint": image_endpoint,
        "retry_after": 7,
    }
    return 'backend = "openstack"\n' + toml_settings(settings)


@pytest.fixture(scope="module")
def proxy(nova: NovaServer) -> Iterator[TcpProxy]:
    """A proxy in front of Nova, which a test cuts to take Nova out of reach."""
    proxy = TcpProxy(int(nova.url.rsplit(":", 1)[1]))
    yield proxy
    proxy.close()


@pytest.fixture(scope="module")
def server(proxy: TcpProxy, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """occi-server with the openstack backend on the Nova fixture (through the proxy)."""
    nova = f"http://127.0.0.1:{proxy.port}"
    config = openstack_config(f"{nova}/v2.1", f"{nova}/image")
    with occi_server(tmp_path_factory.mktemp("occi-openstack"), config=config) as running:
        yield running


@pytest.fixture(scope="module")
def http(server: RunningServer) -> Iterator[httpx.Client]:
    with server.client() as client:
        yield client


@pytest.fixture
def occi(http: httpx.Client) -> Occi:
    return Occi(http, OCCI_JSON)


def wait_state(occi: Occi, path: str, state: str) -> EntityDoc:
    """The compute once Nova has brought it to this state."""
    deadline = time.monotonic() + 120
    while True:
        entity = occi.get(path)
        if entity.attributes["occi.compute.state"] == state or time.monotonic() > deadline:
            assert entity.attributes["occi.compute.state"] == state
            return entity
        time.sleep(0.2)


def test_discovery_offers_novas_flavors_and_the_images(http: httpx.Client) -> None:
    categories = read_categories(http.get("/-/", headers={"Accept": OCCI_JSON}))
    assert IMAGE in categories
    assert SMALL in categories
    attributes = categories[SMALL].get("attributes") or {}
    assert attributes["occi.compute.memory"]["default"] == 2.0
    assert attributes["occi.compute.cores"]["default"] == 1


def test_a_compute_lives_on_nova(occi: Occi, http: httpx.Client) -> None:
    doc = EntityDoc(kind=COMPUTE, mixins=[IMAGE, TINY], attributes={"occi.core.title": "e2e"})
    path = occi.create("/compute/", doc)
    assert path in occi.list("/compute/")
    wait_state(occi, path, "active")

    assert occi.act(path, COMPUTE_ACTION + "stop").status_code == 200
    wait_state(occi, path, "inactive")
    assert occi.act(path, COMPUTE_ACTION + "stop").status_code == 200  # already: a no-op
    refused = occi.act(path, COMPUTE_ACTION + "restart")
    assert refused.status_code == 409, describe(refused)
    assert occi.act(path, COMPUTE_ACTION + "start").status_code == 200
    wait_state(occi, path, "active")
    assert occi.act(path, COMPUTE_ACTION + "restart", method="cold").status_code == 200
    wait_state(occi, path, "active")

    # Resize: associate the compute with another resource_tpl (resize + confirm on Nova).
    body = f"X-OCCI-Location: {path}\n"
    resized = http.post(
        "/mixin/resource_tpl/2/", headers={"Content-Type": TEXT_PLAIN}, content=body
    )
    assert resized.status_code == 200, describe(resized)
    shown = occi.get(path)
    assert SMALL in shown.mixins and TINY not in shown.mixins
    assert shown.attributes["occi.compute.memory"] == 2.0

    saved = occi.act(path, COMPUTE_ACTION + "save", name="e2e-saved")
    assert saved.status_code in (200, 201), describe(saved)
    categories = read_categories(http.get("/-/", headers={"Accept": OCCI_JSON}))
    titles = [category.get("title") or "" for category in categories.values()]
    assert any(title.startswith("e2e-saved") for title in titles), "the saved image is an os_tpl"

    # Waiting (Nova's task image_snapshot) until the snapshot is taken.
    wait_state(occi, path, "active")
    assert occi.act(path, COMPUTE_ACTION + "suspend").status_code == 200
    wait_state(occi, path, "suspended")
    assert occi.delete(path).status_code == 200
    deadline = time.monotonic() + 120
    while occi.request("GET", path).status_code != 404:
        assert time.monotonic() < deadline, "the server was not deleted"
        time.sleep(0.2)


def test_storage_is_not_served(http: httpx.Client) -> None:
    categories = read_categories(http.get("/-/", headers={"Accept": OCCI_JSON}))
    assert "http://schemas.ogf.org/occi/infrastructure#storage" not in categories


def test_nova_out_of_reach_is_503_then_the_server_recovers(
    http: httpx.Client, proxy: TcpProxy
) -> None:
    proxy.cut()
    try:
        response = http.get("/compute/", headers={"Accept": TEXT_PLAIN})
        assert response.status_code == 503, describe(response)
        assert response.headers["retry-after"] == "7"
        assert "OpenStack" in response.headers.get("x-occi-error", "")
    finally:
        proxy.restore()
    response = http.get("/compute/", headers={"Accept": TEXT_PLAIN})
    assert response.status_code == 200, describe(response)
