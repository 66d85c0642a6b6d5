"""``occi_version = "1.1"``: occi-server behaving as an OCCI 1.1 server does.

A 1.1 server names OCCI/1.1 in ``Server``, has no JSON rendering (406 when a
client will take nothing else, 415 for a JSON body), answers a client that
asks for OCCI/1.2 with 501, and otherwise serves the whole protocol in the
text renderings.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from e2e.occiclient import COMPUTE, TEXT_PLAIN, describe, read_entity
from e2e.server import RunningServer, StartServer

pytestmark = pytest.mark.e2e

OCCI_JSON = "application/occi+json"


@pytest.fixture(scope="module")
def server11(start_server: StartServer) -> Iterator[RunningServer]:
    """A server configured as OCCI 1.1."""
    with start_server(config='occi_version = "1.1"\n') as running:
        yield running


@pytest.fixture(scope="module")
def http11(server11: RunningServer) -> Iterator[httpx.Client]:
    with server11.client(headers={"User-Agent": "scripts/1.0 OCCI/1.1"}) as client:
        yield client


def test_server_header_names_occi_1_1(http11: httpx.Client) -> None:
    response = http11.get("/-/", headers={"Accept": TEXT_PLAIN})
    assert response.status_code == 200, describe(response)
    assert response.headers["server"].endswith("OCCI/1.1")
    assert OCCI_JSON not in response.headers["accept"]
    assert "text/plain" in response.headers["accept"]


def test_json_only_client_gets_406_naming_the_text_renderings(http11: httpx.Client) -> None:
    response = http11.get("/compute/", headers={"Accept": OCCI_JSON})
    assert response.status_code == 406, describe(response)
    assert "text/plain" in response.headers["x-occi-error"]
    assert OCCI_JSON not in response.headers["x-occi-error"].split("speaks", 1)[1]


def test_json_body_gets_415(http11: httpx.Client) -> None:
    response = http11.post(
        "/compute/",
        content=b'{"kind": "http://schemas.ogf.org/occi/infrastructure#compute"}',
        headers={"Content-Type": OCCI_JSON, "Accept": TEXT_PLAIN},
    )
    assert response.status_code == 415, describe(response)
    assert "text/plain" in response.text


def test_client_asking_for_occi_1_2_gets_501(http11: httpx.Client) -> None:
    response = http11.get("/-/", headers={"User-Agent": "someclient/1 OCCI/1.2"})
    assert response.status_code == 501, describe(response)
    assert "OCCI/1.1" in response.headers["x-occi-error"]


def test_lifecycle_in_text_plain(http11: httpx.Client) -> None:
    created = http11.post(
        "/compute/",
        content=(
            f'Category: compute; scheme="{COMPUTE.rpartition("#")[0]}#"; class="kind"\n'
            'Category: cirros-0_6; scheme="http://schemas.pyocci.org/sim/os_tpl#"; class="mixin"\n'
            'X-OCCI-Attribute: occi.core.title="eleven"\n'
        ).encode(),
        headers={"Content-Type": TEXT_PLAIN, "Accept": TEXT_PLAIN},
    )
    assert created.status_code == 201, describe(created)
    location = created.headers["x-occi-location"]
    fetched = http11.get(location, headers={"Accept": TEXT_PLAIN})
    assert fetched.status_code == 200, describe(fetched)
    assert fetched.headers["server"].endswith("OCCI/1.1")
    entity = read_entity(fetched)
    assert entity.attributes["occi.core.title"] == "eleven"
    assert http11.delete(location).status_code == 200
    assert http11.get(location).status_code == 404


def test_default_server_still_speaks_1_2(http: httpx.Client) -> None:
    response = http.get("/-/", headers={"Accept": OCCI_JSON})
    assert response.status_code == 200, describe(response)
    assert response.headers["server"].endswith("OCCI/1.2")
