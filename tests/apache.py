"""A real Apache httpd (Debian's ``apache2``) as the TLS front of an occi-server, for the tests.

`apache_front` writes a configuration from `TEMPLATE` into a directory of
its own: mod_ssl on a free loopback port with the server certificate of a
`pki.Pki`, asking for client certificates with ``SSLVerifyClient
optional`` against the test CA (mod_gridsite, loaded for its verification
callback alone, lets RFC 3820 proxies through the handshake), exporting the client's chain in
``X-SSL-Client-Cert`` and ``X-SSL-Client-Cert-Chain-0`` ... ``-9``, and
reverse-proxying to the occi-server at `backend`. httpd runs in the
foreground until the block ends. Apache is installed with apt-get the first
time with mod_gridsite (Debian's ``gridsite``; as root; tests skip, saying why,
where they cannot be).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from debian import installed
from e2e.server import free_port
from pki import Pki

SKIP_VARIABLE = "PYOCCI_SKIP_APACHE"
MODULES = Path("/usr/lib/apache2/modules")
#: httpd, and mod_gridsite: OpenSSL 3 refuses RFC 3820 proxies unless the verifier is told
#: to take them, which mod_ssl never does; mod_gridsite's verification callback does.
PACKAGES = ("apache2", "gridsite")

#: What the front passes on: the client's certificate and ten chain entries, each set
#: on every request (an entry the client did not send is "(null)"), so that a client
#: cannot slip in a header of its own.
CHAIN_HEADERS = "\n".join(
    f'    RequestHeader set X-SSL-Client-Cert-Chain-{n} "%{{SSL_CLIENT_CERT_CHAIN_{n}}}s"'
    for n in range(10)
)

TEMPLATE = """\
ServerRoot "{root}"
DefaultRuntimeDir "{root}"
PidFile "{root}/httpd.pid"
ErrorLog "{root}/error.log"
LogLevel warn ssl:info
ServerName 127.0.0.1
{user}
LoadModule mpm_event_module {modules}/mod_mpm_event.so
LoadModule authz_core_module {modules}/mod_authz_core.so
LoadModule headers_module {modules}/mod_headers.so
LoadModule proxy_module {modules}/mod_proxy.so
LoadModule proxy_http_module {modules}/mod_proxy_http.so
LoadModule socache_shmcb_module {modules}/mod_socache_shmcb.so
LoadModule ssl_module {modules}/mod_ssl.so
LoadModule gridsite_module {modules}/mod_gridsite.so
GridSiteSessionsDir "{root}/sessions"

Listen 127.0.0.1:{port}
SSLSessionCache "shmcb:{root}/ssl_scache(512000)"

<VirtualHost 127.0.0.1:{port}>
    SSLEngine on
    SSLCertificateFile "{certificate}"
    SSLCertificateKeyFile "{key}"
    # Ask for a certificate and verify it against the CA (mod_gridsite's verification
    # lets RFC 3820 proxies through); without one, occi-server answers 401.
    SSLCACertificateFile "{ca}"
    SSLVerifyClient optional
    SSLVerifyDepth 10
    GridSiteGSIProxyLimit 9
    SSLOptions +ExportCertData

    RequestHeader set X-SSL-Client-Cert "%{{SSL_CLIENT_CERT}}s"
{chain}
    RequestHeader set X-Forwarded-Proto "https"
    ProxyPreserveHost On
    ProxyPass "/" "{backend}/"
    ProxyPassReverse "/" "{backend}/"
</VirtualHost>
"""


@dataclass
class ApacheFront:
    """A running httpd and its HTTPS URL."""

    url: str
    process: subprocess.Popen[bytes]
    error_log: Path


def apache_binary() -> str:
    """The ``apache2`` command, installed first if it is not; skips the calling test when
    it cannot be installed here."""
    if os.environ.get(SKIP_VARIABLE) == "1":
        pytest.skip(f"{SKIP_VARIABLE}=1: the Apache front tests are skipped")

    def find() -> str | None:
        found = shutil.which("apache2") or (
            "/usr/sbin/apache2" if Path("/usr/sbin/apache2").exists() else None
        )
        return found if found is not None and (MODULES / "mod_gridsite.so").exists() else None

    return installed(find, "apache2 with mod_gridsite", *PACKAGES)


@contextmanager
def apache_front(directory: Path, pki: Pki, backend: str) -> Iterator[ApacheFront]:
    """Run httpd as the TLS front of `backend` (``http://127.0.0.1:<port>``) until the
    block ends."""
    binary = apache_binary()
    directory.mkdir(parents=True, exist_ok=True)
    port = free_port()
    # As root, httpd's children run as www-data: they only need what the parent opened.
    user = "User www-data\nGroup www-data" if os.geteuid() == 0 else ""
    config = directory / "httpd.conf"
    config.write_text(
        TEMPLATE.format(
            root=directory,
            user=user,
            modules=MODULES,
            port=port,
            certificate=pki.server_certificate,
            key=pki.server_key,
            ca=pki.ca,
            chain=CHAIN_HEADERS,
            backend=backend,
        )
    )
    error_log = directory / "error.log"
    check = subprocess.run([binary, "-t", "-f", str(config)], capture_output=True, text=True)
    if check.returncode != 0:
        pytest.fail(f"httpd refuses its configuration: {check.stderr}")
    process = subprocess.Popen(
        [binary, "-f", str(config), "-DFOREGROUND"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        # Its own process group: stopping it stops its children too.
        start_new_session=True,
    )
    try:
        _wait_for_port(port, process, error_log)
        yield ApacheFront(f"https://127.0.0.1:{port}", process, error_log)
    finally:
        _stop(process)


def _wait_for_port(port: int, process: subprocess.Popen[bytes], error_log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log = error_log.read_text() if error_log.exists() else ""
            raise RuntimeError(f"httpd exited with {process.returncode}:\n{log}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"httpd did not listen on {port} within 30 s")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    # SIGTERM to the parent stops httpd and its children at once.
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)
