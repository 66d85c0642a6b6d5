"""`pyocci.client.exports` against a real occi-server (sim) and a real HTTPS receiver:
an export followed to its end, one cancelled, one that fails, and a saved image
deleted."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from e2e.server import RunningServer, occi_server
from pki import Pki
from put_receiver import PutReceiver
from pyocci.client import OcciClient
from pyocci.client.errors import EntityFailedError, ServerError
from pyocci.client.exports import (
    ExportStatus,
    cancel_export,
    delete_image,
    export_image,
    export_status,
    wait_for_export,
)

IMAGE_BYTES = 24 * 1024 * 1024


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, pki: Pki) -> Iterator[RunningServer]:
    config = f'[backend_settings]\nimage_bytes = {IMAGE_BYTES}\n[export]\nca_file = "{pki.ca}"\n'
    with occi_server(tmp_path_factory.mktemp("occi-server"), config=config) as running:
        yield running


@pytest.fixture
def client(server: RunningServer) -> Iterator[OcciClient]:
    with OcciClient(server.url) as occi:
        yield occi


def test_an_export_is_followed_to_its_end(client: OcciClient, receiver: PutReceiver) -> None:
    location = export_image(client, "debian", f"{receiver.url}/client/debian.img")
    seen: list[ExportStatus] = []
    done = wait_for_export(client, location, interval=0.1, on_progress=lambda s, _: seen.append(s))
    assert done.state == "active" and seen[-1] == done
    assert (done.bytes, done.size, done.progress) == (IMAGE_BYTES, IMAGE_BYTES, 100)
    assert done.url == f"{receiver.url}/client/debian.img"
    assert done.disk_format == "raw"
    assert done.checksum == f"sha256:{receiver.received('/client/debian.img')['sha256']}"  # type: ignore[index]
    assert seen[0].state in ("pending", "transferring", "active")


def test_a_cancelled_export_ends_the_wait(client: OcciClient, receiver: PutReceiver) -> None:
    location = export_image(client, "debian", f"{receiver.url}/slow/client.img")
    cancelled = cancel_export(client, location)
    assert cancelled.state == "cancelled"
    with pytest.raises(EntityFailedError, match="cancelled"):
        wait_for_export(client, location, interval=0.1)
    assert export_status(client, location).state == "cancelled"


def test_a_failed_export_ends_the_wait_with_the_reason(
    client: OcciClient, receiver: PutReceiver
) -> None:
    location = export_image(client, "debian", f"{receiver.url}/forbidden/client.img")
    with pytest.raises(EntityFailedError, match="answered 403 Forbidden"):
        wait_for_export(client, location, interval=0.1)


def test_a_saved_image_is_deleted(client: OcciClient) -> None:
    vm = client.create(client.new_compute(os="debian", size="small"))
    saved = client.save(vm, "to-delete")
    client.wait_for_template(saved, timeout=30, interval=0.1)
    assert delete_image(client, "to-delete") == saved.id
    assert saved.id not in {t.id for t in client.templates("os")}
    with pytest.raises(ServerError, match="provider-defined"):
        delete_image(client, "debian")
