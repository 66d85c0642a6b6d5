"""Read your writes on the whole real OpenStack cloud (Nova booting from Glance, volumes
in Cinder, networks in Neutron, see `cloud_fixtures`): the shared checks of `readwrites`,
and the 202 a delete gets when the cloud has not finished within ``write_wait``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from e2e.occiclient import OCCI_JSON, STORAGE, STORAGELINK, EntityDoc, Occi, describe
from e2e.server import OCCI_12_USER_AGENT, RunningServer, occi_server
from pyocci.cli.main import cli
from pyocci.client import OcciClient
from readwrites import (  # noqa: F401 (the shared tests, run on this module's fixtures)
    WritesOffer,
    figures,
    occi,
    ready,
    test_a_created_entity_reads_at_once,
    test_a_deleted_entity_is_gone_from_every_read,
    test_a_detached_link_is_gone_from_every_read,
    test_a_saved_image_starts_computes_once_ready_and_is_offered_only_then,
    test_deleting_a_storage_still_being_created_succeeds_or_says_when,
    until,
)

OS_TPL = "http://schemas.pyocci.org/openstack/os_tpl#"
E2E_CLIENT = {"User-Agent": OCCI_12_USER_AGENT}
#: Nova's default flavor m1.tiny.
TINY = "http://schemas.pyocci.org/openstack/resource_tpl#1"


@pytest.fixture(scope="module")
def server(cloud_config: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with occi_server(tmp_path_factory.mktemp("openstack-writes"), config=cloud_config) as running:
        yield running


@pytest.fixture(scope="module")
def writes_offer(image: str) -> WritesOffer:
    return WritesOffer("openstack", OS_TPL + image, TINY, network_prefix="10.81")


@pytest.fixture(scope="module")
def impatient(cloud_config: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of a server that does not wait for the cloud at all (``write_wait = 0``):
    one read back, then 202 if the write does not show yet."""
    config = cloud_config.replace(
        'backend = "openstack"\n', 'backend = "openstack"\n[limits]\nwrite_wait = 0\n', 1
    )
    assert "write_wait = 0" in config
    with occi_server(tmp_path_factory.mktemp("openstack-impatient"), config=config) as running:
        yield running.url


#: Detaches tried per check: Nova usually takes 0.2-0.3 s, more than one read back, but
#: on a loaded machine it may be done first (a 200, checked too): one of these is not.
DETACH_TRIES = 8


def detached_once_accepted(
    client: Occi, offer: WritesOffer, compute: str, detach: Callable[[str], bool]
) -> None:
    """Attach a new volume to `compute` and `detach` the link until an attempt is
    accepted (`detach` returns True when it saw the 202 path); an attempt answered as
    done must have left the link gone. Each link ends gone."""
    for _ in range(DETACH_TRIES):
        storage = client.create("/storage/", offer.storage())
        ready(client, storage, "online")
        doc = EntityDoc(kind=STORAGELINK, source=compute, target=storage, target_kind=STORAGE)
        link = client.create("/storagelink/", doc)
        ready(client, link, "active")
        accepted = detach(link)
        if not accepted:
            assert client.request("GET", link).status_code == 404, "done, yet still there"
        until(
            lambda link=link: client.request("GET", link).status_code,
            lambda status: status == 404,
            "detached",
        )
        assert client.delete(storage).status_code == 200
        if accepted:
            return
    pytest.fail(f"Nova finished every one of {DETACH_TRIES} detaches before one read back")


def test_a_detach_the_cloud_has_not_finished_is_accepted_with_the_link_as_it_is(
    impatient: str, writes_offer: WritesOffer, tmp_path: Path
) -> None:
    with httpx.Client(base_url=impatient, timeout=60, headers=E2E_CLIENT) as http:
        client = Occi(http, OCCI_JSON)
        compute = client.create("/compute/", writes_offer.compute())
        ready(client, compute, "active")

        def raw(link: str) -> bool:
            response = client.delete(link)
            assert response.status_code in (200, 202), describe(response)
            if response.status_code == 200:
                return False
            shown = response.json()  # the link as it is: Nova is still detaching it
            assert shown["id"] == link.rsplit("/", 1)[1]
            assert shown["attributes"]["occi.storagelink.state"] in ("active", "inactive")
            return True

        detached_once_accepted(client, writes_offer, compute, raw)

        # pyocci's own client tells the caller the cloud is still at it.
        def library(link: str) -> bool:
            with OcciClient(impatient) as occi:
                return occi.unlink(link) is False

        detached_once_accepted(client, writes_offer, compute, library)

        # And so does the occi command.
        def command(link: str) -> bool:
            result = CliRunner().invoke(
                cli,
                ["unlink", link],
                env={
                    "OCCI_ENDPOINT": impatient,
                    "OCCI_NO_PROMPT": "1",
                    "XDG_CONFIG_HOME": str(tmp_path),
                },
            )
            assert result.exit_code == 0, result.output
            return "accepted: the cloud is still deleting it" in result.output

        detached_once_accepted(client, writes_offer, compute, command)
        assert client.delete(compute).status_code == 200
