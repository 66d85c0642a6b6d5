"""Debian packages the tests need, installed with apt-get the first time.

Tests that need a program from Debian (HAProxy, wrk) call `command_from` with
the program and its package: the program's path, installed first when it is
missing and the tests run as root with apt-get; the calling test is skipped,
saying why, only when that cannot be done. A lock keeps concurrent test
processes from running apt-get at once.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest

T = TypeVar("T")

#: An install downloads packages: minutes on a slow mirror, never forever.
INSTALL_TIMEOUT_SECONDS = 900


class DebianInstallError(RuntimeError):
    """apt-get could not install a package."""


def command_from(command: str, package: str) -> str:
    """The path of `command`, from Debian's `package` installed now if it is missing."""
    return installed(lambda: shutil.which(command), command, package)


def installed(find: Callable[[], T | None], what: str, *packages: str) -> T:
    """What `find` finds (a command's path, a module file), after installing `packages`
    if it finds nothing; skips the calling test when they cannot be installed here."""
    found = find()
    if found is not None:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        pytest.skip(
            f"{what} is not installed, and installing it needs apt-get as root "
            f"(apt-get install {' '.join(packages)})"
        )
    with locked(Path(os.environ.get("TMPDIR", "/tmp")) / "pyocci-tests-apt.lock"):
        if find() is None:
            install(*packages)
    found = find()
    if found is None:
        raise DebianInstallError(f"apt-get installed {' '.join(packages)} but not {what}")
    return found


def install(*packages: str) -> None:
    """``apt-get install`` the packages, updating the package lists first if that fails
    (a fresh machine has none)."""
    environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    command = ["apt-get", "install", "-y", "-q", "--no-install-recommends", *packages]

    def run(arguments: list[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            arguments,
            env=environment,
            capture_output=True,
            text=True,
            timeout=INSTALL_TIMEOUT_SECONDS,
            check=False,
        )

    if run(command).returncode == 0:
        return
    run(["apt-get", "update", "-q"])
    result = run(command)
    if result.returncode != 0:
        failure = (result.stderr or result.stdout)[-2000:]
        raise DebianInstallError(f"apt-get install {' '.join(packages)} failed: {failure}")


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on the file at `path` (made if missing) until the block ends:
    test processes that run at once take turns at installing or building one thing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
