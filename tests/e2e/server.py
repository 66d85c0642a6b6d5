"""Start a real ``occi-server`` process on a free loopback port, and stop it; `Offer` says
which templates the backend it serves offers, so a test reads the same for every backend."""

from __future__ import annotations

import itertools
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from e2e.occiclient import COMPUTE, IPNETWORK, NETWORK, EntityDoc


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now at `host`."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


#: What the end-to-end tests' own HTTP client says it is.
OCCI_12_USER_AGENT = "pyocci-e2e OCCI/1.2"


@dataclass
class RunningServer:
    """A server process and how to reach it."""

    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def client(self, **kwargs: Any) -> httpx.Client:
        """An HTTP client for this server, an OCCI 1.2 client by its User-Agent unless
        `headers` say otherwise (a client naming no version gets the 1.1 text forms)."""
        headers = {"User-Agent": OCCI_12_USER_AGENT, **dict(kwargs.pop("headers", None) or {})}
        return httpx.Client(base_url=self.url, timeout=30, headers=headers, **kwargs)

    def stop(self) -> bool:
        """SIGTERM the server now; whether it stopped on that signal (see `stop`)."""
        return stop(self.process)


#: ``start_server(workdir=..., database_url=..., config=..., environ=...)``: how the
#: ``start_server`` fixture of ``conftest.py`` offers `occi_server`.
StartServer = Callable[..., AbstractContextManager[RunningServer]]


@contextmanager
def occi_server(
    workdir: Path,
    *,
    database_url: str | None = None,
    config: str | None = None,
    environ: Mapping[str, str] | None = None,
    port: int | None = None,
    host: str = "127.0.0.1",
) -> Iterator[RunningServer]:
    """Run ``occi-server`` on `host` until the block ends; its output goes to a log file in
    `workdir`.

    The database defaults to a SQLite file in `workdir`, so that a second
    server started on the same directory finds the first one's state.
    """
    port = port or free_port(host)
    database_url = database_url or f"sqlite:///{workdir / 'occi.db'}"
    arguments = [
        sys.executable,
        "-m",
        "pyocci.server.cli",
        "--host",
        host,
        "--port",
        str(port),
        "--database-url",
        database_url,
    ]
    if config is not None:
        config_file = workdir / "server.toml"
        config_file.write_text(config)
        arguments += ["--config", str(config_file)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYOCCI_")}
    # Keep the user's own server.toml and users.toml out of the tests.
    env["XDG_CONFIG_HOME"] = str(workdir / "config")
    env["XDG_DATA_HOME"] = str(workdir / "data")
    env.update(environ or {})
    log = workdir / f"server-{host}-{port}.log"
    with log.open("wb") as output:
        process = subprocess.Popen(arguments, stdout=output, stderr=subprocess.STDOUT, env=env)
    url = f"http://{host}:{port}"
    try:
        wait_until_ready(url, process, log)
        yield RunningServer(url, process, log)
    finally:
        stop(process)


def stop(process: subprocess.Popen[bytes]) -> bool:
    """Stop a server the way an operator would (SIGTERM), killing it if it hangs.

    Returns whether SIGTERM was enough (False: it had to be killed, or it had
    exited already).
    """
    if process.poll() is not None:
        return False
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)
        return False
    return True


def wait_until_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    """Wait until the server at `url` answers (its `process` writing to `log`)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"occi-server exited with {process.returncode}:\n{log.read_text()}")
        try:
            response = httpx.get(url + "/-/", timeout=1)
        except httpx.TransportError:
            time.sleep(0.1)
            continue
        if response.status_code in (200, 401):
            return
        time.sleep(0.1)
    raise RuntimeError(f"occi-server did not answer within 30 s:\n{log.read_text()}")


EC2_OS_TPL = "http://schemas.pyocci.org/ec2/os_tpl#"
EC2_RESOURCE_TPL = "http://schemas.pyocci.org/ec2/resource_tpl#"
OPENSTACK_OS_TPL = "http://schemas.pyocci.org/openstack/os_tpl#"
OPENSTACK_RESOURCE_TPL = "http://schemas.pyocci.org/openstack/resource_tpl#"


@dataclass(frozen=True)
class Offer:
    """The templates of the module's backend, so one test reads for either backend."""

    image: str
    other_image: str
    small: str
    large: str
    #: A network needs a CIDR on EC2 (a subnet); the sim chooses one itself.
    needs_cidr: bool = False
    #: A compute needs a resource_tpl on OpenStack (a flavor); the others have a default.
    needs_resource_tpl: bool = False
    _subnets: Iterator[int] = field(default_factory=lambda: itertools.count(100))

    @staticmethod
    def location(mixin_id: str, parent: str = "os_tpl") -> str:
        """The collection path of a template mixin."""
        return f"/mixin/{parent}/{mixin_id.rsplit('#', 1)[1]}/"

    def compute(self, *mixins: str, image: str | None = None, **attributes: object) -> EntityDoc:
        """A compute the backend can create: from `image` (the first image by default), with
        the small template where the backend needs one, and these `mixins` and `attributes`."""
        template = [self.small] if self.needs_resource_tpl else []
        return EntityDoc(
            kind=COMPUTE,
            mixins=[image or self.image, *template, *mixins],
            attributes=dict(attributes),
        )

    def network(self, **attributes: object) -> EntityDoc:
        """A network the backend can create."""
        if not self.needs_cidr:
            return EntityDoc(kind=NETWORK, attributes=dict(attributes))
        cidr = f"172.31.{next(self._subnets)}.0/24"
        return EntityDoc(
            kind=NETWORK,
            mixins=[IPNETWORK],
            attributes={"occi.network.address": cidr, **attributes},
        )
