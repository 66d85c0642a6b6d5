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
   VOMS file's VOMS server certificates or LSC files
   (`pyocci.server.auth.voms_ac`, `pyocci.server.auth.voms_lsc`): its FQANs
   and VOs;
4. maps ``fqan``, ``vo``, ``subject`` and ``issuer`` to tenants with the VOMS
   file's rules (`pyocci.server.auth.oidc_mapping`, as method ``oidc``
   maps claims): the first tenant is the request's; none is a 403 that
   lists the FQANs seen.

A chain or AC that does not verify is a 401 saying why; every refusal counts
as a failed attempt of the client's address in the failure throttle.
Clients send the same chain with every request: what its check decided is
remembered (by a hash of the headers) for ``[auth] cache_seconds``, never
past the chain's or the AC's expiry, so only a client's first request costs
the signature checks (about a millisecond); the throttle is asked before a
remembered outcome is, as for the other methods
(`pyocci.server.auth.outcomes.CheckedCredentials`). The front check is made
on every request: it depends on the connection, not on the chain.
"""

from __future__ import annotations

import datetime
import hashlib
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
from pyocci.server.auth.certificates import MALFORMED
from pyocci.server.auth.front import (
    CERTIFICATE_HEADER,
    CHAIN_HEADER_PREFIX,
    MAX_CHAIN_HEADERS,
    FrontCertificates,
    HeaderRefusedError,
    current_peer,
)
from pyocci.server.auth.oidc_mapping import map_tenants
from pyocci.server.auth.outcomes import CheckedCredentials, TokenOutcome
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
        cache_seconds: float = 60.0,
        cache_size: int = 1024,
        throttle: FailureThrottle | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.trust = trust
        self.front = front
        self._challenge = x509_challenge(realm)
        self._clock = clock
        # By the hash of the certificate headers; expiries on the wall clock, which
        # certificates are dated by.
        self._checked: CheckedCredentials[bytes] = CheckedCredentials(
            seconds=cache_seconds, size=cache_size, clock=clock, throttle=throttle
        )

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
        peer = current_peer.get()
        if peer is None:
            # The server this app runs in kept no peer (`PEER_EXTENSION`): where the
            # headers came from is unknown, so none is trusted. No client's fault: no
            # failure counted.
            raise AuthenticationError(
                "client certificate headers are not taken: this server cannot tell the "
                "address they came from (it runs without occi-server's HTTP protocol, "
                "which keeps the connection's peer); the operator runs it with "
                "occi-server",
                challenge=self._challenge,
            )
        throttle = self._checked.throttle
        if not self.front.trusted(peer):
            with throttle.attempt(None, address) as attempt:
                attempt.failed()
            logger.warning(
                "client certificate headers from %s refused: not a front (auth.front_addresses)",
                peer,
            )
            raise AccessDeniedError(
                f"client certificate headers are taken only from this server's TLS front; "
                f"{peer} is not one: connect through the front (its "
                "HTTPS address), which verifies your certificate at the TLS handshake"
            )
        outcome = await self._checked.outcome(
            _fingerprint(headers), lambda: self._outcome(headers), address=address
        )
        if outcome.identity is None:
            if outcome.denied:
                raise AccessDeniedError(outcome.reason)
            raise AuthenticationError(outcome.reason, challenge=self._challenge)
        throttle.succeeded(outcome.identity.user, address)
        return outcome.identity

    async def _outcome(self, headers: Mapping[str, str]) -> TokenOutcome:
        """What checking the headers' chain decides, until when it may be reused."""
        until = self._clock() + self._checked.kept.seconds
        try:
            identity = self._identity(headers)
        except AuthenticationError as refusal:
            return TokenOutcome(expires=until, tenant=None, reason=refusal.message)
        except AccessDeniedError as denial:
            return TokenOutcome(expires=until, tenant=None, reason=denial.message, denied=True)
        assert identity.expires_at is not None
        tenant = Tenant(id=identity.tenants[0], name=identity.tenants[0])
        return TokenOutcome(
            expires=min(until, identity.expires_at), tenant=tenant, identity=identity
        )

    def _identity(self, headers: Mapping[str, str]) -> Identity:
        now = datetime.datetime.fromtimestamp(self._clock(), datetime.UTC)
        try:
            certificates = self.front.chain(headers)
            if not certificates:
                raise ChainRefusedError(
                    "no client certificate: present your certificate or VOMS proxy at the "
                    "TLS handshake"
                )
            chain = verify_chain(certificates, self.trust.ca_certificates, now)
            attributes = voms_attributes(
                chain,
                self.trust.voms_certificates,
                now,
                lsc=self.trust.lsc,
                anchors=self.trust.ca_certificates,
            )
        except (HeaderRefusedError, ChainRefusedError, AcRefusedError) as refusal:
            logger.info("client certificate refused: %s", refusal.reason)
            raise AuthenticationError(refusal.reason, challenge=self._challenge) from None
        except MALFORMED as error:
            # cryptography reads extensions when asked: a malformed one shows only now.
            logger.info("client certificate refused: malformed (%s)", error)
            raise AuthenticationError(
                f"a certificate of the chain is malformed: {error}", challenge=self._challenge
            ) from None
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


def _fingerprint(headers: Mapping[str, str]) -> bytes:
    """A hash of the certificate headers: what the cache knows a chain by."""
    digest = hashlib.sha256()
    names = [CERTIFICATE_HEADER, *(f"{CHAIN_HEADER_PREFIX}{n}" for n in range(MAX_CHAIN_HEADERS))]
    for name in names:
        digest.update(headers.get(name, "").encode("utf-8", "surrogatepass"))
        digest.update(b"\0")
    return digest.digest()
