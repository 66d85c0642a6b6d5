"""Replay erocci's HTTP test suite (``vectors/erocci/http_scenarios.json``) against us.

The scenarios come from erocci's ``priv/scripts/testsuite_*/*.sh``: curl
commands with shell placeholders. They are replayed in order on one server
(they build on each other: the user mixin of 005 is deleted by 010), with
erocci's paths mapped onto ours:

* ``/collections/<kind>/`` -> ``/<kind>/``; ``/collections/os_tpl/`` -> an
  os_tpl template's collection (associating a compute with it = rebuild);
* ``/store/myresources/<fmt>/<kind>/<uuid>`` -> ``/<kind>/<uuid>``,
  ``/store/mylinks/<fmt>/networkinterface(s)/<uuid>`` -> ``/networkinterface/<uuid>``,
  ``/store/myresources/`` (a directory of everything) -> ``/``;
* ``/store/usermixins/...`` stays: it is the location the user mixin asks for;
* ``${id}``, ``${source}``, ``${entity}`` = the first compute of ``/compute/``
  (or a new path), ``${target}`` = the first network of ``/network/``,
  ``$(uuidgen)`` = a fresh UUID.

The json suite is erocci's pre-1.2 JSON (nested attributes, ``{"resources":
[...]}`` around one entity, link ends as strings); it is sent as
``application/json``. A compute needs an image here, and erocci's scenarios
name none: the server runs with a default image.

Where GFD.223/224 give another answer than erocci's, `DIFFERENCES` says
which and why, and the spec's answer is asserted.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from e2e.occiclient import (
    COMPUTE,
    DEBIAN,
    NETWORK,
    NETWORKINTERFACE,
    PRIVATE_NETWORK,
    TEXT_PLAIN,
    URI_LIST,
    EntityDoc,
    LinkDoc,
    Occi,
    describe,
)
from e2e.server import RunningServer, StartServer

# Sim only: the erocci scenarios need the sim's configured images and client-chosen ids.
pytestmark = pytest.mark.e2e

VECTORS = Path(__file__).resolve().parents[2].parent / "shared" / "vectors"
SCENARIOS_FILE = VECTORS / "erocci" / "http_scenarios.json"
OS_TPL_COLLECTION = "/mixin/os_tpl/ubuntu-24_04/"
CONFIG = """
[backend_settings]
default_image = "debian-12"
"""
#: erocci's "any" suite runs once per content type of the other suites.
ANY_SUITE_TYPES = (TEXT_PLAIN, "application/json")

_IMMUTABLE_INTERFACE = (
    "the link sets occi.networkinterface.interface, immutable in GFD.224 §3.4.1 (the "
    "provider names the device), and a static address outside the target network: an "
    "invalid rendering, 400 (GFD.223 §3.10); erocci stores any document"
)

#: scenario "<suite>/<name>" -> (the status GFD.223/224 want from us, why it is not erocci's).
DIFFERENCES: dict[str, tuple[int, str]] = {
    "json/003_create_link_networkinterface": (400, _IMMUTABLE_INTERFACE),
    "plain/003_create_link_networkinterface": (400, _IMMUTABLE_INTERFACE),
    "json/004_update_collection": (200, "GFD.223 §3.7: associating with a mixin -> 200"),
    "plain/004_update_collection": (200, "GFD.223 §3.7: associating with a mixin -> 200"),
    "json/005_create_user_mixin": (200, "GFD.223 §3.4: POST /-/ -> 200, not a 303 redirect"),
    "plain/005_create_user_mixin": (
        400,
        "the Category has no class, which GFD.229's ABNF requires (category-value)",
    ),
    "json/006_action": (
        400,
        "the body is not JSON (a comma is missing after the action member): GFD.223 §3.10",
    ),
    "plain/006_action": (200, "GFD.223 §3.5: an action -> 200 (the body MAY render the entity)"),
    "json/010_delete_user_mixin": (200, "GFD.223 §3.4: DELETE /-/ -> 200"),
    "plain/010_delete_user_mixin": (
        404,
        "plain/005 was refused, so there is no plainmixin to remove: unknown -> 404",
    ),
    "json/012_create_resource_inline_link": (400, _IMMUTABLE_INTERFACE),
    "plain/012_create_resource_inline_link": (
        400,
        "occi.compute.architecture='x86_64' is outside GFD.224's Enum {x86, x64}, and the "
        "inline link sets the immutable occi.networkinterface.interface",
    ),
}


def load() -> list[dict[str, Any]]:
    scenarios = json.loads(SCENARIOS_FILE.read_text())["scenarios"]
    expanded = []
    for scenario in scenarios:
        if scenario["suite"] == "any":
            for media_type in ANY_SUITE_TYPES:
                expanded.append({**scenario, "content_type": media_type})
        else:
            expanded.append(scenario)
    return expanded


SCENARIOS = load() if SCENARIOS_FILE.is_file() else []


def scenario_id(scenario: dict[str, Any]) -> str:
    suffix = f"[{scenario['content_type']}]" if scenario["suite"] == "any" else ""
    return f"{scenario['suite']}/{scenario['name']}{suffix}"


@pytest.fixture(scope="module")
def server(start_server: StartServer) -> Iterator[RunningServer]:
    with start_server(config=CONFIG) as running:
        yield running


@dataclass
class Places:
    """What erocci's placeholders stand for on our server."""

    base: str

    def first(self, http: httpx.Client, collection: str) -> str:
        response = http.get(collection, headers={"Accept": URI_LIST})
        assert response.status_code == 200, describe(response)
        return response.text.split()[0]


@pytest.fixture(scope="module")
def places(http: httpx.Client, server: RunningServer) -> Places:
    """A compute with a network interface first in its collections, as erocci's
    ``testsuite_any`` expects to find."""
    occi = Occi(http, TEXT_PLAIN)
    occi.create(
        "/compute/",
        EntityDoc(
            kind=COMPUTE,
            mixins=[DEBIAN],
            links=[LinkDoc(kind=NETWORKINTERFACE, target=PRIVATE_NETWORK, target_kind=NETWORK)],
        ),
    )
    return Places(server.url)


STORE_PATHS = [
    (re.compile(r"/store/mylinks/[a-z]+/networkinterfaces?/"), "/networkinterface/"),
    (re.compile(r"/store/myresources/[a-z]+/badcompute/"), "/compute/badcompute-"),
    (re.compile(r"/store/myresources/[a-z]+/([a-z]+)/"), r"/\1/"),
    (re.compile(r"/collections/os_tpl/"), OS_TPL_COLLECTION),
    (re.compile(r"/collections/([a-z]+)/"), r"/\1/"),
]


def map_paths(text: str) -> str:
    for pattern, replacement in STORE_PATHS:
        text = pattern.sub(replacement, text)
    return text


def resolve(value: str, http: httpx.Client, places: Places, fresh: dict[str, str]) -> str:
    """A shell placeholder's value on our server."""
    command = re.fullmatch(r"\$\(curl .*\$\{occi_srv\}(/collections/[a-z_]+/) \| head -1\)", value)
    if command:
        return places.first(http, map_paths(command.group(1)))
    if value == "/store/myresources/":
        return "/"
    value = value.replace("$(uuidgen)", fresh.setdefault("uuid", str(uuid.uuid4())))
    return map_paths(value)


def prepare(
    scenario: dict[str, Any], http: httpx.Client, places: Places
) -> tuple[str, str, dict[str, str], bytes]:
    fresh: dict[str, str] = {}
    variables = {
        name: resolve(value, http, places, fresh) for name, value in scenario["vars"].items()
    }
    variables["linkid"] = str(uuid.uuid4())

    def substitute(text: str) -> str:
        text = re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: variables[m.group(1) or m.group(2)], text)
        return map_paths(text)

    url = substitute(scenario["url"].strip("'"))
    url = url.replace(places.base, "")
    headers = {}
    if scenario["suite"] == "any":
        headers["Accept"] = scenario["content_type"]
    elif scenario["content_type"]:
        headers["Content-Type"] = scenario["content_type"]
        headers["Accept"] = scenario["content_type"]
    body = substitute(scenario["body"]).encode() if scenario["body"] is not None else b""
    return scenario["method"], url, headers, body


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[scenario_id(s) for s in SCENARIOS])
def test_erocci_scenario(http: httpx.Client, places: Places, scenario: dict[str, Any]) -> None:
    method, url, headers, body = prepare(scenario, http, places)
    response = http.request(method, url, headers=headers, content=body)
    name = f"{scenario['suite']}/{scenario['name']}"
    expected, why = DIFFERENCES.get(name, (scenario["expect_status"], "as erocci"))
    assert response.status_code == expected, f"{name} ({why}):\n{describe(response)}"
    assert response.status_code < 500
    if response.status_code >= 400:
        assert response.headers.get("x-occi-error")


def test_the_scenarios_are_there() -> None:
    if not SCENARIOS_FILE.is_file():
        pytest.skip(f"{SCENARIOS_FILE} is missing: erocci's scenarios come from shared/vectors")
    assert len(SCENARIOS) >= 28, f"expected erocci's scenarios at {SCENARIOS_FILE}"
    assert set(DIFFERENCES) <= {f"{s['suite']}/{s['name']}" for s in SCENARIOS}
