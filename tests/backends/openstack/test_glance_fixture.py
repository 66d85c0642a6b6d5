"""The Glance fixture is real Glance: openstacksdk drives it over HTTP."""

from __future__ import annotations

import hashlib
import http.client
import json
from typing import Any
from urllib.parse import urlsplit

import httpx
import openstack.exceptions
import pytest
from glance_fixtures import connect, make_image, project_token

from glanceserver import GlanceServer


def test_version_document_is_public(glance: GlanceServer) -> None:
    response = httpx.get(f"{glance.url}/")
    assert response.status_code == 300
    assert "v2.0" in {version["id"] for version in response.json()["versions"]}


def test_requests_without_a_token_are_refused(glance: GlanceServer) -> None:
    assert httpx.get(f"{glance.url}/v2/images").status_code == 401
    # Identity headers sent by a client are not believed: only a token says who calls.
    forged = {"X-Identity-Status": "Confirmed", "X-Roles": "admin", "X-Project-Id": "p"}
    assert httpx.get(f"{glance.url}/v2/images", headers=forged).status_code == 401


def test_image_lifecycle(glance: GlanceServer) -> None:
    sdk = connect(glance.image_url, project_token())
    payload = b"a small disk image " * 100
    image = make_image(sdk, "smoke", data=None)
    try:
        # Glance makes images "shared" (with no member yet) unless told otherwise.
        assert (image.status, image.visibility) == ("queued", "shared")
        image.upload(sdk.image, data=payload)
        image = sdk.image.get_image(image.id)
        assert (image.status, image.size) == ("active", len(payload))
        assert image.hash_algo == "sha512"
        assert image.hash_value == hashlib.sha512(payload).hexdigest()
        assert sdk.image.download_image(image).content == payload
    finally:
        sdk.image.delete_image(image)
    with pytest.raises(openstack.exceptions.NotFoundException):
        sdk.image.get_image(image.id)


def test_a_connection_serves_the_next_request_after_a_streamed_upload(
    glance: GlanceServer,
) -> None:
    # Nova streams a snapshot's disk (chunked, no length), then reads the image on the
    # same kept-alive connection; Glance closes the request body it stored, which must
    # not close the connection under it (the read would be answered 500).
    token = project_token()
    sdk = connect(glance.image_url, token)
    image = make_image(sdk, "streamed", data=None)
    address = urlsplit(glance.url)
    connection = http.client.HTTPConnection(address.hostname or "", address.port, timeout=60)
    try:
        connection.request(
            "PUT",
            f"/v2/images/{image.id}/file",
            body=iter([b"disk" * 1024]),
            headers={"X-Auth-Token": token, "Content-Type": "application/octet-stream"},
        )
        uploaded = connection.getresponse()
        uploaded.read()
        assert uploaded.status == 204
        assert not uploaded.will_close, "Glance kept the connection open"
        connection.request("GET", f"/v2/images/{image.id}", headers={"X-Auth-Token": token})
        shown = connection.getresponse()
        body = shown.read()
        assert shown.status == 200, body
        assert json.loads(body)["status"] == "active"
    finally:
        connection.close()
        sdk.image.delete_image(image)


def test_listing_is_paged_with_limit_and_marker(glance: GlanceServer) -> None:
    token = project_token()
    project = token.partition(":")[2]
    sdk = connect(glance.image_url, token)
    made = {make_image(sdk, f"page-{n}").id for n in range(3)}
    try:
        # Glance's own pages: a full page links the next one, from its last image.
        headers = {"X-Auth-Token": token}
        first = httpx.get(
            f"{glance.url}/v2/images", params={"limit": 2, "owner": project}, headers=headers
        ).json()
        assert len(first["images"]) == 2
        marker = first["images"][-1]["id"]
        assert f"marker={marker}" in first["next"]
        second = httpx.get(f"{glance.url}{first['next']}", headers=headers).json()
        assert len(second["images"]) == 1
        assert "next" not in second
        assert {i["id"] for i in first["images"] + second["images"]} == made
        # openstacksdk follows them.
        assert {i.id for i in sdk.image.images(owner=project, limit=2)} == made
    finally:
        for image_id in made:
            sdk.image.delete_image(image_id)


def test_members_see_their_own_and_public_images(glance: GlanceServer, glance_sdk: Any) -> None:
    owner = connect(glance.image_url, project_token("carol"))
    stranger = connect(glance.image_url, project_token("dave"))
    private = make_image(owner, "private")
    public = make_image(glance_sdk, "public", visibility="public")
    try:
        seen = {image.id for image in stranger.image.images()}
        assert public.id in seen
        assert private.id not in seen
        with pytest.raises(openstack.exceptions.NotFoundException):
            stranger.image.get_image(private.id)
        # Publishing an image is for administrators (Glance's default policy).
        with pytest.raises(openstack.exceptions.ForbiddenException):
            make_image(owner, "published", data=None, visibility="public")
    finally:
        owner.image.delete_image(private)
        glance_sdk.image.delete_image(public)


def test_shared_images_are_listed_once_accepted(glance: GlanceServer) -> None:
    owner = connect(glance.image_url, project_token("carol"))
    member_token = project_token("dave")
    member_project = member_token.partition(":")[2]
    member = connect(glance.image_url, member_token)
    shared = make_image(owner, "shared", visibility="shared")
    try:
        owner.image.add_member(shared, member_id=member_project)
        assert shared.id not in {image.id for image in member.image.images()}
        member.image.update_member(member_project, shared, status="accepted")
        assert shared.id in {image.id for image in member.image.images()}
    finally:
        owner.image.delete_image(shared)


def test_requests_are_counted(glance: GlanceServer) -> None:
    token = project_token()
    sdk = connect(glance.image_url, token)
    list(sdk.image.images())  # version discovery, before counting
    before = glance.requests_served()
    assert list(sdk.image.images(owner=token.partition(":")[2])) == []
    assert glance.requests_served() - before == 1
