"""The glance:// target: the sites file, and the writer against a real Glance (PyPI's, on
loopback): the image made there with the bytes sent and their checksums, what a refusal
says, and an abort deleting what was made."""

from __future__ import annotations

import dataclasses
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from e2e.server import free_port
from glanceserver import ADMIN_TOKEN, GlanceServer
from keystone import SERVICE_USER, shared_keystone
from keystone import SKIP_VARIABLE as SKIP_KEYSTONE
from openstackservice import running
from pyocci.server.config import ConfigError, ExportConfig
from pyocci.server.exports.glance import GlanceSite, GlanceSitesError, GlanceWriter, read_sites
from pyocci.server.exports.targets import ExportFailedError, open_target
from pyocci.service.exports import parse_target

pytestmark = pytest.mark.anyio

#: A member's token in a project of its own (the launcher's ``user:project`` tokens).
TOKEN = "exporter:p-glance-target"
MIB = 1024 * 1024


def _sites(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "glance-sites.toml"
    path.write_text(text)
    return path


# --- the sites file -----------------------------------------------------------------------


def test_a_site_with_a_token_and_one_with_keystone_are_read(tmp_path: Path) -> None:
    path = _sites(
        tmp_path,
        """
[site-b]
image_endpoint = "https://glance.b.example.org/"
token = "very-secret-token"

[site-c]
auth_url = "https://keystone.c.example.org/v3"
username = "exporter"
password = "very-secret-password"
project_name = "exports"
ca_file = "c-ca.pem"
""",
    )
    sites = read_sites(path)
    assert sites["site-b"].image_endpoint == "https://glance.b.example.org"
    assert sites["site-c"].ca_file == tmp_path / "c-ca.pem"
    assert sites["site-c"].user_domain_name == "Default"
    shown = repr(sites)
    assert "very-secret" not in shown and "site-c" in shown


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "names no site"),
        ('[b]\ntoken = "t"\n', "with a token, give image_endpoint"),
        ('[b]\nauth_url = "https://k/v3"\nusername = "u"\n', "missing password, project_name"),
        ('[b]\nimage_endpoint = "glance.example.org"\ntoken = "t"\n', "http:// or https://"),
        ('["b c"]\nimage_endpoint = "http://g"\ntoken = "t"\n', "host of glance:// URLs"),
        ('[b]\nimage_endpoint = "http://g"\ntoken = "t"\npassword = "p"\n', "not password"),
        ("[b\n", "not valid TOML"),
    ],
)
def test_a_wrong_sites_file_says_what_to_fix(tmp_path: Path, text: str, says: str) -> None:
    with pytest.raises(GlanceSitesError, match=says):
        read_sites(_sites(tmp_path, text))


def test_the_export_config_offers_glance_only_with_sites(tmp_path: Path) -> None:
    assert "glance" not in ExportConfig().schemes
    path = _sites(tmp_path, '[b]\nimage_endpoint = "http://g"\ntoken = "t"\n')
    assert ExportConfig(glance_sites_file=path).schemes == ("https", "glance")
    with pytest.raises(ConfigError, match=r"export\.glance_sites_file: cannot read"):
        ExportConfig(glance_sites_file=tmp_path / "missing.toml")


def test_glance_targets_name_a_known_site_and_an_image() -> None:
    target = parse_target("glance://site-b/debian%2012", ("glance",), ("site-b",))
    assert (target.scheme, target.site, target.name) == ("glance", "site-b", "debian 12")
    with pytest.raises(Exception, match="no Glance site 'site-x' here; choose one of: site-b"):
        parse_target("glance://site-x/debian", ("glance",), ("site-b",))
    with pytest.raises(Exception, match="write glance://site/image-name"):
        parse_target("glance://site-b/", ("glance",), ("site-b",))
    with pytest.raises(Exception, match="this site exports to https://"):
        parse_target("glance://site-b/debian", ("https",))


def test_a_site_no_longer_configured_fails_the_export() -> None:
    target = parse_target("glance://gone/debian", ("glance",))
    with pytest.raises(ExportFailedError, match="knows no Glance site gone any more"):
        open_target(target, 4, s3=None, ca_file=None, glance={})


# --- the writer, against a real Glance -----------------------------------------------------


@pytest.fixture(scope="module")
def glance(request: pytest.FixtureRequest) -> Iterator[GlanceServer]:
    with running(GlanceServer, request.config) as server:
        yield server


def _site(glance: GlanceServer, token: str = TOKEN) -> GlanceSite:
    return GlanceSite(name="remote", image_endpoint=glance.image_url, token=token)


def _admin(glance: GlanceServer) -> httpx.Client:
    return httpx.Client(base_url=glance.image_url, headers={"X-Auth-Token": ADMIN_TOKEN})


def _images(glance: GlanceServer, name: str) -> list[dict[str, Any]]:
    with _admin(glance) as admin:
        return admin.get("/v2/images", params={"name": name}).json()["images"]


async def _write_all(writer: GlanceWriter, chunks: list[bytes]) -> str:
    for chunk in chunks:
        await writer.write(chunk)
    return await writer.finish()


@pytest.mark.openstack
async def test_the_image_is_made_with_the_bytes_sent(glance: GlanceServer) -> None:
    chunks = [bytes([n]) * MIB for n in range(3)] + [b"the end"]
    data = b"".join(chunks)
    writer = GlanceWriter(_site(glance), "exported-whole", disk_format="raw", size=len(data))
    url = await _write_all(writer, chunks)
    [image] = _images(glance, "exported-whole")
    assert url == f"{glance.image_url}/v2/images/{image['id']}"
    assert (image["status"], image["size"], image["disk_format"]) == ("active", len(data), "raw")
    assert (image["container_format"], image["visibility"]) == ("bare", "private")
    assert image["os_hash_value"] == hashlib.sha512(data).hexdigest()
    assert image["owner"] == TOKEN.partition(":")[2]
    with _admin(glance) as admin:
        assert admin.get(f"/v2/images/{image['id']}/file").content == data
        admin.delete(f"/v2/images/{image['id']}")


@pytest.mark.openstack
async def test_a_refused_token_says_so_and_makes_nothing(glance: GlanceServer) -> None:
    writer = GlanceWriter(_site(glance, token="not-a-token"), "refused", disk_format="raw")
    with pytest.raises(ExportFailedError) as raised:
        await _write_all(writer, [b"data"])
    message = str(raised.value)
    assert "refused the site's credentials (401)" in message
    assert "site remote" in message and "not-a-token" not in message
    await writer.abort()
    assert _images(glance, "refused") == []


@pytest.mark.openstack
async def test_a_format_glance_refuses_is_its_answer(glance: GlanceServer) -> None:
    writer = GlanceWriter(_site(glance), "odd-format", disk_format="floppy")
    with pytest.raises(ExportFailedError, match="refused to make the image 'odd-format': 400"):
        await _write_all(writer, [b"data"])


@pytest.mark.openstack
async def test_data_glance_refuses_is_said_and_the_image_deleted(glance: GlanceServer) -> None:
    # Glance inspects what it is sent: these bytes are no qcow2 image.
    writer = GlanceWriter(_site(glance), "not-qcow2", disk_format="qcow2")
    with pytest.raises(ExportFailedError, match=r"refused the image's data as not qcow2 \(415\)"):
        await _write_all(writer, [b"\0" * MIB])
    await writer.abort()
    assert _images(glance, "not-qcow2") == []


@pytest.mark.openstack
async def test_an_abort_deletes_the_half_made_image(glance: GlanceServer) -> None:
    writer = GlanceWriter(_site(glance), "half-made", disk_format="raw", size=4 * MIB)
    await writer.write(b"\0" * MIB)
    await writer.write(b"\1" * MIB)
    [image] = _images(glance, "half-made")
    assert image["status"] in ("queued", "saving")
    await writer.abort()
    assert _images(glance, "half-made") == []


@pytest.mark.openstack
async def test_a_keystone_site_logs_in_and_a_wrong_password_is_said(glance: GlanceServer) -> None:
    if os.environ.get(SKIP_KEYSTONE):
        pytest.skip(f"{SKIP_KEYSTONE} is set")
    keystone = shared_keystone()
    user, password, project = SERVICE_USER
    site = GlanceSite(
        name="ks",
        auth_url=keystone.v3,
        username=user,
        password=password,
        project_name=project,
        image_endpoint=glance.image_url,
    )
    # Keystone's token reaches Glance, which refuses it: the test Glance takes its own
    # user:project tokens only. Its 401 shows that the login itself succeeded.
    writer = GlanceWriter(site, "keystone-site", disk_format="raw")
    refused = r"site ks .*refused the site's credentials \(401\)"
    with pytest.raises(ExportFailedError, match=refused):
        await _write_all(writer, [b"data"])
    await writer.abort()
    wrong = GlanceWriter(
        dataclasses.replace(site, password="not-the-password"), "never", disk_format="raw"
    )
    with pytest.raises(ExportFailedError) as raised:
        await _write_all(wrong, [b"data"])
    message = str(raised.value)
    assert message.startswith(f"the Keystone of site ks ({keystone.v3}) refused")
    assert "not-the-password" not in message


async def test_an_unreachable_glance_is_named() -> None:
    site = GlanceSite(name="down", image_endpoint=f"http://127.0.0.1:{free_port()}", token="t")
    writer = GlanceWriter(site, "x", disk_format="raw")
    with pytest.raises(ExportFailedError, match="could not make the image 'x' at the Glance of"):
        await _write_all(writer, [b"data"])
    await writer.abort()
