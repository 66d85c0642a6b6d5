"""A real OpenStack Keystone for the tests: installed in its own venv, on SQLite, on loopback.

`shared_keystone()` returns one running Keystone per test process (started on
first use, stopped at exit). Starting it:

1. makes sure a virtual environment with Keystone exists in the test cache
   (``$PYOCCI_TEST_CACHE``, default ``~/.cache/pyocci-tests``), installing the
   pinned version with pip the first time (about a minute; reused afterwards);
2. writes a ``keystone.conf`` in a temporary directory (SQLite database, Fernet
   keys next to it), runs ``keystone-manage db_sync``, ``fernet_setup``,
   ``credential_setup`` and ``bootstrap``;
3. serves Keystone's WSGI application with the standard library's threading
   WSGI server on a free 127.0.0.1 port;
4. creates, through Keystone's own API, the projects and users the tests use.

Keystone is a separate venv because its dependency pins (oslo.*, SQLAlchemy)
must not leak into the project's environment. ``PYOCCI_SKIP_KEYSTONE=1`` makes
the tests that need it skip (they never count as passing then).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from e2e.server import free_port

SKIP_VARIABLE = "PYOCCI_SKIP_KEYSTONE"
#: The Keystone release the tests run against (2025.2 "Flamingo").
KEYSTONE_REQUIREMENT = "keystone==30.0.0"

ADMIN_PASSWORD = "admin-secret"
#: name -> (password, projects it is a member of).
USERS = {
    "alice": ("alice-secret", ("alpha",)),
    "bob": ("bob-secret", ("beta",)),
    "carol": ("carol-secret", ("alpha", "beta")),
    "dave": ("dave-secret", ()),
}
PROJECTS = ("alpha", "beta")
#: occi-server's service account: the service role on project "service".
SERVICE_USER = ("occi", "occi-secret", "service")

# Serves Keystone's WSGI app; run by the Keystone venv's Python. oslo.config reads
# sys.argv, so the arguments are taken off it before Keystone is imported.
_SERVE = """\
import os, sys
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

config, port = sys.argv[1], int(sys.argv[2])
sys.argv = sys.argv[:1]
os.environ["OS_KEYSTONE_CONFIG_FILES"] = config
from keystone.server import wsgi

class Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True

class Quiet(WSGIRequestHandler):
    def log_message(self, *args):
        pass

make_server("127.0.0.1", port, wsgi.initialize_public_application(),
            server_class=Server, handler_class=Quiet).serve_forever()
"""


class KeystoneUnavailableError(RuntimeError):
    """Keystone could not be installed or started."""


def cache_dir() -> Path:
    """Where the Keystone venv is kept between test runs."""
    configured = os.environ.get("PYOCCI_TEST_CACHE")
    return Path(configured) if configured else Path.home() / ".cache" / "pyocci-tests"


def keystone_venv() -> Path:
    """The venv holding Keystone, created and installed on first use."""
    name = "keystone-" + KEYSTONE_REQUIREMENT.split("==")[-1]
    venv = cache_dir() / name
    if (venv / "bin" / "keystone-manage").exists():
        return venv
    venv.parent.mkdir(parents=True, exist_ok=True)
    # Built aside and renamed into place, so that an interrupted install is never
    # mistaken for a finished one.
    building = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=venv.parent))
    try:
        _run([sys.executable, "-m", "venv", str(building)], "creating the Keystone venv")
        _run(
            [str(building / "bin" / "pip"), "install", "--quiet", KEYSTONE_REQUIREMENT],
            f"pip install {KEYSTONE_REQUIREMENT}",
            timeout=900,
        )
        # The venv's scripts name its directory: rewrite them for the final place.
        for script in (building / "bin").iterdir():
            if script.is_file() and not script.is_symlink():
                with contextlib.suppress(UnicodeDecodeError):
                    text = script.read_text()
                    if str(building) in text:
                        script.write_text(text.replace(str(building), str(venv)))
        try:
            building.rename(venv)
        except OSError:
            if not (venv / "bin" / "keystone-manage").exists():
                raise
            # Another test process finished first: use its venv.
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return venv


def _run(command: list[str], what: str, *, timeout: float = 300) -> str:
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise KeystoneUnavailableError(f"{what} took more than {timeout:.0f} s") from None
    if result.returncode != 0:
        raise KeystoneUnavailableError(
            f"{what} failed ({result.returncode}): {result.stderr.strip()[-2000:]}"
        )
    return result.stdout


@dataclass
class Keystone:
    """A running Keystone and the ids of what the tests created in it."""

    url: str  # the root URL, without a version
    directory: Path
    process: subprocess.Popen[bytes] | None = None
    projects: dict[str, str] = field(default_factory=dict)  # name -> id

    @property
    def v3(self) -> str:
        """The v3 API root."""
        return self.url + "/v3"

    def token(self, user: str, password: str, project: str | None = None) -> str:
        """A token for a user, scoped to a project (by name) or unscoped."""
        body: dict = {
            "auth": {
                "identity": {
                    "methods": ["password"],
                    "password": {
                        "user": {"name": user, "domain": {"id": "default"}, "password": password}
                    },
                }
            }
        }
        if project is not None:
            body["auth"]["scope"] = {"project": {"name": project, "domain": {"id": "default"}}}
        response = httpx.post(self.v3 + "/auth/tokens", json=body, timeout=30)
        response.raise_for_status()
        return response.headers["x-subject-token"]

    def revoke(self, token: str) -> None:
        """Revoke a token, as it would be at logout (or found expired)."""
        admin = self.token("admin", ADMIN_PASSWORD, "admin")
        response = httpx.delete(
            self.v3 + "/auth/tokens",
            headers={"X-Auth-Token": admin, "X-Subject-Token": token},
            timeout=30,
        )
        response.raise_for_status()

    def server_auth_config(self, *, url: str | None = None, cache_seconds: float = 60) -> str:
        """The ``[auth]`` section of an occi-server validating tokens with this Keystone."""
        user, password, project = SERVICE_USER
        return (
            "[auth]\n"
            'method = "keystone"\n'
            f'keystone_url = "{url or self.v3}"\n'
            f'keystone_service_user = "{user}"\n'
            f'keystone_service_password = "{password}"\n'
            f'keystone_service_project = "{project}"\n'
            f"cache_seconds = {cache_seconds}\n"
        )

    def start(self) -> None:
        """Set up the database and keys, serve, and create the test projects and users."""
        venv = keystone_venv()
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        config = self.directory / "keystone.conf"
        for name in ("fernet-keys", "credential-keys"):
            (self.directory / name).mkdir(mode=0o700)
        config.write_text(
            "[DEFAULT]\nuse_stderr = true\n"
            f"[database]\nconnection = sqlite:///{self.directory / 'keystone.db'}\n"
            "[token]\nprovider = fernet\nexpiration = 3600\n"
            f"[fernet_tokens]\nkey_repository = {self.directory / 'fernet-keys'}\n"
            f"[fernet_receipts]\nkey_repository = {self.directory / 'fernet-keys'}\n"
            f"[credential]\nkey_repository = {self.directory / 'credential-keys'}\n"
        )
        manage = [str(venv / "bin" / "keystone-manage"), "--config-file", str(config)]
        owner = ["--keystone-user", _user(), "--keystone-group", _group()]
        _run([*manage, "db_sync"], "keystone-manage db_sync")
        _run([*manage, "fernet_setup", *owner], "keystone-manage fernet_setup")
        _run([*manage, "credential_setup", *owner], "keystone-manage credential_setup")
        _run(
            [
                *manage,
                "bootstrap",
                "--bootstrap-password",
                ADMIN_PASSWORD,
                "--bootstrap-username",
                "admin",
                "--bootstrap-project-name",
                "admin",
                "--bootstrap-role-name",
                "admin",
                "--bootstrap-service-name",
                "keystone",
                "--bootstrap-region-id",
                "RegionOne",
                "--bootstrap-public-url",
                self.v3,
            ],
            "keystone-manage bootstrap",
        )
        serve = self.directory / "serve.py"
        serve.write_text(_SERVE)
        log = (self.directory / "keystone.log").open("wb")
        self.process = subprocess.Popen(
            [str(venv / "bin" / "python"), str(serve), str(config), str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        self._wait_until_ready()
        self._populate()

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise KeystoneUnavailableError(
                    "Keystone exited: " + (self.directory / "keystone.log").read_text()[-2000:]
                )
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(self.v3, timeout=2).status_code == 200:
                    return
            time.sleep(0.2)
        raise KeystoneUnavailableError("Keystone did not answer within 60 s")

    def _populate(self) -> None:
        admin = self.token("admin", ADMIN_PASSWORD, "admin")
        with httpx.Client(base_url=self.v3, headers={"X-Auth-Token": admin}, timeout=30) as client:

            def create(path: str, key: str, body: dict) -> str:
                response = client.post(path, json={key: body})
                response.raise_for_status()
                return response.json()[key]["id"]

            def role(name: str) -> str:
                response = client.get("/roles", params={"name": name})
                response.raise_for_status()
                found = response.json()["roles"]
                return found[0]["id"] if found else create("/roles", "role", {"name": name})

            member, service_role = role("member"), role("service")
            for name in (*PROJECTS, SERVICE_USER[2]):
                self.projects[name] = create(
                    "/projects", "project", {"name": name, "domain_id": "default"}
                )
            accounts = {name: (password, projects) for name, (password, projects) in USERS.items()}
            user, password, project = SERVICE_USER
            accounts[user] = (password, ())
            for name, (secret, projects) in accounts.items():
                user_id = create(
                    "/users", "user", {"name": name, "password": secret, "domain_id": "default"}
                )
                for project_name in projects:
                    project_id = self.projects[project_name]
                    client.put(
                        f"/projects/{project_id}/users/{user_id}/roles/{member}"
                    ).raise_for_status()
                if name == user:
                    client.put(
                        f"/projects/{self.projects[project]}/users/{user_id}/roles/{service_role}"
                    ).raise_for_status()

    def stop(self) -> None:
        """Stop the server and remove its files."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        shutil.rmtree(self.directory, ignore_errors=True)


def _user() -> str:
    import pwd

    return pwd.getpwuid(os.getuid()).pw_name


def _group() -> str:
    import grp

    return grp.getgrgid(os.getgid()).gr_name


_shared: Keystone | None = None
_failure: KeystoneUnavailableError | None = None


def shared_keystone() -> Keystone:
    """The test process's Keystone, started on first use and stopped at exit.

    A failure to start is remembered, so that the tests after the first one fail at
    once with the same message instead of trying again.
    """
    global _shared, _failure
    if _failure is not None:
        raise _failure
    if _shared is None:
        keystone = Keystone(url="", directory=Path(tempfile.mkdtemp(prefix="pyocci-keystone-")))
        atexit.register(keystone.stop)
        try:
            keystone.start()
        except KeystoneUnavailableError as error:
            _failure = error
            raise
        _shared = keystone
    return _shared
