"""Two hosts on one PostgreSQL database behind HAProxy (`tests/scaleout.py`): a change made
through one host is read through the other at once, even where the other kept a rendering;
concurrent writes through both lose nothing; quotas hold across hosts; a host killed under
load costs clients failed or retried requests only, never a wrong answer or an
acknowledged write."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from e2e.occiclient import (
    COMPUTE,
    COMPUTE_ACTION,
    DEBIAN,
    OCCI_JSON,
    SMALL,
    EntityDoc,
    Occi,
    describe,
    locations_request,
    mixin_request,
    path_of,
)
from postgres import PostgresServer
from scaleout import ScaledOut, scaled_out, server_name

pytestmark = pytest.mark.e2e

METRICS_TOKEN = "scale-out-metrics-token-0123"
CONFIG = f'[metrics]\nenabled = true\ntoken = "{METRICS_TOKEN}"\ncensus_seconds = 0\n'
QUOTA = 5
TAG = "http://example.org/occi/scale#kept"


@pytest.fixture(scope="module")
def database_url(postgres_server: PostgresServer) -> str:
    return postgres_server.create_database()


@pytest.fixture(scope="module")
def layout(tmp_path_factory: pytest.TempPathFactory, database_url: str) -> Iterator[ScaledOut]:
    with scaled_out(tmp_path_factory.mktemp("scale-out"), database_url, config=CONFIG) as made:
        yield made


@pytest.fixture(scope="module")
def hosts(layout: ScaledOut) -> Iterator[tuple[Occi, Occi]]:
    """A JSON client of each host directly (not through the balancer)."""
    clients = [server.client() for server in layout.servers]
    try:
        yield Occi(clients[0], OCCI_JSON), Occi(clients[1], OCCI_JSON)
    finally:
        for client in clients:
            client.close()


def new_compute(occi: Occi, title: str) -> str:
    doc = EntityDoc(kind=COMPUTE, mixins=[DEBIAN, SMALL], attributes={"occi.core.title": title})
    return occi.create("/compute/", doc)


def entity_hits(server_url: str) -> float:
    """How many entity reads a server answered from the renderings it kept."""
    page = httpx.get(
        f"{server_url}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=10
    )
    assert page.status_code == 200, page.text
    return sum(
        sample.value
        for family in text_string_to_metric_families(page.text)
        for sample in family.samples
        if sample.name == "pyocci_cache_lookups_total"
        and sample.labels == {"cache": "entity", "result": "hit"}
    )


def test_a_change_through_one_host_is_read_through_the_other_at_once(layout, hosts):
    a, b = hosts
    vm = new_compute(a, "t0")
    hits_before = entity_hits(layout.servers[1].url)
    for round_ in range(1, 21):
        # B reads twice, the second time from what it kept; then A changes the entity
        # and B's very next read must show the change.
        assert b.get(vm).attributes["occi.core.title"] == f"t{round_ - 1}"
        b.get(vm)
        title = EntityDoc(kind=COMPUTE, attributes={"occi.core.title": f"t{round_}"})
        changed = a.update(vm, title)
        assert changed.status_code == 200, describe(changed)
        assert b.get(vm).attributes["occi.core.title"] == f"t{round_}"
    assert entity_hits(layout.servers[1].url) - hits_before >= 20, "B kept nothing"

    b.get(vm)
    stopped = a.act(vm, COMPUTE_ACTION + "stop")
    assert stopped.status_code == 200, describe(stopped)
    assert b.get(vm).attributes["occi.compute.state"] == "inactive"

    # A user mixin defined and associated through A: B knows it and shows it at once.
    headers, body = mixin_request(TAG, "/scale-kept/", OCCI_JSON)
    defined = a.http.post("/-/", headers=[("Accept", OCCI_JSON), *headers], content=body)
    assert defined.status_code == 200, describe(defined)
    b.get(vm)
    headers, body = locations_request([vm], OCCI_JSON)
    associated = a.http.post("/scale-kept/", headers=headers, content=body)
    assert associated.status_code == 200, describe(associated)
    assert TAG in b.get(vm).mixins
    assert vm in b.list("/scale-kept/")

    deleted = a.delete(vm)
    assert deleted.status_code == 200, describe(deleted)
    assert b.request("GET", vm).status_code == 404


def test_concurrent_partial_updates_through_both_hosts_lose_nothing(hosts):
    a, b = hosts
    vm = new_compute(a, "start")
    rounds = 25
    acknowledged: dict[str, list[str]] = {"occi.core.title": [], "occi.core.summary": []}
    problems: list[str] = []

    def write(occi: Occi, attribute: str) -> None:
        # Each host changes one attribute of the same compute, again and again: a partial
        # update read, merged and written without a lock would write back the other
        # host's attribute as it was read, undoing its change.
        for n in range(rounds):
            value = f"{attribute}-{n}"
            response = occi.update(vm, EntityDoc(kind=COMPUTE, attributes={attribute: value}))
            if response.status_code == 200:
                acknowledged[attribute].append(value)
            elif response.status_code != 409:
                problems.append(describe(response))

    threads = [
        threading.Thread(target=write, args=(a, "occi.core.title")),
        threading.Thread(target=write, args=(b, "occi.core.summary")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert problems == []
    final = a.get(vm).attributes
    for attribute, values in acknowledged.items():
        assert values, f"no update of {attribute} was acknowledged"
        # Each writer's updates are sequential: the last one acknowledged must stand.
        assert final[attribute] == values[-1]
    assert b.get(vm).attributes == final


def test_user_mixin_members_added_through_both_hosts_at_once_are_all_kept(hosts):
    a, b = hosts
    tag = "http://example.org/occi/scale#both"
    headers, body = mixin_request(tag, "/scale-both/", OCCI_JSON)
    defined = a.http.post("/-/", headers=[("Accept", OCCI_JSON), *headers], content=body)
    assert defined.status_code == 200, describe(defined)
    made = {host: [new_compute(host, f"member-{n}") for n in range(8)] for host in (a, b)}
    failures: list[str] = []

    def associate(host: Occi) -> None:
        for vm in made[host]:
            headers, body = locations_request([vm], OCCI_JSON)
            response = host.http.post("/scale-both/", headers=headers, content=body)
            if response.status_code != 200:
                failures.append(describe(response))

    threads = [threading.Thread(target=associate, args=(host,)) for host in (a, b)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    members = set(b.list("/scale-both/"))
    assert members == {vm for vms in made.values() for vm in vms}


def test_a_quota_holds_across_hosts(tmp_path: Path, postgres_server: PostgresServer):
    config = f"[backend_settings]\nquotas = {{computes = {QUOTA}}}\n"
    with scaled_out(tmp_path, postgres_server.create_database(), config=config) as quota_layout:
        clients = [Occi(server.client(), OCCI_JSON) for server in quota_layout.servers]
        statuses: list[int] = []
        lock = threading.Lock()

        def create(occi: Occi, n: int) -> None:
            doc = EntityDoc(kind=COMPUTE, mixins=[DEBIAN, SMALL], attributes={})
            status = occi.post_entity("/compute/", doc).status_code
            with lock:
                statuses.append(status)

        threads = [
            threading.Thread(target=create, args=(clients[n % 2], n)) for n in range(4 * QUOTA)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(statuses) == [201] * QUOTA + [403] * (3 * QUOTA)
        assert len(clients[1].list("/compute/")) == QUOTA
        for client in clients:
            client.http.close()


def test_a_host_killed_under_load_costs_no_acknowledged_write_and_no_wrong_answer(
    tmp_path: Path, postgres_server: PostgresServer
):
    # Creates as fast as two hosts take them: no quota may refuse one.
    unlimited = (
        '[backend_settings]\nquotas = {computes = "unlimited", cores = "unlimited", '
        'memory = "unlimited"}\n'
    )
    database_url = postgres_server.create_database()
    with scaled_out(tmp_path, database_url, config=unlimited) as killed_layout:
        front = killed_layout.front
        acknowledged: list[tuple[str, str]] = []
        unexpected: list[str] = []
        failed: list[int] = []
        stop_at = [float("inf")]

        def load(worker: int) -> None:
            with front.client() as http:
                occi = Occi(http, OCCI_JSON)
                n = 0
                while time.monotonic() < stop_at[0]:
                    n += 1
                    title = f"w{worker}-{n}"
                    doc = EntityDoc(
                        kind=COMPUTE, mixins=[DEBIAN, SMALL], attributes={"occi.core.title": title}
                    )
                    try:
                        response = occi.post_entity("/compute/", doc)
                    except httpx.TransportError:
                        failed.append(0)
                        continue
                    if response.status_code == 201:
                        location = path_of(response.headers["location"])
                        acknowledged.append((location, title))
                        # Read back at once, through whichever host the balancer picks.
                        try:
                            read = occi.request("GET", location)
                        except httpx.TransportError:
                            failed.append(0)
                            continue
                        if read.status_code == 200:
                            if occi_title(read) != title:
                                unexpected.append(f"{location} reads {read.text[:300]}")
                        elif read.status_code not in (502, 503, 504):
                            unexpected.append(describe(read))
                    elif response.status_code in (502, 503, 504):
                        failed.append(response.status_code)
                    else:
                        unexpected.append(describe(response))

        threads = [threading.Thread(target=load, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        time.sleep(2)
        before_kill = len(acknowledged)
        killed_layout.servers[0].process.kill()  # SIGKILL: no goodbye to anyone
        killed_layout.wait_until({server_name(0): "DOWN"})
        time.sleep(2)
        stop_at[0] = time.monotonic()
        for thread in threads:
            thread.join()
        assert unexpected == []
        assert before_kill > 0 and len(acknowledged) > before_kill, "no load on either side"
        # Every acknowledged create is there, with what it was created with.
        with front.client() as http:
            occi = Occi(http, OCCI_JSON)
            listed = set(occi.list("/compute/"))
            for location, title in acknowledged:
                assert location in listed
                assert occi.get(location).attributes["occi.core.title"] == title


def occi_title(response: httpx.Response) -> str | None:
    return response.json().get("attributes", {}).get("occi.core.title")
