"""The ``occi`` command against a real occi-server: the walk-through of the CLI guide,
outputs, waiting, verbose mode, every error path and shell completion."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml

from e2e.server import RunningServer, free_port, occi_server
from pyocci.client import AuthenticationError, Credentials, OcciClient


def test_the_walk_through_end_to_end(occi_process, tmp_path):
    """Create a VM with a template, contextualisation and a network link, wait, stop it,
    save it as an image, start a second VM from the image, delete everything."""
    (tmp_path / "init.yaml").write_text("#cloud-config\npackages: [htop]\n")
    (tmp_path / "id.pub").write_text("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5 me@laptop\n")

    discovered = occi_process("discover")
    assert discovered.returncode == 0, discovered.stderr
    assert "kind\tcompute\t/compute/" in discovered.stdout
    images = occi_process("templates", "os", "--match", "debian")
    assert images.stdout.split("\t")[0] == "debian-12"

    created = occi_process(
        "create",
        "compute",
        "--os",
        "debian",
        "--size",
        "small",
        "--title",
        "vm1",
        "--user-data",
        "init.yaml",
        "--ssh-key",
        "id.pub",
        "--link",
        "/network/public",
        "--wait",
    )
    assert created.returncode == 0, created.stderr
    vm = created.stdout.strip()
    assert vm.startswith("/compute/")

    described = json.loads(occi_process("describe", vm, "-o", "json").stdout)[0]
    assert described["attributes"]["occi.compute.state"] == "active"
    assert described["attributes"]["occi.credentials.ssh.publickey"].startswith("ssh-ed25519")
    assert [link["target"] for link in described["links"]] == ["/network/public"]

    stopped = occi_process("trigger", vm, "stop", "--method", "graceful", "--wait")
    assert stopped.returncode == 0, stopped.stderr
    assert stopped.stdout.split("\t")[3].strip() == "inactive"

    saved = occi_process("save", vm, "--name", "img", "--wait")
    assert saved.returncode == 0, saved.stderr
    image = saved.stdout.strip()
    assert image == "img"

    second = occi_process("create", "compute", "--os", image, "--size", "small", "--wait")
    assert second.returncode == 0, second.stderr
    vm2 = second.stdout.strip()
    assert "img" in " ".join(
        json.loads(occi_process("describe", vm2, "-o", "json").stdout)[0]["mixins"]
    )

    listed = occi_process("list", "compute", "-o", "uri-list").stdout.split()
    assert sorted(url.split("/compute/")[1] for url in listed) == sorted(
        v.split("/compute/")[1] for v in (vm, vm2)
    )

    deleted = occi_process("delete", vm, vm2)
    assert deleted.returncode == 0, deleted.stderr
    assert occi_process("list", "compute").stdout == ""
    # The executable exits with the documented status.
    missing = occi_process("describe", vm)
    assert missing.returncode == 5
    assert missing.stderr.startswith("occi: error: 404 not found")


def test_every_output_format(occi, server: RunningServer):
    vm = occi(
        "create", "compute", "--os", "cirros", "--size", "small", "--title", "fmt"
    ).stdout.strip()
    records = json.loads(occi("list", "compute", "-o", "json").stdout)
    assert vm in [r["location"] for r in records]
    assert (
        yaml.safe_load(occi("describe", vm, "-o", "yaml").stdout)[0]["attributes"][
            "occi.core.title"
        ]
        == "fmt"
    )
    assert f"{server.url}{vm}\n" in occi("list", "compute", "-o", "uri-list").stdout
    plain = [
        line.split("\t") for line in occi("list", "compute", "-o", "plain").stdout.splitlines()
    ]
    assert [vm, "compute", "fmt"] in [row[:3] for row in plain]
    table = occi("list", "compute", "-o", "table").stdout
    assert "LOCATION" in table and "fmt" in table
    # Options may come before or after the command.
    assert json.loads(occi("-o", "json", "describe", vm).stdout)[0]["location"] == vm
    assert occi("delete", vm).exit_code == 0


def test_wait_waits_for_active(occi):
    quick = occi("create", "compute", "--os", "cirros", "--size", "small", "-o", "json")
    assert json.loads(quick.stdout)[0]["attributes"]["occi.compute.state"] == "waiting"
    waited = occi("create", "compute", "--os", "cirros", "--size", "small", "--wait", "-o", "json")
    assert json.loads(waited.stdout)[0]["attributes"]["occi.compute.state"] == "active"
    for record in (json.loads(quick.stdout)[0], json.loads(waited.stdout)[0]):
        assert occi("delete", record["location"]).exit_code == 0


def test_verbose_shows_the_raw_exchange(occi, server: RunningServer):
    result = occi("--verbose", "templates", "os")
    assert result.exit_code == 0
    assert f"> GET {server.url}/-/" in result.stderr
    assert "< HTTP/1.1 200 OK" in result.stderr
    assert "< server: pyocci/" in result.stderr
    assert "debian-12" in result.stdout


def test_templates_by_constraints_and_discover_by_class(occi):
    sizes = occi("templates", "resource", "--cores", "2", "--memory", "3").stdout.splitlines()
    assert [line.split("\t")[0] for line in sizes] == ["mem_medium", "large", "mem_large"]
    kinds = occi("discover", "--class", "kind").stdout.splitlines()
    assert {line.split("\t")[0] for line in kinds} == {"kind"}
    none = occi("templates", "resource", "--cores", "64")
    assert none.exit_code == 2
    assert "no resource template has 64 cores" in none.stderr


def test_update_resize_link_and_mixins(occi):
    vm = occi("create", "compute", "--os", "cirros", "--size", "small", "--wait").stdout.strip()
    updated = json.loads(occi("update", vm, "--title", "renamed", "-o", "json").stdout)[0]
    assert updated["attributes"]["occi.core.title"] == "renamed"
    resized = json.loads(occi("resize", vm, "--cores", "4", "--wait", "-o", "json").stdout)[0]
    assert resized["attributes"]["occi.compute.cores"] == 4

    link = occi("link", vm, "/network/private")
    assert link.exit_code == 0, link.stderr
    link_location = link.stdout.strip()
    assert link_location.startswith("/networkinterface/")
    assert occi("unlink", link_location).exit_code == 0

    assert occi("mixin", "define", "project-x", "--title", "Project X").exit_code == 0
    assert occi("mixin", "associate", "project-x", vm).exit_code == 0
    assert occi("list", "project-x").stdout.split("\t")[0] == vm
    assert occi("mixin", "remove", "project-x", vm).exit_code == 0
    assert occi("list", "project-x").stdout == ""
    assert occi("mixin", "remove", "project-x").exit_code == 0
    gone = occi("list", "project-x")
    assert gone.exit_code == 2 and "no kind or mixin 'project-x'" in gone.stderr
    assert occi("delete", vm).exit_code == 0


# --- errors ---------------------------------------------------------------------------------


def test_unreachable_server(occi):
    result = occi("list", "compute", endpoint=f"http://127.0.0.1:{free_port()}")
    assert result.exit_code == 3
    assert "connection refused" in result.stderr
    assert "is occi-server running at" in result.stderr
    assert "Traceback" not in result.stderr


def test_not_found(occi):
    result = occi("describe", "/compute/no-such-vm")
    assert result.exit_code == 5
    assert "404 not found" in result.stderr
    assert "occi list KIND" in result.stderr


def test_conflict(occi):
    vm = occi("create", "compute", "--os", "cirros", "--size", "small", "--wait").stdout.strip()
    assert occi("trigger", vm, "start").exit_code == 0  # already active: a no-op
    assert occi("trigger", vm, "stop", "--wait").exit_code == 0
    assert occi("trigger", vm, "restart").exit_code == 6
    result = occi("trigger", vm, "restart")
    assert "409 conflict" in result.stderr and "inactive" in result.stderr
    assert "occi describe URL" in result.stderr
    assert occi("delete", vm).exit_code == 0


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["create", "volcano"], "no kind 'volcano'"),
        (["create", "compute", "--os", "windows"], "no OS template matches 'windows'"),
        (["create", "compute", "--os", "ubuntu"], "matches several OS templates"),
        (
            ["create", "compute", "--os", "cirros", "-a", "occi.compute.cores=many"],
            'occi.compute.cores must be an integer, got "many"',
        ),
        (["create", "compute", "-a", "colour"], "write NAME=VALUE"),
        (["create", "compute", "--user-data", "missing.txt"], "missing.txt"),
        (["trigger", "/compute/x", "explode"], "compute has no action 'explode'"),
        (["list", "compute", "--page-size", "0"], "--page-size"),
        (["resize", "/compute/x"], "say the new size"),
        (["--rendering", "xml", "discover"], "'xml' is not one of"),
        (["create", "compute", "--user-data", "-"], "standard input is empty"),
        (["unlink", "/compute/x"], "is a compute, not a link"),
        (["describe", "http://elsewhere.example/compute/1"], "is not on the endpoint"),
        (["mixin", "define", "os_tpl"], "os_tpl is the term of"),
        (["mixin", "define", "compute"], "compute is the term of"),
    ],
)
def test_bad_input_is_caught_before_sending(occi, arguments, message):
    result = occi(*arguments)
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_authentication_required(occi, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("basic")
    config = '[auth]\nmethod = "basic"\nusers_file = "users.toml"\n'
    (workdir / "setup.toml").write_text(config)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pyocci.server.cli",
            "--config",
            str(workdir / "setup.toml"),
            "user",
            "add",
            "alice",
            "--tenant",
            "physics",
            "--password-stdin",
        ],
        input="s3cret-pass\n",
        text=True,
        check=True,
        capture_output=True,
    )
    with occi_server(workdir, config=config) as secured:
        refused = occi("list", "compute", endpoint=secured.url)
        assert refused.exit_code == 4
        assert "401" in refused.stderr
        assert "--auth basic --user NAME" in refused.stderr
        wrong = occi(
            "--user", "alice", "--password", "nope", "list", "compute", endpoint=secured.url
        )
        assert wrong.exit_code == 4
        right = occi(
            "--verbose",
            "list",
            "compute",
            "--user",
            "alice",
            endpoint=secured.url,
            env={"OCCI_PASSWORD": "s3cret-pass"},
        )
        assert right.exit_code == 0, right.stderr
        assert "> authorization: Basic ****" in right.stderr
        assert "s3cret" not in right.stderr
        # The library underneath: the status and the challenge, then access with credentials.
        with OcciClient(secured.url) as anonymous, pytest.raises(AuthenticationError) as raised:
            anonymous.discover()
        assert raised.value.status == 401
        assert raised.value.challenge.startswith("Basic")
        alice = Credentials(method="basic", username="alice", password="s3cret-pass")
        with OcciClient(secured.url, alice) as occi_alice:
            assert list(occi_alice.list("compute")) == []


# --- shell completion -----------------------------------------------------------------------


def test_shell_completion(occi_process):
    script = occi_process(env={"_OCCI_COMPLETE": "bash_source"})
    assert script.returncode == 0
    assert "_occi_completion" in script.stdout
    words = occi_process(
        env={"_OCCI_COMPLETE": "bash_complete", "COMP_WORDS": "occi li", "COMP_CWORD": "1"}
    )
    assert "plain,list" in words.stdout.splitlines()


def test_list_filters_and_renderings(occi, server: RunningServer):
    debian = occi("create", "compute", "--os", "debian", "--size", "small", "--title", "d").stdout
    cirros = occi("create", "compute", "--os", "cirros", "--size", "small", "--title", "c").stdout
    debian, cirros = debian.strip(), cirros.strip()
    by_image = occi("list", "compute", "--filter", "debian-12").stdout.split()
    assert debian in by_image and cirros not in by_image
    by_title = occi("list", "compute", "-a", "occi.core.title=c").stdout.split("\t")
    assert by_title[0] == cirros
    for rendering in ("text", "occi", "json"):
        urls = occi("--rendering", rendering, "list", "compute", "-o", "uri-list").stdout.split()
        assert {server.url + debian, server.url + cirros} <= set(urls), rendering
        described = occi("--rendering", rendering, "describe", cirros, "-o", "json").stdout
        assert json.loads(described)[0]["attributes"]["occi.core.title"] == "c"
    assert occi("delete", debian, cirros).exit_code == 0


def test_an_occi_11_text_only_server(occi, tmp_path_factory):
    with occi_server(
        tmp_path_factory.mktemp("occi11"),
        environ={"PYOCCI_OCCI_VERSION": "1.1", "PYOCCI_BACKEND_SETTINGS_TRANSITION_SECONDS": "0.2"},
    ) as old:
        created = occi(
            "create",
            "compute",
            "--os",
            "debian",
            "--size",
            "small",
            "--wait",
            "-v",
            endpoint=old.url,
        )
        assert created.exit_code == 0, created.stderr
        assert "> accept: text/plain" in created.stderr
        assert "> user-agent: pyocci/0.1.0 OCCI/1.1" in created.stderr
        vm = created.stdout.strip()
        assert occi("list", "compute", endpoint=old.url).stdout.split("\t")[0] == vm
        sized = occi("templates", "resource", "--cores", "2", endpoint=old.url)
        assert sized.exit_code == 2
        assert "choose one by name with --size" in sized.stderr
        assert occi("delete", vm, endpoint=old.url).exit_code == 0


def test_python_dash_m_pyocci_is_the_cli():
    done = subprocess.run(
        [sys.executable, "-m", "pyocci", "--version"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0
    assert done.stdout.strip() == "occi, version 0.1.0"


def test_storage_waits_for_online_and_refuses_compute_options(occi):
    disk = occi("create", "storage", "-a", "occi.storage.size=1", "--wait", "-o", "json")
    assert disk.exit_code == 0, disk.stderr
    record = json.loads(disk.stdout)[0]
    assert record["attributes"]["occi.storage.state"] == "online"
    assert record["attributes"]["occi.storage.size"] == 1
    wrong = occi("create", "storage", "--os", "debian")
    assert wrong.exit_code == 2
    assert "--os: for a compute only" in wrong.stderr
    assert occi("delete", record["location"]).exit_code == 0
