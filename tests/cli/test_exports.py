"""``occi export`` and ``occi image delete`` against a real occi-server (simulated cloud)
and a real HTTPS receiver: the image arrives (converted with --format, by the server's
qemu-img), --wait ends with its URL or the reason it failed, a saved image is deleted
and the site's are not."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator

import pytest

from cli.conftest import RunOcci
from debian import command_from
from e2e.server import RunningServer, occi_server
from pki import Pki
from put_receiver import PutReceiver
from pyocci.backends.sim.image_data import image_bytes

IMAGE_BYTES = 3 * 1024 * 1024
SIM_OS = "http://schemas.pyocci.org/sim/os_tpl#"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, pki: Pki) -> Iterator[RunningServer]:
    """The module's occi-server: images of a few MiB, https targets trusting the test CA."""
    qemu_img = command_from("qemu-img", "qemu-utils")
    config = (
        f'[backend_settings]\nimage_bytes = {IMAGE_BYTES}\n[export]\nca_file = "{pki.ca}"\n'
        f'qemu_img = "{qemu_img}"\n'
    )
    with occi_server(tmp_path_factory.mktemp("occi-server"), config=config) as running:
        yield running


def test_export_waits_until_the_image_has_arrived(occi: RunOcci, receiver: PutReceiver) -> None:
    target = f"{receiver.url}/cli/cirros.img?X-Amz-Signature=secret"
    done = occi("export", "cirros", target, "--wait", "-o", "json")
    assert done.exit_code == 0, done.output
    [record] = json.loads(done.stdout)
    attributes = record["attributes"]
    assert attributes["org.pyocci.export.state"] == "active"
    assert attributes["org.pyocci.export.url"] == f"{receiver.url}/cli/cirros.img"
    source = attributes["org.pyocci.export.source"]
    assert source.startswith(SIM_OS) and "cirros" in source
    expected = hashlib.sha256(image_bytes(source, IMAGE_BYTES)).hexdigest()
    assert attributes["org.pyocci.export.checksum"] == f"sha256:{expected}"
    assert receiver.received("/cli/cirros.img") == {"size": IMAGE_BYTES, "sha256": expected}
    listed = json.loads(occi("list", "export", "-o", "json").stdout)
    assert record["location"] in [entry["location"] for entry in listed]


def test_export_converts_to_the_format_asked_for(occi: RunOcci, receiver: PutReceiver) -> None:
    target = f"{receiver.url}/keep/cli/cirros.qcow2"
    done = occi("export", "cirros", target, "--format", "qcow2", "--wait", "-o", "json")
    assert done.exit_code == 0, done.output
    [record] = json.loads(done.stdout)
    attributes = record["attributes"]
    assert attributes["org.pyocci.export.format"] == "qcow2"
    assert attributes["org.pyocci.export.source.format"] == "raw"
    body = receiver.body("/keep/cli/cirros.qcow2")
    assert body is not None and body[:4] == b"QFI\xfb"  # qcow2's magic
    assert attributes["org.pyocci.export.checksum"] == (
        f"sha256:{hashlib.sha256(body).hexdigest()}"
    )
    refused = occi("export", "cirros", target, "--format", "vmdk")
    assert refused.exit_code != 0
    assert "write one of raw, qcow2" in refused.output


def test_a_failed_export_exits_with_the_reason(occi: RunOcci, receiver: PutReceiver) -> None:
    failed = occi("export", "cirros", f"{receiver.url}/forbidden/cirros.img", "--wait")
    assert failed.exit_code != 0
    assert "answered 403 Forbidden" in failed.output


def test_an_unknown_image_is_refused_before_sending(occi: RunOcci) -> None:
    refused = occi("export", "no-such-image", "s3://bucket/key")
    assert refused.exit_code != 0
    assert "no-such-image" in refused.output


def test_a_saved_image_is_deleted_and_a_site_image_is_not(occi: RunOcci) -> None:
    made = occi("create", "compute", "--os", "cirros", "--size", "small", "-o", "json")
    assert made.exit_code == 0, made.output
    vm = json.loads(made.stdout)[0]["location"]
    saved = occi("save", vm, "--name", "cli-image", "--wait")
    assert saved.exit_code == 0, saved.output
    deleted = occi("image", "delete", "cli-image")
    assert deleted.exit_code == 0, deleted.output
    assert "cli-image" in deleted.stdout
    templates = occi("templates", "-o", "json")
    assert "cli-image" not in templates.stdout
    refused = occi("image", "delete", "cirros")
    assert refused.exit_code != 0
    assert "provider-defined" in refused.output


def test_a_server_without_export_is_told_apart(occi: RunOcci, tmp_path_factory) -> None:
    workdir = tmp_path_factory.mktemp("memory")
    with occi_server(workdir, config='backend = "memory"\n') as memory:
        refused = occi("export", "debian", "s3://bucket/key", endpoint=memory.url)
    assert refused.exit_code != 0
    assert "does not offer image export" in refused.output
