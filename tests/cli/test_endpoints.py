"""Which endpoints a command runs on: --endpoint, --site, the default site, and
``--site all`` over several real servers in parallel."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from e2e.server import RunningServer, free_port, occi_server
from pyocci.cli.endpoints import DEFAULT_ENDPOINT, targets


def sites_file(tmp_path: Path, text: str) -> str:
    path = tmp_path / "sites.toml"
    path.write_text(text)
    return str(path)


def test_the_local_server_when_nothing_is_said(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    [target] = targets({})
    assert target.endpoint == DEFAULT_ENDPOINT
    assert target.credentials.method == "none"


def test_the_default_site_then_flags_over_site_settings(tmp_path):
    path = sites_file(
        tmp_path,
        'default = "b"\n[sites.b]\nendpoint = "http://b.example"\nauth = "basic"\n'
        'user = "bob"\npassword = "pw"\nrendering = "text"\n',
    )
    [target] = targets({"sites_file": path})
    assert (target.site, target.endpoint, target.media_type) == (
        "b",
        "http://b.example",
        "text/plain",
    )
    assert target.credentials.username == "bob"
    [target] = targets({"sites_file": path, "site": "b", "user": "carol", "rendering": "json"})
    assert target.credentials.username == "carol"
    assert target.media_type == "application/occi+json"


def test_credential_flags_imply_their_method(tmp_path):
    [target] = targets({"endpoint": "http://x.example", "token": "abc"})
    assert target.credentials.method == "token"
    [target] = targets({"endpoint": "http://x.example", "user": "u", "password": "p"})
    assert target.credentials.method == "basic"


@pytest.fixture(scope="module")
def two_servers(tmp_path_factory) -> list[RunningServer]:
    with (
        occi_server(tmp_path_factory.mktemp("site-a")) as a,
        occi_server(tmp_path_factory.mktemp("site-b")) as b,
    ):
        yield [a, b]


def test_site_all_runs_on_every_site_and_merges(occi, two_servers, tmp_path):
    a, b = two_servers
    path = sites_file(
        tmp_path,
        f'[sites.a]\nendpoint = "{a.url}"\n[sites.b]\nendpoint = "{b.url}"\nrendering = "text"\n',
    )
    created = occi(
        "--site",
        "all",
        "--sites-file",
        path,
        "create",
        "compute",
        "--os",
        "cirros",
        "--size",
        "small",
        "--title",
        "everywhere",
        "-o",
        "json",
        endpoint=None,
    )
    assert created.exit_code == 0, created.stderr
    assert sorted(r["site"] for r in json.loads(created.stdout)) == ["a", "b"]

    listed = occi("list", "compute", "--site", "all", "--sites-file", path, endpoint=None)
    rows = [line.split("\t") for line in listed.stdout.splitlines()]
    assert sorted((row[0], row[3]) for row in rows) == [("a", "everywhere"), ("b", "everywhere")]
    table = occi("list", "compute", "-s", "all", "--sites-file", path, "-o", "table", endpoint=None)
    assert "SITE" in table.stdout


def test_one_failing_site_does_not_hide_the_others(occi, two_servers, tmp_path):
    a, b = two_servers
    dead = f"http://127.0.0.1:{free_port()}"
    path = sites_file(
        tmp_path,
        f'[sites.a]\nendpoint = "{a.url}"\n[sites.dead]\nendpoint = "{dead}"\n'
        f'[sites.b]\nendpoint = "{b.url}"\n',
    )
    result = occi(
        "--site", "all", "--sites-file", path, "templates", "os", "--match", "debian", endpoint=None
    )
    assert result.exit_code == 3
    assert sorted(line.split("\t")[0] for line in result.stdout.splitlines()) == ["a", "b"]
    assert f"occi: error: dead: cannot reach {dead}" in result.stderr


def test_site_errors_are_input_errors(occi, tmp_path):
    nobody = f"http://127.0.0.1:{free_port()}"
    path = sites_file(tmp_path, f'[sites.a]\nendpoint = "{nobody}"\n')
    unknown = occi("--site", "nowhere", "--sites-file", path, "discover", endpoint=None)
    assert unknown.exit_code == 2
    assert "no site 'nowhere'" in unknown.stderr
    both = occi("--site", "all", "--sites-file", path, "-e", "http://x.example", "discover")
    assert both.exit_code == 2
    assert "give --endpoint or --site, not both" in both.stderr
    # $OCCI_ENDPOINT is a default: a site named on the command line wins over it.
    named = occi("--site", "a", "--sites-file", path, "discover", "-v")
    assert f"> GET {nobody}/-/" in named.stderr
    assert named.exit_code == 3
