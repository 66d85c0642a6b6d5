"""Keystone tokens with the failure throttle (against a real Keystone, see
``tests/keystone.py``): refused tokens are limited per address, a locked address gets no
answer about any token, and concurrent requests with one token share one validation."""

from __future__ import annotations

import os

import anyio
import pytest

from keystone import SERVICE_USER, SKIP_VARIABLE, USERS, Keystone, shared_keystone
from pyocci.server.auth import (
    AuthenticationError,
    KeystoneAuth,
    TooManyAttemptsError,
    build_authenticator,
)
from pyocci.server.config import AuthConfig

pytestmark = pytest.mark.anyio

ATTACKER = ("198.51.100.66", 50000)
ELSEWHERE = ("192.0.2.10", 40000)


@pytest.fixture(scope="module")
def keystone() -> Keystone:
    if os.environ.get(SKIP_VARIABLE):
        pytest.skip(f"{SKIP_VARIABLE} is set")
    return shared_keystone()


def keystone_auth(keystone: Keystone, **settings: float) -> KeystoneAuth:
    name, password, project = SERVICE_USER
    authenticator = build_authenticator(
        AuthConfig(
            method="keystone",
            keystone_url=keystone.v3,
            keystone_service_user=name,
            keystone_service_password=password,
            keystone_service_project=project,
            **settings,
        )
    )
    assert isinstance(authenticator, KeystoneAuth)
    return authenticator


async def test_refused_tokens_from_one_address_lead_to_429(keystone: Keystone) -> None:
    authenticator = keystone_auth(keystone, max_failures_per_address=3, lockout_seconds=15)
    token = keystone.token("alice", USERS["alice"][0], "alpha")
    try:
        for n in range(3):
            with pytest.raises(AuthenticationError):
                await authenticator.authenticate({"x-auth-token": f"gAAAAAguess{n}"}, ATTACKER)
        # A valid token from the locked address is not validated either: 429, not 200.
        with pytest.raises(TooManyAttemptsError) as caught:
            await authenticator.authenticate({"x-auth-token": token}, ATTACKER)
        assert caught.value.retry_after == 15
        tenant = await authenticator.authenticate({"x-auth-token": token}, ELSEWHERE)
        assert tenant.id == keystone.projects["alpha"]
    finally:
        await authenticator.close()


async def test_concurrent_requests_with_one_token_share_one_validation(
    keystone: Keystone, monkeypatch: pytest.MonkeyPatch
) -> None:
    authenticator = keystone_auth(keystone, max_failures_per_address=1)
    token = keystone.token("bob", USERS["bob"][0], "beta")
    validate = authenticator._validate
    validations = 0

    async def counting_validate(subject: str):  # calls through to Keystone
        nonlocal validations
        validations += 1
        return await validate(subject)

    monkeypatch.setattr(authenticator, "_validate", counting_validate)
    projects: list[str] = []

    async def request() -> None:
        projects.append((await authenticator.authenticate({"x-auth-token": token}, ELSEWHERE)).id)

    try:
        with anyio.fail_after(60):
            async with anyio.create_task_group() as group:
                for _ in range(15):
                    group.start_soon(request)
        assert projects == [keystone.projects["beta"]] * 15
        assert validations == 1
    finally:
        await authenticator.close()
