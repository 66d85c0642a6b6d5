"""Method ``keystone`` - `KeystoneAuth`: OpenStack Keystone tokens (extensions.md §1).

Tokens are validated against Keystone's v3 API; the tenant is the token's
project, and the `Tenant` carries the token so that a backend whose cloud
checks it itself (OpenStack) can pass it on. Refused tokens are throttled per
client address (`FailureThrottle`), which also spares Keystone a flood of them.
"""

from __future__ import annotations

import datetime
import hashlib
import re
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import httpx

from pyocci.backends.api import Tenant
from pyocci.backends.errors import BackendUnavailableError
from pyocci.server.auth.base import (
    _MAX_CREDENTIALS,
    AuthenticationError,
    Authenticator,
    Client,
    logger,
)
from pyocci.server.auth.outcomes import CheckedCredentials, TokenOutcome, tls_verification
from pyocci.server.auth.throttle import FailureThrottle, client_address

__all__ = [
    "IdentityServiceUnavailableError",
    "KeystoneAuth",
    "keystone_challenge",
    "keystone_v3_url",
]


class IdentityServiceUnavailableError(BackendUnavailableError):
    """Keystone cannot be reached or does not answer as it should: 503 with Retry-After."""


def keystone_challenge(url: str) -> str:
    """``Keystone uri='<url>'``: single quotes, the form rOCCI-cli's pattern expects."""
    return f"Keystone uri='{url}'"


def keystone_v3_url(url: str) -> str:
    """The v3 API root of a Keystone URL that names v3, v2.0 or no version."""
    url = url.rstrip("/")
    match = re.search(r"/v(\d+)(?:\.\d+)?\Z", url)
    if match is None:
        return url + "/v3"
    return url if match.group(1) == "3" else url[: match.start()] + "/v3"


class KeystoneAuth(Authenticator):
    """OpenStack Keystone tokens (``X-Auth-Token``), validated against Keystone's v3 API.

    Without a token the answer is 401 with ``WWW-Authenticate: Keystone
    uri='<keystone_url>'`` (extensions.md §1), which tells clients where to get one.
    A token is validated with ``GET /v3/auth/tokens`` (``X-Subject-Token``) under
    occi-server's own service token; the request's tenant is the token's project,
    and the `Tenant` carries the token for backends whose cloud checks it itself.

    Validations are cached for at most `cache_seconds` (never past the token's
    expiry), keyed by the token's SHA-256; a revoked token therefore keeps working
    for up to that long, the usual trade-off of Keystone clients. When Keystone
    cannot be reached the request is answered 503 with ``Retry-After``.
    """

    def __init__(
        self,
        keystone_url: str,
        *,
        service_user: str,
        service_password: str,
        service_project: str,
        service_domain: str = "Default",
        ca: Path | None = None,
        timeout: float = 5.0,
        cache_seconds: float = 60.0,
        cache_size: int = 1024,
        retry_after: int = 10,
        throttle: FailureThrottle | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.keystone_url = keystone_url.rstrip("/")
        self._v3 = keystone_v3_url(self.keystone_url)
        self._challenge = keystone_challenge(self.keystone_url)
        self._service_auth = {
            "auth": {
                "identity": {
                    "methods": ["password"],
                    "password": {
                        "user": {
                            "name": service_user,
                            "domain": {"name": service_domain},
                            "password": service_password,
                        }
                    },
                },
                "scope": {"project": {"name": service_project, "domain": {"name": service_domain}}},
            }
        }
        self._ca = ca
        self._timeout = timeout
        self._cache_seconds = cache_seconds
        self._retry_after = retry_after
        self._clock = clock
        self._checked: CheckedCredentials[bytes] = CheckedCredentials(
            seconds=cache_seconds, size=cache_size, clock=clock, throttle=throttle
        )
        self._http: httpx.AsyncClient | None = None
        self._service_token: str | None = None
        self._service_token_expires = 0.0

    @property
    def challenge(self) -> str:
        return self._challenge

    async def authenticate(self, headers: Mapping[str, str], client: Client = None) -> Tenant:
        token = headers.get("x-auth-token", "").strip()
        if not token:
            raise AuthenticationError(
                f"authentication required: get a project-scoped token from Keystone at "
                f"{self.keystone_url} and send it as X-Auth-Token",
                challenge=self._challenge,
            )
        if len(token) > _MAX_CREDENTIALS or not token.isascii():
            raise AuthenticationError("malformed X-Auth-Token", challenge=self._challenge)
        key = hashlib.sha256(token.encode("ascii")).digest()
        validation = await self._checked.outcome(
            key, lambda: self._validate(token), address=client_address(client)
        )
        if validation.tenant is None:
            raise AuthenticationError(validation.reason, challenge=self._challenge)
        return validation.tenant

    async def close(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    # Talking to Keystone.

    def _client(self) -> httpx.AsyncClient:
        if self._http is None:
            verify = tls_verification(self._ca)
            self._http = httpx.AsyncClient(
                timeout=self._timeout, verify=verify, headers={"Accept": "application/json"}
            )
        return self._http

    def _unavailable(self, why: str) -> IdentityServiceUnavailableError:
        logger.error("Keystone at %s: %s", self._v3, why)
        return IdentityServiceUnavailableError(
            f"cannot check the token: the identity service (Keystone) {why}; try again later",
            retry_after=self._retry_after,
        )

    async def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return await self._client().request(method, self._v3 + path, **kwargs)
        except httpx.TimeoutException:
            raise self._unavailable(f"did not answer within {self._timeout:g} s") from None
        except httpx.HTTPError as error:
            raise self._unavailable(f"cannot be reached ({type(error).__name__})") from None

    async def _service(self, *, renew: bool = False) -> str:
        """occi-server's own token, which validating others' tokens needs."""
        if renew or self._service_token is None or self._clock() >= self._service_token_expires:
            response = await self._send("POST", "/auth/tokens", json=self._service_auth)
            token = response.headers.get("x-subject-token")
            if response.status_code != 201 or not token:
                raise self._unavailable(
                    f"refused occi-server's service credentials ({response.status_code}); "
                    f"check [auth] keystone_service_*"
                )
            self._service_token = token
            # Renewed a minute before Keystone says it expires.
            lifetime = _seconds_left(response, default=3600.0)
            self._service_token_expires = self._clock() + max(lifetime - 60.0, 0.0)
        return self._service_token

    async def _validate(self, token: str) -> TokenOutcome:
        response = None
        for renew in (False, True):
            service = await self._service(renew=renew)
            response = await self._send(
                "GET",
                "/auth/tokens",
                headers={"X-Auth-Token": service, "X-Subject-Token": token},
            )
            if response.status_code != 401:
                break  # 401 is about the service token: renew it once
        assert response is not None
        now = self._clock()
        if response.status_code in (401, 403):
            raise self._unavailable(
                f"does not let occi-server validate tokens ({response.status_code}); the "
                f"service user needs the service or admin role"
            )
        if response.status_code == 404:
            return TokenOutcome(
                now + self._cache_seconds,
                None,
                "the token is invalid or has expired: get a new one from Keystone",
            )
        if response.status_code != 200:
            raise self._unavailable(f"answered {response.status_code} to a token validation")
        try:
            project = response.json()["token"].get("project")
        except (ValueError, KeyError, TypeError, AttributeError):
            raise self._unavailable("answered a token validation with no token") from None
        if not isinstance(project, dict) or not project.get("id"):
            return TokenOutcome(
                now + self._cache_seconds,
                None,
                "the token is not scoped to a project: get a project-scoped token",
            )
        lifetime = _seconds_left(response, default=self._cache_seconds)
        tenant = Tenant(id=str(project["id"]), name=project.get("name"), token=token)
        return TokenOutcome(now + min(self._cache_seconds, lifetime), tenant)


def _seconds_left(response: httpx.Response, *, default: float) -> float:
    """How long the token of a Keystone token response still lives (its ``expires_at``)."""
    try:
        expires = response.json()["token"]["expires_at"]
        when = datetime.datetime.fromisoformat(expires)
    except (ValueError, KeyError, TypeError):
        return default
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.UTC)
    return (when - datetime.datetime.now(datetime.UTC)).total_seconds()
