"""OpenStack behind OCCI, through openstacksdk: Nova servers as computes.

`OpenStackBackend` implements `pyocci.backends.api.Backend`;
`OpenStackSettings` reads the ``[backend_settings]`` table. Install with
``pip install 'pyocci[openstack]'``.

Modules, one job each: `settings` (configuration), `api` (the openstacksdk
connection, off the event loop, with OpenStack errors mapped to backend
errors), `catalogue` (images and flavors as templates, cached), `compute`
(servers as computes: reading, creating, resizing, actions), and `backend`.
"""

from pyocci.backends.openstack.backend import OpenStackBackend
from pyocci.backends.openstack.settings import OpenStackSettings

__all__ = ["OpenStackBackend", "OpenStackSettings"]
