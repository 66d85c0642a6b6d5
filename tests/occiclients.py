"""The OCCI clients sites' users run: rOCCI-cli 4.3 (Ruby) and jOCCI (Java), built once.

They come from ``shared/clients`` beside the repository: the clients' own
sources, pinned, and the scripts that build them from Debian's packages
alone (``rocci-setup.sh``, ``jocci-setup.sh``; about 20 s each, as root,
since they ``apt-get install`` Ruby and a JDK). The build is kept in
``~/.cache/pyocci-tests/occi-clients`` (``PYOCCI_CLIENTS_DIR`` elsewhere) and
redone when the scripts or sources change. Only the one patch rOCCI-cli needs
to run on today's Ruby is applied, never the optional client fixes: a server
that serves the field must work with the clients as the field has them.

Tests that need them skip, saying why, when ``shared/clients`` is missing or
the build needs root and the tests are not root; ``PYOCCI_SKIP_CLIENTS=1``
skips them too.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from debian import locked

SHARED_CLIENTS = Path(__file__).resolve().parents[2] / "shared" / "clients"
#: How long one client command may take (a Ruby or Java start is about a second).
COMMAND_TIMEOUT = 180
_SETUP_TIMEOUT = 900


def clients_dir() -> Path:
    """Where the clients are built and kept."""
    configured = os.environ.get("PYOCCI_CLIENTS_DIR")
    if configured:
        return Path(configured)
    return Path.home() / ".cache" / "pyocci-tests" / "occi-clients"


@dataclass(frozen=True)
class _Build:
    """One client's build: its setup script, what it leaves behind, the tools it needs."""

    name: str
    script: str
    product: str
    tools: tuple[str, ...]

    def fingerprint(self) -> str:
        """Changes when the script or anything it builds from changes."""
        digest = hashlib.sha256()
        for path in sorted(SHARED_CLIENTS.rglob("*")):
            if path.is_file():
                digest.update(path.relative_to(SHARED_CLIENTS).as_posix().encode())
                digest.update(path.read_bytes())
        return digest.hexdigest()


ROCCI = _Build("rOCCI-cli", "rocci-setup.sh", "rocci/occi", ("ruby",))
JOCCI = _Build("jOCCI", "jocci-setup.sh", "jocci/jocci-smoke", ("java",))


def ensure(build: _Build) -> Path:
    """The client's command, built first if it is not (or is out of date); skips the
    calling test when it cannot be built here."""
    if os.environ.get("PYOCCI_SKIP_CLIENTS") == "1":
        pytest.skip("PYOCCI_SKIP_CLIENTS=1: the third-party OCCI clients are skipped")
    if not (SHARED_CLIENTS / build.script).is_file():
        pytest.skip(f"{SHARED_CLIENTS} is missing: no {build.name} to test with")
    destination = clients_dir()
    destination.mkdir(parents=True, exist_ok=True)
    product = destination / build.product
    stamp = destination / f"{build.script}.built"
    with locked(destination / ".lock"):
        fingerprint = build.fingerprint()
        tools_there = all(shutil.which(tool) for tool in build.tools)
        if product.exists() and tools_there and _read(stamp) == fingerprint:
            return product
        if os.geteuid() != 0:
            pytest.skip(f"building {build.name} installs Debian packages, which needs root")
        _setup(build, destination)
        stamp.write_text(fingerprint)
    return product


def _setup(build: _Build, destination: Path) -> None:
    log = destination / f"{build.script}.log"
    environment = {**os.environ, "SRC": str(SHARED_CLIENTS / "sources"), "DEST": str(destination)}
    with log.open("w") as output:
        # A fresh machine has no package lists yet; apt-get install needs them.
        subprocess.run(
            ["apt-get", "update", "-q"], stdout=output, stderr=subprocess.STDOUT, check=False
        )
        done = subprocess.run(
            ["bash", str(SHARED_CLIENTS / build.script)],
            stdout=output,
            stderr=subprocess.STDOUT,
            env=environment,
            timeout=_SETUP_TIMEOUT,
            check=False,
        )
    if done.returncode != 0:
        tail = log.read_text(errors="replace")[-3000:]
        pytest.fail(f"building {build.name} failed ({done.returncode}); its log ends:\n{tail}")


def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except FileNotFoundError:
        return None


@dataclass(frozen=True)
class Ran:
    """What one client command did: its exit status and what it printed."""

    command: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    def explain(self) -> str:
        """The command and the tail of its output, for assertion messages."""
        errors = [line for line in self.stderr.splitlines() if "FATAL" in line or "ERROR" in line]
        shown = "\n".join(errors[-5:]) or self.stderr[-2000:]
        return f"$ {' '.join(self.command)}\nexit {self.returncode}\n{self.stdout[-2000:]}\n{shown}"


def run(command: list[str], *, environment: dict[str, str] | None = None) -> Ran:
    """Run a client command to its end (bounded by `COMMAND_TIMEOUT`)."""
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
        env={**os.environ, **(environment or {})},
        stdin=subprocess.DEVNULL,
        check=False,
    )
    return Ran(tuple(command), done.returncode, done.stdout, done.stderr)


#: A small jOCCI program of pyocci's tests: authenticate (VOMS or basic, with jOCCI's
#: Keystone fallback), then list computes (see its header).
JOCCI_AUTH_SOURCE = Path(__file__).resolve().parent / "jocci" / "JocciAuth.java"


def jocci_auth() -> list[str]:
    """The command that runs `JOCCI_AUTH_SOURCE` against jOCCI, compiled first when it
    is not (or changed); skips like `ensure` when jOCCI cannot be built here."""
    ensure(JOCCI)
    destination = clients_dir() / "jocci-auth"
    classpath = (clients_dir() / "jocci" / "classpath.txt").read_text().strip()
    source = JOCCI_AUTH_SOURCE.read_bytes()
    stamp = destination / "source.sha256"
    fingerprint = hashlib.sha256(source).hexdigest()
    with locked(clients_dir() / ".lock"):
        if _read(stamp) != fingerprint:
            shutil.rmtree(destination, ignore_errors=True)
            destination.mkdir(parents=True)
            compiled = subprocess.run(
                ["javac", "-nowarn", "-d", str(destination), "-cp", classpath,
                 str(JOCCI_AUTH_SOURCE)],
                capture_output=True,
                text=True,
                timeout=_SETUP_TIMEOUT,
                check=False,
            )  # fmt: skip
            if compiled.returncode != 0:
                pytest.fail(f"javac {JOCCI_AUTH_SOURCE.name} failed: {compiled.stderr[-3000:]}")
            stamp.write_text(fingerprint)
    return ["java", "-cp", f"{classpath}:{destination}", "JocciAuth"]
