"""Template catalogues: read once per TTL per key, images being written followed and
offered as soon as the cloud calls them ready."""

from __future__ import annotations

from collections.abc import Hashable

import pytest

from clocks import FakeClock
from pyocci.backends.kit.catalogue import Offer, TemplateCatalogue
from pyocci.backends.pending import Looked
from pyocci.model.category import Mixin
from pyocci.model.extensions import os_template

SCHEME = "http://example.org/os_tpl#"

pytestmark = pytest.mark.anyio


class Cloud:
    """Images by id: (name, state), states "ready" or "pending"."""

    def __init__(self) -> None:
        self.images: dict[str, tuple[str, str]] = {"a": ("Alpha", "ready")}
        self.reads = 0
        self.looks: list[list[str]] = []


class Catalogue(TemplateCatalogue[int]):
    def __init__(self, cloud: Cloud, clock: FakeClock, recheck: float = 0) -> None:
        super().__init__(60, clock=clock, recheck_seconds=recheck)
        self.cloud = cloud
        self.project: Hashable = None

    def key(self) -> Hashable:
        return self.project

    def image_mixin(self, image_id: str, name: str | None) -> Mixin:
        return os_template(SCHEME, image_id, name or image_id)

    async def read(self) -> Offer[int]:
        self.cloud.reads += 1
        offer: Offer[int] = Offer(sizes={"small": 1})
        for image_id, (name, state) in self.cloud.images.items():
            if state == "ready":
                offer.images[SCHEME + image_id] = self.image_mixin(image_id, name)
                self.forget(image_id)
            else:
                self.follow(image_id, name)
        return offer

    async def look(self, image_ids: list[str]) -> Looked:
        self.cloud.looks.append(image_ids)
        states = {i: self.cloud.images[i] for i in image_ids if i in self.cloud.images}
        return Looked(
            ready={i: name for i, (name, state) in states.items() if state == "ready"},
            pending=[i for i, (_, state) in states.items() if state == "pending"],
        )


def terms(mixins: list[Mixin]) -> list[str]:
    return [mixin.term for mixin in mixins]


async def test_read_once_per_ttl() -> None:
    clock, cloud = FakeClock(0), Cloud()
    catalogue = Catalogue(cloud, clock)
    assert terms(await catalogue.templates()) == ["a"]
    cloud.images["b"] = ("Beta", "ready")
    clock.advance(59)
    assert terms(await catalogue.templates()) == ["a"]
    clock.advance(2)
    assert terms(await catalogue.templates()) == ["a", "b"]
    assert cloud.reads == 2


async def test_a_saved_image_is_offered_once_ready_before_the_next_read() -> None:
    clock, cloud = FakeClock(0), Cloud()
    catalogue = Catalogue(cloud, clock)
    await catalogue.offer()
    cloud.images["saved"] = ("Saved", "pending")
    mixin = catalogue.add_image("saved", "Saved")
    assert mixin.id == SCHEME + "saved"
    assert terms(await catalogue.templates()) == ["a"]
    cloud.images["saved"] = ("Saved", "ready")
    assert terms(await catalogue.templates()) == ["a", "saved"]
    assert cloud.reads == 1 and cloud.looks == [["saved"], ["saved"]]


async def test_an_image_found_ready_between_two_looks_is_offered_at_once() -> None:
    clock, cloud = FakeClock(0), Cloud()
    catalogue = Catalogue(cloud, clock, recheck=60)
    await catalogue.offer()
    catalogue.add_image("saved", "Saved")
    cloud.images["saved"] = ("Saved", "pending")
    assert terms(await catalogue.templates()) == ["a"]  # looked at: still pending
    cloud.images["saved"] = ("Saved", "ready")
    # The next look is a minute away: without being told, the catalogue offers nothing new.
    assert terms(await catalogue.templates()) == ["a"]
    catalogue.offer_ready("saved", "Saved")
    assert terms(await catalogue.templates()) == ["a", "saved"]
    assert len(catalogue.pending) == 0 and cloud.reads == 1


async def test_an_image_already_offered_is_not_followed() -> None:
    catalogue = Catalogue(Cloud(), FakeClock(0))
    await catalogue.offer()
    catalogue.add_image("a", "Alpha")
    assert len(catalogue.pending) == 0


async def test_each_key_sees_its_own_offer() -> None:
    cloud = Cloud()
    catalogue = Catalogue(cloud, FakeClock(0))
    catalogue.project = "p1"
    await catalogue.offer()
    cloud.images["b"] = ("Beta", "ready")
    catalogue.project = "p2"
    assert terms(await catalogue.templates()) == ["a", "b"]
    catalogue.project = "p1"
    assert terms(catalogue.known().mixins()) == ["a"]
    assert cloud.reads == 2


async def test_images_found_pending_by_a_read_are_offered_once_ready() -> None:
    cloud = Cloud()
    cloud.images["p"] = ("Pending", "pending")
    catalogue = Catalogue(cloud, FakeClock(0))
    assert terms(await catalogue.templates()) == ["a"]
    cloud.images["p"] = ("Pending", "ready")
    assert terms(await catalogue.templates()) == ["a", "p"]
    assert terms((await catalogue.offer()).mixins()) == ["a", "p"]


async def test_lookups_count_a_read_as_a_miss_and_a_kept_offer_as_a_hit() -> None:
    from pyocci.backends.lookups import lookups

    counted = {"hit": 0, "miss": 0}
    templates = lookups("templates")
    templates.count_with(
        lambda: counted.__setitem__("hit", counted["hit"] + 1),
        lambda: counted.__setitem__("miss", counted["miss"] + 1),
    )
    try:
        clock, cloud = FakeClock(0), Cloud()
        catalogue = Catalogue(cloud, clock)
        await catalogue.templates()
        await catalogue.templates()
        clock.advance(61)
        await catalogue.templates()
    finally:
        templates.stop_counting()
    assert counted == {"hit": 1, "miss": 2}
    assert cloud.reads == 2
