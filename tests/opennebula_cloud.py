"""A real OpenNebula front-end per test session: OpenNebula's own ``oned`` with its dummy
drivers, on loopback, provisioned through pyone.

It comes from ``shared/opennebula`` beside the repository: OpenNebula's
source tarball and the scripts that build it (``ci-one-dummy.sh``: Debian's
build packages, ``scons``, ``install.sh``; 4 to 12 minutes on two cores),
configure it as a loopback-only cloud with the dummy hypervisor
(``configure.sh``) and start and stop it (``start.sh``, ``stop.sh``). The
built install is kept as a tarball in ``~/.cache/pyocci-tests/one-dummy``
(``PYOCCI_ONE_CACHE_DIR`` elsewhere), where the script itself caches it, so
later sessions restore it in seconds.

Each session gets a fresh cloud: the install unpacked into a new temporary
directory (a new ``var/one.db``), ``oned`` on a free port, then, as
``oneadmin``: a dummy host, a second cluster with a dummy host of its own
(an availability zone), a dummy system and image datastore, a dummy virtual
network with an address range, two OS images and a VM template of each that
every user may use (`OneCloud.provision`). `OneCloud.tenant` adds a group
and a user for a tenant. The cloud stops at the end of the session.

Building and running need root (``apt-get``, the ``oneadmin`` user); the
tests that need the cloud skip, saying why, when ``shared/opennebula`` is
missing or the tests are not root; ``PYOCCI_SKIP_OPENNEBULA=1`` skips them.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from debian import locked

SHARED_ONE = Path(__file__).resolve().parents[2] / "shared" / "opennebula"
SKIP_VARIABLE = "PYOCCI_SKIP_OPENNEBULA"
#: The first build compiles oned from source: minutes, more on a busy machine.
BUILD_TIMEOUT = 1800
START_TIMEOUT = 120
#: How long a new dummy host may take to be monitored (3-4 s measured).
HOST_TIMEOUT = 60

#: CPUs and GiB of memory added to the dummy host's (8 and 16) by negative reservations.
OVERCOMMIT = 1000
#: MiB of each OS image: the dummy system datastore reports 20 GiB, and each VM's disk
#: counts against it.
OS_IMAGE_MIB = 16

#: The marker of every test that needs the session's oned.
OPENNEBULA_MARKER = "opennebula: needs the session's OpenNebula oned (built once, cached)"


class CloudUnavailableError(RuntimeError):
    """oned could not be built or started."""


def cache_dir() -> Path:
    """Where the built install is kept (the script's ``ONE_CACHE_DIR``)."""
    configured = os.environ.get("PYOCCI_ONE_CACHE_DIR")
    if configured:
        return Path(configured)
    return Path.home() / ".cache" / "pyocci-tests" / "one-dummy"


def _script() -> str:
    return (SHARED_ONE / "ci-one-dummy.sh").read_text()


def source_tarball() -> Path:
    """OpenNebula's source tarball beside the scripts."""
    found = sorted(SHARED_ONE.glob("opennebula-*.tar.gz"))
    if not found:
        raise CloudUnavailableError(f"no opennebula-*.tar.gz in {SHARED_ONE}")
    return found[-1]


def cached_build(tarball: Path) -> Path:
    """Where the script keeps the install it built from `tarball`: its cache key is the
    tarball's digest and the build options, as ``ci-one-dummy.sh`` computes it."""
    options = re.search(r'^OPTS="([^"]*)"', _script(), re.MULTILINE)
    if options is None:
        raise CloudUnavailableError("ci-one-dummy.sh no longer says its OPTS; update this module")
    digest = hashlib.sha256(tarball.read_bytes()).hexdigest()[:16]
    key = hashlib.sha256(f"{digest}\n{options.group(1)}\n".encode()).hexdigest()[:16]
    return cache_dir() / f"one-install-{key}.tar.gz"


def _packages() -> list[str]:
    """The Debian packages the script installs (build and run time)."""
    block = re.search(r"apt-get install -y -qq(.*?)>\s*/dev/null", _script(), re.DOTALL)
    if block is None:
        return []
    return [word for word in block.group(1).split() if word != "\\"]


def _packages_installed() -> bool:
    packages = _packages()
    if not packages or shutil.which("dpkg-query") is None:
        return False
    done = subprocess.run(
        ["dpkg-query", "-W", "-f=${db:Status-Status}\n", *packages],
        capture_output=True,
        text=True,
        check=False,
    )
    states = done.stdout.split()
    return done.returncode == 0 and len(states) == len(packages) and set(states) == {"installed"}


def _user_exists(name: str) -> bool:
    import pwd

    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def free_port() -> int:
    """A TCP port free on loopback now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class TenantAccount:
    """A tenant's group and user on the cloud, and the session string that logs in as it."""

    name: str
    group_id: int
    user_id: int
    session: str


@dataclass
class Provisioned:
    """What `OneCloud.provision` made: the ids of the cloud's objects."""

    host_id: int
    system_datastore_id: int
    image_datastore_id: int
    network_id: int
    vn_template_id: int
    image_id: int
    template_id: int
    template_name: str
    #: A second VM template (another OS image), for what needs two.
    other_template_id: int
    other_template_name: str
    #: A second cluster (an availability zone) with a dummy host of its own, sharing the
    #: datastores, the network and the networks tenants make.
    zone_cluster_id: int
    zone_cluster_name: str


@dataclass
class OneCloud:
    """One oned: started with `start`, provisioned with `provision`, stopped with `stop`."""

    prefix: Path | None = None
    port: int = 0
    #: ``oneadmin:<password>``: the administrator's session string.
    admin_session: str = ""
    provisioned: Provisioned | None = None
    #: Seconds each phase took (build or restore, start, provision), for reports.
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def endpoint(self) -> str:
        """oned's XML-RPC URL."""
        return f"http://127.0.0.1:{self.port}/RPC2"

    def _environment(self) -> dict[str, str]:
        return {
            **os.environ,
            "ONE_LOCATION": str(self.prefix),
            "ONE_PORT": str(self.port),
            "ONE_CACHE_DIR": str(cache_dir()),
        }

    def _run(
        self,
        command: list[str],
        log: Path,
        timeout: float,
        environment: dict[str, str] | None = None,
    ) -> None:
        with log.open("a") as output:
            try:
                done = subprocess.run(
                    command,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    env=environment or self._environment(),
                    timeout=timeout,
                    stdin=subprocess.DEVNULL,
                    check=False,
                )
            except subprocess.TimeoutExpired as expired:
                raise CloudUnavailableError(f"{command[0]} took over {timeout} s") from expired
        if done.returncode != 0:
            tail = log.read_text(errors="replace")[-3000:]
            raise CloudUnavailableError(f"{' '.join(command)} failed ({done.returncode}):\n{tail}")

    def start(self) -> None:
        """Unpack the cached install (building it first if there is none) into a new
        directory, give it ports and a fault folder of its own, and start oned there."""
        tarball = source_tarball()
        self.prefix = Path(tempfile.mkdtemp(prefix="pyocci-one-"))
        # oned runs as oneadmin, which must reach the install through its parents.
        self.prefix.chmod(0o755)
        self.port = free_port()
        log = self.prefix.parent / f"{self.prefix.name}.log"
        with locked(cache_dir() / ".lock"):
            cached = cached_build(tarball)
            if not (cached.exists() and _user_exists("oneadmin") and _packages_installed()):
                self._build(tarball, log)
        began = time.monotonic()
        subprocess.run(["tar", "-xzf", str(cached), "-C", str(self.prefix)], check=True)
        self.timings["restore"] = time.monotonic() - began
        self._run(["bash", str(SHARED_ONE / "configure.sh")], log, START_TIMEOUT)
        self._isolate()
        began = time.monotonic()
        self._run(["bash", str(SHARED_ONE / "start.sh")], log, START_TIMEOUT)
        self.timings["start"] = time.monotonic() - began
        auth = (self.prefix / "var" / ".one" / "one_auth").read_text().strip()
        self.admin_session = auth

    def _build(self, tarball: Path, log: Path) -> None:
        """apt-get, build into the cache (the script then starts what it built, with the
        stock ports: stopped at once, and thrown away)."""
        began = time.monotonic()
        scratch = Path(tempfile.mkdtemp(prefix="pyocci-one-build-"))
        scratch.chmod(0o755)
        environment = {**self._environment(), "ONE_LOCATION": str(scratch)}
        try:
            command = ["bash", str(SHARED_ONE / "ci-one-dummy.sh"), str(tarball), str(scratch)]
            self._run(command, log, BUILD_TIMEOUT, environment)
        finally:
            subprocess.run(
                ["bash", str(SHARED_ONE / "stop.sh")],
                env=environment,
                capture_output=True,
                timeout=60,
                check=False,
            )
            shutil.rmtree(scratch, ignore_errors=True)
        self.timings["build"] = time.monotonic() - began

    def _isolate(self) -> None:
        """Ports and a fault folder of this cloud's own, where the stock configuration
        fixes them for the machine (the hook manager's 2101 and 2102, monitord's 4124,
        the dummy driver's /tmp/opennebula_dummy_actions): several clouds (test sessions)
        can then run on one machine at once."""
        assert self.prefix is not None
        etc = self.prefix / "etc"
        oned = etc / "oned.conf"
        text = oned.read_text()
        hooks = f"-p {free_port()} -l {free_port()} -b 127.0.0.1"
        text, found = re.subn(r"-p 2101 -l 2102 -b 127\.0\.0\.1", hooks, text)
        monitord = etc / "monitord.conf"
        monitor_text, monitor_found = re.subn(
            r"(?m)^(\s*PORT\s*=\s*)4124,", rf"\g<1>{free_port()},", monitord.read_text()
        )
        driver = self.prefix / "lib" / "mads" / "one_vmm_dummy.rb"
        driver_text, driver_found = re.subn(
            r'(?m)^DUMMY_ACTIONS_DIR = ".*"$',
            f'DUMMY_ACTIONS_DIR = "{self.fault_folder}"',
            driver.read_text(),
        )
        if (found, monitor_found, driver_found) != (1, 1, 1):
            raise CloudUnavailableError(
                "oned.conf, monitord.conf or one_vmm_dummy.rb no longer hold the stock ports "
                "and folder this module moves; update OneCloud._isolate"
            )
        oned.write_text(text)
        monitord.write_text(monitor_text)
        driver.write_text(driver_text)
        self.fault_folder.mkdir()
        shutil.chown(self.fault_folder, "oneadmin", "oneadmin")

    @property
    def fault_folder(self) -> Path:
        """Where a file named after a dummy driver action (``deploy``...) holding
        ``failure`` makes the next such action fail (OpenNebula's dummy VMM driver)."""
        assert self.prefix is not None
        return self.prefix / "var" / "dummy_actions"

    def stop(self) -> None:
        """Stop oned and its probes, and delete the install."""
        if self.prefix is None:
            return
        subprocess.run(
            ["bash", str(SHARED_ONE / "stop.sh")],
            env=self._environment(),
            capture_output=True,
            timeout=60,
            check=False,
        )
        shutil.rmtree(self.prefix, ignore_errors=True)
        with contextlib.suppress(FileNotFoundError):
            (self.prefix.parent / f"{self.prefix.name}.log").unlink()
        self.prefix = None

    @contextlib.contextmanager
    def oned_stopped(self) -> Iterator[None]:
        """oned stopped for the block (its database kept), then started again on the same
        port and waited for until its host is monitored again: the cloud is usable after."""
        if self.prefix is None:
            raise CloudUnavailableError("the cloud is not running")
        log = self.prefix.parent / f"{self.prefix.name}.log"
        self._run(["bash", str(SHARED_ONE / "stop.sh")], log, START_TIMEOUT)
        try:
            yield
        finally:
            self._run(["bash", str(SHARED_ONE / "start.sh")], log, START_TIMEOUT)
            if self.provisioned is not None:
                self._wait_monitored(
                    self.client(), self.provisioned.host_id, self.provisioned.system_datastore_id
                )

    def _wait_monitored(self, one: Any, host_id: int, system_id: int) -> None:
        """Until the host is monitored and the system datastore measured: the scheduler
        places VMs only then."""
        self._wait(lambda: one.host.info(host_id).STATE == 2, HOST_TIMEOUT, "the dummy host")
        self._wait(
            lambda: int(one.datastore.info(system_id).FREE_MB) > 0,
            HOST_TIMEOUT,
            "the system datastore's monitoring",
        )

    def client(self, session: str | None = None) -> Any:
        """A pyone client of this cloud (as the administrator unless `session` says)."""
        import pyone

        return pyone.OneServer(self.endpoint, session=session or self.admin_session)

    # --- provisioning ---------------------------------------------------------------

    def provision(self) -> Provisioned:
        """The cloud's objects, made through pyone: a dummy host (monitored), dummy
        datastores, a dummy network, two OS images (ready) and a template using each. The
        image, network and template are usable by every user."""
        began = time.monotonic()
        one = self.client()
        zone_name = "zone-b"
        zone_id = one.cluster.allocate(zone_name)
        host_id = one.host.allocate("dummy-host", "dummy", "dummy", -1)
        zone_host_id = one.host.allocate("dummy-host-b", "dummy", "dummy", zone_id)
        # A dummy host reports 8 CPUs and 16 GiB: negative reservations (oned's
        # overcommitment) give it room for the hundreds of VMs a session boots.
        for each_host in (host_id, zone_host_id):
            one.host.update(
                each_host,
                f'RESERVED_CPU = "{-OVERCOMMIT * 100}"\n'
                f'RESERVED_MEM = "{-OVERCOMMIT * 1024 * 1024}"',
                1,
            )
        system_id = one.datastore.allocate(
            'NAME = "dummy-system"\nTYPE = "SYSTEM_DS"\nTM_MAD = "dummy"', -1
        )
        # LIMIT_MB: room for images at once, before oned's first monitoring of the
        # datastore (up to 30 s) has measured it.
        images_id = one.datastore.allocate(
            'NAME = "dummy-images"\nDS_MAD = "dummy"\nTM_MAD = "dummy"\nLIMIT_MB = "204800"',
            -1,
        )
        network_id = one.vn.allocate(
            'NAME = "dummy-net"\nVN_MAD = "dummy"\nBRIDGE = "br0"\n'
            'AR = [ TYPE = "IP4", IP = "10.0.0.2", SIZE = "200" ]',
            -1,
        )
        # What tenants make their own networks from (users may not allocate networks
        # in a cluster; instantiating a shared VN template needs only its USE).
        # In both clusters, so that a VM on either host may have a NIC on them.
        vn_template_id = one.vntemplate.allocate(
            f'NAME = "private"\nVN_MAD = "dummy"\nBRIDGE = "br0"\nCLUSTER_IDS = "0,{zone_id}"'
        )
        for datastore_id in (system_id, images_id):
            one.cluster.adddatastore(zone_id, datastore_id)
        one.cluster.addvnet(zone_id, network_id)
        one.vntemplate.chmod(vn_template_id, 1, 1, 0, 1, 0, 0, 1, 0, 0)
        image_id = one.image.allocate(
            f'NAME = "debian-12"\nTYPE = "OS"\nPATH = "/dev/null"\nSIZE = "{OS_IMAGE_MIB}"',
            images_id,
        )
        other_image_id = one.image.allocate(
            f'NAME = "ubuntu-24.04"\nTYPE = "OS"\nPATH = "/dev/null"\nSIZE = "{OS_IMAGE_MIB}"',
            images_id,
        )
        template_name, other_template_name = "Debian 12 (dummy)", "Ubuntu 24.04 (dummy)"
        template_id, other_template_id = (
            one.template.allocate(
                f'NAME = "{name}"\nCPU = "0.5"\nVCPU = "1"\nMEMORY = "256"\n'
                f'DISK = [ IMAGE_ID = "{disk_image}" ]\n'
                f'SCHED_DS_REQUIREMENTS = "ID = {system_id}"'
            )
            for name, disk_image in (
                (template_name, image_id),
                (other_template_name, other_image_id),
            )
        )
        # Every user may use them (OTHER_U): what a site shares with its tenants.
        for pool, object_id in (
            ("image", image_id),
            ("image", other_image_id),
            ("vn", network_id),
            ("template", template_id),
            ("template", other_template_id),
        ):
            getattr(one, pool).chmod(object_id, 1, 1, 0, 1, 0, 0, 1, 0, 0)
        for datastore_id in (system_id, images_id):
            one.datastore.chmod(datastore_id, 1, 1, 0, 1, 0, 0, 1, 0, 0)
        for made_image in (image_id, other_image_id):
            self._wait(
                lambda made_image=made_image: one.image.info(made_image).STATE == 1,
                HOST_TIMEOUT,
                "the images",
            )
        # The scheduler places VMs only on a system datastore it has measured (the
        # dummy host reports it a few seconds after it is monitored).
        self._wait_monitored(one, host_id, system_id)
        self._wait_monitored(one, zone_host_id, system_id)
        self.provisioned = Provisioned(
            host_id=host_id,
            system_datastore_id=system_id,
            image_datastore_id=images_id,
            network_id=network_id,
            vn_template_id=vn_template_id,
            image_id=image_id,
            template_id=template_id,
            template_name=template_name,
            other_template_id=other_template_id,
            other_template_name=other_template_name,
            zone_cluster_id=zone_id,
            zone_cluster_name=zone_name,
        )
        self.timings["provision"] = time.monotonic() - began
        return self.provisioned

    def tenant(self, name: str) -> TenantAccount:
        """A group named `name` with one user (``<name>-user``) whose primary group it is,
        allowed to create what a tenant creates (``onegroup create``'s default rights)."""
        one = self.client()
        group_id = one.group.allocate(name)
        # VMs, images, networks... may be created by the group's users (the CLI's
        # default for a new group); the API's allocate grants nothing.
        from pyone.acl import OneAcl

        rights = "VM+NET+IMAGE+TEMPLATE+DOCUMENT+SECGROUP+VMGROUP+BACKUPJOB/* CREATE"
        one.acl.addrule(*OneAcl().parse_rule(f"@{group_id} {rights}"))
        password = hashlib.sha256(f"{name}-{time.time_ns()}".encode()).hexdigest()[:24]
        user_name = f"{name}-user"
        user_id = one.user.allocate(user_name, password, "core", [group_id])
        return TenantAccount(name, group_id, user_id, f"{user_name}:{password}")

    @staticmethod
    def _wait(condition: Any, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise CloudUnavailableError(f"{what} was not ready within {timeout} s")
            time.sleep(0.2)


def ensure_can_run() -> None:
    """Skip the calling test, saying why, when no cloud can be built or started here."""
    if os.environ.get(SKIP_VARIABLE) == "1":
        pytest.skip(f"{SKIP_VARIABLE}=1: the OpenNebula tests are skipped")
    if not (SHARED_ONE / "ci-one-dummy.sh").is_file():
        pytest.skip(f"{SHARED_ONE} is missing: no OpenNebula to test with")
    if os.geteuid() != 0:
        pytest.skip("building and running oned needs root (apt-get, the oneadmin user)")
    try:
        import pyone  # noqa: F401
    except ImportError:
        pytest.skip("pyone is not installed (pip install -e '.[test]')")


@contextlib.contextmanager
def running_cloud() -> Iterator[OneCloud]:
    """A started and provisioned cloud for the block, stopped after it."""
    ensure_can_run()
    cloud = OneCloud()
    try:
        cloud.start()
        cloud.provision()
    except Exception as error:
        # Whatever failed, the oned started is stopped: it holds ports and memory.
        cloud.stop()
        pytest.fail(f"OpenNebula unavailable: {error} (set {SKIP_VARIABLE}=1 to skip)")
    try:
        yield cloud
    finally:
        cloud.stop()


_RUNNING = pytest.StashKey[OneCloud]()


def session_cloud(config: pytest.Config) -> OneCloud:
    """The session's cloud, started on first use and stopped when the session ends
    (shared by every test directory that asks for it)."""
    cloud = config.stash.get(_RUNNING, None)
    if cloud is not None:
        return cloud
    stack = contextlib.ExitStack()
    cloud = stack.enter_context(running_cloud())
    config.stash[_RUNNING] = cloud
    config.add_cleanup(stack.close)
    return cloud
