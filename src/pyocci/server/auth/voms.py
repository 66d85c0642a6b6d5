"""Method ``voms`` - `VomsAuth`: X.509 certificates and VOMS proxies through a TLS front.

Sites put a TLS-terminating front (Apache httpd with mod_ssl) before
occi-server: it accepts the client's certificate or RFC 3820 proxy at the
handshake and passes the chain on in headers (`pyocci.server.auth.front`).
For each request `VomsAuth`:

1. takes the headers only from a configured front address (``[auth]
   front_addresses``), judged by the connection's peer: from anywhere else
   they are refused (403), a failure counted in the throttle;
2. verifies the chain itself against the VOMS file's CA certificates
   (`pyocci.server.auth.proxy_chain`): the holder is the end entity's subject;
3. reads and verifies the VOMS attribute certificate of a proxy against the
   VOMS file's VOMS server certificates (`pyocci.server.auth.voms_ac`): its
   FQANs and VOs;
4. maps ``fqan``, ``vo``, ``subject`` and ``issuer`` to tenants with the VOMS
   file's rules (`pyocci.server.auth.oidc_mapping`, as method ``oidc``
   maps claims): the first tenant is the request's; none is a 403 that
   lists the FQANs seen.

A chain or AC that does not verify is a 401 saying why; every refusal counts
as a failed attempt of the client's address in the failure throttle.
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable, Mapping

from pyocci.backends.api import Tenant
from pyocci.server.auth.base import (
    AccessDeniedError,
    AuthenticationError,
    Authenticator,
    Client,
    Identity,
    logger,
)
from pyocci.server.auth.front import FrontCertificates, HeaderRefusedError, current_peer
from pyocci.server.auth.oidc_mapping import map_tenants
from pyocci.server.auth.proxy_chain import ChainRefusedError, verify_chain
from pyocci.server.auth.throttle import FailureThrottle, client_address
from pyocci.server.auth.voms_ac import AcRefusedError, voms_attributes
from pyocci.server.auth.voms_trust import VomsTrust

__all__ = ["VomsAuth", "x509_challenge"]


def x509_challenge(realm: str) -> str:
    """The ``WWW-Authenticate`` of method voms: a certificate is presented to the front at
    the TLS handshake, so the challenge only names the realm."""
    return f'X509 realm="{realm}"'


class VomsAuth(Authenticator):
    """Certificates and VOMS proxies a trusted front passes on, verified here and mapped to
    tenants by their FQANs, VOs or subjects."""

    def __init__(
        self,
        trust: VomsTrust,
        front: FrontCertificates,
        *,
        realm: str = "pyocci",
        throttle: FailureThrottle | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.trust = trust
        self.front = front
        self._challenge = x509_challenge(realm)
        self._throttle = throttle if throttle is not None else FailureThrottle.disabled()
        self._clock = clock

    @property
    def challenge(self) -> str:
        return self._challenge

    async def authenticate(self, headers: Mapping[str, str], client: Client = None) -> Tenant:
        identity = await self.identify(headers, client)
        return Tenant(id=identity.tenants[0], name=identity.tenants[0])

    async def identify(self, headers: Mapping[str, str], client: Client = None) -> Identity:
        """The holder of the request's certificate and every tenant it maps to."""
        if not self.front.present(headers):
            raise AuthenticationError(
                "no client certificate: present your certificate or VOMS proxy (with its "
                "chain) to the server's HTTPS front at the TLS handshake",
                challenge=self._challenge,
            )
        address = client_address(client)
        with self._throttle.attempt(None, address) as attempt:
            try:
                identity = self._identity(headers)
            except (AuthenticationError, AccessDeniedError):
                attempt.failed()
                raise
        self._throttle.succeeded(identity.user, address)
        return identity

    def _identity(self, headers: Mapping[str, str]) -> Identity:
        peer = current_peer.get()
        if not self.front.trusted(peer):
            logger.warning(
                "client certificate headers from %s refused: not a front (auth.front_addresses)",
                peer or "an unknown address",
            )
            raise AccessDeniedError(
                f"client certificate headers are taken only from this server's TLS front; "
                f"{peer or 'this connection'} is not one: connect through the front (its "
                "HTTPS address), which verifies your certificate at the TLS handshake"
            )
        now = datetime.datetime.fromtimestamp(self._clock(), datetime.UTC)
        try:
            certificates = self.front.chain(headers)
            if not certificates:
                raise ChainRefusedError(
                    "no client certificate: present your certificate or VOMS proxy at the "
                    "TLS handshake"
                )
            chain = verify_chain(certificates, self.trust.ca_certificates, now)
            attributes = voms_attributes(chain, self.trust.voms_certificates, now)
        except (HeaderRefusedError, ChainRefusedError, AcRefusedError) as refusal:
            logger.info("client certificate refused: %s", refusal.reason)
            raise AuthenticationError(refusal.reason, challenge=self._challenge) from None
        fqans = attributes.fqans if attributes is not None else ()
        claims = {
            "fqan": list(fqans),
            "vo": list(attributes.vos) if attributes is not None else [],
            "subject": chain.holder,
            "issuer": chain.end_entity.issuer.rfc4514_string(),
        }
        tenants = map_tenants(claims, self.trust.rules)
        if not tenants:
            seen = ", ".join(fqans) if fqans else "none (a certificate or proxy without a VOMS AC)"
            logger.info("certificate of %r maps to no tenant; FQANs: %s", chain.holder, seen)
            raise AccessDeniedError(
                f"the certificate of {chain.holder!r} grants no tenant on this server: no "
                f"mapping rule matches its FQANs ({seen}) or subject; ask for a VO membership "
                "or role this server maps"
            )
        expires = chain.not_after
        if attributes is not None:
            expires = min(expires, attributes.not_after)
        logger.debug("certificate of %r acts for tenant %r", chain.holder, tenants[0])
        return Identity(user=chain.holder, tenants=tenants, expires_at=expires.timestamp())
