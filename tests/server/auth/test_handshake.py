"""`HandshakeAuth`: a method whose clients may also use the handshake's tokens, with one
failure throttle for both."""

from __future__ import annotations

from pathlib import Path

import pytest

from pyocci.backends.api import Tenant
from pyocci.server.auth import (
    AuthenticationError,
    HandshakeAuth,
    Identity,
    IssuedTokens,
    TokenAuth,
    TooManyAttemptsError,
    User,
    build_authenticator,
    generate_token,
    hash_token,
    write_users_file,
)
from pyocci.server.config import AuthConfig

pytestmark = pytest.mark.anyio

ATTACKER = ("198.51.100.66", 50000)
ELSEWHERE = ("192.0.2.10", 40000)


@pytest.fixture
def bearer_token(tmp_path: Path) -> str:
    token = generate_token()
    write_users_file(
        tmp_path / "users.toml", {"alice": User("alice", "physics", token_hash=hash_token(token))}
    )
    return token


@pytest.fixture
def handshake(tmp_path: Path, bearer_token: str) -> HandshakeAuth:
    config = AuthConfig(
        method="token",
        users_file=tmp_path / "users.toml",
        keystone_handshake=True,
        handshake_key_file=tmp_path / "handshake.key",
        max_failures_per_address=3,
    )
    authenticator = build_authenticator(config)
    assert isinstance(authenticator, HandshakeAuth)
    assert isinstance(authenticator.method, TokenAuth)
    return authenticator


def issue(tokens: IssuedTokens, project: str | None) -> str:
    value, _ = tokens.issue(
        user="alice", projects=("physics",), project=project, methods=("token",)
    )
    return value


async def test_a_scoped_token_acts_for_its_project(handshake: HandshakeAuth) -> None:
    token = issue(handshake.tokens, "physics")
    tenant = await handshake.authenticate({"x-auth-token": token}, ATTACKER)
    assert tenant == Tenant(id="physics", name="physics")


async def test_an_unscoped_token_acts_for_nobody(handshake: HandshakeAuth) -> None:
    token = issue(handshake.tokens, None)
    with pytest.raises(AuthenticationError, match="not scoped to a project"):
        await handshake.authenticate({"x-auth-token": token})


async def test_the_methods_own_credentials_still_work(
    handshake: HandshakeAuth, bearer_token: str
) -> None:
    headers = {"authorization": f"Bearer {bearer_token}"}
    assert await handshake.authenticate(headers) == Tenant(id="physics")
    assert await handshake.identify(headers) == Identity(user="physics", tenants=("physics",))
    with pytest.raises(AuthenticationError) as caught:
        await handshake.authenticate({})
    assert caught.value.challenge == 'Bearer realm="pyocci"'


async def test_refused_tokens_and_refusals_share_the_methods_throttle(
    handshake: HandshakeAuth,
) -> None:
    with pytest.raises(AuthenticationError):
        await handshake.authenticate({"x-auth-token": "forged"}, ATTACKER)
    with pytest.raises(AuthenticationError):
        await handshake.authenticate({"authorization": f"Bearer {generate_token()}"}, ATTACKER)
    refusal = handshake.refused("project 'x' is not one of yours", ATTACKER)
    assert isinstance(refusal, AuthenticationError)
    good = issue(handshake.tokens, "physics")
    with pytest.raises(TooManyAttemptsError):
        await handshake.authenticate({"x-auth-token": good}, ATTACKER)
    # Another address is not locked.
    assert await handshake.authenticate({"x-auth-token": good}, ELSEWHERE) == Tenant(
        id="physics", name="physics"
    )


def test_method_x509_exchanges_certificates_for_its_tenant(tmp_path: Path) -> None:
    config = AuthConfig(
        method="x509",
        tenant="grid",
        keystone_handshake=True,
        handshake_key_file=tmp_path / "handshake.key",
    )
    authenticator = build_authenticator(config)
    assert isinstance(authenticator, HandshakeAuth)
    assert authenticator.certificate_tenant == "grid"
    assert (tmp_path / "handshake.key").exists(), "the key is made when the server starts"
