"""Start a real ``occi-server`` serving HTTPS on a free loopback port, and stop it.

Like `e2e.server.occi_server`, but the server is configured with a ``[tls]``
section and readiness is probed over TLS, presenting a client certificate when
the server requires one.
"""

from __future__ import annotations

import os
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from e2e.server import free_port, stop
from pki import Pki


@dataclass
class TlsServer:
    """An HTTPS server process and how to reach it."""

    url: str
    process: subprocess.Popen[bytes]
    log: Path


def tls_section(pki: Pki, *, client_ca: bool = True, required: bool = True) -> str:
    """The ``[tls]`` section serving `pki`'s server certificate."""
    lines = [
        "[tls]",
        f'certificate = "{pki.server_certificate}"',
        f'key = "{pki.server_key}"',
    ]
    if client_ca:
        lines.append(f'client_ca = "{pki.ca}"')
        lines.append(f"require_client_certificate = {'true' if required else 'false'}")
    return "\n".join(lines) + "\n"


@contextmanager
def tls_occi_server(
    workdir: Path, pki: Pki, config: str, *, server: str = "uvicorn"
) -> Iterator[TlsServer]:
    """Run ``occi-server`` with `config` (which holds the ``[tls]`` section) until the
    block ends."""
    port = free_port()
    config_file = workdir / f"server-{port}.toml"
    config_file.write_text(config)
    arguments = [
        sys.executable,
        "-m",
        "pyocci.server.cli",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--server",
        server,
        "--database-url",
        f"sqlite:///{workdir / 'occi.db'}",
        "--config",
        str(config_file),
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYOCCI_")}
    env["XDG_CONFIG_HOME"] = str(workdir / "config")
    env["XDG_DATA_HOME"] = str(workdir / "data")
    log = workdir / f"server-{port}.log"
    with log.open("wb") as output:
        process = subprocess.Popen(arguments, stdout=output, stderr=subprocess.STDOUT, env=env)
    url = f"https://127.0.0.1:{port}"
    try:
        _wait_until_ready(url, process, log, pki)
        yield TlsServer(url, process, log)
    finally:
        stop(process)


def _wait_until_ready(url: str, process: subprocess.Popen[bytes], log: Path, pki: Pki) -> None:
    context = ssl.create_default_context(cafile=str(pki.ca))
    context.load_cert_chain(str(pki.user_certificate), str(pki.user_key))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"occi-server exited with {process.returncode}:\n{log.read_text()}")
        try:
            response = httpx.get(url + "/-/", timeout=1, verify=context)
        except httpx.TransportError:
            time.sleep(0.1)
            continue
        if response.status_code in (200, 401):
            return
        time.sleep(0.1)
    raise RuntimeError(f"occi-server did not answer within 30 s:\n{log.read_text()}")
