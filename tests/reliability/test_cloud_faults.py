"""EC2 failing under a running occi-server: every fault is a 503 with Retry-After, in the
client's rendering, and the server carries on when EC2 is back, without a restart.

A real occi-server on the ec2 backend in front of a real moto EC2 server,
which is made to hang (SIGSTOP), is killed mid-call, has its port closed and
has the default subnet deleted behind the server's back; and a second server
in front of `cloudfaults.BrokenEndpoint`, which answers what EC2 never would.
The tool is `reliability.cloudfaults`; its `figures` time the 503s.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from e2e.occiclient import OCCI_JSON, URI_LIST, describe, path_of, read_locations
from e2e.server import OCCI_12_USER_AGENT, RunningServer, occi_server
from motoserver import MotoServer, moto_server
from reliability.cloudfaults import (
    BROKEN_ANSWERS,
    COMPUTE_TEXT,
    Answer,
    BrokenEndpoint,
    broken_answers,
    ec2_settings,
    hung_answers,
    killed_answers,
    probe,
    probe_many,
    probes_of,
    refused_answers,
    server_config,
)

#: Short, so that the hung cloud's 503s come quickly; moto answers in milliseconds.
DEADLINE = 3.0
OS_TPL = "http://schemas.pyocci.org/ec2/os_tpl#"


@pytest.fixture(scope="module")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    """A moto of this module's own: its tests stop, kill and empty it."""
    with moto_server(tmp_path_factory.mktemp("cloud-faults-moto")) as server:
        yield server


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, moto: MotoServer) -> Iterator[RunningServer]:
    """occi-server on moto; templates read again every second, so that the AMIs of a
    moto started again are offered soon."""
    config = server_config(moto.backend_settings(template_ttl=1), DEADLINE)
    with occi_server(tmp_path_factory.mktemp("cloud-faults-served"), config=config) as server:
        yield server


@pytest.fixture(scope="module")
def broken() -> Iterator[BrokenEndpoint]:
    with BrokenEndpoint() as endpoint:
        yield endpoint


@pytest.fixture(scope="module")
def served_broken(
    tmp_path_factory: pytest.TempPathFactory, broken: BrokenEndpoint
) -> Iterator[RunningServer]:
    """occi-server taking `broken` for EC2; templates read on every request."""
    config = server_config(ec2_settings(broken.url, template_ttl=0.001), DEADLINE)
    with occi_server(tmp_path_factory.mktemp("cloud-faults-broken"), config=config) as server:
        yield server


def http(server: RunningServer) -> httpx.Client:
    return httpx.Client(base_url=server.url, timeout=60, headers={"User-Agent": OCCI_12_USER_AGENT})


def assert_unavailable(answers: list[Answer]) -> None:
    """Every answer a 503 with Retry-After and a message, in the rendering asked for."""
    assert answers
    for answer in answers:
        assert answer.is_unavailable, str(answer)
        if answer.content_type.startswith(OCCI_JSON):
            assert json.loads(answer.body) == {"status": 503, "error": answer.message}
        elif answer.content_type.startswith("text/plain"):
            assert answer.body.strip() == answer.message


def networks(client: httpx.Client) -> list[str]:
    listed = client.get("/network/", headers={"Accept": URI_LIST})
    assert listed.status_code == 200, describe(listed)
    return [path_of(location) for location in read_locations(listed)]


def create_compute(client: httpx.Client, image: str) -> httpx.Response:
    body = COMPUTE_TEXT + f'Category: {image}; scheme="{OS_TPL}"; class="mixin"\n'
    return client.post("/compute/", content=body, headers={"Content-Type": "text/plain"})


def subnet_of(moto: MotoServer, compute_path: str) -> str:
    instance_id = compute_path.rstrip("/").rsplit("/", 1)[1]
    found = moto.client().describe_instances(InstanceIds=[instance_id])
    return str(found["Reservations"][0]["Instances"][0]["SubnetId"])


# --- on moto (in this order: the last ones empty moto) ----------------------------------------


def test_a_subnet_deleted_behind_the_servers_back_costs_no_restart(
    served: RunningServer, moto: MotoServer
) -> None:
    with http(served) as client:
        # The server learns its default subnet (the one new computes go to) ...
        shared = [path for path in networks(client) if path.startswith("/network/subnet-")]
        assert len(shared) == 1, shared
        subnet_id = shared[0].rsplit("/", 1)[1]
        # ... which goes away behind its back.
        moto.client().delete_subnet(SubnetId=subnet_id)
        created = create_compute(client, moto.images["debian-12"])
        assert created.status_code == 201, describe(created)
        assert subnet_of(moto, path_of(created.headers["location"])) != subnet_id
        assert shared[0] not in networks(client)


def test_a_hung_cloud_is_503_within_the_deadline_then_the_server_recovers(
    served: RunningServer, moto: MotoServer
) -> None:
    # More requests than the backend's threads: some wait for a thread and meet the
    # deadline itself, the others botocore's timeouts, which fit within it.
    answers = hung_answers(served.url, moto, 20)
    assert_unavailable(answers)
    assert probe(served.url).status == 200


def test_a_cloud_killed_mid_call_is_503_then_the_server_serves_the_new_one(
    served: RunningServer, moto: MotoServer
) -> None:
    assert_unavailable(killed_answers(served.url, moto, 8))
    # moto came back empty: new AMIs, a new default VPC and subnet.
    with http(served) as client:
        listed = client.get("/compute/", headers={"Accept": URI_LIST})
        assert listed.status_code == 200, describe(listed)
        assert read_locations(listed) == []
        created = create_compute(client, moto.images["ubuntu-24.04"])
        for _ in range(50):  # the server reads the new AMIs within a second or two
            if created.status_code != 400:
                break
            time.sleep(0.1)
            created = create_compute(client, moto.images["ubuntu-24.04"])
        assert created.status_code == 201, describe(created)


def test_a_refused_cloud_is_503_in_the_clients_rendering(
    served: RunningServer, moto: MotoServer
) -> None:
    assert_unavailable(refused_answers(served.url, moto, 8))
    assert probe(served.url).status == 200


# --- in front of an endpoint that answers what EC2 never would --------------------------------


@pytest.mark.parametrize("answer", list(BROKEN_ANSWERS))
def test_an_answer_that_is_not_ec2s_is_503_never_500(
    served_broken: RunningServer, broken: BrokenEndpoint, answer: str
) -> None:
    broken.answer = answer
    try:
        probes = probes_of(answer)
        assert_unavailable(probe_many(served_broken.url, len(probes), probes))
    finally:
        broken.answer = None
    assert probe(served_broken.url).status == 200


def test_the_bench_tool_runs_every_kind_and_answers_validly_again(
    served_broken: RunningServer, broken: BrokenEndpoint
) -> None:
    before = broken.requests
    answers = broken_answers(served_broken.url, broken, 1)
    assert len(answers) == len(BROKEN_ANSWERS)
    assert_unavailable(answers)
    assert broken.requests > before
    assert broken.answer is None


def test_no_answer_of_the_broken_endpoint_was_an_internal_error(
    served_broken: RunningServer,
) -> None:
    # Last in the module: the server has met every broken answer by now.
    log = Path(served_broken.log).read_text()
    assert "unexpected error" not in log
    assert '" 500 ' not in log
