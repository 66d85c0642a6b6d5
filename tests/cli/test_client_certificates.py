"""``occi`` with client certificates: PKCS#12 files (password given, from the environment
or asked for on a terminal), encrypted keys, VOMS proxies, against an occi-server serving
HTTPS that requires certificates; and a certificate for a plain-HTTP endpoint refused."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import subprocess
import termios
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cli.conftest import OCCI_EXECUTABLE
from pki import PKCS12_PASSWORD, Pki
from pyocci.cli.endpoints import targets
from tls_server import TlsServer, tls_occi_server, tls_section
from voms import make_voms_proxy

X509 = '[auth]\nmethod = "x509"\ntenant = "grid"\n'


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory, pki: Pki) -> Iterator[TlsServer]:
    workdir = tmp_path_factory.mktemp("x509")
    with tls_occi_server(workdir, pki, X509 + tls_section(pki)) as running:
        yield running


def environment(clean_env: dict[str, str], **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OCCI_")}
    env.update({k: v for k, v in clean_env.items() if v is not None})
    env.update(extra)
    return env


def occi(
    endpoint: str, clean_env: dict[str, str], *args: str, **extra: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(OCCI_EXECUTABLE), "--endpoint", endpoint, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=environment(clean_env, **extra),
    )


def test_a_pkcs12_certificate_with_its_password(
    tls_server: TlsServer, pki: Pki, clean_env: dict[str, str]
) -> None:
    listed = occi(
        tls_server.url, clean_env,
        "--cert", str(pki.user_pkcs12), "--cert-password", PKCS12_PASSWORD,
        "--ca", str(pki.ca), "list", "compute",
    )  # fmt: skip
    assert listed.returncode == 0, listed.stderr
    from_environment = occi(
        tls_server.url, clean_env, "--cert", str(pki.user_pkcs12), "--ca", str(pki.ca),
        "list", "compute", OCCI_CERT_PASSWORD=PKCS12_PASSWORD,
    )  # fmt: skip
    assert from_environment.returncode == 0, from_environment.stderr


def test_a_missing_or_wrong_password_says_what_to_give(
    tls_server: TlsServer, pki: Pki, clean_env: dict[str, str]
) -> None:
    missing = occi(
        tls_server.url, clean_env, "--cert", str(pki.user_pkcs12), "--ca", str(pki.ca),
        "list", "compute",
    )  # fmt: skip
    assert missing.returncode == 2
    assert (
        f"the PKCS#12 file {pki.user_pkcs12} is protected by a password: give it "
        "(--cert-password, or $OCCI_CERT_PASSWORD)"
    ) in missing.stderr
    wrong = occi(
        tls_server.url, clean_env, "--cert", str(pki.user_pkcs12), "--cert-password", "nope",
        "--ca", str(pki.ca), "list", "compute",
    )  # fmt: skip
    assert wrong.returncode == 2
    assert "the password is wrong, or it is not PKCS#12" in wrong.stderr


def on_terminal(
    endpoint: str, clean_env: dict[str, str], args: list[str], answer: bytes
) -> tuple[int, str, str]:
    """Run ``occi`` on a terminal of its own (its standard input and controlling terminal,
    where a hidden answer is asked for), answer the question once it is asked; the exit
    status, what the terminal showed, and the standard error."""
    controller, terminal = pty.openpty()
    env = environment(clean_env)
    env.pop("OCCI_NO_PROMPT", None)

    def own_terminal() -> None:
        os.setsid()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    process = subprocess.Popen(
        [str(OCCI_EXECUTABLE), "--endpoint", endpoint, *args],
        stdin=terminal,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        preexec_fn=own_terminal,
    )
    os.close(terminal)
    shown = b""
    try:
        # Typed-ahead input is discarded when echo is turned off: answer once asked.
        deadline = time.monotonic() + 60
        asked = b"Password"
        while not (asked in shown and shown.endswith(b": ")) and time.monotonic() < deadline:
            ready, _, _ = select.select([controller], [], [], 1)
            if ready:
                shown += os.read(controller, 1024)
        os.write(controller, answer)
        _, errors = process.communicate(timeout=60)
    finally:
        os.close(controller)
        if process.poll() is None:
            process.kill()
            process.wait()
    return process.returncode, shown.decode(errors="replace"), errors.decode()


def test_the_password_is_asked_for_on_a_terminal(
    tls_server: TlsServer, pki: Pki, clean_env: dict[str, str]
) -> None:
    args = ["--cert", str(pki.user_pkcs12), "--ca", str(pki.ca), "list", "compute"]
    status, shown, errors = on_terminal(
        tls_server.url, clean_env, args, PKCS12_PASSWORD.encode() + b"\n"
    )
    assert status == 0, errors
    assert f"Password of the certificate {pki.user_pkcs12}" in shown
    assert PKCS12_PASSWORD not in shown, "the answer is not echoed"
    args = ["--cert", str(pki.user_certificate), "--key", str(pki.user_encrypted_key)]
    status, shown, errors = on_terminal(
        tls_server.url, clean_env, [*args, "--ca", str(pki.ca), "list", "compute"], b"secret\n"
    )
    assert status == 0, errors
    assert f"Password of the certificate {pki.user_certificate}" in shown


def test_a_voms_proxy(
    tls_server: TlsServer, pki: Pki, clean_env: dict[str, str], tmp_path: Path
) -> None:
    proxy, _ = make_voms_proxy(pki, tmp_path)
    listed = occi(
        tls_server.url, clean_env, "--cert", str(proxy), "--ca", str(pki.ca), "list", "compute"
    )
    assert listed.returncode == 0, listed.stderr


def test_a_certificate_for_plain_http_is_refused(pki: Pki, clean_env: dict[str, str]) -> None:
    refused = occi("http://127.0.0.1:9", clean_env, "--cert", str(pki.proxy), "list", "compute")
    assert refused.returncode == 2
    assert refused.stderr.strip() == (
        "occi: error: a client certificate is presented over HTTPS only, and "
        "http://127.0.0.1:9 is plain HTTP: use its https:// URL, or leave out the "
        "certificate (--cert)"
    )


def test_an_identity_provider_implies_the_keystone_handshake() -> None:
    [target] = targets(
        {"endpoint": "https://x.example", "identity_provider": "egi.eu", "token": "t"}
    )
    assert target.credentials.method == "keystone"
    assert target.credentials.identity_provider == "egi.eu"
    [target] = targets(
        {
            "endpoint": "https://x.example",
            "identity_provider": "egi.eu",
            "protocol": "mapped",
            "certificate": "/tmp/proxy",
        }
    )
    assert (target.credentials.method, target.credentials.protocol) == ("keystone", "mapped")
