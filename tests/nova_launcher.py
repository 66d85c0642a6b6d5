"""Run OpenStack Nova in one process on a loopback port, for the tests.

This script runs with the Python of a separate virtual environment holding
the ``nova`` package from PyPI (see `tests/novaserver.py`), never with the
project's own. It brings Nova up the way Nova's functional tests do: API,
conductor, scheduler and one compute service with the fake virt driver in
one process, oslo.messaging's ``fake://`` transport between them, SQLite
databases, the in-process Placement service, and Nova's fake Glance, Neutron
and Cinder. What it adds is a real HTTP server (eventlet's WSGI server) on
127.0.0.1 in front of the compute API, plus a small read-only Glance v2
image API over the fake Glance's images, so that clients such as
openstacksdk talk to it over the wire.

Authentication is a token, not Keystone: ``X-Auth-Token: <user>:<project>``.
The user ``admin`` is an administrator (roles admin, member, reader); any
other user is a project member (member, reader). With
``PYOCCI_NOVA_KEYSTONE`` set (JSON: ``auth_url``, ``username``,
``password``, ``project_name`` of a service account), tokens are Keystone's
instead, checked by keystonemiddleware's ``auth_token`` as in a real cloud,
and the request context is Nova's own, from the headers it sets.

With ``[neutron] endpoint_override`` set (through ``PYOCCI_NOVA_CONFIG``),
Nova networks its servers with the real Neutron there (see
`tests/neutronserver.py`) instead of its fake one. Likewise ``[glance]
api_servers`` names a real Glance (see `tests/glanceserver.py`) that Nova
reads images from and snapshots into, passing each request's token on.

Quotas are off, so that a benchmark can boot a thousand servers in one
project. ``PYOCCI_NOVA_CONFIG`` sets more of Nova's options, as JSON
``{"group.option": value}`` (``{"api.max_limit": 3}``).

When the server listens the script prints one JSON line on stdout,
``{"url": "http://127.0.0.1:<port>"}``; the compute API is under ``/v2.1``
and the image API under ``/image``; ``GET /pyocci-requests`` answers how
many API requests were served so far (``{"requests": n}``). It stops on
SIGTERM, SIGINT, or when its stdin reaches end of file (so it never
outlives the test run that started it).
"""

# Nova's functional tests patch the standard library for eventlet before any
# other import; the services below depend on it.
from nova import monkey_patch  # isort: skip

monkey_patch.patch()

import datetime  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402
import traceback  # noqa: E402
from urllib.parse import parse_qs, urlencode  # noqa: E402

import eventlet  # noqa: E402
import eventlet.patcher  # noqa: E402
import eventlet.tpool  # noqa: E402
import eventlet.wsgi  # noqa: E402
import fixtures  # noqa: E402
from nova import context as nova_context  # noqa: E402
from nova.tests.functional import integrated_helpers  # noqa: E402

ADMIN_ROLES = ["reader", "member", "admin"]
MEMBER_ROLES = ["reader", "member"]
IMAGE_PREFIX = "/image"
#: The Glance address Nova's fake Glance configures (and answers for itself).
FAKE_GLANCE_URL = "http://localhost:9292"
COUNTER_PATH = "/pyocci-requests"
#: Seconds the process may take to shut down once its parent has gone.
GRACE_SECONDS = 20


def _context_from_token(env: dict, **kwargs) -> nova_context.RequestContext:
    """Build Nova's request context from ``X-Auth-Token: user:project``."""
    token = env.get("HTTP_X_AUTH_TOKEN", "")
    # The dispatcher has already refused requests without such a token.
    user, _, project = token.partition(":")
    is_admin = user == "admin"
    roles = ADMIN_ROLES if is_admin else MEMBER_ROLES
    # The token goes with the context so that Nova passes it on to a real Cinder
    # (see `_use_real_cinder`), which takes the same tokens.
    return nova_context.RequestContext(
        user, project, is_admin=is_admin, roles=roles, auth_token=token, **kwargs
    )


def _use_real_cinder(cloud) -> None:
    """Talk to the real Cinder at ``[cinder] endpoint_template`` (set with
    ``PYOCCI_NOVA_CONFIG``) instead of Nova's fake one, whose stand-ins are removed."""
    from keystoneauth1 import loading
    from oslo_config import cfg

    endpoint = cfg.CONF.cinder.endpoint_template
    if not endpoint:
        return
    cloud.cinder.cleanUp()
    # Cinder lets a service detach volumes without asking Nova back (which it could
    # not reach here): Nova sends a service token along, as in a real cloud.
    options = loading.get_auth_plugin_conf_options("admin_token")
    cfg.CONF.register_opts(options, group="service_user")
    cloud.flags(
        send_service_user_token=True,
        auth_type="admin_token",
        endpoint=endpoint,
        token="nova:service",
        group="service_user",
    )


def _real_neutron_functions() -> dict:
    """What Nova's fake Neutron stubs out, read before it does (see `_use_real_neutron`)."""
    from nova.network import neutron

    api = neutron.API
    return {
        "nova.network.neutron.get_client": neutron.get_client,
        "nova.network.neutron.API.add_fixed_ip_to_instance": api.add_fixed_ip_to_instance,
        "nova.network.neutron.API.remove_fixed_ip_from_instance": api.remove_fixed_ip_from_instance,
    }


def _use_real_neutron(cloud, originals: dict) -> None:
    """Talk to the real Neutron at ``[neutron] endpoint_override`` (set with
    ``PYOCCI_NOVA_CONFIG``) instead of Nova's fake one, whose stand-ins are replaced
    by the functions they stood for. Nova's own calls authenticate with the admin
    token, users' calls with their own (carried by the request context)."""
    from keystoneauth1 import loading
    from oslo_config import cfg

    url = cfg.CONF.neutron.endpoint_override
    if not url:
        return
    for group in ("neutron", "service_user"):
        cfg.CONF.register_opts(loading.get_auth_plugin_conf_options("admin_token"), group=group)
    cloud.flags(auth_type="admin_token", endpoint=url, token="admin:admin", group="neutron")
    # Neutron lets a member delete a server's port only with Nova's service token
    # beside the user's, as Nova sends it in a cloud.
    cloud.flags(
        send_service_user_token=True,
        auth_type="admin_token",
        endpoint=url,
        token="nova:service",
        group="service_user",
    )
    for path, original in originals.items():
        cloud.stub_out(path, original)


def _real_glance_function() -> object:
    """What Nova's fake Glance stubs out, read before it does (see `_use_real_glance`)."""
    from nova.image import glance

    return glance.get_default_image_service


def _use_real_glance(cloud, original: object) -> None:
    """Talk to the real Glance at ``[glance] api_servers`` (set with
    ``PYOCCI_NOVA_CONFIG``) instead of Nova's fake one, whose image service is
    replaced by the function it stood for. Nova passes each request's token on
    (the context carries it), and the real Glance takes the same tokens."""
    from oslo_config import cfg

    if cfg.CONF.glance.api_servers == [FAKE_GLANCE_URL]:
        return
    cloud.stub_out("nova.image.glance.get_default_image_service", original)
    _snapshots_with_data(cloud)


#: The disk a snapshot of a fake instance uploads: what Glance needs to make it active.
SNAPSHOT_DISK = b"\0" * 4096


def _snapshots_with_data(cloud) -> None:
    """Snapshots that upload a disk, as a hypervisor driver does (libvirt sends the
    instance's disk to Glance with its formats), so that a saved image becomes
    ``active`` and boots servers; the fake driver alone leaves it ``queued`` for good."""
    import io

    from nova.image import glance
    from nova.virt import fake

    original = fake.FakeDriver.snapshot

    def snapshot(driver, context, instance, image_id, update_task_state):
        original(driver, context, instance, image_id, update_task_state)
        metadata = {"disk_format": "raw", "container_format": "bare"}
        glance.API().update(
            context, image_id, metadata, data=io.BytesIO(SNAPSHOT_DISK), purge_props=False
        )

    cloud.stub_out("nova.virt.fake.FakeDriver.snapshot", snapshot)


def _context_from_keystone(env: dict, **kwargs) -> nova_context.RequestContext:
    """Nova's own request context, from the headers keystonemiddleware sets."""
    return nova_context.RequestContext.from_environ(env, **kwargs)


def _api_paste_config() -> str:
    path = os.path.join(sys.prefix, "etc", "nova", "api-paste.ini")
    if not os.path.exists(path):
        raise FileNotFoundError(f"Nova's api-paste.ini is not at {path}")
    return path


class NovaCloud(integrated_helpers._IntegratedTestBase):
    """Nova's integrated functional-test setup, kept running instead of tested."""

    ADMIN_API = True
    # Real Nova casts RPC messages asynchronously; keep that, so a server
    # goes BUILD -> ACTIVE as it does in a real cloud.
    CAST_AS_CALL = False

    def _setup_services(self) -> None:
        # FakeDriver reports a large host (1000 vCPUs, 800 GB RAM), so many
        # servers fit; with one compute host, resize must be allowed to land
        # on the same host.
        self.flags(compute_driver="fake.FakeDriver")
        self.flags(allow_resize_to_same_host=True)
        # The wheel installs api-paste.ini under <venv>/etc/nova, while Nova
        # looks next to its source tree by default.
        self.flags(api_paste_config=_api_paste_config(), group="wsgi")
        # Benchmarks boot a thousand servers in one project: no quota.
        self.flags(instances=-1, cores=-1, ram=-1, group="quota")
        # Options a test asks for: {"group.option": value} in PYOCCI_NOVA_CONFIG.
        for name, value in json.loads(os.environ.get("PYOCCI_NOVA_CONFIG") or "{}").items():
            group, _, option = name.rpartition(".")
            self.flags(**{option: value}, group=group or None)
        super()._setup_services()

    def runTest(self) -> None:  # noqa: N802 - testtools looks this name up
        """Unused: the case is only set up and torn down."""


def _iso(value: object) -> object:
    if isinstance(value, datetime.datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    return value


def _glance_image(image: dict) -> dict:
    """One fake-Glance image in the shape of Glance's v2 API."""
    body = {
        key: _iso(image.get(key))
        for key in (
            "id",
            "name",
            "status",
            "visibility",
            "size",
            "min_ram",
            "min_disk",
            "disk_format",
            "container_format",
            "created_at",
            "updated_at",
            "protected",
            "owner",
        )
    }
    body["tags"] = list(image.get("tags") or [])
    # Glance v2 flattens custom properties into the image itself.
    for key, value in (image.get("properties") or {}).items():
        body.setdefault(key, value if isinstance(value, str | int | float | bool) else str(value))
    body["self"] = f"/v2/images/{image['id']}"
    body["file"] = f"/v2/images/{image['id']}/file"
    body["schema"] = "/v2/schemas/image"
    return body


class ImageAPI:
    """A read-only Glance v2 image API over the fake Glance's images.

    Lists are ordered by id and paged with ``limit`` and ``marker`` as Glance
    pages them, with a ``next`` link while more remain.
    """

    def __init__(self, glance) -> None:
        self.glance = glance

    def __call__(self, environ: dict, start_response):
        path = environ.get("PATH_INFO", "")[len(IMAGE_PREFIX) :].rstrip("/")
        method = environ.get("REQUEST_METHOD", "GET")
        if path in ("", "/"):
            # keystoneauth's version discovery needs each version's own link.
            root = f"http://{environ.get('HTTP_HOST', '')}{IMAGE_PREFIX}/v2/"
            link = {"rel": "self", "href": root}
            versions = {"versions": [{"id": "v2.0", "status": "CURRENT", "links": [link]}]}
            return self._reply(start_response, "200 OK", versions)
        if method != "GET":
            return self._reply(start_response, "405 Method Not Allowed", {"message": method})
        if path == "/v2/images":
            return self._list(environ, start_response)
        if path.startswith("/v2/images/"):
            image = self.glance.images.get(path.rsplit("/", 1)[1])
            if image is None:
                return self._reply(start_response, "404 Not Found", {"message": "No image"})
            return self._reply(start_response, "200 OK", _glance_image(image))
        return self._reply(start_response, "404 Not Found", {"message": path})

    def _list(self, environ: dict, start_response):
        query = parse_qs(environ.get("QUERY_STRING", ""))
        try:
            limit = int(query.get("limit", ["25"])[0])
        except ValueError:
            return self._reply(start_response, "400 Bad Request", {"message": "bad limit"})
        marker = query.get("marker", [None])[0]
        images = sorted(self.glance.images.values(), key=lambda image: image["id"])
        if marker is not None:
            ids = [image["id"] for image in images]
            if marker not in ids:
                return self._reply(start_response, "400 Bad Request", {"message": "bad marker"})
            images = images[ids.index(marker) + 1 :]
        page = images[:limit]
        body: dict = {
            "images": [_glance_image(image) for image in page],
            "first": "/v2/images",
            "schema": "/v2/schemas/images",
        }
        if len(images) > limit:
            body["next"] = "/v2/images?" + urlencode({"limit": limit, "marker": page[-1]["id"]})
        return self._reply(start_response, "200 OK", body)

    @staticmethod
    def _reply(start_response, status: str, body: dict):
        payload = json.dumps(body).encode()
        start_response(
            status,
            [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))],
        )
        return [payload]


def _keystone_protected(app, settings: dict):
    """`app` behind keystonemiddleware's auth_token, validating with a service account."""
    from keystonemiddleware import auth_token

    return auth_token.AuthProtocol(
        app,
        {
            "auth_type": "password",
            "auth_url": settings["auth_url"],
            "www_authenticate_uri": settings["auth_url"],
            "username": settings["username"],
            "password": settings["password"],
            "project_name": settings["project_name"],
            "user_domain_id": "default",
            "project_domain_id": "default",
            "delay_auth_decision": "false",
            # The tests' Keystone lists only a public endpoint for itself.
            "interface": "public",
        },
    )


def _dispatcher(compute_app, image_app, keystone: bool = False):
    served = {"requests": 0}

    def dispatch(environ: dict, start_response):
        path = environ.get("PATH_INFO", "")
        if path == COUNTER_PATH:
            # How many API requests were served: lets a benchmark count a client's calls.
            return ImageAPI._reply(start_response, "200 OK", served)
        served["requests"] += 1
        token = environ.get("HTTP_X_AUTH_TOKEN", "")
        user, _, project = token.partition(":")
        # Version documents are public, as in a real cloud; the rest needs a
        # token, refused with 401 as Keystone's middleware would.
        if (
            not keystone
            and path.rstrip("/") not in ("", "/v2.1", IMAGE_PREFIX)
            and not (user and project)
        ):
            return ImageAPI._reply(
                start_response,
                "401 Unauthorized",
                {"error": {"code": 401, "message": "X-Auth-Token must be '<user>:<project>'"}},
            )
        if path.startswith(IMAGE_PREFIX):
            return image_app(environ, start_response)
        return compute_app(environ, start_response)

    return dispatch


def _wait_for_end_of_input() -> None:
    """Block (in a real thread) until stdin ends, then make sure the process does too."""
    while os.read(sys.stdin.fileno(), 1024):
        pass
    # A busy Nova (a thousand boots in flight) may take long to tear down, or the
    # hub may not get to it soon: the test run has gone, so exit regardless.
    timer = eventlet.patcher.original("threading").Timer(GRACE_SECONDS, os._exit, (1,))
    timer.daemon = True
    timer.start()


def main() -> int:
    """Set Nova up, serve it until told to stop, then tear it down."""
    log_path = os.environ.get("PYOCCI_NOVA_LOG")
    keystone = json.loads(os.environ.get("PYOCCI_NOVA_KEYSTONE") or "null")
    cloud = NovaCloud()
    neutron_functions = _real_neutron_functions()
    glance_function = _real_glance_function()
    cloud.setUp()
    try:
        _use_real_cinder(cloud)
        _use_real_neutron(cloud, neutron_functions)
        _use_real_glance(cloud, glance_function)
        # Nova's test fixture makes contexts from headers of its own: make them from
        # our tokens, or, behind keystonemiddleware, as Nova does in a real cloud.
        cloud.useFixture(
            fixtures.MonkeyPatch(
                "nova.api.auth.NovaKeystoneContext._create_context",
                _context_from_token if keystone is None else _context_from_keystone,
            )
        )
        # Nova's test logging records every debug message, which slows a busy
        # Nova down (a thousand boots): keep INFO and above unless asked.
        if os.environ.get("PYOCCI_NOVA_DEBUG") != "1":
            logging.getLogger().setLevel(logging.INFO)
        if log_path:
            # Nova's fixtures keep the log in memory; send it to a file too.
            handler = logging.FileHandler(log_path)
            layout = "%(asctime)s %(levelname)s %(name)s %(message)s"
            handler.setFormatter(logging.Formatter(layout))
            logging.getLogger().addHandler(handler)
        compute_app = cloud.api_fixture.app()
        if keystone is not None:
            compute_app = _keystone_protected(compute_app, keystone)
        app = _dispatcher(compute_app, ImageAPI(cloud.glance), keystone is not None)
        sock = eventlet.listen(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        done = eventlet.event.Event()

        def stop(*_arguments: object) -> None:
            if not done.ready():
                done.send(None)

        def watch_stdin() -> None:
            # The parent holds our stdin open; end of file means it has gone.
            # A plain read would block eventlet's hub, so read in a real thread.
            eventlet.tpool.execute(_wait_for_end_of_input)
            stop()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        eventlet.spawn(watch_stdin)
        server = eventlet.spawn(
            eventlet.wsgi.server,
            sock,
            app,
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
        # Nova's fixtures capture the standard streams; report on the real one.
        traceback.print_exc(file=sys.__stderr__)
        sys.exit(1)
