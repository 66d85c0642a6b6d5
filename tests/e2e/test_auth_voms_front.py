"""VOMS proxies and certificates through a real Apache httpd front (method ``voms``).

Apache (Debian's, started by the tests on loopback; see `tests/apache.py`)
terminates TLS, accepts the client's certificate or RFC 3820 proxy with
``SSLVerifyClient optional_no_ca`` and passes the chain on in headers to a
real occi-server process serving plain HTTP on loopback. occi-server takes
those headers from Apache's address only, verifies the chain and the VOMS
AC itself against the test CA and the test VOMS server's certificate, and
maps the FQANs to tenants. The proxies are made by Debian's
``voms-proxy-fake`` (`tests/voms.py`).
"""

from __future__ import annotations

import os
import shutil
import ssl
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from apache import ApacheFront, apache_front
from cli.conftest import OCCI_EXECUTABLE
from e2e.occiclient import COMPUTE, DEBIAN, TEXT_PLAIN, URI_LIST, EntityDoc, Occi
from e2e.server import RunningServer, free_port, occi_server, stop, wait_until_ready
from occiclients import ROCCI, ensure, run
from pki import Pki, issue_certificate, make_pki
from proxies import load
from voms import FQAN, VO, make_voms_proxy, voms_server

pytestmark = pytest.mark.e2e

#: The role whose holders get a tenant of their own.
MANAGER = f"/{VO}/ops/Role=manager/Capability=NULL"
#: The address a client bypassing the front connects from (the front's is 127.0.0.1).
BYPASS = "127.0.0.2"
MAPPED = "/-/identity/v3/OS-FEDERATION/identity_providers/egi.eu/protocols/mapped/auth"

VOMS_FILE = """\
ca_certificates = "{ca}"
voms_certificates = "{voms}"

[[tenants]]
claim = "fqan"
match = '^/(?P<vo>vo\\.example\\.org)/ops/Role=manager/Capability=NULL$'
tenant = "{{vo}}-ops"

[[tenants]]
claim = "fqan"
match = '^/(?P<vo>vo\\.example\\.org|vo\\.other\\.org)(/[^/]+)*/Role=NULL/Capability=NULL$'
tenant = "{{vo}}"

[[tenants]]
claim = "subject"
match = '^CN=Alice Example,O=pyocci tests$'
tenant = "alice"
"""


@dataclass
class Site:
    """occi-server behind its Apache front."""

    occi: RunningServer
    front: ApacheFront
    pki: Pki
    vomsdir: Path


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with running_site(tmp_path_factory.mktemp("voms-front")) as running:
        yield running


@contextmanager
def running_site(workdir: Path, server: str = "uvicorn", *, lsc: bool = False) -> Iterator[Site]:
    """occi-server (on `server`) with method voms, behind Apache, until the block ends;
    the VOMS server trusted by its certificate, or (`lsc`) by an LSC file."""
    pki = make_pki(workdir / "pki")
    vomsdir = workdir / "vomsdir"
    voms_server(pki, vomsdir)
    # A VOMS directory: the server's certificate in the folder of the VO it signs for.
    trusted = workdir / "trusted"
    (trusted / VO).mkdir(parents=True)
    shutil.copy(vomsdir / "voms.example.org.pem", trusted / VO / "voms.example.org.pem")
    if lsc:
        trusted = workdir / "lsc"
        (trusted / VO).mkdir(parents=True)
        (trusted / VO / "voms.example.org.lsc").write_text(
            "/O=pyocci tests/CN=voms.example.org\n/O=pyocci tests/CN=pyocci test CA\n"
        )
    voms_file = workdir / "voms.toml"
    voms_file.write_text(VOMS_FILE.format(ca=pki.ca, voms=trusted))
    config = (
        f'server = "{server}"\n'
        '[auth]\nmethod = "voms"\nfront_addresses = "127.0.0.1"\n'
        f'voms_file = "{voms_file}"\nkeystone_handshake = true\n'
        f'handshake_key_file = "{workdir / "handshake.key"}"\n'
        # Few failures lock an address: the refusals below must not lock out the front's.
        "max_failures_per_address = 1000\n"
    )
    with (
        # Forwarded addresses trusted from any peer: the peer check must not rely on them.
        occi_server(workdir, config=config, environ={"FORWARDED_ALLOW_IPS": "*"}) as occi,
        apache_front(workdir / "apache", pki, occi.url) as front,
    ):
        yield Site(occi, front, pki, vomsdir)


def through_front(site: Site, certificate: Path, key: Path | None = None) -> httpx.Client:
    """An HTTPS client of the front presenting `certificate` (a proxy file holds its key)."""
    context = ssl.create_default_context(cafile=str(site.pki.ca))
    context.load_cert_chain(str(certificate), str(key) if key else None)
    return httpx.Client(
        base_url=site.front.url,
        verify=context,
        timeout=30,
        headers={"User-Agent": "pyocci-e2e OCCI/1.2", "Accept": TEXT_PLAIN},
    )


def front_headers(certificates: list[x509.Certificate]) -> dict[str, str]:
    """The headers the front sets for a client presenting `certificates` (PEM with its
    line breaks as spaces, as Apache writes it)."""

    def pem(certificate: x509.Certificate) -> str:
        text = certificate.public_bytes(serialization.Encoding.PEM).decode()
        return text.replace("\n", " ").strip()

    headers = {"X-SSL-Client-Cert": pem(certificates[0])}
    for index, certificate in enumerate(certificates[1:]):
        headers[f"X-SSL-Client-Cert-Chain-{index}"] = pem(certificate)
    return headers


def proxy_of(site: Site, tmp_path: Path, user: str, *fqans: str, **options: object) -> Path:
    proxy, _ = make_voms_proxy(
        site.pki,
        tmp_path,
        user=user,
        fqans=fqans or (FQAN,),
        host=voms_server(site.pki, site.vomsdir),
        **options,  # type: ignore[arg-type]
    )
    return proxy


def test_a_voms_proxy_acts_for_its_fqans_tenant(site: Site, tmp_path: Path) -> None:
    vera = proxy_of(site, tmp_path, "Vera Voms")
    victor = proxy_of(site, tmp_path, "Victor Voms")
    manager = proxy_of(site, tmp_path, "Mona Manager", MANAGER, FQAN)
    with through_front(site, vera) as http:
        path = Occi(http, TEXT_PLAIN).create("/compute/", EntityDoc(kind=COMPUTE, mixins=[DEBIAN]))
        assert http.get(path).status_code == 200
    # Another member of the VO shares the tenant; the VO's manager role has its own.
    with through_front(site, victor) as http:
        assert path in Occi(http, URI_LIST).list("/compute/")
    with through_front(site, manager) as http:
        assert path not in Occi(http, URI_LIST).list("/compute/")


def test_a_plain_certificate_and_proxy_map_by_their_subject(site: Site) -> None:
    pki = site.pki
    with through_front(site, pki.user_certificate, pki.user_key) as http:
        path = Occi(http, TEXT_PLAIN).create("/compute/", EntityDoc(kind=COMPUTE, mixins=[DEBIAN]))
    # The proxy without AC acts for its holder, Alice: the same tenant.
    with through_front(site, pki.proxy) as http:
        assert path in Occi(http, URI_LIST).list("/compute/")


def test_no_certificate_is_told_where_to_get_a_token(site: Site) -> None:
    verify = ssl.create_default_context(cafile=str(site.pki.ca))
    with httpx.Client(base_url=site.front.url, verify=verify, timeout=30) as http:
        response = http.get("/compute/", headers={"Accept": TEXT_PLAIN})
    assert response.status_code == 401
    assert "no client certificate" in response.text
    # With the handshake on, the challenge names its token endpoint, at the front.
    assert response.headers["www-authenticate"] == f"Keystone uri='{site.front.url}/-/identity'"


def test_a_certificate_no_rule_maps_is_403_naming_its_fqans(site: Site, tmp_path: Path) -> None:
    unmapped = f"/{VO}/Role=guest/Capability=NULL"
    other = proxy_of(site, tmp_path, "Otto Other", unmapped)
    with through_front(site, other) as http:
        response = http.get("/compute/")
    assert response.status_code == 403
    assert unmapped in response.text
    assert "grants no tenant" in response.text


def test_a_role_of_another_vo_is_refused(site: Site, tmp_path: Path) -> None:
    # vo.example.org's VOMS server granting membership of a VO that a rule maps.
    stolen = "/vo.other.org/Role=NULL/Capability=NULL"
    proxy = proxy_of(site, tmp_path, "Mal Roles", stolen)
    with through_front(site, proxy) as http:
        response = http.get("/compute/")
    assert response.status_code == 401
    assert f"grants {stolen!r}, which is not of the AC's VO {VO!r}" in response.text


def test_a_forged_ac_is_refused(site: Site, tmp_path: Path) -> None:
    # A VOMS server certificate of the right name, with a key that is not the server's.
    forged_dir = tmp_path / "forger"
    forged_dir.mkdir()
    forger = issue_certificate(site.pki, forged_dir, "voms.example.org", server=True)
    proxy, _ = make_voms_proxy(site.pki, tmp_path, user="Fiona Forger", host=forger)
    with through_front(site, proxy) as http:
        response = http.get("/compute/")
    assert response.status_code == 401
    assert "the AC was forged or altered" in response.text


def test_an_expired_proxy_is_refused(site: Site, tmp_path: Path) -> None:
    proxy = proxy_of(site, tmp_path, "Ed Expired", options=("-pastproxy", "3:00", "-hours", "1"))
    # The front itself refuses it at the TLS handshake...
    with through_front(site, proxy) as http, pytest.raises(httpx.TransportError) as failed:
        http.get("/compute/")
    assert "expired" in str(failed.value)
    # ... and occi-server refuses it too, even from the front's address: a front that
    # checks no dates (SSLVerifyClient optional_no_ca) lets nothing expired in.
    with httpx.Client(base_url=site.occi.url, timeout=30) as http:
        response = http.get(
            "/compute/", headers={"Accept": TEXT_PLAIN, **front_headers(load(proxy))}
        )
    assert response.status_code == 401, response.text
    assert "is not valid now" in response.text


def test_an_expired_ac_is_refused(site: Site, tmp_path: Path) -> None:
    # A valid proxy whose VOMS AC has expired: the front has no word on ACs.
    proxy = proxy_of(site, tmp_path, "Ada Expired", options=("-pastac", "3:00", "-vomslife", "1"))
    with through_front(site, proxy) as http:
        response = http.get("/compute/")
    assert response.status_code == 401
    assert "the VOMS AC" in response.text and "is not valid now" in response.text


def test_headers_sent_to_occi_server_directly_are_refused(site: Site, tmp_path: Path) -> None:
    # A client that knows a real proxy's certificates (not its key) forges the front's
    # headers and bypasses the front, from another loopback address than the front's.
    certificates = load(proxy_of(site, tmp_path, "Vera Voms"))
    headers = {"Accept": TEXT_PLAIN, **front_headers(certificates)}
    transport = httpx.HTTPTransport(local_address=BYPASS)
    with httpx.Client(base_url=site.occi.url, timeout=30, transport=transport) as http:
        direct = http.get("/compute/", headers=headers)
        # X-Forwarded-For naming the front makes the ASGI server take the front for the
        # client (it trusts forwarded addresses from anyone here), but not occi-server.
        forwarded = http.get("/compute/", headers={**headers, "X-Forwarded-For": "127.0.0.1"})
    for response in (direct, forwarded):
        assert response.status_code == 403, response.text
        assert "taken only from this server's TLS front" in response.text
        assert BYPASS in response.text


def test_under_another_asgi_server_no_certificate_header_is_taken(
    site: Site, tmp_path: Path
) -> None:
    # The app served by plain uvicorn, which keeps no connection peer and takes the client
    # from X-Forwarded-For from anyone: a forger naming the front there is not the front.
    config = tmp_path / "server.toml"
    config.write_text(
        f'database_url = "sqlite:///{tmp_path / "occi.db"}"\n'
        + (site.occi.log.parent / "server.toml").read_text()
    )
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYOCCI_")}
    env |= {"PYOCCI_CONFIG": str(config), "XDG_CONFIG_HOME": str(tmp_path / "config")}
    log = tmp_path / "uvicorn.log"
    command = [
        sys.executable, "-m", "uvicorn",
        "--factory", "pyocci.server.app:create_app_from_environment",
        "--host", "127.0.0.1", "--port", str(port), "--forwarded-allow-ips", "*",
    ]  # fmt: skip
    with log.open("wb") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, env=env)
    try:
        wait_until_ready(f"http://127.0.0.1:{port}", process, log)
        headers = {"Accept": TEXT_PLAIN, **front_headers(load(proxy_of(site, tmp_path, "Vera")))}
        transport = httpx.HTTPTransport(local_address=BYPASS)
        with httpx.Client(
            base_url=f"http://127.0.0.1:{port}", timeout=30, transport=transport
        ) as http:
            forwarded = http.get("/compute/", headers={**headers, "X-Forwarded-For": "127.0.0.1"})
    finally:
        stop(process)
    assert forwarded.status_code == 401, forwarded.text
    assert "cannot tell the address they came from" in forwarded.text
    assert "runs without occi-server's HTTP protocol" in log.read_text()


def test_granian_and_an_lsc_file(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> None:
    # granian's proxy-headers wrapper rewrites the client as uvicorn's does; the peer is
    # kept before it (pyocci.server.auth.front.remember_peer). The VOMS server is
    # trusted by an LSC file here: the certificate its ACs carry.
    workdir = tmp_path_factory.mktemp("voms-granian")
    with running_site(workdir, server="granian", lsc=True) as granian:
        proxy = proxy_of(granian, tmp_path, "Vera Voms")
        with through_front(granian, proxy) as http:
            path = Occi(http, TEXT_PLAIN).create(
                "/compute/", EntityDoc(kind=COMPUTE, mixins=[DEBIAN])
            )
            assert path in Occi(http, URI_LIST).list("/compute/")
        headers = {"Accept": TEXT_PLAIN, **front_headers(load(proxy))}
        transport = httpx.HTTPTransport(local_address=BYPASS)
        with httpx.Client(base_url=granian.occi.url, timeout=30, transport=transport) as http:
            direct = http.get("/compute/", headers=headers)
    assert direct.status_code == 403, direct.text
    assert BYPASS in direct.text


def test_the_occi_client_through_the_front(site: Site, tmp_path: Path) -> None:
    proxy = proxy_of(site, tmp_path, "Vera Voms")
    env = {k: v for k, v in os.environ.items() if not k.startswith("OCCI_")}
    env["XDG_CONFIG_HOME"] = str(tmp_path / "config")
    common = [
        str(OCCI_EXECUTABLE), "--endpoint", site.front.url,
        "--cert", str(proxy), "--ca", str(site.pki.ca),
    ]  # fmt: skip
    created = subprocess.run(
        [*common, "create", "compute", "--os", "debian", "--size", "small"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert created.returncode == 0, created.stderr
    listed = subprocess.run(
        [*common, "list", "compute"], capture_output=True, text=True, timeout=120, env=env
    )
    assert listed.returncode == 0, listed.stderr
    location = created.stdout.strip().splitlines()[-1]
    assert location.startswith("/compute/"), created.stdout
    assert location in listed.stdout


def test_the_handshake_exchanges_a_voms_proxy(site: Site, tmp_path: Path) -> None:
    manager = proxy_of(site, tmp_path, "Mona Manager", MANAGER, FQAN)
    with through_front(site, manager) as http:
        response = http.post(MAPPED)
    assert response.status_code == 201, response.text
    token = response.json()["token"]
    assert token["user"]["name"] == "CN=Mona Manager,O=pyocci tests"
    assert token["methods"] == ["mapped"]
    projects = {project["name"] for project in _projects(site, response.headers["x-subject-token"])}
    assert projects == {f"{VO}-ops", VO}


def _projects(site: Site, token: str) -> list[dict[str, str]]:
    verify = ssl.create_default_context(cafile=str(site.pki.ca))
    with httpx.Client(base_url=site.front.url, verify=verify, timeout=30) as http:
        response = http.get("/-/identity/v3/auth/projects", headers={"X-Auth-Token": token})
    assert response.status_code == 200, response.text
    return response.json()["projects"]


def test_rocci_cli_with_a_voms_proxy_through_the_front(site: Site, tmp_path: Path) -> None:
    rocci = ensure(ROCCI)
    proxy = proxy_of(site, tmp_path, "Vera Voms")
    with through_front(site, proxy) as http:
        path = Occi(http, TEXT_PLAIN).create("/compute/", EntityDoc(kind=COMPUTE, mixins=[DEBIAN]))
    command = [
        str(rocci),
        "--endpoint", site.front.url,
        "--auth", "x509",
        "--user-cred", str(proxy),
        "--voms",
        "--ca-file", str(site.pki.ca),
        "--media-type", TEXT_PLAIN,
        "--action", "list",
        "--resource", "compute",
    ]  # fmt: skip
    ran = run(command)
    assert ran.returncode == 0, ran.explain()
    assert site.front.url + path in ran.stdout.split()
