"""`OcciClient` against a real occi-server: the whole life cycle in every rendering,
paging, waiting, and every error path."""

from __future__ import annotations

import base64
import math
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from e2e.server import RunningServer, free_port
from pyocci.client import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    OcciClient,
    ServerUnreachableError,
    WaitTimeoutError,
)
from pyocci.model import Resource

INFRA = "http://schemas.ogf.org/occi/infrastructure#"
SMALL = "http://schemas.ogf.org/occi/infrastructure/compute/template/1.1#small"
LARGE = "http://schemas.ogf.org/occi/infrastructure/compute/template/1.1#large"
DEBIAN = "http://schemas.pyocci.org/sim/os_tpl#debian-12"
USER_DATA_MIXIN = "http://schemas.ogf.org/occi/infrastructure/compute#user_data"
SSH_KEY_MIXIN = "http://schemas.ogf.org/occi/infrastructure/credentials#ssh_key"
RENDERINGS = ["application/occi+json", "text/plain", "text/occi"]


class Exchanges:
    """Counts the requests a client really sends (an httpx event hook)."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def hooks(self) -> dict[str, list]:
        return {"request": [self.requests.append]}


def test_discovery_chooses_json_on_an_occi_12_server(server: RunningServer):
    with OcciClient(server.url) as occi:
        discovery = occi.discover()
        assert discovery.media_type == "application/occi+json"
        assert discovery.occi_version == (1, 2)
        assert occi.model.kind(INFRA + "compute").location == "/compute/"
        assert "debian-12" in [t.term for t in occi.templates("os")]
        sizes = {t.term: (t.cores, t.memory) for t in occi.templates("resource")}
        assert sizes["large"] == (4, 4.0)


@pytest.mark.parametrize("media_type", RENDERINGS)
def test_the_whole_life_cycle_in_every_rendering(server: RunningServer, media_type: str):
    user_data = base64.b64encode(b"#cloud-config\npackages: [htop]\n").decode()
    with OcciClient(server.url, media_type=media_type) as occi:
        assert occi.media_type == media_type
        vm = occi.new_compute(
            os="debian",
            size="small",
            title="vm1",
            user_data=user_data,
            ssh_key="ssh-ed25519 AAAAC3Nza test@example",
            links=["/network/public"],
        )
        location = occi.create(vm)
        assert location.startswith("/compute/")

        active = occi.wait_for(location, "active", timeout=30, interval=0.1)
        assert {DEBIAN, SMALL, USER_DATA_MIXIN, SSH_KEY_MIXIN} <= set(active.mixins)
        assert active.title == "vm1"
        assert active.attributes["occi.compute.userdata"] == user_data
        assert [link.target for link in active.links] == ["/network/public"]
        assert INFRA.replace("#", "/compute/action#stop") in active.actions

        occi.trigger(location, "stop", method="graceful")
        occi.wait_for(location, "inactive", timeout=30, interval=0.1)

        image = occi.save(location, name=f"img-{media_type.replace('/', '-')}")
        assert image.location and image.location.startswith("/mixin/os_tpl/")
        # Offered once the simulated save has finished (the server's transition time).
        assert occi.wait_for_template(image, timeout=30, interval=0.1).id == image.id
        assert image.term in [t.term for t in occi.templates("os")]

        second = occi.create(occi.new_compute(os=image.term, size="small", title="vm2"))
        occi.wait_for(second, "active", timeout=30, interval=0.1)
        assert image.id in occi.get(second).mixins

        resized = occi.resize(second, "large")
        assert LARGE in resized.mixins and SMALL not in resized.mixins

        storage = occi.create(Resource(kind=INFRA + "storage", attributes={"occi.storage.size": 1}))
        occi.wait_for(storage, "online", timeout=30, interval=0.1)
        link = occi.link(second, storage)
        assert link.startswith("/storagelink/")
        assert occi.get(link).target == storage

        tag = occi.define_mixin(f"tag{RENDERINGS.index(media_type)}", title="a tag")
        occi.associate(tag.term, [location, second])
        assert sorted(occi.locations(tag.term)) == sorted([location, second])
        occi.dissociate(tag.term, [location])
        assert list(occi.locations(tag.term)) == [second]
        occi.remove_mixin(tag.term)
        assert occi.model.get(tag.id) is None

        occi.unlink(link)
        for gone in (location, second, storage):
            occi.delete(gone)
            with pytest.raises(NotFoundError) as missing:
                occi.get(gone)
            assert missing.value.status == 404


def test_listing_follows_paging_over_a_thousand_entities(server: RunningServer):
    exchanges = Exchanges()
    title = "paged"
    with OcciClient(server.url) as occi:
        template = occi.new_compute(os="debian-12", size="small", title=title)

        def create(_: int) -> str:
            return occi.create(
                Resource(
                    kind=template.kind,
                    mixins=list(template.mixins),
                    attributes=dict(template.attributes),
                )
            )

        with ThreadPoolExecutor(4) as pool:
            created = set(pool.map(create, range(1050)))
    assert len(created) == 1050

    with OcciClient(server.url, page_size=100, event_hooks=exchanges.hooks()) as occi:
        listed = [e for e in occi.list("compute", attributes={"occi.core.title": title})]
        assert {e.location for e in listed} == created
        pages = [r for r in exchanges.requests if r.url.path == "/compute/"]
        assert len(pages) >= 11

    # A client asking for more than the server's maximum (100) halves its pages.
    with OcciClient(server.url, page_size=1000, media_type="text/plain") as occi:
        assert set(occi.locations("compute", attributes={"occi.core.title": title})) == created


def test_unreachable_server_is_its_own_error():
    with (
        OcciClient(f"http://127.0.0.1:{free_port()}") as occi,
        pytest.raises(ServerUnreachableError) as raised,
    ):
        occi.discover()
    assert "connection refused" in raised.value.message


def test_not_found_carries_the_status_and_the_server_message(server: RunningServer):
    with OcciClient(server.url) as occi, pytest.raises(NotFoundError) as raised:
        occi.get("/compute/does-not-exist")
    assert raised.value.status == 404
    assert "does-not-exist" in raised.value.message


def test_an_action_the_state_forbids_is_a_conflict(server: RunningServer):
    with OcciClient(server.url) as occi:
        location = occi.create(occi.new_compute(os="debian-12", size="small"))
        occi.wait_for(location, "active", timeout=30, interval=0.1)
        occi.trigger(location, "stop")
        occi.wait_for(location, "inactive", timeout=30, interval=0.1)
        occi.trigger(location, "stop")  # already done: a no-op, not a conflict
        with pytest.raises(ConflictError) as raised:
            occi.trigger(location, "restart")
    assert raised.value.status == 409
    assert "inactive" in raised.value.message


def test_wait_for_gives_up_after_its_timeout(server: RunningServer):
    with OcciClient(server.url) as occi:
        location = occi.create(occi.new_compute(os="debian-12", size="small"))
        with pytest.raises(WaitTimeoutError) as raised:
            occi.wait_for(location, "suspended", timeout=0.5, interval=0.1)
    assert raised.value.wanted == "suspended"
    assert raised.value.last in ("waiting", "active")


@pytest.mark.parametrize(
    ("attempt", "expected"),
    [
        (lambda o: o.create(Resource(kind=INFRA + "volcano")), "no kind"),
        (lambda o: o.new_compute(os="windows"), "no OS template matches 'windows'"),
        (lambda o: o.new_compute(os="ubuntu"), "matches several OS templates"),
        (lambda o: o.new_compute(cores=64), "no resource template has 64 cores"),
        (
            lambda o: o.create(o.new_compute(attributes={"occi.compute.cores": "many"})),
            'occi.compute.cores must be an integer, got "many"',
        ),
        (
            lambda o: o.create(o.new_compute(attributes={"occi.compute.cores": 1.5})),
            "occi.compute.cores must be an integer, got 1.5",
        ),
        (
            lambda o: o.create(o.new_compute(attributes={"occi.compute.memory": math.inf})),
            "occi.compute.memory cannot be sent: got infinity",
        ),
        (
            lambda o: o.create(o.new_compute(attributes={"org.example.colour": "red"})),
            "org.example.colour is not defined",
        ),
        (lambda o: o.trigger("/compute/x", "explode"), "compute has no action 'explode'"),
        (lambda o: o.trigger("/compute/x", "stop", speed=3), "stop takes no parameter 'speed'"),
        (
            lambda o: o.trigger("/compute/x", "stop", method="sideways"),
            'stop: method must be one of graceful, acpioff, poweroff, got "sideways"',
        ),
        (
            lambda o: o.trigger("/storage/x", "resize"),
            "resize needs the parameter 'size' (it takes: size (a number))",
        ),
        (
            lambda o: o.trigger("/storage/x", "resize", size="big"),
            'resize: size must be a number, got "big"',
        ),
        (
            lambda o: list(o.list("compute", attributes={"occi.compute.cores": math.nan})),
            "occi.compute.cores cannot be sent",
        ),
        (
            lambda o: o.create(o.new_compute(os="debian-12", mixins=[USER_DATA_MIXIN])),
            "occi.compute.userdata is required",
        ),
        (
            lambda o: o.define_mixin("os_tpl"),
            "os_tpl is the term of http://schemas.ogf.org/occi/infrastructure#os_tpl",
        ),
        (lambda o: o.update("/nowhere/x", attributes={"a": 1}), "not an entity location"),
        (lambda o: o.unlink("/compute/x"), "is a compute, not a link; nothing was deleted"),
        (lambda o: o.get("http://elsewhere.example/compute/1"), "is not on the endpoint"),
    ],
    ids=[
        "kind",
        "os",
        "ambiguous-os",
        "size",
        "type",
        "not-whole",
        "infinite",
        "undeclared",
        "action",
        "parameter",
        "parameter-value",
        "missing-parameter",
        "parameter-type",
        "filter-value",
        "required",
        "provider-term",
        "location",
        "unlink-a-resource",
        "other-host",
    ],
)
def test_bad_input_is_refused_before_sending(server: RunningServer, attempt, expected):
    exchanges = Exchanges()
    with OcciClient(server.url, event_hooks=exchanges.hooks()) as occi:
        occi.discover()
        sent = len(exchanges.requests)
        with pytest.raises(InvalidInputError) as raised:
            attempt(occi)
    assert expected in raised.value.message
    assert len(exchanges.requests) == sent
