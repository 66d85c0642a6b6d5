"""Exports to another site's Glance end to end: a real occi-server exports to a second real
Glance (the remote site, `remote_glance`) from the sim backend and from the openstack
backend (the image read from the first Glance). The bytes are downloaded from the
remote Glance and compared; a remote that refuses the site's token ends the export in
``error`` with the reason; a cancel deletes the image made at the remote site. And a
saved image is deleted through occi-server on openstack (``DELETE /-/``), with 403 and
409 for those it may not or cannot delete yet.
"""

from __future__ import annotations

import contextlib
import hashlib
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from glance_fixtures import connect, make_image
from tcpproxy import TcpProxy

from e2e.occiclient import COMPUTE, COMPUTE_ACTION, DEBIAN, OCCI_JSON, SMALL
from e2e.server import RunningServer, occi_server
from glanceserver import ADMIN_TOKEN, GlanceServer
from motoserver import toml_settings
from novaserver import NovaServer
from pyocci.backends.api import Tenant
from pyocci.backends.openstack.compute import SAVED_BY, tenant_tag
from pyocci.backends.sim.image_data import image_bytes

EXPORT = "http://schemas.pyocci.org/occi/infrastructure#export"
CANCEL = "http://schemas.pyocci.org/occi/infrastructure/export/action#cancel"
GLANCE_TARGET = "http://schemas.pyocci.org/occi/infrastructure/export/target#glance"
OPENSTACK_OS_TPL = "http://schemas.pyocci.org/openstack/os_tpl#"
MIB = 1024 * 1024
#: The sim's images: five chunks of 5 MiB (the last shorter), half a minute through the
#: slow site: far more than the socket buffers on the way hold.
IMAGE_BYTES = 24 * MIB
JSON = {"Accept": OCCI_JSON, "Content-Type": OCCI_JSON}
#: The exporting site's token at the remote Glance: a member of a project of its own.
SITE_TOKEN = "exporter:p-remote-exports"


class SlowProxy(TcpProxy):
    """A `TcpProxy` that forwards about 1 MiB/s each way: an export through it takes long
    enough to be cancelled in the middle."""

    def __init__(self, target: int) -> None:
        super().__init__(target)
        # Accepted sockets inherit it: the proxy takes in little more than it forwards.
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(64 * 1024):
                sink.sendall(data)
                time.sleep(0.06)
        for end in (source, sink):
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)


@pytest.fixture(scope="module")
def slow_remote(remote_glance: GlanceServer) -> Iterator[TcpProxy]:
    proxy = SlowProxy(httpx.URL(remote_glance.image_url).port or 80)
    yield proxy
    proxy.close()


def _sites_file(workdir: Path, remote: GlanceServer, slow: TcpProxy) -> Path:
    path = workdir / "glance-sites.toml"
    path.write_text(
        f"""
[remote]
image_endpoint = "{remote.image_url}"
token = "{SITE_TOKEN}"

[refusing]
image_endpoint = "{remote.image_url}"
token = "revoked-token"

[slow]
image_endpoint = "http://127.0.0.1:{slow.port}"
token = "{SITE_TOKEN}"
"""
    )
    return path


def _export_config(sites: Path) -> str:
    return f"""
[export]
chunk_bytes = {5 * MIB}
lease_seconds = 5
glance_sites_file = "{sites}"
"""


def _a(name: str) -> str:
    return f"org.pyocci.export.{name}"


def _created(http: httpx.Client, source: str, target: str) -> str:
    answer = http.post(
        "/export/",
        json={"kind": EXPORT, "attributes": {_a("source"): source, _a("target"): target}},
    )
    assert answer.status_code == 201, answer.text
    return httpx.URL(answer.headers["location"]).path


def _until(http: httpx.Client, path: str, test: Any, seconds: float = 90) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while True:
        answer = http.get(path)
        assert answer.status_code == 200, answer.text
        attributes = answer.json()["attributes"]
        if test(attributes):
            return attributes
        assert time.monotonic() < deadline, f"{path} stayed {attributes}"
        time.sleep(0.2)


def _ended(attributes: dict[str, Any]) -> bool:
    return attributes[_a("state")] in ("active", "error", "cancelled")


def _remote_images(remote: GlanceServer, name: str) -> list[dict[str, Any]]:
    with httpx.Client(base_url=remote.image_url, headers={"X-Auth-Token": ADMIN_TOKEN}) as admin:
        return admin.get("/v2/images", params={"name": name}).json()["images"]


def _remote_bytes(remote: GlanceServer, image_id: str) -> bytes:
    with httpx.Client(base_url=remote.image_url, headers={"X-Auth-Token": ADMIN_TOKEN}) as admin:
        answer = admin.get(f"/v2/images/{image_id}/file", timeout=60)
        assert answer.status_code == 200, answer.text
        return answer.content


def _check_arrived(remote: GlanceServer, done: dict[str, Any], name: str, data: bytes) -> None:
    """The export ended active and the remote Glance holds an image of that name with
    exactly `data`, at the export's URL."""
    assert done[_a("state")] == "active", done
    [image] = _remote_images(remote, name)
    assert done[_a("url")] == f"{remote.image_url}/v2/images/{image['id']}"
    assert (image["status"], image["size"], image["disk_format"]) == ("active", len(data), "raw")
    assert image["owner"] == SITE_TOKEN.partition(":")[2]
    assert done[_a("checksum")] == "sha256:" + hashlib.sha256(data).hexdigest()
    assert _remote_bytes(remote, image["id"]) == data


@pytest.fixture(scope="module")
def sim_server(
    tmp_path_factory: pytest.TempPathFactory, remote_glance: GlanceServer, slow_remote: TcpProxy
) -> Iterator[RunningServer]:
    workdir = tmp_path_factory.mktemp("sim-to-glance")
    config = f"[backend_settings]\nimage_bytes = {IMAGE_BYTES}\n" + _export_config(
        _sites_file(workdir, remote_glance, slow_remote)
    )
    with occi_server(workdir, config=config) as running:
        yield running


@pytest.fixture(scope="module")
def sim_http(sim_server: RunningServer) -> Iterator[httpx.Client]:
    with sim_server.client(headers=JSON) as client:
        yield client


def _saved_image(http: httpx.Client) -> str:
    made = http.post("/compute/", json={"kind": COMPUTE, "mixins": [DEBIAN, SMALL]})
    assert made.status_code == 201, made.text
    compute = httpx.URL(made.headers["location"]).path
    saved = http.post(
        f"{compute}?action=save", json={"action": COMPUTE_ACTION + "save", "attributes": {}}
    )
    assert saved.status_code == 200, saved.text
    [image] = saved.json()["mixins"]
    return image["scheme"] + image["term"]


def test_discovery_offers_the_glance_target(sim_http: httpx.Client) -> None:
    mixins = {m["scheme"] + m["term"] for m in sim_http.get("/-/").json()["mixins"]}
    assert GLANCE_TARGET in mixins


def test_a_saved_sim_image_arrives_whole_at_the_remote_glance(
    sim_http: httpx.Client, remote_glance: GlanceServer
) -> None:
    source = _saved_image(sim_http)
    path = _created(sim_http, source, "glance://remote/saved%20from%20sim")
    done = _until(sim_http, path, _ended)
    _check_arrived(remote_glance, done, "saved from sim", image_bytes(source, IMAGE_BYTES))
    assert done[_a("target")] == "glance://remote/saved%20from%20sim"


def test_a_remote_that_refuses_the_token_is_an_error_with_the_reason(
    sim_http: httpx.Client, remote_glance: GlanceServer
) -> None:
    path = _created(sim_http, DEBIAN, "glance://refusing/never-made")
    failed = _until(sim_http, path, _ended)
    assert failed[_a("state")] == "error", failed
    message = failed[_a("state.message")]
    assert "the Glance of site refusing" in message
    assert "refused the site's credentials (401)" in message
    assert "revoked-token" not in message
    assert _remote_images(remote_glance, "never-made") == []


def test_an_unknown_site_is_refused_with_the_known_ones(sim_http: httpx.Client) -> None:
    answer = sim_http.post(
        "/export/",
        json={
            "kind": EXPORT,
            "attributes": {_a("source"): DEBIAN, _a("target"): "glance://elsewhere/x"},
        },
    )
    assert answer.status_code == 400
    assert "no Glance site 'elsewhere' here; choose one of: remote, refusing, slow" in answer.text


def test_a_cancel_deletes_the_half_made_remote_image(
    sim_http: httpx.Client, remote_glance: GlanceServer
) -> None:
    path = _created(sim_http, DEBIAN, "glance://slow/cancelled-midway")
    _until(sim_http, path, lambda a: a[_a("bytes")] > 0 or _ended(a))
    [image] = _remote_images(remote_glance, "cancelled-midway")
    assert image["status"] in ("queued", "saving")
    cancelled = sim_http.post(f"{path}?action=cancel", json={"action": CANCEL})
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["attributes"][_a("state")] == "cancelled"
    deadline = time.monotonic() + 60
    while _remote_images(remote_glance, "cancelled-midway"):
        assert time.monotonic() < deadline, "the half-made image stayed at the remote Glance"
        time.sleep(0.2)


def test_a_glance_image_of_the_openstack_backend_arrives_whole(
    tmp_path_factory: pytest.TempPathFactory,
    nova: NovaServer,
    glance: GlanceServer,
    remote_glance: GlanceServer,
    slow_remote: TcpProxy,
) -> None:
    sdk = connect(glance.image_url)
    data = bytes(range(256)) * (6 * MIB // 256) + b"the end"  # two chunks and a bit
    made = make_image(sdk, "openstack-source", data=data)
    assert made.status == "active"
    source = f"http://schemas.pyocci.org/openstack/os_tpl#{made.id}"
    workdir = tmp_path_factory.mktemp("openstack-to-glance")
    settings = {
        "token": ADMIN_TOKEN,
        "compute_endpoint": nova.compute_url,
        "image_endpoint": glance.image_url,
    }
    config = (
        'backend = "openstack"\n'
        + _export_config(_sites_file(workdir, remote_glance, slow_remote))
        + "\n"
        + toml_settings(settings)
    )
    try:
        with occi_server(workdir, config=config) as running, running.client(headers=JSON) as http:
            path = _created(http, source, f"glance://remote/from-openstack-{made.id}")
            done = _until(http, path, _ended)
        _check_arrived(remote_glance, done, f"from-openstack-{made.id}", data)
    finally:
        sdk.image.delete_image(made.id, ignore_missing=True)


def _delete_os_tpl(http: httpx.Client, image_id: str) -> httpx.Response:
    category = {"mixins": [{"scheme": OPENSTACK_OS_TPL, "term": image_id}]}
    return http.request("DELETE", "/-/", json=category)


def test_deleting_images_through_occi_server_on_openstack(
    tmp_path_factory: pytest.TempPathFactory, nova: NovaServer, glance: GlanceServer
) -> None:
    sdk = connect(glance.image_url)
    # As a save of the server's tenant makes them (occi-server without authentication
    # serves the tenant "default"), and one of the site's.
    mark = {SAVED_BY: tenant_tag(Tenant("default"))}
    saved = make_image(sdk, "saved-by-default", **mark)
    protected = make_image(sdk, "protected-save", is_protected=True, **mark)
    writing = make_image(sdk, "save-in-progress", data=None, **mark)
    site = make_image(sdk, "the-sites")
    settings = {
        "token": ADMIN_TOKEN,
        "compute_endpoint": nova.compute_url,
        "image_endpoint": glance.image_url,
    }
    config = 'backend = "openstack"\n' + toml_settings(settings)
    try:
        workdir = tmp_path_factory.mktemp("openstack-image-delete")
        with occi_server(workdir, config=config) as running, running.client(headers=JSON) as http:
            refused = _delete_os_tpl(http, site.id)
            assert refused.status_code == 403, refused.text
            assert "not an image you saved" in refused.text
            in_the_way = _delete_os_tpl(http, protected.id)
            assert in_the_way.status_code == 409, in_the_way.text
            assert "protected in Glance" in in_the_way.text
            not_yet = _delete_os_tpl(http, writing.id)
            assert not_yet.status_code == 409, not_yet.text
            assert "Glance status queued" in not_yet.text and "retry-after" in not_yet.headers
            deleted = _delete_os_tpl(http, saved.id)
            assert deleted.status_code == 200, deleted.text
            terms = {m["term"] for m in http.get("/-/").json()["mixins"]}
            assert saved.id not in terms and site.id in terms
        assert sdk.image.find_image(saved.id) is None
        assert sdk.image.get_image(site.id).status == "active"
    finally:
        sdk.image.update_image(protected.id, is_protected=False)
        for image in (saved, protected, writing, site):
            sdk.image.delete_image(image.id, ignore_missing=True)
