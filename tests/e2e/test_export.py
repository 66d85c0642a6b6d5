"""Image export end to end: a real occi-server (sim backend) exports images to moto's S3
server and to a loopback HTTPS receiver, both real processes, over HTTP.

The bytes that arrive are compared with the sim's image bytes (generated from the
image's id); failures at the target end in ``error`` with the reason; a server
killed in the middle of an export finishes it after its restart; the per-tenant
limit answers 409; a saved image is deleted through ``DELETE /-/``. Exports asked for
in qcow2 are converted by the server's qemu-img (Debian's qemu-utils, installed by
the tests when missing): what arrives is checked with qemu-img as a qcow2 image
holding the sim's bytes; an unknown format is a 400, a server without qemu-img
offers no conversion and answers 501, and a disk limit too small ends in ``error``.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest

from debian import command_from
from disk_images import corrupt_qcow2
from e2e.occiclient import COMPUTE, COMPUTE_ACTION, DEBIAN, OCCI_JSON, SMALL
from e2e.server import RunningServer, free_port, occi_server
from motoserver import CREDENTIALS, REGION, MotoServer
from pki import Pki
from put_receiver import PutReceiver
from pyocci.backends.sim.image_data import image_bytes

pytestmark = pytest.mark.e2e

EXPORT = "http://schemas.pyocci.org/occi/infrastructure#export"
CANCEL = "http://schemas.pyocci.org/occi/infrastructure/export/action#cancel"
S3_TARGET = "http://schemas.pyocci.org/occi/infrastructure/export/target#s3"
HTTPS_TARGET = "http://schemas.pyocci.org/occi/infrastructure/export/target#https"
FORMATS = "http://schemas.pyocci.org/occi/infrastructure/export/format#"
GLANCE_TARGET = "http://schemas.pyocci.org/occi/infrastructure/export/target#glance"
#: 20 MiB: four parts of 5 MiB on S3, and a few seconds through the slow receiver.
IMAGE_BYTES = 20 * 1024 * 1024
CHUNK = 5 * 1024 * 1024
BUCKET = "images"
JSON = {"Accept": OCCI_JSON, "Content-Type": OCCI_JSON}


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    """moto's server, with one bucket (S3 answers on the same endpoint as EC2)."""
    server = MotoServer(port=free_port(), log=tmp_path_factory.mktemp("moto") / "moto.log")
    server.start()
    try:
        _s3_client(server).create_bucket(Bucket=BUCKET)
        yield server
    finally:
        server.stop()


def _s3_client(server: MotoServer) -> Any:
    return boto3.client("s3", endpoint_url=server.url, region_name=REGION, **CREDENTIALS)


def _config(s3: MotoServer, pki: Pki, *, limit: int = 2, extra: str = "") -> str:
    return f"""
[backend_settings]
image_bytes = {IMAGE_BYTES}

[export]
max_per_tenant = {limit}
chunk_bytes = {CHUNK}
lease_seconds = 2
s3_endpoint_url = "{s3.url}"
s3_access_key_id = "{CREDENTIALS["aws_access_key_id"]}"
s3_secret_access_key = "{CREDENTIALS["aws_secret_access_key"]}"
ca_file = "{pki.ca}"
{extra}
"""


@pytest.fixture(scope="module")
def qemu_img() -> str:
    """qemu-img, for the server's conversions and the tests' checks."""
    return command_from("qemu-img", "qemu-utils")


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("occi-export")


@pytest.fixture(scope="module")
def server(workdir: Path, s3: MotoServer, pki: Pki, qemu_img: str) -> Iterator[RunningServer]:
    extra = f'qemu_img = "{qemu_img}"\nspool_dir = "{workdir / "spool"}"'
    with occi_server(workdir, config=_config(s3, pki, extra=extra)) as running:
        yield running


@pytest.fixture(scope="module")
def http(server: RunningServer) -> Iterator[httpx.Client]:
    with server.client(headers=JSON) as client:
        yield client


def _export(
    http: httpx.Client, source: str, target: str, disk_format: str | None = None
) -> httpx.Response:
    attributes = {_a("source"): source, _a("target"): target}
    if disk_format is not None:
        attributes[_a("format")] = disk_format
    return http.post("/export/", json={"kind": EXPORT, "attributes": attributes})


def _a(name: str) -> str:
    return f"org.pyocci.export.{name}"


def _created(http: httpx.Client, source: str, target: str, disk_format: str | None = None) -> str:
    answer = _export(http, source, target, disk_format)
    assert answer.status_code == 201, answer.text
    return httpx.URL(answer.headers["location"]).path


def _attributes(http: httpx.Client, path: str) -> dict[str, Any]:
    answer = http.get(path)
    assert answer.status_code == 200, answer.text
    return answer.json()["attributes"]


def _until(http: httpx.Client, path: str, states: tuple[str, ...], seconds: float = 60) -> dict:
    deadline = time.monotonic() + seconds
    while True:
        attributes = _attributes(http, path)
        if attributes[_a("state")] in states:
            return attributes
        assert time.monotonic() < deadline, f"{path} stayed {attributes}"
        time.sleep(0.2)


def _expected(source: str) -> str:
    return hashlib.sha256(image_bytes(source, IMAGE_BYTES)).hexdigest()


def _saved_image(http: httpx.Client) -> str:
    """Save a new compute as an image; the os_tpl's identifier."""
    made = http.post("/compute/", json={"kind": COMPUTE, "mixins": [DEBIAN, SMALL]})
    assert made.status_code == 201, made.text
    compute = httpx.URL(made.headers["location"]).path
    saved = http.post(
        f"{compute}?action=save", json={"action": COMPUTE_ACTION + "save", "attributes": {}}
    )
    assert saved.status_code == 200, saved.text
    [image] = [c for c in saved.json()["mixins"]]
    return image["scheme"] + image["term"]


def test_discovery_offers_export_and_both_target_schemes(http: httpx.Client) -> None:
    categories = http.get("/-/").json()
    kinds = {k["scheme"] + k["term"]: k for k in categories["kinds"]}
    assert kinds[EXPORT]["location"] == "/export/"
    assert kinds[EXPORT]["actions"] == [CANCEL]
    mixins = {m["scheme"] + m["term"] for m in categories["mixins"]}
    assert {S3_TARGET, HTTPS_TARGET, FORMATS + "qcow2", FORMATS + "raw"} <= mixins
    # No remote Glance site is configured here.
    assert GLANCE_TARGET not in mixins


def test_a_saved_image_exported_to_s3_arrives_whole(http: httpx.Client, s3: MotoServer) -> None:
    image = _saved_image(http)
    path = _created(http, image, f"s3://{BUCKET}/exports/saved.img")
    done = _until(http, path, ("active", "error"))
    assert done[_a("state")] == "active", done
    expected = _expected(image)
    assert done[_a("url")] == f"s3://{BUCKET}/exports/saved.img"
    assert done[_a("format")] == done[_a("source.format")] == "raw"
    assert done[_a("checksum")] == f"sha256:{expected}"
    # Four parts: moto's composite of their SHA-256s is the one the parts make.
    assert done[_a("checksum.verified")] is True
    assert (done[_a("bytes")], done[_a("size")], done[_a("progress")]) == (
        IMAGE_BYTES,
        IMAGE_BYTES,
        100,
    )
    body = _s3_client(s3).get_object(Bucket=BUCKET, Key="exports/saved.img")["Body"].read()
    assert hashlib.sha256(body).hexdigest() == expected


def test_an_image_exported_by_https_put_arrives_whole(
    http: httpx.Client, receiver: PutReceiver
) -> None:
    target = f"{receiver.url}/upload/debian.img?X-Amz-Signature=very-secret"
    path = _created(http, DEBIAN, target)
    done = _until(http, path, ("active", "error"))
    assert done[_a("state")] == "active", done
    # The signature is a credential: never shown.
    assert done[_a("target")] == done[_a("url")] == f"{receiver.url}/upload/debian.img"
    assert receiver.received("/upload/debian.img") == {
        "size": IMAGE_BYTES,
        "sha256": _expected(DEBIAN),
    }
    assert done[_a("checksum")] == f"sha256:{_expected(DEBIAN)}"
    # The receiver's answer names no digest: nothing confirmed, and the export says so.
    assert done[_a("checksum.verified")] is False


def _holds_the_image(qemu_img: str, data: bytes, source: str, where: Path) -> None:
    """`data` is a valid qcow2 image whose contents are the sim image `source`."""
    where.mkdir()
    (where / "image.qcow2").write_bytes(data)
    info = subprocess.run(
        [qemu_img, "info", "--output=json", str(where / "image.qcow2")],
        capture_output=True,
        check=True,
    )
    assert json.loads(info.stdout)["format"] == "qcow2"
    assert json.loads(info.stdout)["virtual-size"] == IMAGE_BYTES
    (where / "source.raw").write_bytes(image_bytes(source, IMAGE_BYTES))
    files = [str(where / "image.qcow2"), str(where / "source.raw")]
    compared = subprocess.run(
        [qemu_img, "compare", "-f", "qcow2", "-F", "raw", "-s", *files],
        capture_output=True,
        text=True,
    )
    assert compared.returncode == 0, compared.stdout + compared.stderr


def test_an_image_exported_as_qcow2_to_s3_is_that_image_converted(
    http: httpx.Client, s3: MotoServer, qemu_img: str, workdir: Path, tmp_path: Path
) -> None:
    path = _created(http, DEBIAN, f"s3://{BUCKET}/exports/debian.qcow2", "qcow2")
    done = _until(http, path, ("active", "error"))
    assert done[_a("state")] == "active", done
    assert (done[_a("format")], done[_a("source.format")]) == ("qcow2", "raw")
    body = _s3_client(s3).get_object(Bucket=BUCKET, Key="exports/debian.qcow2")["Body"].read()
    assert done[_a("checksum")] == f"sha256:{hashlib.sha256(body).hexdigest()}"
    assert done[_a("checksum.verified")] is True
    assert done[_a("bytes")] == done[_a("size")] == len(body)
    assert _a("stage") not in done  # shown while transferring only
    _holds_the_image(qemu_img, body, DEBIAN, tmp_path / "s3")
    assert list((workdir / "spool").iterdir()) == []


def test_an_image_exported_as_qcow2_by_https_put_is_that_image_converted(
    http: httpx.Client, receiver: PutReceiver, qemu_img: str, workdir: Path, tmp_path: Path
) -> None:
    image = _saved_image(http)
    path = _created(http, image, f"{receiver.url}/keep/digest/saved.qcow2?sig=s", "qcow2")
    done = _until(http, path, ("active", "error"))
    assert done[_a("state")] == "active", done
    body = receiver.body("/keep/digest/saved.qcow2")
    assert body is not None
    assert done[_a("checksum")] == f"sha256:{hashlib.sha256(body).hexdigest()}"
    # This receiver answers with the SHA-256 it computed: confirmed.
    assert done[_a("checksum.verified")] is True
    _holds_the_image(qemu_img, body, image, tmp_path / "https")
    assert list((workdir / "spool").iterdir()) == []


def test_a_format_asked_for_that_is_unknown_is_a_400_naming_the_formats(
    http: httpx.Client,
) -> None:
    refused = _export(http, DEBIAN, f"s3://{BUCKET}/x.vmdk", "vmdk")
    assert refused.status_code == 400
    assert "write one of raw, qcow2" in refused.text


def test_a_disk_limit_too_small_and_a_server_without_qemu_img(
    tmp_path_factory: pytest.TempPathFactory, s3: MotoServer, pki: Pki, qemu_img: str
) -> None:
    small = tmp_path_factory.mktemp("small-spool")
    extra = f'qemu_img = "{qemu_img}"\nmax_spool_bytes = {IMAGE_BYTES + 1024}'
    with (
        occi_server(small, config=_config(s3, pki, extra=extra)) as running,
        running.client(headers=JSON) as http,
    ):
        path = _created(http, DEBIAN, f"s3://{BUCKET}/small.qcow2", "qcow2")
        failed = _until(http, path, ("active", "error"))
    assert failed[_a("state")] == "error"
    assert "max_spool_bytes" in failed[_a("state.message")]
    assert "converted to qcow2" in failed[_a("state.message")]
    missing = tmp_path_factory.mktemp("no-qemu-img")
    extra = f'qemu_img = "{missing / "qemu-img"}"'
    with (
        occi_server(missing, config=_config(s3, pki, extra=extra)) as running,
        running.client(headers=JSON) as http,
    ):
        mixins = {m["scheme"] + m["term"] for m in http.get("/-/").json()["mixins"]}
        assert HTTPS_TARGET in mixins
        assert not {FORMATS + "qcow2", FORMATS + "raw"} & mixins
        refused = _export(http, DEBIAN, f"s3://{BUCKET}/x.qcow2", "qcow2")
        assert refused.status_code == 501
        assert "has no qemu-img" in refused.text
        # Without a format, the image leaves as the cloud holds it.
        plain = _created(http, DEBIAN, f"s3://{BUCKET}/plain.raw")
        assert _until(http, plain, ("active", "error"))[_a("state")] == "active"


def test_a_missing_bucket_ends_in_error_with_the_reason(http: httpx.Client) -> None:
    path = _created(http, DEBIAN, "s3://no-such-bucket/debian.img")
    failed = _until(http, path, ("active", "error"))
    assert failed[_a("state")] == "error"
    assert "the bucket no-such-bucket does not exist" in failed[_a("state.message")]


def test_a_refused_https_put_ends_in_error_with_the_reason(
    http: httpx.Client, receiver: PutReceiver
) -> None:
    path = _created(http, DEBIAN, f"{receiver.url}/forbidden/debian.img?sig=expired")
    failed = _until(http, path, ("active", "error"))
    assert failed[_a("state")] == "error"
    assert "answered 403" in failed[_a("state.message")], failed
    assert "expired" not in failed[_a("target")]


def test_bad_requests_are_told_what_to_fix(http: httpx.Client) -> None:
    wrong_scheme = _export(http, DEBIAN, "ftp://example.org/debian.img")
    assert wrong_scheme.status_code == 400
    unknown = _export(http, "http://schemas.pyocci.org/sim/os_tpl#nothing", "s3://b/k")
    assert unknown.status_code == 400
    assert "not an OS template you can export" in unknown.text
    no_key = _export(http, DEBIAN, "s3://images")
    assert no_key.status_code == 400
    assert "s3://bucket/key" in no_key.text or "pattern" in no_key.text


def test_the_tenant_limit_and_cancel(http: httpx.Client, receiver: PutReceiver) -> None:
    first = _created(http, DEBIAN, f"{receiver.url}/slow/limit-1.img")
    second = _created(http, DEBIAN, f"{receiver.url}/slow/limit-2.img")
    refused = _export(http, DEBIAN, f"{receiver.url}/slow/limit-3.img")
    assert refused.status_code == 409
    assert "at most 2 at once" in refused.text
    for path in (first, second):
        cancelled = http.post(f"{path}?action=cancel", json={"action": CANCEL})
        assert cancelled.status_code == 200, cancelled.text
        assert _attributes(http, path)[_a("state")] == "cancelled"
    # Room again, once the cancelled exports no longer count.
    third = _created(http, DEBIAN, f"{receiver.url}/upload/limit-3.img")
    assert _until(http, third, ("active", "error"))[_a("state")] == "active"
    assert receiver.received("/slow/limit-1.img") is None
    # A cancelled export can be deleted; it is gone then.
    assert http.delete(first).status_code == 200
    assert http.get(first).status_code == 404


def test_a_server_killed_mid_export_finishes_it_after_restart(
    workdir: Path, s3: MotoServer, pki: Pki, receiver: PutReceiver
) -> None:
    restart_dir = workdir / "restart"
    restart_dir.mkdir()
    config = _config(s3, pki)
    with occi_server(restart_dir, config=config) as first:
        with first.client(headers=JSON) as http:
            path = _created(http, DEBIAN, f"{receiver.url}/slow/restart.img")
            deadline = time.monotonic() + 30
            while _attributes(http, path)[_a("bytes")] == 0:
                assert time.monotonic() < deadline
                time.sleep(0.1)
        first.process.kill()  # no shutdown: the runner's lease is left to run out
        first.process.wait()
    with occi_server(restart_dir, config=config) as second, second.client(headers=JSON) as http:
        done = _until(http, path, ("active", "error"), seconds=90)
    assert done[_a("state")] == "active", done
    assert receiver.received("/slow/restart.img") == {
        "size": IMAGE_BYTES,
        "sha256": _expected(DEBIAN),
    }


def test_a_saved_image_is_deleted_and_the_sites_are_not(http: httpx.Client) -> None:
    image = _saved_image(http)
    scheme, term = image.split("#")
    category = {"mixins": [{"scheme": scheme + "#", "term": term}]}
    deleted = http.request("DELETE", "/-/", json=category)
    assert deleted.status_code == 200, deleted.text
    terms = {m["scheme"] + m["term"] for m in http.get("/-/").json()["mixins"]}
    assert image not in terms
    debian_scheme, debian_term = DEBIAN.split("#")
    site = {"mixins": [{"scheme": debian_scheme + "#", "term": debian_term}]}
    refused = http.request("DELETE", "/-/", json=site)
    assert refused.status_code == 403
    assert "not an image you saved" in refused.text


def test_a_backend_without_export_advertises_none_and_answers_501(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    workdir = tmp_path_factory.mktemp("memory")
    with (
        occi_server(workdir, config='backend = "memory"\n') as memory,
        memory.client(headers=JSON) as http,
    ):
        categories = http.get("/-/").json()
        assert EXPORT not in {k["scheme"] + k["term"] for k in categories["kinds"]}
        assert HTTPS_TARGET not in {m["scheme"] + m["term"] for m in categories["mixins"]}
        refused = _export(http, DEBIAN, "s3://b/k")
        assert refused.status_code == 501
        assert "cannot read image data" in refused.text


# --- openstack: images downloaded from a real Glance, streamed -----------------------------


@pytest.fixture(scope="module")
def glance(request: pytest.FixtureRequest) -> Iterator[Any]:
    from glanceserver import GlanceServer
    from openstackservice import running

    with running(GlanceServer, request.config) as server:
        yield server


@pytest.mark.openstack
def test_a_glance_image_exported_to_s3_and_https_arrives_whole(
    tmp_path_factory: pytest.TempPathFactory,
    nova: Any,
    glance: Any,
    s3: MotoServer,
    pki: Pki,
    receiver: PutReceiver,
) -> None:
    import openstack

    from glanceserver import ADMIN_TOKEN
    from motoserver import toml_settings

    sdk = openstack.connect(
        auth_type="admin_token",
        auth={"token": ADMIN_TOKEN, "endpoint": glance.image_url},
        image_endpoint_override=glance.image_url,
        load_yaml_config=False,
        load_envvars=False,
    )
    data = bytes(range(256)) * (6 * 1024 * 1024 // 256) + b"the end"  # two S3 parts
    made = sdk.image.create_image(
        "export-e2e", disk_format="raw", container_format="bare", allow_duplicates=True
    )
    uploaded = made.upload(sdk.image, data=data)
    status = sdk.image.get_image(made.id).status
    assert status == "active", (status, getattr(uploaded, "status_code", None))
    source = f"http://schemas.pyocci.org/openstack/os_tpl#{made.id}"
    settings = {
        "token": ADMIN_TOKEN,
        "compute_endpoint": nova.compute_url,
        "image_endpoint": glance.image_url,
    }
    config = 'backend = "openstack"\n' + _config(s3, pki).replace(
        f"[backend_settings]\nimage_bytes = {IMAGE_BYTES}\n", ""
    )
    config += "\n" + toml_settings(settings)
    expected = hashlib.sha256(data).hexdigest()
    try:
        workdir = tmp_path_factory.mktemp("openstack-export")
        with occi_server(workdir, config=config) as running, running.client(headers=JSON) as http:
            to_s3 = _created(http, source, f"s3://{BUCKET}/glance/{made.id}.raw")
            to_https = _created(http, source, f"{receiver.url}/glance/{made.id}.raw")
            for path in (to_s3, to_https):
                done = _until(http, path, ("active", "error"))
                assert done[_a("state")] == "active", done
                assert done[_a("checksum")] == f"sha256:{expected}"
                assert (done[_a("size")], done[_a("format")]) == (len(data), "raw")
        body = _s3_client(s3).get_object(Bucket=BUCKET, Key=f"glance/{made.id}.raw")["Body"]
        assert hashlib.sha256(body.read()).hexdigest() == expected
        assert receiver.received(f"/glance/{made.id}.raw") == {
            "size": len(data),
            "sha256": expected,
        }
    finally:
        sdk.image.delete_image(made.id, ignore_missing=True)


@pytest.mark.openstack
def test_a_glance_image_is_converted_and_a_corrupt_one_fails_with_qemu_imgs_reason(
    tmp_path_factory: pytest.TempPathFactory,
    tmp_path: Path,
    nova: Any,
    glance: Any,
    s3: MotoServer,
    pki: Pki,
    receiver: PutReceiver,
    qemu_img: str,
) -> None:
    """A raw Glance image exported as qcow2 arrives as that image in qcow2; a qcow2 one
    whose data is damaged ends in error with what qemu-img said."""
    import openstack

    from glanceserver import ADMIN_TOKEN
    from motoserver import toml_settings

    sdk = openstack.connect(
        auth_type="admin_token",
        auth={"token": ADMIN_TOKEN, "endpoint": glance.image_url},
        image_endpoint_override=glance.image_url,
        load_yaml_config=False,
        load_envvars=False,
    )
    data = image_bytes("glance-conversion", 6 * 1024 * 1024)
    # Glance checks that a qcow2 image's header is one; this one's data is damaged.
    damaged = corrupt_qcow2(qemu_img, data, tmp_path)
    made = []
    for name, disk_format, content in (
        ("export-raw", "raw", data),
        ("export-corrupt", "qcow2", damaged),
    ):
        image = sdk.image.create_image(
            name, disk_format=disk_format, container_format="bare", allow_duplicates=True
        )
        image.upload(sdk.image, data=content)
        made.append(image)
        assert sdk.image.get_image(image.id).status == "active", name
    raw, corrupt = made
    settings = {
        "token": ADMIN_TOKEN,
        "compute_endpoint": nova.compute_url,
        "image_endpoint": glance.image_url,
    }
    extra = f'qemu_img = "{qemu_img}"'
    config = 'backend = "openstack"\n' + _config(s3, pki, extra=extra).replace(
        f"[backend_settings]\nimage_bytes = {IMAGE_BYTES}\n", ""
    )
    config += "\n" + toml_settings(settings)
    source = "http://schemas.pyocci.org/openstack/os_tpl#"
    try:
        workdir = tmp_path_factory.mktemp("openstack-conversion")
        with occi_server(workdir, config=config) as running, running.client(headers=JSON) as http:
            converted = _created(
                http, source + raw.id, f"s3://{BUCKET}/glance/{raw.id}.qcow2", "qcow2"
            )
            failing = _created(
                http, source + corrupt.id, f"{receiver.url}/glance/{corrupt.id}.raw", "raw"
            )
            done = _until(http, converted, ("active", "error"))
            failed = _until(http, failing, ("active", "error"))
        assert done[_a("state")] == "active", done
        assert (done[_a("format")], done[_a("source.format")]) == ("qcow2", "raw")
        assert done[_a("checksum.verified")] is True
        key = f"glance/{raw.id}.qcow2"
        body = _s3_client(s3).get_object(Bucket=BUCKET, Key=key)["Body"].read()
        (tmp_path / "image.qcow2").write_bytes(body)
        (tmp_path / "glance.raw").write_bytes(data)
        info = subprocess.run(
            [qemu_img, "info", "--output=json", str(tmp_path / "image.qcow2")],
            capture_output=True,
            check=True,
        )
        assert json.loads(info.stdout)["format"] == "qcow2"
        files = [str(tmp_path / "image.qcow2"), str(tmp_path / "glance.raw")]
        compared = subprocess.run(
            [qemu_img, "compare", "-f", "qcow2", "-F", "raw", "-s", *files],
            capture_output=True,
            text=True,
        )
        assert compared.returncode == 0, compared.stdout + compared.stderr
        assert failed[_a("state")] == "error", failed
        assert "qemu-img convert failed" in failed[_a("state.message")]
        assert "L2 table offset 0x10200 unaligned" in failed[_a("state.message")]
        assert receiver.received(f"/glance/{corrupt.id}.raw") is None
    finally:
        for image in made:
            sdk.image.delete_image(image.id, ignore_missing=True)
