"""The OCCI client library: `OcciClient` speaks to any OCCI 1.1 or 1.2 endpoint.

::

    from pyocci.client import Credentials, OcciClient

    with OcciClient("http://127.0.0.1:8787", Credentials()) as occi:
        for compute in occi.list("compute"):
            print(compute.location, compute.title)
"""

from pyocci.client.auth import Credentials, CredentialsError
from pyocci.client.client import OcciClient
from pyocci.client.discovery import Discovery
from pyocci.client.errors import (
    AuthenticationError,
    ClientError,
    ConflictError,
    EntityFailedError,
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
    ProtocolError,
    RequestTimeoutError,
    ServerError,
    ServerUnreachableError,
    WaitTimeoutError,
)
from pyocci.client.templates import Template

__all__ = [
    "AuthenticationError",
    "ClientError",
    "ConflictError",
    "Credentials",
    "CredentialsError",
    "Discovery",
    "EntityFailedError",
    "ForbiddenError",
    "InvalidInputError",
    "NotFoundError",
    "OcciClient",
    "ProtocolError",
    "RequestTimeoutError",
    "ServerError",
    "ServerUnreachableError",
    "Template",
    "WaitTimeoutError",
]
