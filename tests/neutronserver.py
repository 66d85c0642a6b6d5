"""OpenStack Neutron for the tests: PyPI's ``neutron`` in its own virtual environment.

`NeutronServer.find_or_install()` makes (once, then reuses) the environment
holding a pinned ``neutron`` release; `start()` runs
`tests/neutron_launcher.py`, which serves Neutron's API in one process on a
free 127.0.0.1 port, with the external network `public` made (see
`openstackservice`).
"""

from __future__ import annotations

from typing import ClassVar

from openstackservice import ADMIN_TOKEN, Release, ServiceProcess, ServiceUnavailableError

__all__ = [
    "ADMIN_TOKEN",
    "PUBLIC_CIDR",
    "PUBLIC_NETWORK",
    "SKIP_VARIABLE",
    "NeutronServer",
    "NeutronUnavailableError",
]

NEUTRON_VERSION = "29.0.0"
# Neutron's requirements do not cap SQLAlchemy; its database layer is tested below 2.1.
NEUTRON = Release("Neutron", (f"neutron=={NEUTRON_VERSION}", "SQLAlchemy>=2.0,<2.1"))
SKIP_VARIABLE = NEUTRON.skip_variable
#: The external network the launcher makes, and its subnet.
PUBLIC_NETWORK = "public"
PUBLIC_CIDR = "203.0.113.0/24"


class NeutronUnavailableError(ServiceUnavailableError):
    """Neutron could not be installed or started."""


class NeutronServer(ServiceProcess):
    """One Neutron process: the network API at `url`.

    Options go to Neutron's configuration
    (``{"DEFAULT.pagination_max_limit": 3}``).
    """

    release: ClassVar[Release] = NEUTRON
    unavailable: ClassVar[type[ServiceUnavailableError]] = NeutronUnavailableError
