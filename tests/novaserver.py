"""OpenStack Nova for the tests: PyPI's ``nova`` in its own virtual environment.

`NovaServer.find_or_install()` makes (once, then reuses) a virtual environment
holding a pinned ``nova`` release and the few packages Nova's functional-test
fixtures import; `start()` runs `tests/nova_launcher.py` with that
environment's Python, which brings Nova up in one process on a free
127.0.0.1 port, and `stop()` ends it. Nova never shares the project's
environment: its pins (SQLAlchemy < 2.1, eventlet) are its own.

The environment lives in ``$PYOCCI_NOVA_VENV`` when set, else in pytest's
cache directory; a stamp file records the requirements it was built from, so
changing `REQUIREMENTS` rebuilds it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

SKIP_VARIABLE = "PYOCCI_SKIP_NOVA"
VENV_VARIABLE = "PYOCCI_NOVA_VENV"
NOVA_VERSION = "34.0.0"
# nova itself, then what its functional-test fixtures import but do not
# declare: Placement (run in process), wsgi-intercept, oslotest, testtools.
REQUIREMENTS = (
    f"nova=={NOVA_VERSION}",
    "SQLAlchemy>=2.0,<2.1",
    "openstack-placement>=13.0",
    "wsgi-intercept>=1.13",
    "oslotest>=5.0",
    "testtools>=2.7",
)
LAUNCHER = Path(__file__).with_name("nova_launcher.py")
INSTALL_TIMEOUT = 1800
START_TIMEOUT = 300
# Compute API requests in the tests authenticate with this token (see the launcher).
ADMIN_TOKEN = "admin:admin"


class NovaUnavailableError(RuntimeError):
    """Nova could not be installed or started."""


def _stamp() -> str:
    text = "\n".join((sys.version.split()[0], *REQUIREMENTS))
    return hashlib.sha256(text.encode()).hexdigest()


def _python(venv: Path) -> Path:
    return venv / "bin" / "python"


def _run(command: list[str], what: str) -> None:
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=INSTALL_TIMEOUT)
    except subprocess.TimeoutExpired as error:
        raise NovaUnavailableError(f"{what} took over {INSTALL_TIMEOUT} s") from error
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip()[-3000:]
        raise NovaUnavailableError(f"{what} failed ({result.returncode}): {output}")


def ensure_venv(venv: Path) -> Path:
    """The Python of a virtual environment with Nova installed, built if needed."""
    stamp_file = venv / "pyocci-nova.stamp"
    if stamp_file.exists() and stamp_file.read_text() == _stamp():
        return _python(venv)
    # The stamp is written last: an interrupted install leaves no stamp and
    # is rebuilt from scratch next time.
    shutil.rmtree(venv, ignore_errors=True)
    venv.parent.mkdir(parents=True, exist_ok=True)
    _run([sys.executable, "-m", "venv", "--clear", str(venv)], "creating Nova's venv")
    pip = [str(_python(venv)), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    _run([*pip, "--upgrade", "pip"], "upgrading pip in Nova's venv")
    _run([*pip, *REQUIREMENTS], f"pip install {' '.join(REQUIREMENTS)}")
    stamp_file.write_text(_stamp())
    return _python(venv)


class NovaServer:
    """One Nova process: compute API at `compute_url`, images at `image_url`."""

    def __init__(
        self,
        python: Path,
        options: dict[str, object] | None = None,
        keystone: dict[str, str] | None = None,
    ) -> None:
        self.python = python
        #: Nova options, ``{"group.option": value}`` (``{"api.max_limit": 3}``).
        self.options = dict(options or {})
        #: A Keystone to check tokens with (``auth_url``, ``username``, ``password``,
        #: ``project_name`` of a service account) instead of ``user:project`` tokens.
        self.keystone = keystone
        self.url = ""
        self.log_path: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None

    @classmethod
    def find_or_install(cls, cache_dir: Path) -> NovaServer:
        """A server using the cached Nova environment, installed first if missing."""
        venv = Path(os.environ.get(VENV_VARIABLE) or cache_dir / "nova-venv")
        return cls(ensure_venv(venv))

    @property
    def compute_url(self) -> str:
        """The compute API endpoint (version 2.1)."""
        return f"{self.url}/v2.1"

    @property
    def image_url(self) -> str:
        """The image API endpoint (Glance v2 paths below it)."""
        return f"{self.url}/image"

    def start(self) -> None:
        """Start Nova and wait until it serves HTTP."""
        self.log_path = Path(tempfile.mkstemp(prefix="pyocci-nova-", suffix=".log")[1])
        environment = {
            **os.environ,
            "PYOCCI_NOVA_LOG": str(self.log_path),
            "PYOCCI_NOVA_CONFIG": json.dumps(self.options),
            "PYOCCI_NOVA_KEYSTONE": json.dumps(self.keystone),
        }
        # Our own pins must not leak into Nova's interpreter.
        environment.pop("PYTHONPATH", None)
        with open(self.log_path, "ab") as stderr:
            self._process = subprocess.Popen(
                [str(self.python), str(LAUNCHER)],
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
            raise NovaUnavailableError(
                f"Nova did not start (output: {line!r}); its log ends: {self._log_tail()}"
            ) from error

    def _first_line(self, timeout: float) -> str:
        assert self._process is not None and self._process.stdout is not None
        lines: list[bytes] = []
        # readline blocks; a thread lets us give up after the timeout.
        reader = threading.Thread(
            target=lambda: lines.append(self._process.stdout.readline()), daemon=True
        )
        reader.start()
        reader.join(timeout)
        if not lines:
            self.stop()
            raise NovaUnavailableError(
                f"Nova did not start in {timeout} s; its log ends: {self._log_tail()}"
            )
        return lines[0].decode(errors="replace").strip()

    def _log_tail(self) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")[-3000:]

    def stop(self) -> None:
        """Stop Nova; closing its stdin asks it to shut down, a signal insists."""
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
