"""The signing keys of trusted OpenID Providers: discovery and a JWKS cache that follows rotation.

A provider's key set (its ``jwks_uri``, from its discovery document unless
configured) is fetched at the first token it signed and kept for
`max_age` seconds. A token signed with a key id the cached set lacks means
the provider rotated its keys: the set is fetched again, but at most once
every `min_refresh` seconds per provider, so that tokens with made-up key
ids cannot make the server hammer the provider. When a fetch fails, the
set already held is used until it can be fetched again.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from joserfc.errors import JoseError
from joserfc.jwk import Key, KeySet

from pyocci.server.auth.flights import SingleFlight
from pyocci.server.auth.keystone import IdentityServiceUnavailableError
from pyocci.server.auth.oidc_http import ProviderHttp
from pyocci.server.auth.oidc_issuers import TrustedIssuer

__all__ = ["MAX_KEYS", "ProviderKeys"]

#: The most keys kept of one provider's set: providers publish a handful.
MAX_KEYS = 64


@dataclass(slots=True)
class _Endpoints:
    jwks_uri: str | None
    introspection_endpoint: str | None
    fetched: float


@dataclass(slots=True)
class _KeySet:
    keys: dict[str | None, Key] = field(default_factory=dict)
    fetched: float = 0.0


class ProviderKeys:
    """Endpoints (discovery) and signing keys of the trusted issuers, cached."""

    def __init__(
        self,
        http: ProviderHttp,
        *,
        max_age: float = 3600.0,
        min_refresh: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._http = http
        self._max_age = max_age
        self._min_refresh = min_refresh
        self._clock = clock
        # One entry per trusted issuer at most: bounded by the configuration.
        self._endpoints: dict[str, _Endpoints] = {}
        self._sets: dict[str, _KeySet] = {}
        self._discoveries: SingleFlight[str, _Endpoints] = SingleFlight()
        self._fetches: SingleFlight[str, _KeySet] = SingleFlight()
        #: How many times key sets were fetched (for the operator's log and the tests).
        self.fetches = 0

    async def key(self, issuer: TrustedIssuer, kid: str | None) -> Key | None:
        """The key `issuer` signs with under `kid` (None: the set's only key), or None
        when the provider does not publish it even after a fetch."""
        uri = await self._jwks_uri(issuer)
        held = self._sets.get(uri)
        now = self._clock()
        if held is None or now - held.fetched >= self._max_age:
            held = await self._refresh(uri, held)
        key = _find(held, kid)
        if key is None and self._clock() - held.fetched >= self._min_refresh:
            # A key id we do not know: the provider may have rotated its keys.
            held = await self._refresh(uri, held)
            key = _find(held, kid)
        return key

    async def introspection_endpoint(self, issuer: TrustedIssuer) -> str | None:
        """Where `issuer` introspects tokens (configured, or from its discovery document)."""
        if issuer.introspection_endpoint is not None:
            return issuer.introspection_endpoint
        return (await self._discovered(issuer)).introspection_endpoint

    async def _jwks_uri(self, issuer: TrustedIssuer) -> str:
        if issuer.jwks_uri is not None:
            return issuer.jwks_uri
        uri = (await self._discovered(issuer)).jwks_uri
        if uri is None:
            raise self._http.unavailable(issuer.issuer, "publishes no jwks_uri")
        return uri

    async def _discovered(self, issuer: TrustedIssuer) -> _Endpoints:
        held = self._endpoints.get(issuer.issuer)
        if held is not None and self._clock() - held.fetched < self._max_age:
            return held
        try:
            endpoints, _ = await self._discoveries.run(
                issuer.issuer, lambda: self._discover(issuer)
            )
        except IdentityServiceUnavailableError:
            if held is None:
                raise
            return held
        self._endpoints[issuer.issuer] = endpoints
        return endpoints

    async def _discover(self, issuer: TrustedIssuer) -> _Endpoints:
        url = issuer.issuer.rstrip("/") + "/.well-known/openid-configuration"
        document = await self._http.get_json(url, "discovery document")
        if document.get("issuer") != issuer.issuer:
            raise self._http.unavailable(
                url, f"names another issuer ({document.get('issuer')!r}) in its discovery document"
            )

        def url_of(key: str) -> str | None:
            value = document.get(key)
            if isinstance(value, str) and value.startswith(("https:", "http:")):
                return value
            return None

        return _Endpoints(url_of("jwks_uri"), url_of("introspection_endpoint"), self._clock())

    async def _refresh(self, uri: str, held: _KeySet | None) -> _KeySet:
        try:
            fresh, _ = await self._fetches.run(uri, lambda: self._fetch(uri))
        except IdentityServiceUnavailableError:
            if held is None:
                raise
            # Keep the old keys; try again no sooner than the rotation limit allows.
            held.fetched = max(held.fetched, self._clock() - self._max_age + self._min_refresh)
            return held
        self._sets[uri] = fresh
        return fresh

    async def _fetch(self, uri: str) -> _KeySet:
        document = await self._http.get_json(uri, "key set")
        self.fetches += 1
        entries = document.get("keys")
        if not isinstance(entries, list):
            raise self._http.unavailable(uri, "sent a key set without keys")
        keys: dict[str | None, Key] = {}
        for entry in entries[:MAX_KEYS]:
            if not isinstance(entry, dict) or entry.get("use", "sig") != "sig":
                continue
            try:
                key = KeySet.import_key_set({"keys": [entry]}).keys[0]
            except (JoseError, ValueError, TypeError, KeyError):
                continue  # a key of a type we cannot use: skip it, keep the others
            keys[entry.get("kid") if isinstance(entry.get("kid"), str) else None] = key
        return _KeySet(keys, self._clock())


def _find(held: _KeySet, kid: str | None) -> Key | None:
    if kid is not None:
        return held.keys.get(kid)
    # A token naming no key: only unambiguous with a set of one.
    return next(iter(held.keys.values())) if len(held.keys) == 1 else None
