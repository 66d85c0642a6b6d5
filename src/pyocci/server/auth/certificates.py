"""Who a TLS client certificate stands for, for the Keystone-like handshake.

The TLS layer has verified the certificate against ``[tls] client_ca``
(uvicorn hands it to the application in the ASGI TLS extension, see
`pyocci.server.uvicorn_protocol`); what is left is naming its holder and
knowing how long it lives.
"""

from __future__ import annotations

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from pyasn1.error import PyAsn1Error

from pyocci.server.auth.base import Identity

__all__ = ["MALFORMED", "PROXY_CERT_INFO", "certificate_identity", "holder_of", "is_proxy"]

#: The proxyCertInfo extension (RFC 3820 §3.8) that marks a proxy certificate.
PROXY_CERT_INFO = x509.ObjectIdentifier("1.3.6.1.5.5.7.1.14")

#: What reading a certificate (or a part of a VOMS AC) raises when it is malformed:
#: cryptography reads extensions only when asked, so these can come from any use of a
#: certificate received, not only from loading it; several are no ValueError.
MALFORMED: tuple[type[Exception], ...] = (
    ValueError,
    TypeError,
    UnsupportedAlgorithm,
    PyAsn1Error,
    x509.InvalidVersion,
    x509.DuplicateExtension,
    x509.UnsupportedGeneralNameType,
)


def is_proxy(certificate: x509.Certificate) -> bool:
    """Whether `certificate` is an RFC 3820 proxy certificate."""
    try:
        certificate.extensions.get_extension_for_oid(PROXY_CERT_INFO)
    except x509.ExtensionNotFound:
        return False
    return True


def holder_of(certificate: x509.Certificate) -> str:
    """The distinguished name (RFC 4514) of the person a certificate stands for: its
    subject, or for an RFC 3820 proxy (whose subject is its signer's plus one CN) the
    subject of the certificate that signed it."""
    subject = certificate.subject
    if is_proxy(certificate) and len(subject.rdns) > 1:
        subject = x509.Name(subject.rdns[:-1])
    return subject.rfc4514_string()


def certificate_identity(certificate: x509.Certificate, tenants: tuple[str, ...]) -> Identity:
    """The identity of a certificate's holder acting for `tenants`, expiring with it."""
    return Identity(
        user=holder_of(certificate),
        tenants=tenants,
        expires_at=certificate.not_valid_after_utc.timestamp(),
    )
