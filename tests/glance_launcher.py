"""Run OpenStack Glance's image API in one process on a loopback port, for the tests.

This script runs with the Python of a separate virtual environment holding
the ``glance`` package from PyPI (see `tests/glanceserver.py`), never with
the project's own. Glance no longer ships a server of its own: it is a WSGI
application (``glance.wsgi.api``) that clouds run under uWSGI or Apache.
Here it is built the same way, by Glance's `init_app`, from a configuration
written to a temporary directory: a SQLite database made by ``glance-manage
db_sync``, the ``file`` store (and Glance's staging and tasks stores) in the
same directory, and Glance's own ``keystone`` paste pipeline without
keystonemiddleware's ``auth_token``. CherryPy's WSGI server (cheroot) serves
it over real HTTP on 127.0.0.1, with a thread per request.

Authentication is a token, not Keystone: ``X-Auth-Token: <user>:<project>``.
In front of Glance the script does what ``auth_token`` does after checking
a token with Keystone: it drops any identity headers the client sent and
sets ``X-Identity-Status: Confirmed``, ``X-User-Id``, ``X-Project-Id`` and
``X-Roles`` from the token; the user ``admin`` has the roles admin, member
and reader, any other user member and reader. Glance's ``context``
middleware then makes its request context from those headers, and Glance's
default policies decide, as in a cloud. A request without such a token is
answered 401 by Glance itself; the version document is public.

``PYOCCI_GLANCE_CONFIG`` sets more of Glance's options, as JSON
``{"group.option": value}`` (``{"api_limit_max": 3}``).

When the server listens the script prints one JSON line on stdout,
``{"url": "http://127.0.0.1:<port>"}``; the image API is under ``/v2``, and
``GET /pyocci-requests`` answers how many API requests were served so far
(``{"requests": n}``). It stops on SIGTERM, SIGINT, or when its stdin reaches
end of file (so it never outlives the test run that started it).
"""

from __future__ import annotations

# Glance drains its task pool at exit, making it first if no upload did; the
# executor's module cannot be imported that late, so import it now.
import concurrent.futures.thread  # noqa: F401
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import traceback
from pathlib import Path

from cheroot import wsgi as cheroot_wsgi

ADMIN_ROLES = "admin,member,reader"
MEMBER_ROLES = "member,reader"
COUNTER_PATH = "/pyocci-requests"
#: Seconds the process may take to shut down once its parent has gone.
GRACE_SECONDS = 20
#: Headers only the authentication middleware may set (keystonemiddleware
#: removes them from every request before it sets its own).
IDENTITY_HEADERS = (
    "HTTP_X_IDENTITY_STATUS",
    "HTTP_X_SERVICE_IDENTITY_STATUS",
    "HTTP_X_USER_ID",
    "HTTP_X_USER_NAME",
    "HTTP_X_USER",
    "HTTP_X_PROJECT_ID",
    "HTTP_X_PROJECT_NAME",
    "HTTP_X_TENANT_ID",
    "HTTP_X_TENANT_NAME",
    "HTTP_X_TENANT",
    "HTTP_X_ROLES",
    "HTTP_X_ROLE",
    "HTTP_X_SERVICE_ROLES",
    "HTTP_X_IS_ADMIN_PROJECT",
)


def _glance_file(name: str) -> Path:
    """A file the wheel installs under ``<venv>/etc/glance``."""
    path = Path(sys.prefix, "etc", "glance", name)
    if not path.exists():
        raise FileNotFoundError(f"Glance's {name} is not at {path}")
    return path


def _paste_config(directory: Path) -> Path:
    """Glance's own paste file, its ``keystone`` pipeline without ``auth_token``.

    The identity headers that filter would set are set by `_dispatcher`
    instead; everything else (version negotiation, the context middleware,
    the v2 router) is the pipeline a cloud runs.
    """
    text = _glance_file("glance-api-paste.ini").read_text()
    pipeline = re.compile(r"^(keystone = .*?)\bauthtoken (context rootapp)$", re.MULTILINE)
    text, replaced = pipeline.subn(r"\1\2", text)
    if replaced != 1:
        raise RuntimeError("Glance's paste file has no keystone pipeline to adapt")
    path = directory / "glance-api-paste.ini"
    path.write_text(text)
    return path


def _options(directory: Path, url: str) -> dict[str, dict[str, object]]:
    """Glance's configuration, by section, before the options a test adds."""
    stores = {name: directory / name for name in ("images", "staging", "tasks")}
    for path in stores.values():
        path.mkdir()
    options: dict[str, dict[str, object]] = {
        "DEFAULT": {
            "enabled_backends": "files:file",
            # Glance's workers reach each other at this address (image import).
            "worker_self_reference_url": url,
            "log_file": os.environ.get("PYOCCI_GLANCE_LOG") or str(directory / "glance.log"),
            "debug": os.environ.get("PYOCCI_GLANCE_DEBUG") == "1",
        },
        "database": {"connection": f"sqlite:///{directory / 'glance.sqlite'}"},
        "glance_store": {"default_backend": "files"},
        "files": {"filesystem_store_datadir": str(stores["images"])},
        "os_glance_staging_store": {"filesystem_store_datadir": str(stores["staging"])},
        "os_glance_tasks_store": {"filesystem_store_datadir": str(stores["tasks"])},
        "paste_deploy": {"flavor": "keystone", "config_file": str(_paste_config(directory))},
    }
    # Options a test asks for: {"group.option": value} in PYOCCI_GLANCE_CONFIG.
    for name, value in json.loads(os.environ.get("PYOCCI_GLANCE_CONFIG") or "{}").items():
        group, _, option = name.rpartition(".")
        options.setdefault(group or "DEFAULT", {})[option] = value
    return options


def _write_config(directory: Path, options: dict[str, dict[str, object]]) -> Path:
    lines: list[str] = []
    for section, values in options.items():
        lines.append(f"[{section}]")
        for name, value in values.items():
            text = str(value).lower() if isinstance(value, bool) else str(value)
            lines.append(f"{name} = {text}")
        lines.append("")
    path = directory / "glance-api.conf"
    path.write_text("\n".join(lines))
    return path


def _sync_database(config: Path) -> None:
    """Make the schema with Glance's own tool, as a deployment does."""
    manage = Path(sys.prefix, "bin", "glance-manage")
    result = subprocess.run(
        [str(manage), "--config-file", str(config), "db", "sync"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if result.returncode != 0:
        raise RuntimeError(f"glance-manage db sync failed: {result.stdout}{result.stderr}")


def _reply(start_response, status: str, body: dict):
    payload = json.dumps(body).encode()
    start_response(
        status, [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))]
    )
    return [payload]


class _RequestBody:
    """A request's ``wsgi.input`` whose `close` leaves the connection open.

    Glance closes the data it has stored (``glance.location`` closes the
    stream it read an upload from). cheroot's input is the connection's own
    socket file: closing it made the next request on that kept-alive
    connection fail in cheroot with a 500, such as the read Nova makes right
    after uploading a snapshot (which then fails, and Nova deletes the image).
    The servers Glance is deployed under (uWSGI, mod_wsgi) own the input
    stream and close it with the connection; so does cheroot, with this.
    """

    def __init__(self, stream) -> None:
        self._stream = stream

    def __getattr__(self, name: str):
        return getattr(self._stream, name)

    def __iter__(self):
        return iter(self._stream)

    def close(self) -> None:
        """Nothing: the server closes the stream with its connection."""


def _dispatcher(image_app):
    served = {"requests": 0}
    lock = threading.Lock()

    def dispatch(environ: dict, start_response):
        if environ.get("PATH_INFO", "") == COUNTER_PATH:
            # How many API requests were served: lets a test count a client's calls.
            return _reply(start_response, "200 OK", served)
        with lock:
            served["requests"] += 1
        for header in IDENTITY_HEADERS:
            environ.pop(header, None)
        user, _, project = environ.get("HTTP_X_AUTH_TOKEN", "").partition(":")
        if user and project:
            # What keystonemiddleware sets once Keystone has vouched for a token.
            environ["HTTP_X_IDENTITY_STATUS"] = "Confirmed"
            environ["HTTP_X_USER_ID"] = environ["HTTP_X_USER_NAME"] = user
            environ["HTTP_X_PROJECT_ID"] = environ["HTTP_X_PROJECT_NAME"] = project
            environ["HTTP_X_ROLES"] = ADMIN_ROLES if user == "admin" else MEMBER_ROLES
        if "wsgi.input" in environ:
            environ["wsgi.input"] = _RequestBody(environ["wsgi.input"])
        # Without it Glance's context middleware answers 401 itself.
        return image_app(environ, start_response)

    return dispatch


def _wait_for_end_of_input(stop: threading.Event) -> None:
    """Block until stdin ends (the test run has gone), then ask the server to stop."""
    while os.read(sys.stdin.fileno(), 1024):
        pass
    stop.set()
    # If the shutdown hangs, exit regardless: nobody is left to serve.
    timer = threading.Timer(GRACE_SECONDS, os._exit, (1,))
    timer.daemon = True
    timer.start()


def main() -> int:
    """Configure Glance, serve it until told to stop, then remove its files."""
    directory = Path(tempfile.mkdtemp(prefix="pyocci-glance-"))
    try:
        server = cheroot_wsgi.Server(("127.0.0.1", 0), None, numthreads=8)
        # Binding first gives the port, which Glance's configuration names.
        server.prepare()
        url = f"http://127.0.0.1:{server.bind_addr[1]}"
        config = _write_config(directory, _options(directory, url))
        _sync_database(config)
        os.environ["OS_GLANCE_CONFIG_DIR"] = str(directory)
        from glance.common import wsgi_app

        server.wsgi_app = _dispatcher(wsgi_app.init_app())
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        threading.Thread(target=_wait_for_end_of_input, args=(stop,), daemon=True).start()
        serving = threading.Thread(target=server.serve, daemon=True)
        serving.start()
        print(json.dumps({"url": url}), flush=True)
        stop.wait()
        server.stop()
        serving.join(GRACE_SECONDS)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception:
        traceback.print_exc(file=sys.stderr)
        sys.exit(1)
