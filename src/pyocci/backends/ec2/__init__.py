"""Amazon EC2 (or any EC2-compatible cloud) behind OCCI, through boto3.

`Ec2Backend` implements `pyocci.backends.api.Backend`; `Ec2Settings`
reads the ``[backend_settings]`` table. Install with ``pip install
'pyocci[ec2]'``.

Modules, one job each: `settings` (configuration), `api` (the boto3 client,
off the event loop), `errors` (EC2 codes to backend errors), `tenancy`
(which resources are a tenant's), `placement` (VPC, subnet, groups for new
resources), `catalogue` (AMIs and instance types as templates, cached),
`ids` (OCCI ids from EC2 ids), `linkmeta` (link attributes as instance
tags), `entities` (EC2 descriptions as entities), `reading` (single reads,
pages and EC2 filters), the kit collections of `compute`, `storage`,
`network` and `security` (links from instances share `links`), `context`
(what they share), and `backend`.
"""

from pyocci.backends.ec2.backend import Ec2Backend
from pyocci.backends.ec2.settings import Ec2Settings

__all__ = ["Ec2Backend", "Ec2Settings"]
