"""Talking to OpenID Providers for method ``oidc``: bounded HTTP, and what a failure means.

Every request has a timeout and a size limit on the answer. A provider that
cannot be reached, answers an error or answers something that is not the
JSON object asked for raises `IdentityServiceUnavailableError` (503 with
``Retry-After``): the token could not be checked, which is not the client's
fault.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

from pyocci.server.auth.base import logger
from pyocci.server.auth.keystone import IdentityServiceUnavailableError
from pyocci.server.auth.outcomes import tls_verification

__all__ = ["MAX_ANSWER_BYTES", "ProviderHttp"]

#: The largest answer read from a provider: discovery documents and key sets are a
#: few kilobytes; a provider (or something posing as one) sending more is broken.
MAX_ANSWER_BYTES = 1024 * 1024


class ProviderHttp:
    """GETs and form POSTs to OpenID Providers that answer JSON objects."""

    def __init__(self, *, timeout: float = 5.0, ca: Path | None = None, retry_after: int = 10):
        self._timeout = timeout
        self._ca = ca
        self._retry_after = retry_after
        self._client: httpx.AsyncClient | None = None

    async def get_json(self, url: str, what: str) -> dict[str, Any]:
        """The JSON object at `url` (`what` names it in messages)."""
        return await self._send("GET", url, what)

    async def post_form(
        self, url: str, what: str, form: Mapping[str, str], auth: tuple[str, str]
    ) -> dict[str, Any]:
        """The JSON object a form POST to `url` answers, with HTTP basic client credentials."""
        return await self._send("POST", url, what, data=dict(form), auth=auth)

    async def close(self) -> None:
        """Close the connections."""
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def unavailable(self, url: str, why: str) -> IdentityServiceUnavailableError:
        """The error of a provider that could not check a token, logged for the operator."""
        logger.error("OpenID Provider at %s: %s", url, why)
        return IdentityServiceUnavailableError(
            f"cannot check the token: the OpenID Provider {why}; try again later",
            retry_after=self._retry_after,
        )

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            verify = tls_verification(self._ca)
            self._client = httpx.AsyncClient(
                timeout=self._timeout,
                verify=verify,
                follow_redirects=False,
                headers={"Accept": "application/json"},
            )
        return self._client

    async def _send(self, method: str, url: str, what: str, **kwargs: Any) -> dict[str, Any]:
        try:
            async with self._http().stream(method, url, **kwargs) as response:
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > MAX_ANSWER_BYTES:
                        raise self.unavailable(url, f"sent a {what} of more than 1 MiB")
        except httpx.TimeoutException:
            raise self.unavailable(url, f"did not answer within {self._timeout:g} s") from None
        except httpx.HTTPError as error:
            raise self.unavailable(url, f"cannot be reached ({type(error).__name__})") from None
        if response.status_code != 200:
            raise self.unavailable(url, f"answered {response.status_code} to a {what} request")
        try:
            document = httpx.Response(200, content=bytes(body)).json()
        except ValueError:
            document = None
        if not isinstance(document, dict):
            raise self.unavailable(url, f"sent a {what} that is not a JSON object")
        return document
