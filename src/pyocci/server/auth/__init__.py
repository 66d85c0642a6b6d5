"""Authentication plug-ins: who is asking, and which tenant the request acts for.

The interface is `Authenticator` (see `pyocci.server.auth.base` for how the app
uses it). The methods (``[auth] method``), one module each:

* ``none`` - `NoAuth` (`base`): every request acts for one tenant.
* ``basic`` - `BasicAuth` (`basic`): HTTP basic against the users file.
* ``token`` - `TokenAuth` (`token`): bearer tokens from the users file.
* ``x509`` - `X509Auth` (`x509`): TLS client certificates.
* ``keystone`` - `KeystoneAuth` (`keystone`): OpenStack Keystone tokens.
* ``oidc`` - `OidcAuth` (`oidc`): OpenID Connect access tokens, with its
  issuers file (`oidc_issuers`), signing keys (`oidc_keys`), introspection
  (`oidc_introspection`) and claim-mapping rules (`oidc_mapping`).
* ``cloud`` - `CloudAuth` (`cloud`): HTTP basic credentials of the cloud's own
  users, checked by the backend's cloud and passed on to it.
* ``voms`` - `VomsAuth` (`voms`): certificates and VOMS proxies passed on by a
  TLS front (`front`), their chains verified (`proxy_chain`), their VOMS
  attribute certificates read (`voms_ac`, trusted by certificate or by LSC
  file: `voms_lsc`), mapped to tenants by the rules of the VOMS file
  (`voms_trust`).

``[auth] keystone_handshake`` wraps any of ``basic``, ``token``, ``x509``,
``oidc`` and ``voms`` in `HandshakeAuth` (`handshake`): the tokens of the Keystone-like
handshake (`issued`, signed with the key of `signing_key`) are accepted as
well; certificate holders are named by `certificates`. The token endpoint
itself is `pyocci.server.identity`.

The users file of ``basic`` and ``token`` is in `users`, the hashing of its
passwords and tokens in `hashing`. Failed authentications of ``basic``,
``token``, ``keystone``, ``oidc``, ``cloud``, ``voms`` and of the handshake's tokens are
throttled per user name and client address by `throttle` (429 with Retry-After
past ``[auth] max_failures_per_*``), and concurrent requests with the same
credentials share one check (`flights`).
Every public name of these modules can be imported from here.

A new method subclasses `Authenticator` in a module of its own, adds its
name to ``AUTH_METHODS`` and its settings to `AuthConfig`, and a branch to
`build_authenticator`.
"""

from __future__ import annotations

from pyocci.backends.api import Backend
from pyocci.server.auth.base import (
    AccessDeniedError,
    AuthenticationError,
    Authenticator,
    Client,
    Identity,
    NoAuth,
)
from pyocci.server.auth.basic import BasicAuth, basic_challenge, parse_basic_authorization
from pyocci.server.auth.cloud import CloudAuth
from pyocci.server.auth.front import FrontCertificates, current_peer, parse_addresses
from pyocci.server.auth.handshake import HandshakeAuth

# The scrypt defaults, importable from here as before (and, as before, not in `__all__`).
from pyocci.server.auth.hashing import SCRYPT_N as SCRYPT_N
from pyocci.server.auth.hashing import SCRYPT_P as SCRYPT_P
from pyocci.server.auth.hashing import SCRYPT_R as SCRYPT_R
from pyocci.server.auth.hashing import generate_token, hash_password, hash_token, verify_password
from pyocci.server.auth.issued import IssuedToken, IssuedTokens, TokenRefusedError
from pyocci.server.auth.keystone import (
    IdentityServiceUnavailableError,
    KeystoneAuth,
    keystone_challenge,
    keystone_v3_url,
)
from pyocci.server.auth.oidc import OidcAuth, oidc_challenge
from pyocci.server.auth.oidc_issuers import TrustedIssuer, read_issuers_file
from pyocci.server.auth.oidc_mapping import TenantRule
from pyocci.server.auth.signing_key import SigningKeyFile
from pyocci.server.auth.throttle import FailureThrottle, TooManyAttemptsError, client_address
from pyocci.server.auth.token import TokenAuth, bearer_challenge
from pyocci.server.auth.users import (
    User,
    UsersFile,
    check_tenant_id,
    check_user_name,
    read_users_file,
    write_users_file,
)
from pyocci.server.auth.voms import VomsAuth
from pyocci.server.auth.voms_trust import read_voms_file
from pyocci.server.auth.x509 import X509Auth
from pyocci.server.config import AUTH_METHODS, AuthConfig, ConfigError

__all__ = [
    "AccessDeniedError",
    "AuthenticationError",
    "Authenticator",
    "BasicAuth",
    "Client",
    "CloudAuth",
    "FailureThrottle",
    "FrontCertificates",
    "HandshakeAuth",
    "Identity",
    "IdentityServiceUnavailableError",
    "IssuedToken",
    "IssuedTokens",
    "KeystoneAuth",
    "NoAuth",
    "OidcAuth",
    "SigningKeyFile",
    "TenantRule",
    "TokenAuth",
    "TokenRefusedError",
    "TooManyAttemptsError",
    "TrustedIssuer",
    "User",
    "UsersFile",
    "VomsAuth",
    "X509Auth",
    "basic_challenge",
    "bearer_challenge",
    "build_authenticator",
    "build_throttle",
    "check_tenant_id",
    "check_user_name",
    "client_address",
    "current_peer",
    "generate_token",
    "hash_password",
    "hash_token",
    "keystone_challenge",
    "keystone_v3_url",
    "oidc_challenge",
    "parse_addresses",
    "parse_basic_authorization",
    "read_issuers_file",
    "read_users_file",
    "read_voms_file",
    "verify_password",
    "write_users_file",
]


def build_authenticator(config: AuthConfig, backend: Backend | None = None) -> Authenticator:
    """The authenticator an `AuthConfig` describes, for the server's `backend` (method
    ``cloud`` asks it); ConfigError if it cannot be built (an unknown method, a
    malformed users file, ``cloud`` with a backend that does not check callers, an
    unreadable handshake key file).

    With ``keystone_handshake`` the method is wrapped in a `HandshakeAuth`, and both
    count failures in one throttle.
    """
    throttle = build_throttle(config)
    method = _build_method(config, throttle, backend)
    if not config.keystone_handshake:
        return method
    keys = SigningKeyFile(config.effective_handshake_key_file)
    keys.current()  # created, or read, now: a problem is one line at startup
    return HandshakeAuth(
        method,
        IssuedTokens(keys, lifetime=config.handshake_lifetime_seconds),
        method_name=config.method,
        throttle=throttle,
        certificate_tenant=(
            config.tenant if config.method == "x509" else config.handshake_certificate_tenant
        ),
    )


def _build_method(
    config: AuthConfig, throttle: FailureThrottle, backend: Backend | None
) -> Authenticator:
    if config.method == "none":
        return NoAuth(config.tenant)
    if config.method == "basic":
        return BasicAuth(
            config.effective_users_file,
            realm=config.realm,
            cache_seconds=config.cache_seconds,
            cache_size=config.cache_size,
            throttle=throttle,
        )
    if config.method == "token":
        return TokenAuth(config.effective_users_file, realm=config.realm, throttle=throttle)
    if config.method == "x509":
        return X509Auth(config.tenant)
    if config.method == "keystone":
        assert config.keystone_url is not None  # AuthConfig insists
        return KeystoneAuth(
            config.keystone_url,
            service_user=config.keystone_service_user or "",
            service_password=config.keystone_service_password or "",
            service_project=config.keystone_service_project or "",
            service_domain=config.keystone_service_domain,
            ca=config.keystone_ca,
            timeout=config.keystone_timeout,
            cache_seconds=config.cache_seconds,
            cache_size=config.cache_size,
            throttle=throttle,
        )
    if config.method == "oidc":
        assert config.oidc_issuers_file is not None  # AuthConfig insists
        return OidcAuth(
            read_issuers_file(config.oidc_issuers_file),
            realm=config.realm,
            timeout=config.oidc_timeout,
            ca=config.oidc_ca,
            leeway=config.oidc_leeway_seconds,
            keys_seconds=config.oidc_keys_seconds,
            cache_seconds=config.cache_seconds,
            cache_size=config.cache_size,
            throttle=throttle,
        )
    if config.method == "cloud":
        if backend is None or not backend.checks_callers:
            name = backend.name if backend is not None else "this"
            raise ConfigError(
                f"auth.method 'cloud' needs a backend that checks callers' own credentials; "
                f"the {name} backend does not (the opennebula backend does, with "
                'backend_settings.credentials = "caller")'
            )
        return CloudAuth(
            backend.check_caller,
            cloud=backend.cloud or backend.name,
            realm=config.realm,
            cache_seconds=config.cache_seconds,
            cache_size=config.cache_size,
            throttle=throttle,
        )
    if config.method == "voms":
        assert config.front_addresses is not None and config.voms_file is not None
        return VomsAuth(
            read_voms_file(config.voms_file),
            FrontCertificates(parse_addresses(config.front_addresses)),
            realm=config.realm,
            cache_seconds=config.cache_seconds,
            cache_size=config.cache_size,
            throttle=throttle,
        )
    raise ConfigError(
        f"auth.method: expected one of {', '.join(map(repr, AUTH_METHODS))}, got {config.method!r}"
    )


def build_throttle(config: AuthConfig) -> FailureThrottle:
    """The failure throttle of an `AuthConfig` (``max_failures_per_*``, ``failure_window_seconds``,
    ``lockout_seconds``, ``throttle_size``)."""
    return FailureThrottle(
        max_failures_per_user=config.max_failures_per_user,
        max_failures_per_address=config.max_failures_per_address,
        window=config.failure_window_seconds,
        lockout=config.lockout_seconds,
        size=config.throttle_size,
    )
