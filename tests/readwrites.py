"""Read your writes, on every backend: what a 2xx answer promises, checked from outside.

After a 201 create a GET of the Location answers the entity; after a 200
DELETE (an entity, a link) a GET answers 404 and listings leave it out, or
the DELETE answered 202 with the entity in the state it is in then; a
state the cloud leaves by itself is answered 409 with Retry-After, and the
same request succeeds later; a template still being saved is not offered,
and creating from it is 409 with Retry-After until it is ready.

The tests are imported by one module per backend (``tests/e2e`` for the sim
and ec2, ``tests/backends/openstack`` for the whole OpenStack cloud), which
provides the ``server`` and ``writes_offer`` fixtures. Each records how long the
server took to answer its writes in the pytest cache (``readwrites/<backend>``),
the figures docs/server.md quotes.
"""

from __future__ import annotations

import itertools
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from e2e.occiclient import (
    COMPUTE,
    COMPUTE_ACTION,
    IPNETWORK,
    NETWORK,
    OCCI_JSON,
    STORAGE,
    STORAGELINK,
    EntityDoc,
    Occi,
    describe,
    path_of,
    read_categories,
    saved_template,
)
from e2e.server import RunningServer
from polling import SETTLE_SECONDS
from polling import eventually as until  # read until done, else AssertionError

#: The most a Retry-After may say and still be a sensible hint, in seconds.
LONGEST_HINT = 120


@dataclass
class WritesOffer:
    """What one backend offers these tests."""

    backend: str
    os_tpl: str
    resource_tpl: str
    #: A network needs ipnetwork and an address here (EC2, OpenStack): the addresses of
    #: ``10.<n>.0.0/16``'s /24 networks, a new one each time.
    network_prefix: str | None = None
    storage_size: float = 1.0
    #: Whether an image a save made starts computes at once (moto: True), only after a
    #: while (the sim with simulated time: False), or either, as the cloud's timing
    #: falls (None).
    saved_image_ready_at_once: bool | None = None
    _networks: Iterator[int] = field(default_factory=lambda: itertools.count(110))

    def compute(self, os_tpl: str | None = None) -> EntityDoc:
        """A compute from `os_tpl` (the offer's by default) with the small template."""
        return EntityDoc(kind=COMPUTE, mixins=[os_tpl or self.os_tpl, self.resource_tpl])

    def storage(self) -> EntityDoc:
        """A storage of `storage_size` GiB."""
        return EntityDoc(kind=STORAGE, attributes={"occi.storage.size": self.storage_size})

    def network(self) -> EntityDoc:
        """A network, with an address where the backend needs one."""
        if self.network_prefix is None:
            return EntityDoc(kind=NETWORK)
        address = f"{self.network_prefix}.{next(self._networks)}.0/24"
        return EntityDoc(
            kind=NETWORK, mixins=[IPNETWORK], attributes={"occi.network.address": address}
        )


@dataclass
class Figures:
    """Seconds each write took to answer, kept in the pytest cache per backend."""

    cache: Any
    backend: str

    def record(self, what: str, seconds: float) -> None:
        if self.cache is None:  # pytest runs without its cache (-p no:cacheprovider)
            return
        key = f"readwrites/{self.backend}"
        figures = self.cache.get(key, {})
        figures[what] = round(seconds, 3)
        self.cache.set(key, figures)


@pytest.fixture
def figures(request: pytest.FixtureRequest, writes_offer: WritesOffer) -> Figures:
    return Figures(getattr(request.config, "cache", None), writes_offer.backend)


@pytest.fixture
def occi(server: RunningServer) -> Iterator[Occi]:
    with server.client() as http:
        yield Occi(http, OCCI_JSON)


def timed(call: Callable[[], httpx.Response]) -> tuple[httpx.Response, float]:
    """The response and how long it took."""
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


def state_of(occi: Occi, path: str) -> str | None:
    """The entity's state attribute, or None when a GET does not answer 200."""
    response = occi.request("GET", path)
    if response.status_code != 200:
        return None
    attributes = response.json().get("attributes", {})
    return next((v for k, v in attributes.items() if k.endswith(".state")), None)


def created(occi: Occi, collection: str, doc: EntityDoc, figures: Figures, what: str) -> str:
    """Create; a 201's Location reads at once, a 202's eventually. Returns the path."""
    response, seconds = timed(lambda: occi.post_entity(collection, doc))
    assert response.status_code in (201, 202), describe(response)
    figures.record(f"create {what}", seconds)
    path = path_of(response.headers["location"])
    if response.status_code == 201:
        read = occi.request("GET", path)
        assert read.status_code == 200, f"201 for {path}, then: {describe(read)}"
        assert read.json()["id"] == path.rsplit("/", 1)[1]
    else:
        until(lambda: occi.request("GET", path).status_code, lambda s: s == 200, "readable")
    return path


def deleted(occi: Occi, path: str, figures: Figures, what: str) -> None:
    """Delete; after a 200 no read finds it, after a 202 the body shows it and reads
    stop finding it later."""
    response, seconds = timed(lambda: occi.delete(path))
    assert response.status_code in (200, 202), describe(response)
    figures.record(f"delete {what}", seconds)
    if response.status_code == 202:
        assert response.json()["id"] == path.rsplit("/", 1)[1], describe(response)
        until(lambda: occi.request("GET", path).status_code, lambda s: s == 404, "gone")
        return
    read = occi.request("GET", path)
    assert read.status_code == 404, f"200 to DELETE {path}, then: {describe(read)}"
    collection = path.rsplit("/", 1)[0] + "/"
    assert path not in occi.list(collection)


def ready(occi: Occi, path: str, state: str) -> None:
    """Wait until the entity shows `state`."""
    until(lambda: state_of(occi, path), lambda s: s == state, f"{path} {state}")


def retried(send: Callable[[], httpx.Response], what: str) -> tuple[httpx.Response, int]:
    """Send until the answer is not a 409 with Retry-After, waiting as each says; every
    such 409 must say when to retry and why. Returns the last answer and how many 409s."""
    deadline = time.monotonic() + SETTLE_SECONDS
    busy = 0
    while True:
        response = send()
        if response.status_code != 409:
            return response, busy
        hint = response.headers.get("retry-after")
        assert hint is not None and hint.isdigit(), f"409 without Retry-After: {describe(response)}"
        assert 1 <= int(hint) <= LONGEST_HINT, describe(response)
        assert response.headers.get("x-occi-error"), describe(response)
        busy += 1
        assert time.monotonic() < deadline, f"{what}: still 409 after {SETTLE_SECONDS} s"
        time.sleep(int(hint))


# --- the tests ------------------------------------------------------------------------


def test_a_created_entity_reads_at_once(
    occi: Occi, writes_offer: WritesOffer, figures: Figures
) -> None:
    for collection, doc, what in (
        ("/compute/", writes_offer.compute(), "compute"),
        ("/storage/", writes_offer.storage(), "storage"),
        ("/network/", writes_offer.network(), "network"),
    ):
        path = created(occi, collection, doc, figures, what)
        assert path.startswith(collection)


def test_a_deleted_entity_is_gone_from_every_read(
    occi: Occi, writes_offer: WritesOffer, figures: Figures
) -> None:
    compute = created(occi, "/compute/", writes_offer.compute(), figures, "compute")
    storage = created(occi, "/storage/", writes_offer.storage(), figures, "storage")
    network = created(occi, "/network/", writes_offer.network(), figures, "network")
    ready(occi, storage, "online")
    for path, what in ((compute, "compute"), (storage, "storage"), (network, "network")):
        deleted(occi, path, figures, what)


def test_a_detached_link_is_gone_from_every_read(
    occi: Occi, writes_offer: WritesOffer, figures: Figures
) -> None:
    compute = created(occi, "/compute/", writes_offer.compute(), figures, "compute")
    storage = created(occi, "/storage/", writes_offer.storage(), figures, "storage")
    ready(occi, compute, "active")
    ready(occi, storage, "online")
    link_doc = EntityDoc(kind=STORAGELINK, source=compute, target=storage, target_kind=STORAGE)
    link = created(occi, "/storagelink/", link_doc, figures, "storagelink")
    ready(occi, link, "active")
    deleted(occi, link, figures, "storagelink")
    links = occi.request("GET", compute).json().get("links", [])
    assert all(path_of(item.get("location", "")) != link for item in links)
    # Detached means the storage can go now.
    deleted(occi, storage, figures, "storage after detach")
    deleted(occi, compute, figures, "compute")


def test_deleting_a_storage_still_being_created_succeeds_or_says_when(
    occi: Occi, writes_offer: WritesOffer, figures: Figures
) -> None:
    storage = created(occi, "/storage/", writes_offer.storage(), figures, "storage")
    started = time.monotonic()
    response, busy = retried(lambda: occi.delete(storage), "delete while creating")
    assert response.status_code in (200, 202), describe(response)
    figures.record("delete storage while creating (409s then done)", time.monotonic() - started)
    figures.record("delete storage while creating: 409s", busy)
    if response.status_code == 200:
        assert occi.request("GET", storage).status_code == 404
    else:
        until(lambda: occi.request("GET", storage).status_code, lambda s: s == 404, "gone")


def test_a_saved_image_starts_computes_once_ready_and_is_offered_only_then(
    occi: Occi, writes_offer: WritesOffer, figures: Figures
) -> None:
    compute = created(occi, "/compute/", writes_offer.compute(), figures, "compute")
    ready(occi, compute, "active")
    name = f"rw-{uuid.uuid4().hex[:8]}"
    image = saved_template(occi.act(compute, COMPUTE_ACTION + "save", name=name), compute)
    template = image["scheme"] + image["term"]
    saved_at = time.monotonic()

    def offered() -> bool:
        return template in read_categories(occi.request("GET", "/-/"))

    first = occi.post_entity("/compute/", writes_offer.compute(template))
    expected = writes_offer.saved_image_ready_at_once
    if expected is not None:
        assert (first.status_code != 409) is expected, describe(first)
    if first.status_code == 409:
        # Not ready: not offered either, and the refusal says when to try again.
        assert first.headers.get("retry-after", "").isdigit(), describe(first)
        assert not offered()
        response, _ = retried(
            lambda: occi.post_entity("/compute/", writes_offer.compute(template)), "from image"
        )
    else:
        response = first
    assert response.status_code in (201, 202), describe(response)
    figures.record("save until a compute starts from it", time.monotonic() - saved_at)
    figures.record("create from the saved image at once: status", first.status_code)
    assert offered()
    new = path_of(response.headers["location"])
    until(lambda: occi.request("GET", new).status_code, lambda s: s == 200, "readable")
    assert template in occi.get(new).mixins
