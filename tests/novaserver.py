"""OpenStack Nova for the tests: PyPI's ``nova`` in its own virtual environment.

`NovaServer.find_or_install()` makes (once, then reuses) the environment
holding a pinned ``nova`` release and the few packages Nova's functional-test
fixtures import; `start()` runs `tests/nova_launcher.py`, which brings Nova
up in one process on a free 127.0.0.1 port (see `openstackservice`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import ClassVar

from openstackservice import ADMIN_TOKEN, Release, ServiceProcess, ServiceUnavailableError

__all__ = ["ADMIN_TOKEN", "SKIP_VARIABLE", "NovaServer", "NovaUnavailableError"]

NOVA_VERSION = "34.0.0"
# nova itself, then what its functional-test fixtures import but do not
# declare: Placement (run in process), wsgi-intercept, oslotest, testtools.
NOVA = Release(
    "Nova",
    (
        f"nova=={NOVA_VERSION}",
        "SQLAlchemy>=2.0,<2.1",
        "openstack-placement>=13.0",
        "wsgi-intercept>=1.13",
        "oslotest>=5.0",
        "testtools>=2.7",
    ),
)
SKIP_VARIABLE = NOVA.skip_variable


class NovaUnavailableError(ServiceUnavailableError):
    """Nova could not be installed or started."""


class NovaServer(ServiceProcess):
    """One Nova process: compute API at `compute_url`, images at `image_url`.

    Options (``{"group.option": value}``) go to Nova's configuration:
    ``{"api.max_limit": 3}``; ``{"neutron.endpoint_override": url}``,
    ``{"cinder.endpoint_template": url}`` or ``{"glance.api_servers": [url]}``
    make it use a real Neutron, Cinder or Glance instead of its fakes.
    """

    release: ClassVar[Release] = NOVA
    unavailable: ClassVar[type[ServiceUnavailableError]] = NovaUnavailableError

    def __init__(
        self,
        python: Path,
        options: dict[str, object] | None = None,
        keystone: dict[str, str] | None = None,
    ) -> None:
        super().__init__(python, options)
        #: A Keystone to check tokens with (``auth_url``, ``username``, ``password``,
        #: ``project_name`` of a service account) instead of ``user:project`` tokens.
        self.keystone = keystone

    def environment(self) -> dict[str, str]:
        return {"PYOCCI_NOVA_KEYSTONE": json.dumps(self.keystone)}

    @property
    def compute_url(self) -> str:
        """The compute API endpoint (version 2.1)."""
        return f"{self.url}/v2.1"

    @property
    def image_url(self) -> str:
        """The launcher's own small image API (Glance v2 paths below it)."""
        return f"{self.url}/image"
