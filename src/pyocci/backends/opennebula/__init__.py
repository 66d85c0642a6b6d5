"""The OpenNebula backend: OCCI in front of oned, through pyone (XML-RPC).

The files, in the order to read them:

- `backend`: `OpenNebulaBackend` and `build` (the entry point);
- `settings`: what ``[backend_settings]`` may say;
- `api`: pyone's calls, off the event loop, oned's errors translated;
- `tenancy`: one OpenNebula group per tenant, and the session acting in it;
- `catalogue`: VM templates as os_tpl, configured sizes as resource_tpl;
- `records` and `states`: what oned answers, read;
- `compute`: VMs as computes;
- `storage`, `network`, `links`: images, virtual networks, disks and NICs;
- `security` and `rules`: security groups, their rules, and their links.
"""

from pyocci.backends.opennebula.backend import OpenNebulaBackend, build
from pyocci.backends.opennebula.settings import OpenNebulaSettings

__all__ = ["OpenNebulaBackend", "OpenNebulaSettings", "build"]
