"""Discovery and the choice of rendering, against OCCI 1.2 and 1.1-style occi-servers."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from e2e.server import RunningServer, occi_server
from pyocci.client import InvalidInputError, OcciClient, ServerError
from pyocci.client.discovery import media_type_named, model_of, typed_as_standard
from pyocci.model import AttributeDefinition, AttributeType, Kind, Mixin, standard_model
from pyocci.model.infrastructure import COMPUTE
from pyocci.rendering import codec_for

INFRA = "http://schemas.ogf.org/occi/infrastructure#"
CORES = "occi.compute.cores"


@pytest.fixture(scope="module")
def occi11(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """An occi-server in its OCCI 1.1 mode: text renderings only."""
    with occi_server(
        tmp_path_factory.mktemp("occi11"),
        environ={"PYOCCI_OCCI_VERSION": "1.1", "PYOCCI_BACKEND_SETTINGS_TRANSITION_SECONDS": "0.2"},
    ) as running:
        yield running


def test_a_11_server_is_spoken_to_in_text_plain(occi11: RunningServer):
    user_agents: list[str] = []
    hooks = {"request": [lambda request: user_agents.append(request.headers["user-agent"])]}
    with OcciClient(occi11.url, event_hooks=hooks) as occi:
        discovery = occi.discover()
        assert discovery.occi_version == (1, 1)
        assert discovery.media_type == "text/plain"
        location = occi.create(occi.new_compute(os="debian", size="small", title="old"))
        assert occi.wait_for(location, "active", timeout=30, interval=0.1).title == "old"
        assert location in list(occi.locations("compute"))
        occi.trigger(location, "stop")
        occi.wait_for(location, "inactive", timeout=30, interval=0.1)
        occi.delete(location)
    # Once the server's version is known, the client claims no more than it.
    assert "OCCI/" not in user_agents[0]
    assert all(agent.endswith("OCCI/1.1") for agent in user_agents[1:])


def test_sizes_are_unknown_without_json_and_the_message_says_so(occi11: RunningServer):
    with OcciClient(occi11.url) as occi, pytest.raises(InvalidInputError) as raised:
        occi.resource_template(cores=2)
    assert "choose one by name with --size" in raised.value.message


def test_forcing_json_on_a_11_server_reports_its_406(occi11: RunningServer):
    with (
        OcciClient(occi11.url, media_type="application/occi+json") as occi,
        pytest.raises(ServerError) as raised,
    ):
        occi.discover()
    assert raised.value.status == 406


def test_forcing_a_rendering_on_a_12_server(tmp_path):
    with occi_server(tmp_path) as server:
        for forced in ("text/plain", "text/occi"):
            with OcciClient(server.url, media_type=forced) as occi:
                assert occi.media_type == forced
                assert occi.model.kind(INFRA + "compute").location == "/compute/"
        with httpx.Client() as http:
            assert "OCCI/1.2" in http.get(server.url + "/-/").headers["server"]


@pytest.mark.parametrize(
    ("name", "media_type"),
    [
        ("json", "application/occi+json"),
        ("TEXT", "text/plain"),
        ("occi", "text/occi"),
        ("application/json", "application/occi+json"),
    ],
)
def test_renderings_by_short_name(name, media_type):
    assert media_type_named(name) == media_type


def test_an_unknown_rendering_name_says_which_exist():
    with pytest.raises(ValueError, match="use json"):
        media_type_named("xml")


def test_a_category_listed_twice_is_kept_once():
    tag = Mixin(scheme="http://example.org/tags#", term="blue", location="/blue/")
    kind = Kind(scheme="http://example.org/k#", term="thing", location="/thing/")
    model = model_of([kind, tag, tag, COMPUTE])
    assert [c.id for c in model] == [kind.id, tag.id, COMPUTE.id]
    # pyocci's state machines come along, for waiting on the standard kinds a server lists.
    assert model.state_machine(COMPUTE.id).attribute == "occi.compute.state"


@pytest.mark.parametrize("rendering", ["application/occi+json", "text/plain", "text/occi"])
def test_integer_attributes_are_checked_before_sending(server: RunningServer, rendering: str):
    """The server refuses 1.5 cores: whatever the rendering, the client knows before sending
    (JSON says integer in its `pattern`; text says no type, so the standard's is taken)."""
    sent: list[str] = []
    hooks = {"request": [lambda request: sent.append(request.method)]}
    with OcciClient(server.url, media_type=rendering, event_hooks=hooks) as occi:
        definitions = occi.model.attribute_definitions(COMPUTE.id)
        assert definitions["occi.compute.cores"].type is AttributeType.INTEGER
        assert definitions["occi.compute.memory"].type is AttributeType.NUMBER
        stop = occi.model.get("http://schemas.ogf.org/occi/infrastructure/compute/action#stop")
        assert {"graceful", "acpioff", "poweroff"} <= set(stop.attributes["method"].enum)
        compute = occi.new_compute(os="debian", size="small", attributes={CORES: "1.5"})
        with pytest.raises(InvalidInputError) as raised:
            occi.create(compute)
        assert raised.value.problems == ["occi.compute.cores must be an integer, got 1.5"]
        # A whole number is fine, even written with a decimal point (small has 1 core).
        compute = occi.new_compute(os="debian", size="small", attributes={CORES: "1.0"})
        location = occi.create(compute)
        assert occi.get(location).attributes[CORES] == 1
        occi.delete(location)
    assert sent.count("POST") == 1, sent


def test_text_discovery_keeps_what_the_server_said_besides_the_type():
    standard = standard_model()
    codec = codec_for("text/plain")
    parsed = codec.parse_categories(codec.render_categories(list(standard)).body)
    typed = {category.id: category for category in typed_as_standard(parsed)}
    cores = typed[COMPUTE.id].attributes[CORES]
    assert cores.type is AttributeType.INTEGER
    assert cores.mutable == standard.get(COMPUTE.id).attributes[CORES].mutable
    # An attribute no standard category defines stays untyped.
    thing = Kind(
        scheme="http://example.org/k#",
        term="thing",
        location="/thing/",
        attributes={"org.example.size": AttributeDefinition(name="org.example.size")},
    )
    (again,) = typed_as_standard([thing])
    assert again.attributes["org.example.size"].type is AttributeType.STRING
