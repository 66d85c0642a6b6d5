"""Processes the backend benchmarks start: occi-server on a configuration, and the
clouds' emulators, each on a free loopback port until the block ends."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(url: str, child: subprocess.Popen[bytes], log: Path, seconds: float = 60) -> None:
    """Until `url` answers (any status), or fail with the process's log."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise SystemExit(f"{child.args[2:4]} exited:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except urllib.error.HTTPError:
            return  # it answered
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"{url} did not answer within {seconds:g} s:\n{log.read_text()[-3000:]}")


@contextmanager
def process(arguments: list[str], url: str, log: Path, env: dict[str, str]) -> Iterator[None]:
    """Run a server process, once `url` answers, until the block ends."""
    with log.open("wb") as output:
        child = subprocess.Popen(arguments, stdout=output, stderr=subprocess.STDOUT, env=env)
    try:
        wait_for(url, child, log)
        yield
    finally:
        child.send_signal(signal.SIGTERM)
        try:
            child.wait(timeout=15)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


@contextmanager
def occi_server(config: str, workdir: Path) -> Iterator[str]:
    """Run occi-server on the configuration `config` (TOML) with a SQLite store in
    `workdir`, with no configuration of the user's own; yield its URL."""
    port = free_port()
    path = workdir / "server.toml"
    path.write_text(config)
    arguments = [sys.executable, "-m", "pyocci.server.cli", "--host", "127.0.0.1"]
    arguments += ["--port", str(port), "--config", str(path)]
    arguments += ["--database-url", f"sqlite:///{workdir / 'occi.db'}"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYOCCI_")}
    env["XDG_CONFIG_HOME"] = str(workdir / "config")
    env["XDG_DATA_HOME"] = str(workdir / "data")
    url = f"http://127.0.0.1:{port}"
    with process(arguments, url + "/-/", workdir / "server.log", env):
        yield url
