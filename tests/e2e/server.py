"""Start a real ``occi-server`` process on a free loopback port, and stop it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class RunningServer:
    """A server process and how to reach it."""

    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def client(self, **kwargs: object) -> httpx.Client:
        """An HTTP client for this server."""
        return httpx.Client(base_url=self.url, timeout=30, **kwargs)  # type: ignore[arg-type]

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
) -> Iterator[RunningServer]:
    """Run ``occi-server`` until the block ends; its output goes to a log file in `workdir`.

    The database defaults to a SQLite file in `workdir`, so that a second
    server started on the same directory finds the first one's state.
    """
    port = port or free_port()
    database_url = database_url or f"sqlite:///{workdir / 'occi.db'}"
    arguments = [
        sys.executable,
        "-m",
        "pyocci.server.cli",
        "--host",
        "127.0.0.1",
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
    log = workdir / f"server-{port}.log"
    with log.open("wb") as output:
        process = subprocess.Popen(arguments, stdout=output, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_ready(url, process, log)
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


def _wait_until_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
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
