"""The sites file: parsing, the mistakes it reports, credentials from it."""

from __future__ import annotations

from pathlib import Path

import pytest

from pyocci.cli.sites import SitesError, load_sites

GOOD = """
default = "local"

[sites.local]
endpoint = "http://127.0.0.1:8787"

[sites.physics]
endpoint = "https://occi.physics.example.org"
auth = "basic"
user = "alice"
password_env = "PHYSICS_PASSWORD"
ca = "/etc/ssl/physics-ca.pem"
insecure = false
timeout = 60
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sites.toml"
    path.write_text(text)
    return path


def test_sites_and_their_credentials(tmp_path, monkeypatch):
    monkeypatch.setenv("PHYSICS_PASSWORD", "pw")
    sites = load_sites(write(tmp_path, GOOD), required=True)
    assert sites.default == "local"
    assert list(sites.sites) == ["local", "physics"]
    physics = sites.site("physics")
    assert physics.endpoint == "https://occi.physics.example.org"
    assert physics.credential_fields() == {
        "method": "basic",
        "username": "alice",
        "password": "pw",
        "ca": "/etc/ssl/physics-ca.pem",
        "insecure": False,
    }


def test_a_missing_password_variable_is_named(tmp_path, monkeypatch):
    monkeypatch.delenv("PHYSICS_PASSWORD", raising=False)
    physics = load_sites(write(tmp_path, GOOD), required=True).site("physics")
    with pytest.raises(SitesError, match="PHYSICS_PASSWORD"):
        physics.credential_fields()


def test_a_missing_default_file_is_empty_unless_required(tmp_path):
    assert load_sites(tmp_path / "none.toml", required=False).sites == {}
    with pytest.raises(SitesError, match="no sites file at"):
        load_sites(tmp_path / "none.toml", required=True)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[sites.a]\nendpont = 'http://x'\n", "unknown key 'endpont'; did you mean 'endpoint'?"),
        ("[sites.a]\nauth = 'basic'\n", "sites.a needs an endpoint"),
        ("[sites.a]\nendpoint = 'http://x'\ninsecure = 'yes'\n", "must be true or false"),
        (
            "[sites.a]\nendpoint = 'http://x'\ntimeout = 'long'\n",
            "must be a positive number of seconds",
        ),
        ("[sites.a]\nendpoint = 'http://x'\ntimeout = 0\n", "must be a positive number"),
        ("[sites.a]\nendpoint = 'localhost:1'\n", "sites.a: 'localhost:1' is not an endpoint URL"),
        ("[sites.a]\nendpoint = 'http://x'\nauth = 'kerberos'\n", "use one of: none, basic"),
        ("[sites.a]\nendpoint = 'http://x'\nrendering = 'xml'\n", "sites.a: unknown rendering"),
        ("default = 'b'\n[sites.a]\nendpoint = 'http://x'\n", "names no [sites.b] table"),
        ("[sites.all]\nendpoint = 'http://x'\n", "'all' is reserved"),
        ("[site.a]\nendpoint = 'http://x'\n", "unknown top-level key(s) site"),
        ("[sites.a\n", "is not valid TOML"),
    ],
)
def test_mistakes_say_what_to_fix(tmp_path, text, message):
    with pytest.raises(SitesError) as raised:
        load_sites(write(tmp_path, text), required=True)
    assert message in str(raised.value)


def test_an_unknown_site_lists_the_known_ones(tmp_path):
    sites = load_sites(write(tmp_path, GOOD), required=True)
    with pytest.raises(SitesError, match=r"no site 'cern' .* \(sites: local, physics\)"):
        sites.site("cern")
