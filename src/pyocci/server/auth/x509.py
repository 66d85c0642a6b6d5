"""Method ``x509`` - `X509Auth`: TLS client certificates.

They are verified by the ASGI server at the handshake (``[tls]``); every holder
of a valid certificate acts for ``[auth] tenant``, since neither uvicorn nor
granian hands the certificate to the app.
"""

from __future__ import annotations

from pyocci.server.auth.base import NoAuth

__all__ = ["X509Auth"]


class X509Auth(NoAuth):
    """TLS client certificates, checked by the ASGI server at the handshake.

    uvicorn and granian do not hand the client's certificate to the app, so the
    handshake is the whole check: every client whose certificate chains to
    ``[tls] client_ca`` acts for the one configured tenant. The configuration
    insists on ``require_client_certificate``, so a request without a valid
    certificate never gets this far.
    """
