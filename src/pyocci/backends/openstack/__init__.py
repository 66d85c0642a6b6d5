"""OpenStack behind OCCI, through openstacksdk: Nova servers as computes.

`OpenStackBackend` implements `pyocci.backends.api.Backend`;
`OpenStackSettings` reads the ``[backend_settings]`` table. Install with
``pip install 'pyocci[openstack]'``.

Built on the backend kit (`pyocci.backends.kit`). Modules, one job each:
`settings` (configuration), `api` (the openstacksdk connection, off the
event loop, with OpenStack errors mapped to backend errors), `catalogue`
(images and flavors as templates, cached), `zones`, one collection per part
of the cloud (`compute`, `storage`, `attachments`, `network`, `interfaces`,
`security`), and `backend`.
"""

from pyocci.backends.openstack.backend import OpenStackBackend
from pyocci.backends.openstack.settings import OpenStackSettings

__all__ = ["OpenStackBackend", "OpenStackSettings"]
