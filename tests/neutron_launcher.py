"""Run OpenStack Neutron's API in one process on a loopback port, for the tests.

This script runs with the Python of a separate virtual environment holding
the ``neutron`` package from PyPI (see `tests/neutronserver.py`), never with
the project's own. It starts neutron-server's API application as Neutron
builds it (its own configuration options and ``api-paste.ini``): the ML2
core plugin with the flat, VLAN and VXLAN type drivers (tenant networks are
VXLAN, which allocates segments without any agent), the L3 ``router``
service plugin for routers and floating IPs, security groups, port
security and the default service plugins (tags among them). The database is
SQLite, its schema made from Neutron's models as Neutron's own unit tests
make it, and oslo.messaging's ``fake://`` transport takes the notifications
meant for agents, which do not run here. A mechanism driver defined here
binds any port a host asks for (as Open vSwitch, active) so that a Nova
pointed at this Neutron can plug its servers' ports.

Authentication is a token, not Keystone: ``X-Auth-Token: <user>:<project>``.
The user ``admin`` is an administrator (roles admin, member, reader); any
other user is a project member (member, reader). A request without such a
token is 401, except the version documents.

At start an external network ``public`` (flat) is made, with the subnet
203.0.113.0/24 (no DHCP) from which floating IPs and router gateways are
allocated.

When the server listens the script prints one JSON line on stdout,
``{"url": "http://127.0.0.1:<port>"}``; the network API is under ``/v2.0``;
``GET /pyocci-requests`` answers how many API requests were served so far
(``{"requests": n}``). ``PYOCCI_NEUTRON_CONFIG`` sets more of Neutron's
options, as JSON ``{"group.option": value}`` (``{"DEFAULT.pagination_max_limit":
3}``). The script stops on SIGTERM, SIGINT, or when its stdin reaches end of
file (so it never outlives the test run that started it).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
import tempfile
import threading
import traceback
import urllib.request
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

COUNTER_PATH = "/pyocci-requests"
#: The name of the ML2 mechanism driver defined below.
BINDER = "pyocci_loopback"
ADMIN_ROLES = "reader,member,admin"
MEMBER_ROLES = "reader,member"
ADMIN_TOKEN = "admin:admin"
#: The external network made at start, and its subnet (TEST-NET-3, RFC 5737).
PUBLIC_NETWORK = "public"
PUBLIC_CIDR = "203.0.113.0/24"
PUBLIC_GATEWAY = "203.0.113.1"

#: Neutron's options, by group. Values a test asks for are added on top.
BASE_OPTIONS: dict[str, dict[str, object]] = {
    "DEFAULT": {
        "core_plugin": "ml2",
        "service_plugins": "router",
        "auth_strategy": "noauth",
        "transport_url": "fake:/",
        "allow_overlapping_ips": True,
        # No Nova to tell about port changes here.
        "notify_nova_on_port_status_changes": False,
        "notify_nova_on_port_data_changes": False,
        "use_stderr": False,
        "debug": False,
        # Neutron pages only where this is set (-1: no ceiling).
        "pagination_max_limit": -1,
    },
    "ml2": {
        "type_drivers": "flat,vlan,vxlan",
        "tenant_network_types": "vxlan",
        # Binds every port given a host (see `_register_binder`): Nova's compute
        # service, when it uses this Neutron, gets ports it can plug.
        "mechanism_drivers": BINDER,
        "extension_drivers": "port_security",
    },
    "ml2_type_flat": {"flat_networks": PUBLIC_NETWORK},
    "ml2_type_vxlan": {"vni_ranges": "1:100000"},
    "ml2_type_vlan": {"network_vlan_ranges": ""},
    "securitygroup": {"enable_security_group": True},
    "quotas": {
        "quota_network": -1,
        "quota_subnet": -1,
        "quota_port": -1,
        "quota_router": -1,
        "quota_floatingip": -1,
        "quota_security_group": -1,
        "quota_security_group_rule": -1,
    },
}


def _options(state_dir: str) -> dict[str, dict[str, object]]:
    options = {group: dict(values) for group, values in BASE_OPTIONS.items()}
    options["DEFAULT"]["api_paste_config"] = _api_paste_config()
    options["DEFAULT"]["state_path"] = state_dir
    log_path = os.environ.get("PYOCCI_NEUTRON_LOG")
    if log_path:
        options["DEFAULT"]["log_file"] = log_path
    options["database"] = {"connection": _database(state_dir)}
    options["oslo_concurrency"] = {"lock_path": os.path.join(state_dir, "lock")}
    for name, value in json.loads(os.environ.get("PYOCCI_NEUTRON_CONFIG") or "{}").items():
        group, _, option = name.rpartition(".")
        options.setdefault(group or "DEFAULT", {})[option] = value
    return options


def _database(state_dir: str) -> str:
    return f"sqlite:///{os.path.join(state_dir, 'neutron.db')}"


def _write_config(state_dir: str) -> str:
    """neutron.conf holding every option (oslo.config's INI format)."""
    path = os.path.join(state_dir, "neutron.conf")
    with open(path, "w") as config:
        for group, values in _options(state_dir).items():
            config.write(f"[{group}]\n")
            for option, value in values.items():
                if isinstance(value, bool):
                    value = str(value).lower()
                config.write(f"{option} = {value}\n")
            config.write("\n")
    return path


def _api_paste_config() -> str:
    # The wheel installs api-paste.ini under <venv>/etc/neutron.
    path = os.path.join(sys.prefix, "etc", "neutron", "api-paste.ini")
    if not os.path.exists(path):
        raise FileNotFoundError(f"Neutron's api-paste.ini is not at {path}")
    return path


def _create_schema(connection: str) -> None:
    """The schema from Neutron's models (as its unit tests make it), not its migrations."""
    import sqlalchemy
    from neutron.db.migration.models import head  # noqa: F401 - registers every model
    from neutron_lib.db import model_base

    engine = sqlalchemy.create_engine(connection)
    model_base.BASEV2.metadata.create_all(engine)
    engine.dispose()


class LoopbackMechanismDriver:
    """An ML2 mechanism driver that binds any port on any host, without agents.

    Real drivers bind a port once an agent on the port's host reports how it
    plugs it; here no agent runs, so ports are bound as Open vSwitch ports,
    filtered and active, as soon as a host asks for them.
    """

    @staticmethod
    def make():
        """The driver class, built on neutron-lib's base once Neutron is importable."""
        from neutron_lib.api.definitions import portbindings
        from neutron_lib.plugins.ml2 import api

        class Driver(api.MechanismDriver):
            def initialize(self) -> None:
                pass

            def bind_port(self, context) -> None:
                for segment in context.segments_to_bind:
                    context.set_binding(
                        segment[api.ID],
                        portbindings.VIF_TYPE_OVS,
                        {portbindings.CAP_PORT_FILTER: True},
                        status="ACTIVE",
                    )
                    return

        return Driver


def _register_binder(state_dir: str) -> None:
    """Make `LoopbackMechanismDriver` loadable by name, as ML2 loads its drivers.

    ML2 finds drivers through entry points; a distribution's metadata on the
    path, written here, declares this one.
    """
    metadata = os.path.join(state_dir, "pyocci_neutron_binder-1.0.dist-info")
    os.makedirs(metadata)
    with open(os.path.join(metadata, "METADATA"), "w") as file:
        file.write("Metadata-Version: 2.1\nName: pyocci-neutron-binder\nVersion: 1.0\n")
    with open(os.path.join(metadata, "entry_points.txt"), "w") as file:
        file.write(f"[neutron.ml2.mechanism_drivers]\n{BINDER} = neutron_binder:Driver\n")
    with open(os.path.join(state_dir, "neutron_binder.py"), "w") as file:
        file.write(
            "from neutron_launcher import LoopbackMechanismDriver\n"
            "Driver = LoopbackMechanismDriver.make()\n"
        )
    sys.path.append(state_dir)


def _build_app(state_dir: str):
    """Neutron's API WSGI application, configured as neutron-server configures it."""
    from neutron.common import config
    from neutron.server import api

    _register_binder(state_dir)
    config.register_common_config_options()
    config.init(["--config-file", _write_config(state_dir)], prog="neutron-api")
    config.setup_logging()
    config.set_config_defaults()
    _create_schema(_database(state_dir))
    return api.api_server()


def _reply(start_response, status: str, body: dict):
    payload = json.dumps(body).encode()
    start_response(
        status, [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))]
    )
    return [payload]


def _dispatcher(neutron_app):
    """Counts requests, and turns ``X-Auth-Token: user:project`` into Neutron's context."""
    from neutron_lib import context

    served = {"requests": 0}

    def dispatch(environ: dict, start_response):
        path = environ.get("PATH_INFO", "")
        if path == COUNTER_PATH:
            # How many API requests were served: lets a test count a client's calls.
            return _reply(start_response, "200 OK", served)
        served["requests"] += 1
        user, _, project = environ.get("HTTP_X_AUTH_TOKEN", "").partition(":")
        if user and project:
            # What keystonemiddleware would put in the request, then Neutron's own
            # context built from it, as its Keystone pipeline does.
            environ["HTTP_X_USER_ID"] = user
            environ["HTTP_X_PROJECT_ID"] = project
            environ["HTTP_X_ROLES"] = ADMIN_ROLES if user == "admin" else MEMBER_ROLES
            if environ.get("HTTP_X_SERVICE_TOKEN"):
                # A service (Nova) acting for the user: what Keystone would say of it.
                environ["HTTP_X_SERVICE_ROLES"] = "service"
            environ["neutron.context"] = context.Context.from_environ(environ)
        elif path.rstrip("/") not in ("", "/v2.0"):
            # Version documents are public, as in a real cloud.
            return _reply(
                start_response,
                "401 Unauthorized",
                {"error": {"code": 401, "message": "X-Auth-Token must be '<user>:<project>'"}},
            )
        return neutron_app(environ, start_response)

    return dispatch


class _QuietHandler(WSGIRequestHandler):
    """No access log on stderr (the test run reads nothing there)."""

    def log_message(self, format: str, *args: object) -> None:
        pass


def _admin_post(url: str, path: str, body: dict) -> dict:
    request = urllib.request.Request(
        url + path,
        data=json.dumps(body).encode(),
        headers={"X-Auth-Token": ADMIN_TOKEN, "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


def _create_public_network(url: str) -> None:
    """The external network floating IPs come from, with its subnet."""
    network = _admin_post(
        url,
        "/v2.0/networks",
        {
            "network": {
                "name": PUBLIC_NETWORK,
                "router:external": True,
                "provider:network_type": "flat",
                "provider:physical_network": PUBLIC_NETWORK,
            }
        },
    )["network"]
    _admin_post(
        url,
        "/v2.0/subnets",
        {
            "subnet": {
                "name": PUBLIC_NETWORK,
                "network_id": network["id"],
                "ip_version": 4,
                "cidr": PUBLIC_CIDR,
                "gateway_ip": PUBLIC_GATEWAY,
                "enable_dhcp": False,
            }
        },
    )


def _create_default_security_group_rules(url: str) -> None:
    """The rules every new security group starts with, as Neutron's migrations seed them.

    The schema here comes from the models, not the migrations, so the seed is
    made through the API instead: all traffic out, and, in each project's
    ``default`` group, all traffic in from the group's own members.
    """
    for ethertype in ("IPv4", "IPv6"):
        for rule in (
            {"direction": "egress", "used_in_non_default_sg": True},
            {"direction": "ingress", "remote_group_id": "PARENT", "used_in_non_default_sg": False},
        ):
            body = {"ethertype": ethertype, "used_in_default_sg": True, **rule}
            _admin_post(
                url, "/v2.0/default-security-group-rules", {"default_security_group_rule": body}
            )


def _watch_stdin(server: WSGIServer) -> None:
    # The parent holds our stdin open; end of file means it has gone.
    while os.read(sys.stdin.fileno(), 1024):
        pass
    server.shutdown()


def main() -> int:
    """Configure Neutron, serve its API until told to stop, then clean up."""
    state_dir = tempfile.mkdtemp(prefix="pyocci-neutron-")
    try:
        app = _dispatcher(_build_app(state_dir))
        # One request at a time: SQLite serialises writes anyway, and a single
        # thread keeps Neutron's database sessions out of each other's way.
        server = make_server("127.0.0.1", 0, app, handler_class=_QuietHandler)
        url = f"http://127.0.0.1:{server.server_port}"
        serving = threading.Thread(target=server.serve_forever, daemon=True)
        serving.start()
        _create_public_network(url)
        _create_default_security_group_rules(url)

        def stop(*_arguments: object) -> None:
            threading.Thread(target=server.shutdown, daemon=True).start()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        threading.Thread(target=_watch_stdin, args=(server,), daemon=True).start()
        print(json.dumps({"url": url}), flush=True)
        serving.join()
        server.server_close()
    finally:
        shutil.rmtree(state_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception:
        traceback.print_exc(file=sys.__stderr__)
        sys.exit(1)
