"""VOMS proxies for the tests, made by Debian's ``voms-proxy-fake`` from a `pki.Pki`.

``voms-proxy-fake`` (package ``voms-clients``) makes the proxy a VOMS server
would: an RFC 3820 proxy certificate carrying a VOMS attribute certificate
(the VO, its FQANs) signed with a VOMS server's certificate, without a VOMS
server. The tool is installed with apt-get the first time (as root; tests
skip, saying why, otherwise); it signs with RSA keys only, so the user and
the VOMS server get RSA certificates from the test CA (`pki.issue_certificate`).
The file holds what ``voms-proxy-init`` writes: proxy certificate, proxy
key, user certificate.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography import x509

from debian import command_from
from pki import Pki, issue_certificate

SKIP_VARIABLE = "PYOCCI_SKIP_VOMS"
#: The VO and FQAN of the tests' proxies.
VO = "vo.example.org"
FQAN = f"/{VO}/Role=NULL/Capability=NULL"
#: The extension of a proxy certificate that holds the VOMS attribute certificates.
VOMS_AC = x509.ObjectIdentifier("1.3.6.1.4.1.8005.100.100.5")


def voms_proxy_fake() -> str:
    """The ``voms-proxy-fake`` command, installed first if it is not; skips the calling
    test when it cannot be installed here."""
    if os.environ.get(SKIP_VARIABLE) == "1":
        pytest.skip(f"{SKIP_VARIABLE}=1: the VOMS proxy tests are skipped")
    return command_from("voms-proxy-fake", "voms-clients")


def voms_server(pki: Pki, directory: Path) -> tuple[Path, Path]:
    """The certificate and key of the tests' VOMS server (``voms.example.org``) in
    `directory`, issued by `pki`'s CA the first time."""
    certificate, key = directory / "voms.example.org.pem", directory / "voms.example.org.key"
    if certificate.exists() and key.exists():
        return certificate, key
    directory.mkdir(parents=True, exist_ok=True)
    return issue_certificate(pki, directory, "voms.example.org", server=True)


def make_voms_proxy(
    pki: Pki,
    directory: Path,
    *,
    user: str = "Vera Voms",
    fqans: tuple[str, ...] = (FQAN,),
    host: tuple[Path, Path] | None = None,
    options: tuple[str, ...] = (),
    vo: str = VO,
) -> tuple[Path, str]:
    """A VOMS proxy of a new user certificate of `pki`'s CA, with an AC of `vo` holding
    `fqans`, signed by `host` (certificate, key; by default `voms_server`'s in
    `directory`), made with more voms-proxy-fake `options` (``-pastproxy``...); the proxy
    file and the user's distinguished name (RFC 4514)."""
    tool = voms_proxy_fake()
    directory.mkdir(parents=True, exist_ok=True)
    user_certificate, user_key = issue_certificate(pki, directory, user)
    host_certificate, host_key = host if host is not None else voms_server(pki, directory)
    # voms-proxy-fake checks the user certificate against a hashed CA directory.
    certificates = directory / "certificates"
    certificates.mkdir(exist_ok=True)
    hashed = subprocess.run(
        ["openssl", "x509", "-hash", "-noout", "-in", str(pki.ca)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    shutil.copy(pki.ca, certificates / f"{hashed}.0")
    proxy = directory / f"x509up_{user.replace(' ', '-').lower()}"
    command = [
        tool,
        "-cert", str(user_certificate),
        "-key", str(user_key),
        "-certdir", str(certificates),
        "-hostcert", str(host_certificate),
        "-hostkey", str(host_key),
        "-voms", vo,
        "-uri", "voms.example.org:15000",
        *(argument for fqan in fqans for argument in ("-fqan", fqan)),
        "-rfc",
        "-hours", "2",
        *options,
        "-out", str(proxy),
    ]  # fmt: skip
    made = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=120,
        # It wants a random seed file; a fresh HOME has none and does not need one.
        env={**os.environ, "RANDFILE": str(directory / ".rnd")},
    )
    if made.returncode != 0 or not proxy.exists():
        pytest.fail(f"voms-proxy-fake failed ({made.returncode}): {made.stdout}{made.stderr}")
    proxy.chmod(0o600)
    return proxy, f"CN={user},O=pyocci tests"
