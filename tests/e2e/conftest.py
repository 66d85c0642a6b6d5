"""Fixtures of the end-to-end tests: real ``occi-server`` processes and httpx clients.

A module-scoped server (``server``) is shared by the tests of a module that
only add state of their own; modules that need a clean or specially
configured server start their own with `start_server`. ``database_kind``
runs a module on SQLite and on PostgreSQL (a fresh database per server, on
the session's PostgreSQL cluster from ``tests/conftest.py``).

``backend_name`` runs a module (or a test) once per backend it is marked
for: ``pytestmark = pytest.mark.backends("sim", "ec2", "openstack", "memory")``;
unmarked tests run on sim only. The sim runs twice, on SQLite and on
PostgreSQL (``sim-postgresql``), and a third time as a site that scaled out
(``sim-haproxy``: two occi-server processes on two loopback hosts, one
PostgreSQL database, HAProxy in front; see `tests/scaleout.py`), unless the
test chooses databases itself.
The memory backend (the reference backend) needs only its name. The ec2
backend is served from a moto EC2 server started for the module
(``moto``), reset before each server starts. The openstack backend is
served from the session's real Nova (``nova``, see `tests/novafixture.py`);
each module's server acts for a tenant of its own (Nova servers carry their
tenant's tag), and the servers a module booted are deleted when it ends.
Tests on openstack are marked ``openstack`` (CI runs them with the
OpenStack backend's own tests). The opennebula backend is served from the
session's real oned (``one_cloud``, see `tests/opennebula_cloud.py`) through
its administrator as the service account; each module's server keeps its
tenants' groups under a prefix of its own, and the VMs a module made are
terminated when it ends. Tests on opennebula are marked ``opennebula``.
"""

from __future__ import annotations

import contextlib
import datetime
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from e2e.occiclient import DEBIAN, LARGE, SMALL, UBUNTU
from e2e.server import (
    EC2_OS_TPL,
    EC2_RESOURCE_TPL,
    OPENSTACK_OS_TPL,
    OPENSTACK_RESOURCE_TPL,
    Offer,
    RunningServer,
    StartServer,
    occi_server,
)
from motoserver import MotoServer, moto_server, toml_settings
from novafixture import OPENSTACK_MARKER, session_nova
from novaserver import ADMIN_TOKEN, NovaServer
from opennebula_cloud import OPENNEBULA_MARKER, OneCloud, session_cloud
from pyocci.backends.memory.catalogue import OS_TPL_SCHEME as MEMORY_OS_TPL
from pyocci.backends.opennebula.catalogue import OS_TPL_SCHEME as OPENNEBULA_OS_TPL
from pyocci.backends.opennebula.catalogue import RESOURCE_TPL_SCHEME as OPENNEBULA_RESOURCE_TPL
from pyocci.backends.opennebula.catalogue import template_term
from scaleout import scaled_out

DATABASES = ("sqlite", "postgresql")
#: The sim backend with its store on the session's PostgreSQL cluster.
SIM_ON_POSTGRESQL = "sim-postgresql"
#: The sim backend served by two hosts on one PostgreSQL database, behind HAProxy.
SIM_SCALED_OUT = "sim-haproxy"
OPENSTACK = "openstack"
MEMORY = "memory"
OPENNEBULA = "opennebula"
#: Images of Nova's fake Glance that boot on its fake hosts (some others fit no host).
NOVA_IMAGE = "155d900f-4e14-4e4c-a73d-069cbf4541e6"
NOVA_OTHER_IMAGE = "76fa36fc-c930-4bf3-8c8a-ea2a2420deb6"
#: Nova's default flavors m1.tiny (1 vCPU, 512 MiB) and m1.medium (2 vCPUs, 4 GiB).
NOVA_SMALL, NOVA_LARGE = "1", "3"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "e2e: end-to-end tests driving a real occi-server process over HTTP"
    )
    config.addinivalue_line(
        "markers",
        "backends(*names): the backends (sim, ec2, openstack, memory, opennebula) a test "
        "runs against; "
        "sim if unmarked",
    )
    config.addinivalue_line("markers", OPENSTACK_MARKER)
    config.addinivalue_line("markers", OPENNEBULA_MARKER)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize ``backend_name`` with the backends the test is marked for."""
    if "backend_name" not in metafunc.fixturenames:
        return
    marker = metafunc.definition.get_closest_marker("backends")
    names = marker.args if marker is not None else ("sim",)
    if "database_kind" not in metafunc.fixturenames:
        # The sim keeps everything in the store: serve it from PostgreSQL as well, by one
        # process and by two hosts behind a load balancer.
        sims = ("sim", SIM_ON_POSTGRESQL, SIM_SCALED_OUT)
        names = tuple(v for n in names for v in (sims if n == "sim" else (n,)))
    # The openstack and opennebula runs need their clouds: marked, so that CI can run them
    # in stages of their own.
    cloud_marks = {OPENSTACK: pytest.mark.openstack, OPENNEBULA: pytest.mark.opennebula}
    params = [pytest.param(n, marks=cloud_marks[n]) if n in cloud_marks else n for n in names]
    metafunc.parametrize("backend_name", params, scope="module")


@pytest.fixture(scope="module")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    """A moto EC2 server (with the test AMIs) for the module's ec2 servers."""
    with moto_server(tmp_path_factory.mktemp("moto")) as server:
        yield server


def ec2_config(moto: MotoServer, config: str | None = None, **settings: object) -> str:
    """A configuration serving the ec2 backend on `moto`, after `config`'s other tables."""
    head = 'backend = "ec2"\n'
    return head + (config or "") + "\n" + toml_settings(moto.backend_settings(**settings))


@pytest.fixture(scope="session")
def nova(request: pytest.FixtureRequest) -> NovaServer:
    """The session's Nova (one process, shared with the OpenStack backend tests)."""
    return session_nova(request.config)


@pytest.fixture(scope="module")
def nova_sdk(nova: NovaServer) -> Iterator[Any]:
    """openstacksdk on the session's Nova, as its administrator: Nova as the ``openstack``
    CLI sees it."""
    import openstack

    connection = openstack.connect(
        auth_type="admin_token",
        auth={"token": ADMIN_TOKEN, "endpoint": nova.compute_url},
        compute_endpoint_override=nova.compute_url,
        image_endpoint_override=nova.image_url,
        load_yaml_config=False,
        load_envvars=False,
    )
    try:
        yield connection
    finally:
        connection.close()


def openstack_config(nova: NovaServer, config: str | None = None) -> str:
    """A configuration serving the openstack backend on `nova` for a tenant of its own
    (unless `config` says how tenants are found), after `config`'s other tables."""
    head = 'backend = "openstack"\n'
    body = config or ""
    if "[auth]" not in body:
        body += f'\n[auth]\ntenant = "e2e-{uuid.uuid4().hex[:12]}"\n'
    settings = {
        "token": ADMIN_TOKEN,
        "compute_endpoint": nova.compute_url,
        "image_endpoint": nova.image_url,
    }
    return head + body + "\n" + toml_settings(settings)


def delete_servers_since(sdk: Any, since: datetime.datetime) -> None:
    """Delete the OCCI-made Nova servers booted since `since` (a module's own), so that
    Nova does not keep building and listing them for the rest of the session."""
    for server in sdk.compute.servers(details=True, all_projects=True):
        made = datetime.datetime.fromisoformat(server.created_at.replace("Z", "+00:00"))
        tagged = any(tag.startswith("occi-tenant-") for tag in server.tags or [])
        if tagged and made >= since:
            sdk.compute.delete_server(server, ignore_missing=True)


@pytest.fixture(scope="session")
def one_cloud(request: pytest.FixtureRequest) -> OneCloud:
    """The session's oned, provisioned (shared with the OpenNebula backend tests)."""
    return session_cloud(request.config)


def opennebula_config(cloud: OneCloud, tenant_prefix: str, config: str | None = None) -> str:
    """A configuration serving the opennebula backend on `cloud`, oneadmin its service
    account, the tenants' groups and users named from `tenant_prefix`."""
    assert cloud.provisioned is not None
    user, password = cloud.admin_session.split(":", 1)
    settings = {
        "endpoint": cloud.endpoint,
        "username": user,
        "password": password,
        "tenant_prefix": tenant_prefix,
        "image_datastore": cloud.provisioned.image_datastore_id,
        "network_template": str(cloud.provisioned.vn_template_id),
        # The provisioned network every user may use, by name: /network/public.
        "public_network": "dummy-net",
        # A saved image is offered within a second of oned writing it.
        "template_ttl": 1,
    }
    return f'backend = "{OPENNEBULA}"\n' + (config or "") + "\n" + toml_settings(settings)


def opennebula_offer(cloud: OneCloud) -> Offer:
    """What the opennebula backend offers on `cloud`: its two VM templates, the sizes."""
    made = cloud.provisioned
    assert made is not None
    return Offer(
        image=OPENNEBULA_OS_TPL + template_term(made.template_id, made.template_name),
        other_image=OPENNEBULA_OS_TPL
        + template_term(made.other_template_id, made.other_template_name),
        small=OPENNEBULA_RESOURCE_TPL + "small",
        large=OPENNEBULA_RESOURCE_TPL + "large",
        needs_cidr=True,
    )


def terminate_vms_of(cloud: OneCloud, tenant_prefix: str) -> None:
    """Terminate the VMs of the groups named from `tenant_prefix` (a module's own), so that
    oned does not keep them for the rest of the session."""
    one = cloud.client()
    for vm in one.vmpool.info(-2, -1, -1, -1).VM or []:
        if vm.GNAME.startswith(tenant_prefix):
            with contextlib.suppress(Exception):
                one.vm.action("terminate-hard", vm.ID)


@pytest.fixture(scope="module")
def start_server(tmp_path_factory: pytest.TempPathFactory) -> StartServer:
    """``with start_server(config=..., database_url=..., workdir=...) as server:``.

    Without `workdir`, each server gets a new directory (and so, by default,
    a new SQLite database).
    """

    def start(
        *,
        workdir: Path | None = None,
        database_url: str | None = None,
        config: str | None = None,
        environ: dict[str, str] | None = None,
    ) -> contextlib.AbstractContextManager[RunningServer]:
        directory = workdir or tmp_path_factory.mktemp("occi-server")
        return occi_server(directory, database_url=database_url, config=config, environ=environ)

    return start


@pytest.fixture(scope="module")
def backend_config(request: pytest.FixtureRequest, backend_name: str) -> Callable[..., str | None]:
    """``backend_config(config)``: the module's configuration for its backend. For ec2,
    moto is reset (fresh state, the test AMIs again) and the backend tables added."""

    def build(config: str | None = None, **settings: object) -> str | None:
        if backend_name.startswith("sim"):
            return config
        if backend_name == MEMORY:
            return f'backend = "{MEMORY}"\n' + (config or "")
        if backend_name == OPENSTACK:
            sdk = request.getfixturevalue("nova_sdk")
            # Nova's timestamps have whole seconds: a second's margin keeps the first server.
            since = datetime.datetime.now(datetime.UTC) - datetime.timedelta(seconds=1)
            request.addfinalizer(lambda: delete_servers_since(sdk, since))
            return openstack_config(request.getfixturevalue("nova"), config)
        if backend_name == OPENNEBULA:
            cloud = request.getfixturevalue("one_cloud")
            prefix = f"e2e-{uuid.uuid4().hex[:8]}-"
            request.addfinalizer(lambda: terminate_vms_of(cloud, prefix))
            return opennebula_config(cloud, prefix, config)
        moto = request.getfixturevalue("moto")
        moto.reset()
        return ec2_config(moto, config, **settings)

    return build


@pytest.fixture(scope="module")
def server(
    request: pytest.FixtureRequest,
    backend_name: str,
    start_server: StartServer,
    backend_config: Callable[..., str | None],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[RunningServer]:
    """A server on a fresh database (SQLite, or PostgreSQL for ``sim-postgresql``; a clean
    moto for ec2), shared by the module; for ``sim-haproxy`` the balancer of two servers
    on a fresh PostgreSQL database. A module's ``SIM_CONFIG`` (TOML) configures its
    sim servers (simulated time, say)."""
    database_url = None
    if backend_name in (SIM_ON_POSTGRESQL, SIM_SCALED_OUT):
        database_url = request.getfixturevalue("postgres_server").create_database()
    config = getattr(request.module, "SIM_CONFIG", None) if backend_name.startswith("sim") else None
    if backend_name == SIM_SCALED_OUT:
        assert database_url is not None
        workdir = tmp_path_factory.mktemp("scaled-out")
        with scaled_out(workdir, database_url, config=backend_config(config)) as layout:
            yield layout.front
        return
    with start_server(config=backend_config(config), database_url=database_url) as running:
        yield running


@pytest.fixture(scope="module")
def offer(request: pytest.FixtureRequest, backend_name: str, server: RunningServer) -> Offer:
    """What the module's server offers (after it started: moto's AMIs are fresh then)."""
    if backend_name.startswith("sim"):
        return Offer(image=DEBIAN, other_image=UBUNTU, small=SMALL, large=LARGE)
    if backend_name == MEMORY:
        # The memory backend's default images, and the CRTP sizes the sim offers too.
        return Offer(
            image=MEMORY_OS_TPL + "debian-12",
            other_image=MEMORY_OS_TPL + "ubuntu-24_04",
            small=SMALL,
            large=LARGE,
        )
    if backend_name == OPENSTACK:
        return Offer(
            image=OPENSTACK_OS_TPL + NOVA_IMAGE,
            other_image=OPENSTACK_OS_TPL + NOVA_OTHER_IMAGE,
            small=OPENSTACK_RESOURCE_TPL + NOVA_SMALL,
            large=OPENSTACK_RESOURCE_TPL + NOVA_LARGE,
            needs_resource_tpl=True,
        )
    if backend_name == OPENNEBULA:
        return opennebula_offer(request.getfixturevalue("one_cloud"))
    images = request.getfixturevalue("moto").images
    return Offer(
        image=EC2_OS_TPL + images["debian-12"],
        other_image=EC2_OS_TPL + images["ubuntu-24.04"],
        small=EC2_RESOURCE_TPL + "t3_micro",
        large=EC2_RESOURCE_TPL + "m5_large",
        needs_cidr=True,
    )


@pytest.fixture(scope="module")
def http(server: RunningServer) -> Iterator[httpx.Client]:
    """An httpx client of the module's server."""
    with server.client() as client:
        yield client


@pytest.fixture(scope="module", params=DATABASES)
def database_kind(request: pytest.FixtureRequest) -> str:
    """Run the module once on SQLite, once on PostgreSQL."""
    return request.param


@pytest.fixture(scope="module")
def new_database_url(request: pytest.FixtureRequest, database_kind: str) -> Callable[[Path], str]:
    """``new_database_url(workdir)``: a fresh, empty database of the module's kind (a SQLite
    file in `workdir`, or a new database on the session's PostgreSQL cluster)."""

    def create(workdir: Path) -> str:
        if database_kind == "sqlite":
            return f"sqlite:///{workdir / 'occi.db'}"
        return request.getfixturevalue("postgres_server").create_database()

    return create
