"""Method ``oidc`` - `OidcAuth`: OpenID Connect access tokens (RFC 6750 bearer tokens).

A token is taken from ``Authorization: Bearer``. A JWT access token is
checked here, against the signing keys its issuer publishes
(`pyocci.server.auth.oidc_keys`); an opaque one is sent to the trusted
issuers that take introspection requests from occi-server
(`pyocci.server.auth.oidc_introspection`, RFC 7662). Either way the issuer
must be one of the trusted issuers (`pyocci.server.auth.oidc_issuers`), the
audience one of that issuer's, the token not expired; its claims then map to
a tenant by the issuer's rules (`pyocci.server.auth.oidc_mapping`).

A refused token gets 401 with ``WWW-Authenticate: Bearer realm="...",
error="invalid_token", error_description="..."``; a provider that cannot be
reached, 503 with ``Retry-After``. Outcomes are cached like Keystone
validations (``cache_seconds``, never past the token's expiry), refused
tokens are throttled per client address, and concurrent requests with the
same token share one check.

joserfc verifies the signatures: a maintained JOSE library without HTTP of
its own, so that key sets are fetched here, asynchronously, under the
server's timeouts.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from joserfc import jws, jwt
from joserfc.errors import JoseError

from pyocci.backends.api import Tenant
from pyocci.model.values import shown
from pyocci.server.auth.base import (
    AuthenticationError,
    Authenticator,
    Client,
    Identity,
    RefusedError,
    logger,
)
from pyocci.server.auth.keystone import IdentityServiceUnavailableError
from pyocci.server.auth.oidc_http import ProviderHttp
from pyocci.server.auth.oidc_introspection import introspect
from pyocci.server.auth.oidc_issuers import TrustedIssuer
from pyocci.server.auth.oidc_keys import ProviderKeys
from pyocci.server.auth.oidc_mapping import claim_values, map_tenants
from pyocci.server.auth.outcomes import CheckedCredentials, TokenOutcome
from pyocci.server.auth.throttle import FailureThrottle, client_address
from pyocci.server.auth.token import bearer_challenge

__all__ = ["SIGNING_ALGORITHMS", "OidcAuth", "oidc_challenge"]

#: The signature algorithms accepted: asymmetric ones only. A provider's tokens are
#: never checked with a shared secret, and never unsigned (``none``).
SIGNING_ALGORITHMS = (
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "PS384",
    "PS512",
    "ES256",
    "ES384",
    "ES512",
    "EdDSA",
)

# RFC 6750's b64token, bounded: what a bearer token may look like on the wire. JWTs
# with many entitlements run to several kilobytes.
_BEARER = re.compile(r"[Bb][Ee][Aa][Rr][Ee][Rr] +(?P<token>[A-Za-z0-9\-._~+/]{1,16384}=*) *\Z")


def oidc_challenge(realm: str, description: str | None = None) -> str:
    """``Bearer realm="..."``, with ``error="invalid_token"`` and the description of a refusal."""
    if description is None:
        return bearer_challenge(realm)
    # A quoted-string of printable ASCII without quotes or backslashes (RFC 6750 §3).
    cleaned = "".join(c for c in description if " " <= c <= "~" and c not in '"\\')
    return bearer_challenge(realm, "invalid_token") + f', error_description="{cleaned}"'


class _RefusedError(RefusedError):
    """A token is refused: the reason goes to the client."""


class OidcAuth(Authenticator):
    """OpenID Connect access tokens of trusted issuers, mapped to tenants by their claims."""

    def __init__(
        self,
        issuers: Sequence[TrustedIssuer],
        *,
        realm: str = "pyocci",
        timeout: float = 5.0,
        ca: Path | None = None,
        leeway: float = 30.0,
        keys_seconds: float = 3600.0,
        keys_min_refresh: float = 10.0,
        cache_seconds: float = 60.0,
        cache_size: int = 1024,
        retry_after: int = 10,
        throttle: FailureThrottle | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        if not issuers:
            raise ValueError("method oidc needs at least one trusted issuer")
        self._issuers = {issuer.issuer: issuer for issuer in issuers}
        self._introspecting = [issuer for issuer in issuers if issuer.introspects]
        self._realm = realm
        self._challenge = oidc_challenge(realm)
        self._leeway = leeway
        self._cache_seconds = cache_seconds
        self._clock = clock
        self._wall_clock = wall_clock
        self._http = ProviderHttp(timeout=timeout, ca=ca, retry_after=retry_after)
        self.keys = ProviderKeys(
            self._http, max_age=keys_seconds, min_refresh=keys_min_refresh, clock=clock
        )
        self._checked: CheckedCredentials[bytes] = CheckedCredentials(
            seconds=cache_seconds, size=cache_size, clock=clock, throttle=throttle
        )

    @property
    def challenge(self) -> str:
        return self._challenge

    async def authenticate(self, headers: Mapping[str, str], client: Client = None) -> Tenant:
        tenant = (await self._accepted(headers, client)).tenant
        assert tenant is not None  # _accepted refuses the others
        return tenant

    async def identify(self, headers: Mapping[str, str], client: Client = None) -> Identity:
        """The token's user (its issuer's ``user_claim``), every tenant the issuer's rules
        map it to, and its expiry."""
        identity = (await self._accepted(headers, client)).identity
        assert identity is not None  # every accepted outcome has one
        return identity

    async def _accepted(self, headers: Mapping[str, str], client: Client) -> TokenOutcome:
        """What checking the request's token decided, when it was accepted;
        AuthenticationError otherwise."""
        value = headers.get("authorization")
        if value is None:
            raise AuthenticationError(
                "authentication required: send an access token of a trusted OpenID Provider "
                "as 'Authorization: Bearer <token>'",
                challenge=self._challenge,
            )
        match = _BEARER.match(value)
        if match is None:
            reason = "malformed credentials: this server takes 'Authorization: Bearer <token>'"
            raise AuthenticationError(reason, challenge=oidc_challenge(self._realm, reason))
        token = match.group("token")
        key = hashlib.sha256(token.encode("ascii")).digest()
        validation = await self._checked.outcome(
            key, lambda: self._validation(token), address=client_address(client)
        )
        if validation.tenant is None:
            raise AuthenticationError(
                validation.reason, challenge=oidc_challenge(self._realm, validation.reason)
            )
        return validation

    async def close(self) -> None:
        await self._http.close()

    async def _validation(self, token: str) -> TokenOutcome:
        """What checking a token decides: accepted until it expires (or the cache's time
        is up), or refused with the reason; a provider being unavailable raises."""
        try:
            identity, lifetime = await self._check(token)
        except _RefusedError as refusal:
            return TokenOutcome(self._clock() + self._cache_seconds, None, refusal.reason)
        tenant = Tenant(id=identity.tenants[0], name=identity.tenants[0])
        return TokenOutcome(
            self._clock() + min(self._cache_seconds, lifetime), tenant, identity=identity
        )

    # Checking tokens.

    async def _check(self, token: str) -> tuple[Identity, float]:
        """Who a token names, the tenants it maps to, and how long it still lives, in
        seconds; _RefusedError."""
        if token.count(".") == 2:
            issuer, claims = await self._verified_jwt(token)
        else:
            issuer, claims = await self._introspected(token)
        lifetime = self._check_claims(issuer, claims)
        tenants = map_tenants(claims, issuer.rules)
        user = next(iter(claim_values(claims, issuer.user_claim)), None)
        if not tenants:
            logger.info(
                "OIDC token of %r (issuer %s) maps to no tenant: no rule matches its claims",
                user,
                issuer.issuer,
            )
            raise _RefusedError(
                "the token grants no tenant on this server: none of its claims matches "
                "the rules for its issuer (is its user a member of a supported group or VO?)"
            )
        logger.debug("OIDC user %r of %s acts for tenant %r", user, issuer.issuer, tenants[0])
        identity = Identity(
            user=user if user is not None else tenants[0],
            tenants=tenants,
            expires_at=float(claims["exp"]),
        )
        return identity, lifetime

    async def _verified_jwt(self, token: str) -> tuple[TrustedIssuer, dict[str, Any]]:
        try:
            compact = jws.extract_compact(token.encode("ascii"))
            header = compact.protected
            claims = json.loads(compact.payload)
        except (JoseError, ValueError, TypeError):
            raise _RefusedError("malformed JWT: its header or claims cannot be read") from None
        if not isinstance(claims, dict) or not isinstance(header, dict):
            raise _RefusedError("malformed JWT: its claims are not a JSON object")
        issuer = self._issuers.get(claims.get("iss"))  # type: ignore[arg-type]
        if issuer is None:
            raise _RefusedError(
                f"the token's issuer {shown(claims.get('iss'))} is not trusted here"
            )
        algorithm = header.get("alg")
        if algorithm not in SIGNING_ALGORITHMS:
            raise _RefusedError(
                f"the token is signed with {shown(algorithm)}, which is not accepted"
            )
        kid = header.get("kid")
        key = await self.keys.key(issuer, kid if isinstance(kid, str) else None)
        if key is None:
            raise _RefusedError(
                f"the token is signed with a key ({shown(kid)}) that {issuer.issuer} "
                f"does not publish"
            )
        try:
            jwt.decode(token, key, algorithms=[algorithm])
        except JoseError:
            raise _RefusedError("the token's signature is not valid") from None
        return issuer, claims

    async def _introspected(self, token: str) -> tuple[TrustedIssuer, dict[str, Any]]:
        if not self._introspecting:
            raise _RefusedError("opaque tokens are not accepted here: send a JWT access token")
        unavailable: IdentityServiceUnavailableError | None = None
        # Each issuer that introspects for occi-server is asked in turn: an opaque token
        # does not say whose it is.
        for issuer in self._introspecting:
            try:
                endpoint = await self.keys.introspection_endpoint(issuer)
                if endpoint is None:
                    raise self._http.unavailable(issuer.issuer, "offers no token introspection")
                claims = await introspect(self._http, endpoint, issuer, token)
            except IdentityServiceUnavailableError as error:
                unavailable = error
                continue
            if claims is not None:
                claims.setdefault("iss", issuer.issuer)
                if claims["iss"] != issuer.issuer:
                    raise _RefusedError(f"the token's issuer {shown(claims['iss'])} is not trusted")
                return issuer, claims
        if unavailable is not None:
            # Perhaps the provider that could not be asked issued it.
            raise unavailable
        raise _RefusedError(
            "the token is not active at any trusted issuer: unknown, expired or revoked"
        )

    def _check_claims(self, issuer: TrustedIssuer, claims: Mapping[str, Any]) -> float:
        """Check expiry and audience; how long the token still lives, in seconds."""
        now = self._wall_clock()
        expires = claims.get("exp")
        if not _is_time(expires):
            raise _RefusedError("the token has no expiry (exp): it is not accepted")
        if expires + self._leeway <= now:
            raise _RefusedError("the token has expired: get a new one")
        not_before = claims.get("nbf")
        if _is_time(not_before) and not_before - self._leeway > now:
            raise _RefusedError("the token is not valid yet (nbf): check the clocks")
        audience = claims.get("aud")
        audiences = [audience] if isinstance(audience, str) else audience
        if not isinstance(audiences, list) or not set(audiences) & set(issuer.audiences):
            raise _RefusedError(
                f"the token is not meant for this server: its audience is "
                f"{shown(audience)}, expected {' or '.join(map(shown, issuer.audiences))}"
            )
        return expires + self._leeway - now


def _is_time(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
