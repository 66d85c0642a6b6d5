"""The token endpoint of the Keystone-like handshake (``[auth] keystone_handshake``).

`IdentityEndpoint` (`endpoint`) answers the requests under ``/-/identity``
in the shape of Keystone's v3 API, with the documents of `documents` and the
token requests read by `requests`; the tokens themselves, and what they are
exchanged for, are `pyocci.server.auth.handshake`'s.
"""

from __future__ import annotations

from pyocci.server.identity.endpoint import IDENTITY_PATH, IdentityEndpoint, client_certificate

__all__ = ["IDENTITY_PATH", "IdentityEndpoint", "client_certificate"]
