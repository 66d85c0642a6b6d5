"""HTTP basic with the failure throttle: wrong passwords lead to 429 without any more
password hashing, for the address and for the user, and concurrent requests with the
same credentials share one verification."""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path

import anyio
import pytest

from clocks import FakeClock
from pyocci.backends.api import Tenant
from pyocci.server.auth import (
    AuthenticationError,
    BasicAuth,
    FailureThrottle,
    TooManyAttemptsError,
    User,
    build_authenticator,
    hash_password,
    write_users_file,
)
from pyocci.server.config import AuthConfig
from server.conftest import CountingVerify

pytestmark = pytest.mark.anyio

# Cheap scrypt parameters: the throttle is under test here, not the hash.
FAST = {"n": 16, "r": 1, "p": 1}
ATTACKER = ("198.51.100.66", 50000)
ALICE_DESK = ("192.0.2.10", 40000)


def basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"authorization": f"Basic {token}"}


@pytest.fixture
def users_file(tmp_path: Path) -> Path:
    path = tmp_path / "users.toml"
    write_users_file(
        path,
        {
            "alice": User("alice", "physics", hash_password("wonderland", **FAST)),
            "bob": User("bob", "chemistry", hash_password("builder", **FAST)),
        },
    )
    return path


Build = Callable[..., BasicAuth]


@pytest.fixture
def build(users_file: Path) -> Build:
    def make(clock: FakeClock | None = None, **limits: float) -> BasicAuth:
        clock = clock or FakeClock()
        settings = {"max_failures_per_user": 3, "max_failures_per_address": 5, **limits}
        throttle = FailureThrottle(window=60, lockout=30, clock=clock, **settings)
        authenticator = BasicAuth(users_file, throttle=throttle, cache_seconds=0, clock=clock)
        authenticator._decoy_hash = hash_password("decoy", **FAST)
        return authenticator

    return make


async def status(
    authenticator: BasicAuth, user: str, password: str, client: tuple[str, int] | None
) -> int | str:
    """200 with the tenant's id, or the status the app would answer."""
    try:
        return (await authenticator.authenticate(basic(user, password), client)).id
    except AuthenticationError:
        return 401
    except TooManyAttemptsError:
        return 429


async def test_wrong_passwords_from_one_address_lead_to_429_without_hashing(
    build: Build, verifications: CountingVerify
) -> None:
    authenticator = build(max_failures_per_user=0)
    for n in range(5):
        assert await status(authenticator, "alice", f"guess {n}", ATTACKER) == 401
    assert verifications.calls == 5
    with pytest.raises(TooManyAttemptsError) as caught:
        await authenticator.authenticate(basic("alice", "guess 5"), ATTACKER)
    assert caught.value.retry_after == 30
    # Throttled requests are refused before any verification, right password or not.
    for password in ("guess 6", "wonderland", "builder"):
        assert await status(authenticator, "alice", password, ATTACKER) == 429
    assert await status(authenticator, "bob", "builder", ATTACKER) == 429
    assert await status(authenticator, "mallory", "x", ATTACKER) == 429
    assert verifications.calls == 5
    # Other addresses are served as before.
    assert await status(authenticator, "alice", "wonderland", ALICE_DESK) == "physics"


async def test_the_lock_ends_after_the_lockout(build: Build) -> None:
    clock = FakeClock()
    authenticator = build(clock, max_failures_per_user=0)
    for n in range(5):
        await status(authenticator, "bob", f"guess {n}", ATTACKER)
    assert await status(authenticator, "bob", "builder", ATTACKER) == 429
    clock.now += 30
    assert await status(authenticator, "bob", "builder", ATTACKER) == "chemistry"


async def test_guessing_one_account_from_many_addresses_is_limited_per_user(
    build: Build, verifications: CountingVerify
) -> None:
    clock = FakeClock()
    authenticator = build(clock)
    assert await status(authenticator, "alice", "wonderland", ALICE_DESK) == "physics"
    for n in range(3):
        assert await status(authenticator, "alice", "guess", (f"203.0.113.{n}", 1)) == 401
    calls = verifications.calls
    # Every new address meets the user's lock, whatever the password...
    assert await status(authenticator, "alice", "guess", ("203.0.113.50", 1)) == 429
    assert await status(authenticator, "alice", "wonderland", ("203.0.113.51", 1)) == 429
    assert verifications.calls == calls
    # ...while alice, where she logged in before, and other users are served.
    assert await status(authenticator, "alice", "wonderland", ALICE_DESK) == "physics"
    assert await status(authenticator, "bob", "builder", ("203.0.113.50", 1)) == "chemistry"
    clock.now += 30
    assert await status(authenticator, "alice", "wonderland", ("203.0.113.51", 1)) == "physics"


async def test_unknown_users_are_throttled_like_known_ones(build: Build) -> None:
    """A lock that only known names could reach would tell which names exist."""
    authenticator = build(max_failures_per_address=0)
    for user in ("alice", "nobody"):
        for _ in range(3):
            assert await status(authenticator, user, "guess", ATTACKER) == 401
        assert await status(authenticator, user, "guess", ATTACKER) == 429


async def test_repeating_the_same_wrong_password_counts_once_while_remembered(
    users_file: Path, verifications: CountingVerify
) -> None:
    """A client stuck with an old password is not a guesser: it must not lock its owner out."""
    throttle = FailureThrottle(max_failures_per_user=2, max_failures_per_address=2)
    authenticator = BasicAuth(users_file, throttle=throttle, cache_seconds=60)
    for _ in range(20):
        assert await status(authenticator, "alice", "old password", ATTACKER) == 401
    assert verifications.calls == 1
    assert await status(authenticator, "alice", "wonderland", ATTACKER) == "physics"


async def test_concurrent_guesses_cannot_all_start_before_the_first_fails(
    build: Build, verifications: CountingVerify
) -> None:
    authenticator = build(max_failures_per_user=0, max_failures_per_address=4)
    statuses: list[int | str] = []

    async def guess(n: int) -> None:
        statuses.append(await status(authenticator, "alice", f"guess {n}", ATTACKER))

    with anyio.fail_after(60):
        async with anyio.create_task_group() as group:
            for n in range(30):
                group.start_soon(guess, n)
    assert verifications.calls == 4
    assert sorted(statuses, key=str) == [401] * 4 + [429] * 26


async def test_concurrent_requests_with_the_same_credentials_share_one_verification(
    build: Build, verifications: CountingVerify
) -> None:
    """A client opening many connections at once is neither slowed nor throttled for it."""
    authenticator = build(max_failures_per_user=1, max_failures_per_address=1)
    results: list[int | str] = []

    async def login() -> None:
        results.append(await status(authenticator, "alice", "wonderland", ALICE_DESK))

    with anyio.fail_after(60):
        async with anyio.create_task_group() as group:
            for _ in range(20):
                group.start_soon(login)
    assert results == ["physics"] * 20
    assert verifications.calls == 1


async def test_a_locked_address_gets_no_answer_from_the_cache(
    users_file: Path, verifications: CountingVerify
) -> None:
    """Were remembered successes answered during a lock, a guess of the right password
    would succeed while wrong ones got 429: guessing would go on at full speed."""
    throttle = FailureThrottle(max_failures_per_user=0, max_failures_per_address=2)
    authenticator = BasicAuth(users_file, throttle=throttle, cache_seconds=600)
    assert await status(authenticator, "alice", "wonderland", ATTACKER) == "physics"
    for n in range(2):
        assert await status(authenticator, "alice", f"guess {n}", ATTACKER) == 401
    assert await status(authenticator, "alice", "wonderland", ATTACKER) == 429


async def test_the_configuration_sets_the_limits(users_file: Path) -> None:
    authenticator = build_authenticator(
        AuthConfig(
            method="basic",
            users_file=users_file,
            max_failures_per_address=2,
            lockout_seconds=9,
        )
    )
    assert isinstance(authenticator, BasicAuth)
    authenticator._decoy_hash = hash_password("decoy", **FAST)
    for n in range(2):
        assert await status(authenticator, "bob", f"guess {n}", ATTACKER) == 401
    with pytest.raises(TooManyAttemptsError) as caught:
        await authenticator.authenticate(basic("bob", "builder"), ATTACKER)
    assert caught.value.retry_after == 9


async def test_without_credentials_nothing_is_counted(build: Build) -> None:
    """Clients probe without credentials to read the challenge: not an attempt."""
    authenticator = build(max_failures_per_address=1)
    for headers in ({}, {"authorization": "Basic !!!"}, {"authorization": "Bearer x"}):
        for _ in range(5):
            with pytest.raises(AuthenticationError):
                await authenticator.authenticate(headers, ATTACKER)
    assert await authenticator.authenticate(basic("bob", "builder"), ATTACKER) == Tenant(
        "chemistry"
    )
