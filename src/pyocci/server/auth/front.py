"""Client certificates passed on by a TLS-terminating front (Apache httpd's mod_ssl).

Behind such a front, occi-server never sees the client's TLS handshake: the
front passes the client's certificate and chain on in request headers, as
Apache does with ``SSLOptions +ExportCertData`` and::

    RequestHeader set X-SSL-Client-Cert "%{SSL_CLIENT_CERT}s"
    RequestHeader set X-SSL-Client-Cert-Chain-0 "%{SSL_CLIENT_CERT_CHAIN_0}s"
    ...

Anyone can send such headers, so they are read only from the configured
front addresses (`FrontCertificates.trusted`), judged by the address of the
connection's peer, never by ``X-Forwarded-For``: the ASGI server replaces
the scope's ``client`` with what that header says, so the peer is kept
aside as the scope extension `PEER_EXTENSION` (by
`pyocci.server.uvicorn_protocol`, and for granian by `remember_peer`), and
the application hands it to the authenticator in `current_peer`. Without that
extension (the app served by another ASGI server) the peer is unknown and no
certificate header is taken. Even from a front, the certificates are data to
verify, not a verdict (`pyocci.server.auth.proxy_chain`).
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from collections.abc import Mapping, Sequence
from contextvars import ContextVar
from urllib.parse import unquote

from cryptography import x509
from starlette.types import ASGIApp, Receive, Scope, Send

from pyocci.server.auth.base import RefusedError
from pyocci.server.auth.certificates import MALFORMED

__all__ = [
    "CERTIFICATE_HEADER",
    "CHAIN_HEADER_PREFIX",
    "MAX_CHAIN_HEADERS",
    "PEER_EXTENSION",
    "FrontCertificates",
    "HeaderRefusedError",
    "current_peer",
    "parse_addresses",
    "peer_of",
    "remember_peer",
]

#: The header holding the client's own certificate (PEM), lower case.
CERTIFICATE_HEADER = "x-ssl-client-cert"
#: The headers holding the rest of the chain it sent: ``<prefix>0``, ``<prefix>1``...
CHAIN_HEADER_PREFIX = "x-ssl-client-cert-chain-"
#: How many chain headers are read: a proxy of a proxy, its user, two intermediates and more.
MAX_CHAIN_HEADERS = 10
#: The scope extension that keeps the connection's peer, ``(host, port)``.
PEER_EXTENSION = "pyocci.peer"
#: The connection's peer address of the request being authenticated (set by the app).
current_peer: ContextVar[str | None] = ContextVar("current_peer", default=None)

# What Apache writes for a variable that is not set (a client without a certificate,
# a chain shorter than the headers configured).
_UNSET = {"", "(null)"}
_PEM = re.compile(
    r"-----BEGIN CERTIFICATE-----(?P<body>[A-Za-z0-9+/=\s]+)-----END CERTIFICATE-----"
)
# The longest header value read: a certificate with many extensions fits in 16 KiB.
_MAX_VALUE = 16384


class HeaderRefusedError(RefusedError):
    """A certificate header cannot be read; `reason` says why, for the client."""


def parse_addresses(text: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """Addresses or networks, separated by commas (``127.0.0.1, 10.1.0.0/24, ::1``);
    ValueError naming the one that is not."""
    networks = []
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(f"{item!r} is not an IP address or network") from None
    return tuple(networks)


def peer_of(scope: Scope) -> str | None:
    """The host of the connection's peer: the `PEER_EXTENSION` the ASGI server kept; None
    when it kept none. Never the scope's ``client``, which the ASGI server rewrites from
    ``X-Forwarded-For`` (uvicorn with ``forwarded_allow_ips``): a client sending
    ``X-Forwarded-For: 127.0.0.1`` would pass for a front on this host."""
    extensions = scope.get("extensions") or {}
    peer = extensions.get(PEER_EXTENSION)
    if not peer or not isinstance(peer[0], str):
        return None
    return peer[0]


def remember_peer(app: ASGIApp) -> ASGIApp:
    """`app` with the peer of each request kept as `PEER_EXTENSION` before anything (a
    proxy-headers middleware wrapped inside) replaces the scope's ``client``."""

    async def remembering(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and scope.get("client"):
            scope["extensions"] = {
                **(scope.get("extensions") or {}),
                PEER_EXTENSION: scope["client"],
            }
        await app(scope, receive, send)

    return remembering


class FrontCertificates:
    """Reads the certificates a trusted front passes on."""

    def __init__(self, fronts: Sequence[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> None:
        self.fronts = tuple(fronts)

    @staticmethod
    def present(headers: Mapping[str, str]) -> bool:
        """Whether the request carries a certificate in a header: one set to anything but
        what Apache writes for a client that presented none (``(null)``)."""
        return any(
            (name == CERTIFICATE_HEADER or name.startswith(CHAIN_HEADER_PREFIX))
            and value.strip() not in _UNSET
            for name, value in headers.items()
        )

    def trusted(self, peer: str | None) -> bool:
        """Whether `peer` (a connection's peer address) is one of the fronts."""
        if peer is None:
            return False
        try:
            address = ipaddress.ip_address(peer)
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address in network for network in self.fronts)

    @staticmethod
    def chain(headers: Mapping[str, str]) -> list[x509.Certificate]:
        """The client's certificate, then the chain it sent; empty when the client sent
        none. HeaderRefusedError when a header holds no certificate."""
        own = _certificate(headers.get(CERTIFICATE_HEADER), CERTIFICATE_HEADER)
        if own is None:
            return []
        chain = [own]
        for index in range(MAX_CHAIN_HEADERS):
            name = f"{CHAIN_HEADER_PREFIX}{index}"
            certificate = _certificate(headers.get(name), name)
            if certificate is not None:
                chain.append(certificate)
        return chain


def _certificate(value: str | None, name: str) -> x509.Certificate | None:
    """The certificate of a header: PEM as Apache writes it (its line breaks may have
    become spaces), or URL-encoded PEM (nginx's ``$ssl_client_escaped_cert``)."""
    if value is None or value.strip() in _UNSET:
        return None
    if len(value) > _MAX_VALUE:
        raise HeaderRefusedError(f"{name}: over {_MAX_VALUE} characters; no certificate is")
    if "%" in value:
        value = unquote(value)
    found = _PEM.search(value)
    if found is None:
        raise HeaderRefusedError(f"{name}: not a PEM certificate")
    try:
        der = base64.b64decode("".join(found.group("body").split()), validate=True)
        return x509.load_der_x509_certificate(der)
    except (binascii.Error, *MALFORMED):
        raise HeaderRefusedError(f"{name}: not a valid certificate") from None
