"""The query interface (GFD.223 §3.4): ``GET /-/`` in every rendering, filtered, HEAD,
negotiation and version refusals, and the ``Server`` header."""

from __future__ import annotations

import importlib.metadata
import re
from urllib.parse import quote

import httpx
import pytest

from e2e.occiclient import (
    COMPUTE,
    COMPUTE_ACTION,
    CRTP,
    DEBIAN,
    ENTITY,
    IPNETWORK,
    IPNETWORKINTERFACE,
    IPRESERVATION,
    LARGE,
    LINK,
    MEDIUM,
    NETWORK,
    NETWORKINTERFACE,
    OCCI_JSON,
    OS_TPL,
    RENDERINGS,
    RESOURCE,
    RESOURCE_TPL,
    SECURITYGROUP,
    SECURITYGROUPLINK,
    SIM_OS,
    SMALL,
    SSH_KEY,
    STORAGE,
    STORAGELINK,
    TEXT_OCCI,
    TEXT_PLAIN,
    UBUNTU,
    USER_DATA,
    category_value,
    describe,
    media_type_of,
    read_categories,
    text_structures,
)
from occi_schemas import assert_valid_model

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.backends("sim", "ec2", "openstack", "memory", "opennebula"),
]

QUERY_PATHS = ("/-/", "/.well-known/org/ogf/occi/-/")
CORE_KINDS = (ENTITY, RESOURCE, LINK)
INFRASTRUCTURE_KINDS = (COMPUTE, STORAGE, NETWORK, NETWORKINTERFACE, STORAGELINK)
EXTENSION_KINDS = (SECURITYGROUP, SECURITYGROUPLINK, IPRESERVATION)
STANDARD_MIXINS = (IPNETWORK, IPNETWORKINTERFACE, OS_TPL, RESOURCE_TPL, USER_DATA, SSH_KEY)
COMPUTE_ACTIONS = tuple(COMPUTE_ACTION + t for t in ("start", "stop", "restart", "suspend", "save"))
#: GFD.222's CRTP base templates: cores, memory (GiB).
CRTP_SIZES = {SMALL: (1, 1.0), MEDIUM: (2, 2.0), LARGE: (4, 4.0)}


def discover(
    http: httpx.Client, accept: str, path: str = "/-/", headers: dict[str, str] | None = None
) -> httpx.Response:
    response = http.get(path, headers={"Accept": accept, **(headers or {})})
    assert response.status_code == 200, describe(response)
    return response


@pytest.fixture(scope="module", params=RENDERINGS)
def rendering(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="module")
def categories(http: httpx.Client, rendering: str) -> dict[str, dict]:
    return read_categories(discover(http, rendering))


def test_both_query_interface_paths_answer_the_same(http: httpx.Client, rendering: str) -> None:
    first, second = (discover(http, rendering, path) for path in QUERY_PATHS)
    assert media_type_of(first) == media_type_of(second) == rendering
    assert first.content == second.content
    assert text_structures(first) == text_structures(second)


def test_text_plain_carries_the_categories_in_the_body(http: httpx.Client) -> None:
    response = discover(http, TEXT_PLAIN)
    assert media_type_of(response) == TEXT_PLAIN
    lines = [line for line in response.text.splitlines() if line.strip()]
    assert lines, "empty discovery"
    assert all(line.startswith("Category: ") for line in lines), lines[:5]
    assert "category" not in {name.lower() for name in response.headers}


def test_text_occi_carries_the_categories_in_headers_with_body_ok(http: httpx.Client) -> None:
    response = discover(http, TEXT_OCCI)
    assert media_type_of(response) == TEXT_OCCI
    assert response.text.strip() == "OK"
    in_headers = read_categories(response)
    in_body = read_categories(discover(http, TEXT_PLAIN))
    assert in_headers.keys() == in_body.keys()
    assert in_headers[COMPUTE] == in_body[COMPUTE]


def test_json_validates_against_gfd226_and_rocci_schemas(http: httpx.Client) -> None:
    response = discover(http, OCCI_JSON)
    assert media_type_of(response) == OCCI_JSON
    document = response.json()
    assert_valid_model(document)
    assert {"kinds", "mixins", "actions"} <= document.keys()
    # A rOCCI client gets no `pattern` objects, and a document its own schema takes.
    rocci = discover(http, OCCI_JSON, headers={"User-Agent": "rOCCI-core/5.0.0 OCCI/1.2"})
    assert b'"pattern"' not in rocci.content
    assert_valid_model(rocci.json(), for_rocci=True)


def test_json_says_which_attributes_take_integers_only(http: httpx.Client) -> None:
    """GFD.226's way: `type` number, and a JSON Schema in `pattern` saying integer."""
    document = discover(http, OCCI_JSON).json()
    compute = next(kind for kind in document["kinds"] if kind["term"] == "compute")
    cores = compute["attributes"]["occi.compute.cores"]
    assert cores["type"] == "number"
    assert cores["pattern"]["type"] == "integer"
    memory = compute["attributes"]["occi.compute.memory"]
    assert memory["type"] == "number" and "pattern" not in memory
    stop = next(action for action in document["actions"] if action["term"] == "stop")
    method = stop["attributes"]["method"]
    assert method["type"] == "string"
    assert set(method["pattern"]["enum"]) >= {"graceful", "acpioff", "poweroff"}


def test_json_attribute_descriptions_are_explicit(http: httpx.Client) -> None:
    """GFD.226 defaults `mutable` to false: a server must say mutable/required/type."""
    document = discover(http, OCCI_JSON).json()
    for section in ("kinds", "mixins", "actions"):
        for category in document[section]:
            for name, description in category.get("attributes", {}).items():
                missing = {"mutable", "required", "type"} - description.keys()
                assert not missing, f"{category['term']} {name} lacks {missing}"


def test_every_rendering_lists_the_same_categories(http: httpx.Client) -> None:
    ids = [set(read_categories(discover(http, r))) for r in RENDERINGS]
    assert ids[0] == ids[1] == ids[2]


@pytest.mark.backends("sim")  # ipreservation is the sim's; EC2 links to /network/public
def test_core_infrastructure_and_extension_kinds(categories: dict[str, dict]) -> None:
    for kind in (*CORE_KINDS, *INFRASTRUCTURE_KINDS, *EXTENSION_KINDS):
        assert kind in categories, f"{kind} not discovered"
        assert categories[kind]["class"] == "kind"
    for kind in (*INFRASTRUCTURE_KINDS, *EXTENSION_KINDS):
        location = categories[kind].get("location")
        assert location and location.endswith("/"), f"{kind} has no collection location"
    assert categories[COMPUTE]["location"] == "/compute/"
    assert categories[COMPUTE]["parent"] == RESOURCE
    assert categories[NETWORKINTERFACE]["parent"] == LINK
    assert categories[IPRESERVATION]["parent"] == NETWORK
    for mixin in STANDARD_MIXINS:
        assert categories.get(mixin, {}).get("class") == "mixin", f"{mixin} not discovered"


def test_compute_kind_attributes_and_actions(categories: dict[str, dict]) -> None:
    compute = categories[COMPUTE]
    attributes = compute["attributes"]
    for name in ("occi.compute.cores", "occi.compute.memory", "occi.compute.hostname"):
        assert attributes[name]["mutable"] is True, name
    assert attributes["occi.compute.state"]["mutable"] is False
    assert attributes["occi.compute.state"]["required"] is False
    assert set(compute["actions"]) == set(COMPUTE_ACTIONS)
    for action in COMPUTE_ACTIONS:
        assert categories[action]["class"] == "action"
    assert "method" in categories[COMPUTE_ACTION + "stop"]["attributes"]
    assert {"method", "name"} <= categories[COMPUTE_ACTION + "save"]["attributes"].keys()


@pytest.mark.backends("sim", "ec2", "memory", "opennebula")  # no storage on OpenStack yet
def test_storage_kind_attributes(categories: dict[str, dict]) -> None:
    assert categories[STORAGE]["attributes"]["occi.storage.size"]["required"] is True


@pytest.mark.backends("sim")  # the sim's images; test_ec2.py and test_openstack.py check theirs
def test_sim_os_templates_depend_on_os_tpl(categories: dict[str, dict]) -> None:
    images = {i: c for i, c in categories.items() if i.startswith(SIM_OS)}
    assert {DEBIAN, UBUNTU} <= images.keys()
    for identifier, image in images.items():
        assert image["class"] == "mixin"
        assert image.get("depends") and image["depends"][0] == OS_TPL, identifier
        assert image.get("location"), f"{identifier} has no location (rOCCI-cli needs one)"
        if "applies" in image:  # JSON only
            assert COMPUTE in image["applies"]


# CRTP templates are the sim's and memory's; EC2 and OpenStack have their own.
@pytest.mark.backends("sim", "memory")
def test_crtp_resource_templates(categories: dict[str, dict], rendering: str) -> None:
    templates = {i: c for i, c in categories.items() if i.startswith(CRTP)}
    assert set(CRTP_SIZES) <= templates.keys()
    for identifier, template in templates.items():
        assert template["depends"][0] == RESOURCE_TPL, identifier
        assert template.get("location"), identifier
        assert "occi.compute.cores" in template["attributes"]
    if rendering == OCCI_JSON:
        for identifier, (cores, memory) in CRTP_SIZES.items():
            attributes = categories[identifier]["attributes"]
            assert attributes["occi.compute.cores"].get("default") == cores
            assert attributes["occi.compute.memory"].get("default") == memory


@pytest.mark.parametrize("accept", RENDERINGS)
def test_filter_by_category_header(http: httpx.Client, accept: str) -> None:
    compute = category_value(COMPUTE, "kind")
    found = read_categories(discover(http, accept, headers={"Category": compute}))
    assert COMPUTE in found
    assert STORAGE not in found
    assert DEBIAN not in found
    assert len(found) < 20, sorted(found)


@pytest.mark.backends("sim")  # a sim image; test_ec2.py and test_openstack.py filter by theirs
@pytest.mark.parametrize("accept", RENDERINGS)
def test_filter_by_a_mixin(http: httpx.Client, accept: str) -> None:
    found = read_categories(
        discover(http, accept, headers={"Category": category_value(DEBIAN, "mixin")})
    )
    assert DEBIAN in found
    assert COMPUTE not in found
    assert UBUNTU not in found


@pytest.mark.backends("sim", "ec2", "memory", "opennebula")  # no storage on OpenStack yet
@pytest.mark.parametrize("accept", RENDERINGS)
def test_filter_by_category_query(http: httpx.Client, accept: str) -> None:
    found = read_categories(discover(http, accept, f"/-/?category={quote(STORAGE, safe='')}"))
    assert STORAGE in found
    assert COMPUTE not in found


def test_filter_on_the_well_known_path_too(http: httpx.Client) -> None:
    headers = {"Category": category_value(COMPUTE, "kind")}
    first, second = (discover(http, TEXT_PLAIN, path, headers) for path in QUERY_PATHS)
    assert first.text == second.text
    assert COMPUTE in read_categories(first)


@pytest.mark.parametrize("accept", RENDERINGS)
def test_head_answers_like_get_without_a_body(http: httpx.Client, accept: str) -> None:
    get = discover(http, accept)
    head = http.head("/-/", headers={"Accept": accept})
    assert head.status_code == 200, describe(head)
    assert head.content == b""
    assert media_type_of(head) == media_type_of(get) == accept
    assert head.headers.get("server") == get.headers.get("server")


def test_unacceptable_accept_is_406(http: httpx.Client) -> None:
    response = http.get("/-/", headers={"Accept": "application/xml"})
    assert response.status_code == 406, describe(response)
    assert response.headers.get("x-occi-error")


def test_client_asking_for_occi_2_gets_501(http: httpx.Client) -> None:
    response = http.get("/-/", headers={"User-Agent": "x OCCI/2.0", "Accept": TEXT_PLAIN})
    assert response.status_code == 501, describe(response)
    assert "OCCI/1.2" in (response.headers.get("x-occi-error") or "")


def test_occi_1_1_and_1_2_clients_are_served(http: httpx.Client) -> None:
    for agent in ("rOCCI-cli/4.3.0 OCCI/1.1", "pyocci-tests/1 OCCI/1.2", "curl/8"):
        response = http.get("/-/", headers={"User-Agent": agent})
        assert response.status_code == 200, describe(response)


@pytest.mark.parametrize("path", ["/-/", "/compute/", "/nothing/here"])
def test_server_header_names_pyocci_and_occi_1_2(http: httpx.Client, path: str) -> None:
    version = importlib.metadata.version("pyocci")
    response = http.get(path)
    server = response.headers.get("server", "")
    assert re.fullmatch(rf"pyocci/{re.escape(version)} OCCI/1\.2( .*)?", server), server
    assert response.headers.get("accept"), "GFD.223: responses SHOULD carry Accept"
