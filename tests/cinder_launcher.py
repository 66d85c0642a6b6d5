"""Run OpenStack Cinder in one process on a loopback port, for the tests.

This script runs with the Python of a separate virtual environment holding
the ``cinder`` package from PyPI (see `tests/cinderserver.py`), never with
the project's own. It brings Cinder up the way Cinder's functional tests do:
the block-storage API, the scheduler, one volume service with Cinder's fake
volume driver (``FakeLoggingVolumeDriver``: volumes, snapshots and extends
are recorded in the database, no disk is touched) and, unless
``PYOCCI_CINDER_BACKUP=0``, one backup service with Cinder's fake backup
driver, all in one process with oslo.messaging's ``fake://`` transport
between them and an in-memory SQLite database. RPC casts stay asynchronous,
so a volume goes ``creating`` -> ``available`` as in a real cloud. What it
adds is a real HTTP server (eventlet's WSGI server) on 127.0.0.1 in front of
the API.

Authentication is a token, not Keystone: ``X-Auth-Token: <user>:<project>``.
The user ``admin`` is an administrator (roles admin, member, reader); any
other user is a project member (member, reader). A request without such a
token is 401.

``PYOCCI_CINDER_CONFIG`` sets more of Cinder's options, as JSON
``{"group.option": value}`` (``{"osapi_max_limit": 3}``).

When the server listens the script prints one JSON line on stdout,
``{"url": "http://127.0.0.1:<port>"}``; the API is under ``/v3``, and
``GET /pyocci-requests`` answers how many API requests were served so far
(``{"requests": n}``). It stops on SIGTERM, SIGINT, or when its stdin reaches
end of file (so it never outlives the test run that started it).
"""

# Cinder's services expect eventlet's patched standard library: patch first.
from cinder import monkey_patch  # isort: skip

monkey_patch.patch()

import io  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402
import traceback  # noqa: E402

import eventlet  # noqa: E402
import eventlet.patcher  # noqa: E402
import eventlet.tpool  # noqa: E402
import eventlet.wsgi  # noqa: E402
import fixtures  # noqa: E402
from cinder.api.middleware import auth as cinder_auth  # noqa: E402
from cinder.tests.functional import functional_helpers  # noqa: E402
from oslo_config import cfg  # noqa: E402
from oslo_service import _options as oslo_service_options  # noqa: E402
from oslo_service import wsgi as oslo_wsgi  # noqa: E402

ADMIN_ROLES = ["reader", "member", "admin"]
MEMBER_ROLES = ["reader", "member"]
COUNTER_PATH = "/pyocci-requests"
#: Seconds the process may take to shut down once its parent has gone.
GRACE_SECONDS = 20
CONF = cfg.CONF


def _api_paste_config() -> str:
    path = os.path.join(sys.prefix, "etc", "cinder", "api-paste.ini")
    if not os.path.exists(path):
        raise FileNotFoundError(f"Cinder's api-paste.ini is not at {path}")
    return path


_original_set_request_context = cinder_auth._set_request_context


def _set_request_context(req, **kwargs):
    """Cinder's noauth makes every caller an administrator; only ``admin`` is one here."""
    is_admin = kwargs.get("user_id") == "admin"
    kwargs["is_admin"] = is_admin
    kwargs["roles"] = ADMIN_ROLES if is_admin else MEMBER_ROLES
    return _original_set_request_context(req, **kwargs)


def _connector_properties(*_args, **_kwargs) -> dict:
    """What os-brick would learn of this host by running privileged commands."""
    return {
        "platform": "x86_64",
        "os_type": "linux",
        "ip": "127.0.0.1",
        "host": "localhost",
        "initiator": "iqn.1993-08.org.debian:01:pyocci",
    }


class _EmptyDevice:
    """The host side of an attachment that holds no data."""

    def disconnect_volume(self, *_args, **_kwargs) -> None:
        """Nothing was connected."""


def _connect_device(_manager, connection: dict) -> dict:
    """The backup manager's attached device: an empty stream, nothing on the host."""
    return {"conn": connection, "device": {"path": io.BytesIO()}, "connector": _EmptyDevice()}


class CinderCloud(functional_helpers._FunctionalTestBase):
    """Cinder's functional-test setup, kept running instead of tested."""

    def _get_flags(self) -> dict:
        flags = super()._get_flags()
        # A service keeps its database id in a class attribute, so in one process
        # only the last service started sends heartbeats: the others would count
        # as down after a minute and the scheduler would place no volume.
        flags["service_down_time"] = {"v": 10 * 365 * 86400}
        # Volumes land in the fake backend's only zone, the default one.
        flags["storage_availability_zone"] = {"v": "nova"}
        # Benchmarks and paging tests make many volumes in one project.
        # (The database's default quota class would win over the options.)
        flags["use_default_quota_class"] = {"v": False}
        for quota in ("quota_volumes", "quota_snapshots", "quota_gigabytes", "quota_backups"):
            flags[quota] = {"v": -1}
        # Options a test asks for: {"group.option": value} in PYOCCI_CINDER_CONFIG.
        for name, value in json.loads(os.environ.get("PYOCCI_CINDER_CONFIG") or "{}").items():
            group, _, option = name.rpartition(".")
            flags[option] = {"v": value, "g": group or None}
        return flags

    def _start_api_service(self) -> None:
        # The functional tests serve the API from a WSGIService on a port of
        # their own; here the app is served behind the token check and the
        # request counter (see `_dispatcher`), so only load it.
        # The wheel installs api-paste.ini under <venv>/etc/cinder, while the
        # functional tests look for it next to the source tree.
        CONF.register_opts(oslo_service_options.wsgi_opts)
        self.override_config("api_paste_config", _api_paste_config())
        self.app = oslo_wsgi.Loader(CONF).load_app("osapi_volume")
        self.osapi = _NoServer()
        # The functional tests' own client is built from this; it is never used.
        self.auth_url = "http://127.0.0.1/v3"

    def setUp(self) -> None:
        super().setUp()
        if os.environ.get("PYOCCI_CINDER_BACKUP", "1") != "0":
            # Cinder's fake backup driver records backups without storing data.
            # The scheduler places backups on backup services that have
            # reported their capabilities (once a minute); one on the volume
            # service's host with backup_use_same_host is found at once.
            self.override_config("backup_use_same_host", True)
            # The backup manager attaches the volume to this host (os-brick,
            # privileged commands) and reads it: the fake volume driver has no
            # data, so the backup driver gets an empty device instead.
            self.useFixture(
                fixtures.MonkeyPatch(
                    "cinder.volume.volume_utils.brick_get_connector_properties",
                    _connector_properties,
                )
            )
            self.useFixture(
                fixtures.MonkeyPatch(
                    "cinder.backup.manager.BackupManager._connect_device", _connect_device
                )
            )
            self.backup = self.start_service("backup", host=self.volume.host)

    def runTest(self) -> None:  # noqa: N802 - testtools looks this name up
        """Unused: the case is only set up and torn down."""


class _NoServer:
    """Stands in for the API service the functional tests would stop."""

    def stop(self) -> None:
        """Nothing to stop: the launcher's own server serves the API."""


def _reply(start_response, status: str, body: dict):
    payload = json.dumps(body).encode()
    start_response(
        status, [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))]
    )
    return [payload]


def _dispatcher(volume_app):
    served = {"requests": 0}

    def dispatch(environ: dict, start_response):
        path = environ.get("PATH_INFO", "")
        if path == COUNTER_PATH:
            # How many API requests were served: lets a test count a client's calls.
            return _reply(start_response, "200 OK", served)
        served["requests"] += 1
        user, _, project = environ.get("HTTP_X_AUTH_TOKEN", "").partition(":")
        # Version documents are public, as in a real cloud; the rest needs a
        # token, refused with 401 as Keystone's middleware would (Cinder's own
        # noauth would answer 204 with a token of its own).
        # A service token (Nova's, sent along with the user's) carries the service
        # role, as keystonemiddleware would find it does in a real cloud.
        environ.pop("HTTP_X_SERVICE_ROLES", None)
        if environ.get("HTTP_X_SERVICE_TOKEN", "").partition(":")[2]:
            environ["HTTP_X_SERVICE_ROLES"] = "service"
        if path.rstrip("/") in ("", "/v3"):
            environ.setdefault("HTTP_X_AUTH_TOKEN", "anonymous:anonymous")
        elif not (user and project):
            return _reply(
                start_response,
                "401 Unauthorized",
                {"error": {"code": 401, "message": "X-Auth-Token must be '<user>:<project>'"}},
            )
        return volume_app(environ, start_response)

    return dispatch


def _wait_for_end_of_input() -> None:
    """Block (in a real thread) until stdin ends, then make sure the process does too."""
    while os.read(sys.stdin.fileno(), 1024):
        pass
    timer = eventlet.patcher.original("threading").Timer(GRACE_SECONDS, os._exit, (1,))
    timer.daemon = True
    timer.start()


def main() -> int:
    """Set Cinder up, serve it until told to stop, then tear it down."""
    log_path = os.environ.get("PYOCCI_CINDER_LOG")
    cloud = CinderCloud()
    cloud.setUp()
    try:
        cloud.useFixture(
            fixtures.MonkeyPatch(
                "cinder.api.middleware.auth._set_request_context", _set_request_context
            )
        )
        if os.environ.get("PYOCCI_CINDER_DEBUG") != "1":
            logging.getLogger().setLevel(logging.INFO)
        if log_path:
            # Cinder's fixtures keep the log in memory; send it to a file too.
            handler = logging.FileHandler(log_path)
            layout = "%(asctime)s %(levelname)s %(name)s %(message)s"
            handler.setFormatter(logging.Formatter(layout))
            logging.getLogger().addHandler(handler)
        sock = eventlet.listen(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        done = eventlet.event.Event()

        def stop(*_arguments: object) -> None:
            if not done.ready():
                done.send(None)

        def watch_stdin() -> None:
            # A plain read would block eventlet's hub: read in a real thread.
            eventlet.tpool.execute(_wait_for_end_of_input)
            stop()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        eventlet.spawn(watch_stdin)
        server = eventlet.spawn(
            eventlet.wsgi.server,
            sock,
            _dispatcher(cloud.app),
            log=open(os.devnull, "w"),  # noqa: SIM115 - lives as long as the server
            log_output=False,
        )
        print(json.dumps({"url": f"http://127.0.0.1:{port}"}), flush=True)
        done.wait()
        server.kill()
    finally:
        cloud.doCleanups()
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception:
        # Cinder's fixtures may capture the standard streams; report on the real one.
        traceback.print_exc(file=sys.__stderr__)
        sys.exit(1)
