"""RFC 7662 token introspection for method ``oidc``: what a provider says of an opaque token."""

from __future__ import annotations

from typing import Any

from pyocci.server.auth.oidc_http import ProviderHttp
from pyocci.server.auth.oidc_issuers import TrustedIssuer

__all__ = ["introspect"]


async def introspect(
    http: ProviderHttp, endpoint: str, issuer: TrustedIssuer, token: str
) -> dict[str, Any] | None:
    """The claims `issuer` holds for `token` (its introspection answer), or None when
    the token is not active there (unknown, expired, revoked).

    occi-server authenticates with the issuer's ``client_id``/``client_secret``
    (HTTP basic, ``client_secret_basic``); the provider being unreachable, or
    refusing those credentials, raises IdentityServiceUnavailableError.
    """
    assert issuer.client_id is not None and issuer.client_secret is not None
    answer = await http.post_form(
        endpoint,
        "token introspection",
        {"token": token, "token_type_hint": "access_token"},
        (issuer.client_id, issuer.client_secret),
    )
    if answer.get("active") is not True:
        return None
    return answer
