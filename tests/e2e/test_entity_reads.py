"""Entity reads answered from rendered copies are never stale.

The server keeps what it rendered for an entity read while the sim's
revision stays put (see ``pyocci.server.representations``). These tests
change entities in every way a client can see: through another server
process on the same SQLite file, by a user mixin association, and by a timed
transition finishing with no request at all, and read right after.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from e2e.occiclient import (
    COMPUTE,
    COMPUTE_ACTION,
    OCCI_JSON,
    TEXT_PLAIN,
    UBUNTU,
    EntityDoc,
    Occi,
    describe,
    locations_request,
    mixin_request,
)
from e2e.server import RunningServer, StartServer

pytestmark = pytest.mark.e2e

TAG = "http://example.org/occi/reads#watched"
TAG_LOCATION = "/reads/watched/"


def new_compute(title: str) -> EntityDoc:
    return EntityDoc(kind=COMPUTE, mixins=[UBUNTU], attributes={"occi.core.title": title})


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("shared-sqlite")


@pytest.fixture(scope="module")
def first(start_server: StartServer, workdir: Path) -> Iterator[RunningServer]:
    with start_server(workdir=workdir) as running:
        yield running


@pytest.fixture(scope="module")
def second(
    start_server: StartServer, workdir: Path, first: RunningServer
) -> Iterator[RunningServer]:
    """Another process on the same database file: a second worker, as SQLite sees it."""
    with start_server(workdir=workdir) as running:
        yield running


@pytest.fixture(scope="module")
def reader(first: RunningServer) -> Iterator[Occi]:
    with first.client() as http:
        yield Occi(http, OCCI_JSON)


@pytest.fixture(scope="module")
def writer(second: RunningServer) -> Iterator[Occi]:
    with second.client() as http:
        yield Occi(http, OCCI_JSON)


def test_a_change_through_another_process_is_read_at_once(reader: Occi, writer: Occi) -> None:
    path = reader.create("/compute/", new_compute("before"))
    for _ in range(3):  # read it a few times: from here on it may be answered from memory
        assert reader.get(path).attributes["occi.core.title"] == "before"
    response = writer.update(path, EntityDoc(kind=COMPUTE, attributes={"occi.core.title": "after"}))
    assert response.status_code == 200, describe(response)
    assert reader.get(path).attributes["occi.core.title"] == "after"
    response = writer.act(path, COMPUTE_ACTION + "stop")
    assert response.status_code == 200, describe(response)
    assert reader.get(path).attributes["occi.compute.state"] == "inactive"
    assert writer.delete(path).status_code == 200
    assert reader.request("GET", path).status_code == 404


def test_every_rendering_is_kept_apart(reader: Occi, first: RunningServer) -> None:
    path = reader.create("/compute/", new_compute("twice"))
    assert reader.get(path).attributes["occi.core.title"] == "twice"
    with first.client() as http:
        text = Occi(http, TEXT_PLAIN)
        for _ in range(2):
            assert text.get(path).attributes["occi.core.title"] == "twice"
        head = http.head(path, headers={"Accept": TEXT_PLAIN})
        assert head.status_code == 200, describe(head)
        assert head.headers["content-type"].startswith(TEXT_PLAIN)
    assert reader.get(path).attributes["occi.core.title"] == "twice"


def test_a_user_mixin_association_shows_on_the_next_read(reader: Occi) -> None:
    defined = reader.request("POST", "/-/", mixin_request(TAG, TAG_LOCATION, OCCI_JSON))
    assert defined.status_code == 200, describe(defined)
    path = reader.create("/compute/", new_compute("tagged"))
    assert TAG not in reader.get(path).mixins
    response = reader.request("POST", TAG_LOCATION, locations_request([path], OCCI_JSON))
    assert response.status_code == 200, describe(response)
    assert TAG in reader.get(path).mixins
    response = reader.request("DELETE", TAG_LOCATION, locations_request([path], OCCI_JSON))
    assert response.status_code == 200, describe(response)
    assert TAG not in reader.get(path).mixins


def test_a_tenant_never_reads_another_tenants_kept_entity(
    start_server: StartServer, tmp_path_factory: pytest.TempPathFactory
) -> None:
    workdir = tmp_path_factory.mktemp("tenants")
    users = workdir / "users.toml"
    config = f'[auth]\nmethod = "basic"\nusers_file = "{users}"\n'
    for name in ("alice", "bob"):
        command = [sys.executable, "-m", "pyocci.server.cli", "user", "add", name]
        command += ["--tenant", name, "--password-stdin", "--users-file", str(users)]
        subprocess.run(command, input=f"{name}-secret\n", text=True, check=True)
    with start_server(workdir=workdir, config=config) as server:
        with server.client(auth=("alice", "alice-secret")) as alice_http:
            alice = Occi(alice_http, OCCI_JSON)
            path = alice.create("/compute/", new_compute("alice's"))
            assert alice.get(path).attributes["occi.core.title"] == "alice's"
            assert alice.get(path).attributes["occi.core.title"] == "alice's"
        with server.client(auth=("bob", "bob-secret")) as bob_http:
            response = bob_http.get(path, headers={"Accept": OCCI_JSON})
            assert response.status_code == 404, describe(response)


def test_a_timed_transition_finishes_on_time_while_polled(
    start_server: StartServer,
) -> None:
    config = "[backend_settings]\ntransition_seconds = 0.6\n"
    with start_server(config=config) as server, server.client() as http:
        occi = Occi(http, OCCI_JSON)
        path = occi.create("/compute/", new_compute("slow"))
        states = []
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            states.append(occi.get(path).attributes["occi.compute.state"])
            if states[-1] == "active":
                break
            time.sleep(0.05)
        # Polled (from memory between changes) it shows waiting, then active. That the
        # revision moves the moment the transition finishes is asserted exactly, with a
        # clock the test moves, in tests/backends/sim/test_sim_revision.py: here the
        # tenant's model is rebuilt every second, which would also end a stale answer.
        assert states[0] == "waiting"
        assert states[-1] == "active", states
        assert states.count("waiting") >= 2
