"""A real moto EC2 server on a free loopback port, for the ec2 backend's tests.

moto is a third-party EC2 implementation; run as a server it answers EC2's
wire protocol over HTTP, so boto3 inside ``occi-server`` talks to it as it
would to AWS. Validation of AMIs, instance types and key pairs is switched
on and moto's default AMIs off, so only the AMIs `register_images` creates
exist.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import httpx

from e2e.server import free_port

REGION = "us-east-1"
#: moto accepts any credentials; these keep boto3 from looking for real ones.
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}

ENVIRONMENT = {
    "MOTO_EC2_LOAD_DEFAULT_AMIS": "false",
    "MOTO_ENABLE_AMI_VALIDATION": "true",
    "MOTO_EC2_ENABLE_INSTANCE_TYPE_VALIDATION": "true",
    "MOTO_ENABLE_KEYPAIR_VALIDATION": "true",
}

#: The AMIs every test setup registers: name -> architecture.
IMAGES = {"debian-12": "x86_64", "ubuntu-24.04": "x86_64", "rocky-9": "x86_64"}
INSTANCE_TYPES = ("t3.micro", "t3.small", "m5.large")


@dataclass
class MotoServer:
    """A moto server process; `stop` and `start` again keep the port (state is lost)."""

    port: int
    log: Path
    process: subprocess.Popen[bytes] | None = None
    images: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        """The endpoint URL to give boto3 or the ec2 backend."""
        return f"http://127.0.0.1:{self.port}"

    def client(self) -> Any:
        """A boto3 EC2 client of this server."""
        return boto3.client("ec2", endpoint_url=self.url, region_name=REGION, **CREDENTIALS)

    def start(self) -> None:
        """Start moto on the port and wait until it answers."""
        env = {**os.environ, **ENVIRONMENT}
        with self.log.open("ab") as output:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
                stdout=output,
                stderr=subprocess.STDOUT,
                env=env,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"moto exited with {self.process.returncode}:\n{self.log}")
            try:
                httpx.get(self.url + "/moto-api/", timeout=1)
                return
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError(f"moto did not answer within 30 s; see {self.log}")

    def stop(self) -> None:
        """Stop moto (SIGTERM, then SIGKILL if it hangs)."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)

    def reset(self) -> dict[str, str]:
        """Forget every resource, then register the test AMIs again; name -> AMI id."""
        httpx.post(self.url + "/moto-api/reset", timeout=10).raise_for_status()
        self.images = register_images(self.client())
        return self.images

    def backend_settings(self, **overrides: Any) -> dict[str, Any]:
        """``[backend_settings]`` for an ec2 backend on this server."""
        settings: dict[str, Any] = {
            "region": REGION,
            "endpoint_url": self.url,
            "access_key_id": CREDENTIALS["aws_access_key_id"],
            "secret_access_key": CREDENTIALS["aws_secret_access_key"],
            "instance_types": list(INSTANCE_TYPES),
            "default_image": self.images.get("debian-12"),
            "max_attempts": 1,
            "connect_timeout": 1,
            "retry_after": 2,
            "wait_seconds": 10,
        }
        settings.update(overrides)
        return {key: value for key, value in settings.items() if value is not None}


def register_images(client: Any) -> dict[str, str]:
    """Register the test AMIs; name -> AMI id."""
    return {
        name: client.register_image(
            Name=name, Architecture=architecture, RootDeviceName="/dev/xvda"
        )["ImageId"]
        for name, architecture in IMAGES.items()
    }


@contextmanager
def moto_server(workdir: Path, port: int | None = None) -> Iterator[MotoServer]:
    """Run moto until the block ends, with the test AMIs registered."""
    server = MotoServer(port=port or free_port(), log=workdir / "moto.log")
    server.start()
    try:
        server.images = register_images(server.client())
        yield server
    finally:
        server.stop()


def toml_settings(settings: dict[str, Any]) -> str:
    """A ``[backend_settings]`` table in TOML for `settings`."""
    lines = ["[backend_settings]"]
    for key, value in settings.items():
        lines.append(f"{key} = {_toml(value)}")
    return "\n".join(lines) + "\n"


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml(item) for item in value) + "]"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'
