"""A JSON document creating several resources creates all of them or none.

``{"resources": [valid, invalid]}`` once answered 400 after creating the
first compute, left running and not mentioned. Now every resource is
checked before the first is created, and when the cloud refuses one (here
the sim's compute quota) the ones created before it are deleted again; the
error names the resource and says what became of the others.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from e2e.occiclient import OCCI_JSON, URI_LIST, describe, entity_request, read_locations
from e2e.server import Offer

pytestmark = pytest.mark.e2e

QUOTA = 4
#: Each sim the module runs on (SQLite, PostgreSQL, two hosts behind HAProxy) is a fresh
#: server with this quota (see the ``server`` fixture of conftest.py).
SIM_CONFIG = f"""
[backend_settings]
quotas = {{computes = {QUOTA}}}
"""


def compute_document(offer: Offer, **attributes: Any) -> dict[str, Any]:
    _, body = entity_request(offer.compute(**attributes), OCCI_JSON)
    return json.loads(body)


def computes(http: httpx.Client) -> list[str]:
    return read_locations(http.get("/compute/", headers={"Accept": URI_LIST}))


def post(http: httpx.Client, resources: list[dict[str, Any]]) -> httpx.Response:
    return http.post(
        "/compute/",
        headers={"Content-Type": OCCI_JSON, "Accept": OCCI_JSON},
        content=json.dumps({"resources": resources}),
    )


def test_an_invalid_resource_creates_none(http: httpx.Client, offer: Offer) -> None:
    before = computes(http)
    valid = compute_document(offer)
    invalid = compute_document(offer, **{"occi.compute.cores": "many"})
    answer = post(http, [valid, invalid])
    assert answer.status_code == 400, describe(answer)
    assert "entity 2 of 2" in answer.headers["x-occi-error"]
    assert "nothing was created" in answer.headers["x-occi-error"]
    assert computes(http) == before


def test_a_refusal_of_the_cloud_undoes_the_others(http: httpx.Client, offer: Offer) -> None:
    before = computes(http)
    room = QUOTA - len(before)
    assert room >= 2
    answer = post(http, [compute_document(offer) for _ in range(room + 1)])
    assert answer.status_code == 403, describe(answer)
    message = answer.headers["x-occi-error"]
    assert f"entity {room + 1} of {room + 1}" in message
    assert f"the {room} created before it were deleted again" in message
    assert computes(http) == before


def test_valid_resources_are_all_created(http: httpx.Client, offer: Offer) -> None:
    before = computes(http)
    answer = post(http, [compute_document(offer), compute_document(offer)])
    assert answer.status_code == 201, describe(answer)
    assert len(computes(http)) == len(before) + 2
