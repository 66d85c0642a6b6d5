"""The signing-key cache of method oidc, and OidcAuth's checks, against a real HTTP provider.

The provider here is a small HTTP server of the standard library that serves a
discovery document and a key set the test changes (a key rotation) and counts
the requests; the tokens are signed with joserfc. The cache and the checks
under test are the real ones.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey

from clocks import FakeClock
from pyocci.server.auth import AuthenticationError, IdentityServiceUnavailableError
from pyocci.server.auth.oidc import OidcAuth
from pyocci.server.auth.oidc_http import ProviderHttp
from pyocci.server.auth.oidc_issuers import TrustedIssuer
from pyocci.server.auth.oidc_keys import ProviderKeys
from pyocci.server.auth.oidc_mapping import TenantRule

pytestmark = pytest.mark.anyio


class Provider:
    """A provider's discovery document and key set over HTTP, with request counts."""

    def __init__(self) -> None:
        self.keys = [RSAKey.generate_key(2048, parameters={"kid": "one"}, private=True)]
        self.requests: dict[str, int] = {}
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                provider.requests[self.path] = provider.requests.get(self.path, 0) + 1
                if self.path == "/.well-known/openid-configuration":
                    body: Any = {"issuer": provider.issuer, "jwks_uri": provider.issuer + "/jwks"}
                elif self.path == "/jwks":
                    body = {"keys": [key.as_dict(private=False) for key in provider.keys]}
                else:
                    self.send_error(404)
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.issuer = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def rotate(self, kid: str) -> RSAKey:
        key = RSAKey.generate_key(2048, parameters={"kid": kid}, private=True)
        self.keys = [key]
        return key

    def sign(self, claims: dict[str, Any], key: RSAKey | None = None) -> str:
        key = key or self.keys[0]
        return jwt.encode({"alg": "RS256", "kid": key.kid}, claims, key)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def provider() -> Iterator[Provider]:
    running = Provider()
    yield running
    running.stop()


def trusted(provider: Provider) -> TrustedIssuer:
    return TrustedIssuer(
        issuer=provider.issuer,
        audiences=("occi",),
        rules=(TenantRule.parse("groups", "occi-(.+)"),),
    )


async def test_keys_are_fetched_once_and_refetched_for_a_new_kid(provider: Provider) -> None:
    clock = FakeClock()
    keys = ProviderKeys(ProviderHttp(timeout=5), min_refresh=10, clock=clock)
    issuer = trusted(provider)
    assert (await keys.key(issuer, "one")) is not None
    assert (await keys.key(issuer, "one")) is not None
    assert keys.fetches == 1
    provider.rotate("two")
    # A key id not seen, right after a fetch: not fetched again yet (bounded).
    assert (await keys.key(issuer, "two")) is None
    assert keys.fetches == 1
    clock.advance(10)
    assert (await keys.key(issuer, "two")) is not None
    assert keys.fetches == 2
    # Made-up key ids cost at most one fetch per interval.
    for n in range(5):
        assert (await keys.key(issuer, f"made-up-{n}")) is None
    assert keys.fetches == 2
    assert provider.requests["/.well-known/openid-configuration"] == 1


async def test_old_keys_serve_while_the_provider_is_down(provider: Provider) -> None:
    clock = FakeClock()
    keys = ProviderKeys(ProviderHttp(timeout=1), max_age=60, min_refresh=10, clock=clock)
    issuer = trusted(provider)
    assert (await keys.key(issuer, "one")) is not None
    provider.stop()
    clock.advance(61)
    assert (await keys.key(issuer, "one")) is not None, "the held set is used"
    fresh = ProviderKeys(ProviderHttp(timeout=1), clock=clock)
    with pytest.raises(IdentityServiceUnavailableError, match="cannot be reached"):
        await fresh.key(issuer, "one")


def claims(provider: Provider, **extra: Any) -> dict[str, Any]:
    now = int(time.time())
    return {
        "iss": provider.issuer,
        "aud": "occi",
        "sub": "u1",
        "exp": now + 300,
        "iat": now,
        "groups": ["occi-physics"],
        **extra,
    }


async def test_a_rotated_key_is_followed_by_the_authenticator(provider: Provider) -> None:
    clock = FakeClock()
    auth = OidcAuth([trusted(provider)], keys_min_refresh=10, clock=clock, cache_seconds=0)
    token = provider.sign(claims(provider))
    tenant = await auth.authenticate({"authorization": f"Bearer {token}"})
    assert tenant.id == "physics"
    new_key = provider.rotate("two")
    clock.advance(10)
    rotated = provider.sign(claims(provider, groups=["occi-chemistry"]), new_key)
    assert (await auth.authenticate({"authorization": f"Bearer {rotated}"})).id == "chemistry"
    await auth.close()


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"exp": 1}, "has expired"),
        ({"aud": "elsewhere"}, "not meant for this server"),
        ({"iss": "https://rogue.example"}, "is not trusted here"),
        ({"groups": ["staff"]}, "grants no tenant"),
        ({"exp": None}, "has no expiry"),
    ],
)
async def test_refused_claims(provider: Provider, changes: dict[str, Any], reason: str) -> None:
    auth = OidcAuth([trusted(provider)], leeway=0)
    token = provider.sign({k: v for k, v in claims(provider, **changes).items() if v is not None})
    with pytest.raises(AuthenticationError) as caught:
        await auth.authenticate({"authorization": f"Bearer {token}"})
    assert reason in caught.value.message
    assert 'error="invalid_token", error_description="' in caught.value.challenge
    await auth.close()


async def test_a_key_of_another_provider_is_refused(provider: Provider) -> None:
    auth = OidcAuth([trusted(provider)])
    stranger = RSAKey.generate_key(2048, parameters={"kid": "one"}, private=True)
    token = provider.sign(claims(provider), stranger)
    with pytest.raises(AuthenticationError, match="signature is not valid"):
        await auth.authenticate({"authorization": f"Bearer {token}"})
    await auth.close()


async def test_an_unsigned_token_is_refused(provider: Provider) -> None:
    import base64

    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    token = f"{part({'alg': 'none', 'kid': 'one'})}.{part(claims(provider))}.x"
    auth = OidcAuth([trusted(provider)])
    with pytest.raises(AuthenticationError, match="which is not accepted"):
        await auth.authenticate({"authorization": f"Bearer {token}"})
    await auth.close()


async def test_accepted_tokens_are_cached_within_their_life(provider: Provider) -> None:
    clock = FakeClock()
    auth = OidcAuth([trusted(provider)], cache_seconds=60, clock=clock)
    token = provider.sign(claims(provider))
    headers = {"authorization": f"Bearer {token}"}
    assert (await auth.authenticate(headers)).id == "physics"
    provider.stop()  # a cached outcome needs no provider
    assert (await auth.authenticate(headers)).id == "physics"
    await auth.close()
