"""Bearer tokens with the failure throttle: a token names no user, so wrong tokens are
limited per client address."""

from __future__ import annotations

from pathlib import Path

import pytest

from pyocci.backends.api import Tenant
from pyocci.server.auth import (
    AuthenticationError,
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


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


@pytest.fixture
def setup(tmp_path: Path) -> tuple[TokenAuth, str]:
    token = generate_token()
    path = tmp_path / "users.toml"
    write_users_file(path, {"alice": User("alice", "physics", token_hash=hash_token(token))})
    config = AuthConfig(
        method="token", users_file=path, max_failures_per_address=3, lockout_seconds=20
    )
    authenticator = build_authenticator(config)
    assert isinstance(authenticator, TokenAuth)
    return authenticator, token


async def test_wrong_tokens_from_one_address_lead_to_429(setup: tuple[TokenAuth, str]) -> None:
    authenticator, token = setup
    for _ in range(3):
        with pytest.raises(AuthenticationError):
            await authenticator.authenticate(bearer(generate_token()), ATTACKER)
    for guess in (generate_token(), token):  # the right token too: it is not looked at
        with pytest.raises(TooManyAttemptsError) as caught:
            await authenticator.authenticate(bearer(guess), ATTACKER)
        assert caught.value.retry_after == 20
        assert "from this address" in caught.value.message
    assert await authenticator.authenticate(bearer(token), ELSEWHERE) == Tenant("physics")


async def test_missing_or_malformed_tokens_are_not_attempts(setup: tuple[TokenAuth, str]) -> None:
    authenticator, token = setup
    for headers in ({}, {"authorization": "Bearer a b"}, {"authorization": "Basic eDp5"}):
        for _ in range(5):
            with pytest.raises(AuthenticationError):
                await authenticator.authenticate(headers, ATTACKER)
    assert await authenticator.authenticate(bearer(token), ATTACKER) == Tenant("physics")
