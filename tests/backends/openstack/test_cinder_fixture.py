"""The Cinder fixture is real Cinder: openstacksdk drives it over HTTP."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import openstack.exceptions
import pytest
from cinder_fixtures import connect, settle

from cinderserver import CinderServer


def test_requests_without_a_token_are_refused(cinder: CinderServer) -> None:
    response = httpx.get(f"{cinder.volume_url}/volumes")
    assert response.status_code == 401


def test_version_document_is_public(cinder: CinderServer) -> None:
    response = httpx.get(f"{cinder.url}/")
    assert response.status_code == 300
    assert response.json()["versions"][0]["id"] == "v3.0"


def test_services_run_with_backup(cinder_sdk: Any) -> None:
    binaries = {service.binary: service.state for service in cinder_sdk.block_storage.services()}
    assert binaries == {"cinder-volume": "up", "cinder-scheduler": "up", "cinder-backup": "up"}


def test_volume_lifecycle(cinder_sdk: Any) -> None:
    storage = cinder_sdk.block_storage
    volume = storage.create_volume(size=1, name="smoke", metadata={"owner": "smoke-test"})
    try:
        volume = settle(
            lambda: storage.get_volume(volume.id), lambda v: v.status != "creating", "create"
        )
        assert (volume.status, volume.size, volume.metadata) == (
            "available",
            1,
            {"owner": "smoke-test"},
        )
        storage.extend_volume(volume, 2)
        volume = settle(
            lambda: storage.get_volume(volume.id),
            lambda v: v.status == "available" and v.size == 2,
            "extend to 2 GiB",
        )
        snapshot = storage.create_snapshot(volume_id=volume.id, name="smoke-snapshot")
        snapshot = settle(
            lambda: storage.get_snapshot(snapshot.id),
            lambda s: s.status != "creating",
            "snapshot",
        )
        assert (snapshot.status, snapshot.size) == ("available", 2)
        backup = storage.create_backup(volume_id=volume.id, name="smoke-backup")
        backup = settle(
            lambda: storage.get_backup(backup.id), lambda b: b.status != "creating", "backup"
        )
        assert backup.status == "available"
        storage.delete_backup(backup)
        storage.delete_snapshot(snapshot)
        settle(lambda: storage.find_snapshot(snapshot.id), lambda s: s is None, "snapshot deletion")
        settle(lambda: storage.find_backup(backup.id), lambda b: b is None, "backup deletion")
    finally:
        storage.delete_volume(volume, force=True)
    settle(lambda: storage.find_volume(volume.id), lambda v: v is None, "volume deletion")


def test_members_see_only_their_project(cinder: CinderServer) -> None:
    project = "p-" + uuid.uuid4().hex[:8]
    member = connect(cinder.volume_url, f"carol:{project}")
    stranger = connect(cinder.volume_url, f"dave:other-{project}")
    volume = member.block_storage.create_volume(size=1, name="mine")
    try:
        assert [v.id for v in member.block_storage.volumes()] == [volume.id]
        assert list(stranger.block_storage.volumes()) == []
        # Listing services is for administrators only, as in a real cloud.
        with pytest.raises(openstack.exceptions.ForbiddenException):
            list(member.block_storage.services())
    finally:
        settle(
            lambda: member.block_storage.get_volume(volume.id),
            lambda v: v.status != "creating",
            "create",
        )
        member.block_storage.delete_volume(volume)


def test_requests_are_counted(cinder: CinderServer) -> None:
    # A project of its own has no volume: one short page, one request.
    sdk = connect(cinder.volume_url, f"erin:p-{uuid.uuid4().hex[:8]}")
    list(sdk.block_storage.volumes(limit=5))  # version discovery, before counting
    before = cinder.requests_served()
    assert list(sdk.block_storage.volumes(limit=5)) == []
    assert cinder.requests_served() - before == 1


def test_without_backup_service(cinder_without_backup: CinderServer) -> None:
    sdk = connect(cinder_without_backup.volume_url)
    binaries = {service.binary for service in sdk.block_storage.services()}
    assert binaries == {"cinder-volume", "cinder-scheduler"}
