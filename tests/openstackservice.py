"""One OpenStack service from PyPI, in its own virtual environment, run on loopback.

Nova, Glance, Cinder and Neutron are each installed (once, then reused) into
a virtual environment of their own, since each pins its own libraries
(SQLAlchemy < 2.1, eventlet...) which must not meet the project's; a launcher
script under ``tests/`` (``<service>_launcher.py``), run with that
environment's Python, brings the service up in one process on a free
127.0.0.1 port and prints ``{"url": ...}`` once it serves.

A `Release` names what to install and where: the environment lives in
``$PYOCCI_<SERVICE>_VENV`` when set, else in pytest's cache directory; a
stamp file records the requirements it was built from, so changing them
rebuilds it. ``PYOCCI_SKIP_<SERVICE>=1`` makes the tests that need the
service skip. A `ServiceProcess` is one running process of a release: its
options go to the launcher as JSON in ``PYOCCI_<SERVICE>_CONFIG``, its log
to a temporary file (``PYOCCI_<SERVICE>_LOG``) whose tail explains a failed
start, and it stops when its standard input closes, so it never outlives
the test run.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, TypeVar

import pytest

from keystone import cache_dir

INSTALL_TIMEOUT = 1800
START_TIMEOUT = 300
#: The administrator's token of every launcher (``user:project`` tokens, no Keystone).
ADMIN_TOKEN = "admin:admin"


class ServiceUnavailableError(RuntimeError):
    """An OpenStack service could not be installed or started."""


@dataclass(frozen=True)
class Release:
    """A pinned OpenStack service: what pip installs, and which launcher runs it."""

    name: str  # "Nova"
    requirements: tuple[str, ...]

    @property
    def key(self) -> str:
        """``nova``: names the launcher, the cache directory and the variables."""
        return self.name.lower()

    @property
    def skip_variable(self) -> str:
        return f"PYOCCI_SKIP_{self.name.upper()}"

    @property
    def venv_variable(self) -> str:
        return f"PYOCCI_{self.name.upper()}_VENV"

    @property
    def launcher(self) -> Path:
        return Path(__file__).with_name(f"{self.key}_launcher.py")

    def _stamp(self) -> str:
        text = "\n".join((sys.version.split()[0], *self.requirements))
        return hashlib.sha256(text.encode()).hexdigest()

    def _run(self, command: list[str], what: str, error: type[Exception]) -> None:
        try:
            result = subprocess.run(
                command, capture_output=True, text=True, timeout=INSTALL_TIMEOUT
            )
        except subprocess.TimeoutExpired as expired:
            raise error(f"{what} took over {INSTALL_TIMEOUT} s") from expired
        if result.returncode != 0:
            output = (result.stdout + result.stderr).strip()[-3000:]
            raise error(f"{what} failed ({result.returncode}): {output}")

    def ensure_venv(self, venv: Path, error: type[Exception] = ServiceUnavailableError) -> Path:
        """The Python of a virtual environment with the release installed, built if needed
        (by one test session at a time: the others wait for it, then use it)."""
        venv.parent.mkdir(parents=True, exist_ok=True)
        with venv.with_name(venv.name + ".lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                return self._ensure_venv(venv, error)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _ensure_venv(self, venv: Path, error: type[Exception]) -> Path:
        python = venv / "bin" / "python"
        stamp_file = venv / f"pyocci-{self.key}.stamp"
        if stamp_file.exists() and stamp_file.read_text() == self._stamp():
            return python
        # The stamp is written last: an interrupted install leaves no stamp and
        # is rebuilt from scratch next time.
        shutil.rmtree(venv, ignore_errors=True)
        venv.parent.mkdir(parents=True, exist_ok=True)
        self._run(
            [sys.executable, "-m", "venv", "--clear", str(venv)],
            f"creating {self.name}'s venv",
            error,
        )
        pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        self._run([*pip, "--upgrade", "pip"], f"upgrading pip in {self.name}'s venv", error)
        self._run([*pip, *self.requirements], f"pip install {' '.join(self.requirements)}", error)
        stamp_file.write_text(self._stamp())
        return python

    def venv_in(self, cache_dir: Path) -> Path:
        """Where the environment lives: the variable's path, else in `cache_dir`."""
        return Path(os.environ.get(self.venv_variable) or cache_dir / f"{self.key}-venv")


class ServiceProcess:
    """One process of a release, started with `start`, ended with `stop`."""

    release: ClassVar[Release]
    #: What a failure to install or start raises (a subclass per service, for callers
    #: that catch one service's failures).
    unavailable: ClassVar[type[ServiceUnavailableError]] = ServiceUnavailableError

    def __init__(self, python: Path, options: dict[str, object] | None = None) -> None:
        self.python = python
        #: The service's options, ``{"group.option": value}``, for its launcher.
        self.options = dict(options or {})
        self.url = ""
        self.log_path: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None

    @classmethod
    def find_or_install(cls, cache_dir: Path) -> ServiceProcess:
        """A process using the cached environment, installed first if missing."""
        release = cls.release
        return cls(release.ensure_venv(release.venv_in(cache_dir), cls.unavailable))

    def environment(self) -> dict[str, str]:
        """Variables for the launcher beyond the log and the options."""
        return {}

    def start(self) -> None:
        """Start the service and wait until it serves HTTP."""
        key = self.release.key
        self.log_path = Path(tempfile.mkstemp(prefix=f"pyocci-{key}-", suffix=".log")[1])
        prefix = f"PYOCCI_{key.upper()}"
        environment = {
            **os.environ,
            f"{prefix}_LOG": str(self.log_path),
            f"{prefix}_CONFIG": json.dumps(self.options),
            **self.environment(),
        }
        # Our own pins must not leak into the service's interpreter.
        environment.pop("PYTHONPATH", None)
        with open(self.log_path, "ab") as stderr:
            self._process = subprocess.Popen(
                [str(self.python), str(self.release.launcher)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=stderr,
                env=environment,
            )
        line = self._first_line(START_TIMEOUT)
        try:
            self.url = json.loads(line)["url"]
        except (ValueError, KeyError) as error:
            self.stop()
            raise self.unavailable(
                f"{self.release.name} did not start (output: {line!r}); "
                f"its log ends: {self._log_tail()}"
            ) from error

    def requests_served(self) -> int:
        """How many API requests the service has served so far."""
        import httpx

        return int(httpx.get(f"{self.url}/pyocci-requests").json()["requests"])

    def _first_line(self, timeout: float) -> str:
        assert self._process is not None and self._process.stdout is not None
        stdout = self._process.stdout
        lines: list[bytes] = []
        # readline blocks; a thread lets us give up after the timeout.
        reader = threading.Thread(target=lambda: lines.append(stdout.readline()), daemon=True)
        reader.start()
        reader.join(timeout)
        if not lines:
            self.stop()
            raise self.unavailable(
                f"{self.release.name} did not start in {timeout} s; "
                f"its log ends: {self._log_tail()}"
            )
        return lines[0].decode(errors="replace").strip()

    def _log_tail(self) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")[-3000:]

    def stop(self) -> None:
        """Stop the service; closing its stdin asks it to shut down, a signal insists."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.stdin is not None:
            with contextlib.suppress(OSError):
                process.stdin.close()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)
        if process.stdout is not None:
            process.stdout.close()

    def remove_log(self) -> None:
        """Delete the log file (kept after `stop` so failures can be explained)."""
        if self.log_path is not None:
            self.log_path.unlink(missing_ok=True)
            self.log_path = None


S = TypeVar("S", bound=ServiceProcess)


@contextlib.contextmanager
def running(
    service: type[S], config: pytest.Config, *args: object, **kwargs: object
) -> Iterator[S]:
    """A process of `service` (built with `args` and `kwargs` after its Python) for the
    block, stopped and its log removed after. Installs the service first if needed;
    skips when ``PYOCCI_SKIP_<SERVICE>=1``; fails with the reason otherwise."""
    release = service.release
    if os.environ.get(release.skip_variable) == "1":
        pytest.skip(f"{release.skip_variable}=1: tests against {release.name} skipped")
    try:
        # Kept where the machine keeps test builds (not in the checkout): a clean clone
        # reuses it instead of installing the service again (minutes).
        python = release.ensure_venv(release.venv_in(cache_dir()), service.unavailable)
        server = service(python, *args, **kwargs)  # type: ignore[arg-type]
        server.start()
    except ServiceUnavailableError as error:
        pytest.fail(f"{release.name} unavailable: {error} (set {release.skip_variable}=1 to skip)")
    try:
        yield server
    finally:
        server.stop()
        server.remove_log()
