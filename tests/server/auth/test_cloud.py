"""Method ``cloud``: HTTP basic credentials that the backend's cloud checks. Here the
cloud's answer is a function recording what it was asked; the method against a real
oned is in tests/e2e/test_opennebula_callers.py."""

from __future__ import annotations

import base64

import anyio
import pytest

from clocks import FakeClock
from pyocci.backends.api import Tenant
from pyocci.backends.errors import BackendUnavailableError
from pyocci.backends.memory.backend import MemoryBackend
from pyocci.model.standard import standard_model
from pyocci.server.auth import (
    AuthenticationError,
    CloudAuth,
    FailureThrottle,
    TooManyAttemptsError,
    build_authenticator,
)
from pyocci.server.config import AuthConfig, ConfigError

pytestmark = pytest.mark.anyio

ADDRESS = ("192.0.2.10", 40000)


def basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"authorization": f"Basic {token}"}


class Cloud:
    """Knows alice (password ``wonderland``, group 104); can be made unreachable."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, str]] = []
        self.down = False

    async def check(self, user_name: str, secret: str) -> Tenant | None:
        self.asked.append((user_name, secret))
        await anyio.sleep(0.01)
        if self.down:
            raise BackendUnavailableError("the cloud cannot be reached", retry_after=7)
        if (user_name, secret) == ("alice", "wonderland"):
            return Tenant(id="group-104", name="physics", token=f"{user_name}:{secret}")
        return None


def method(cloud: Cloud, clock: FakeClock | None = None, **limits: int) -> CloudAuth:
    clock = clock or FakeClock()
    throttle = FailureThrottle(
        max_failures_per_user=limits.get("per_user", 0),
        max_failures_per_address=limits.get("per_address", 0),
        window=300,
        lockout=300,
        clock=clock,
    )
    return CloudAuth(cloud.check, cloud="TestCloud", throttle=throttle, clock=clock)


async def test_the_clouds_tenant_carries_the_credentials_on() -> None:
    cloud = Cloud()
    tenant = await method(cloud).authenticate(basic("alice", "wonderland"), ADDRESS)
    assert tenant.id == "group-104"
    assert tenant.token == "alice:wonderland"
    # The secret is the cloud's to check and the backend's to use, never in a repr.
    assert "wonderland" not in repr(tenant)


async def test_no_or_refused_credentials_are_401_with_a_basic_challenge() -> None:
    auth = method(Cloud())
    with pytest.raises(AuthenticationError, match="send your TestCloud user name") as missing:
        await auth.authenticate({}, ADDRESS)
    assert missing.value.challenge.startswith("Basic realm=")
    with pytest.raises(AuthenticationError, match="TestCloud refused"):
        await auth.authenticate(basic("alice", "guess"), ADDRESS)
    with pytest.raises(AuthenticationError, match="malformed credentials"):
        await auth.authenticate({"authorization": "Basic %%%"}, ADDRESS)


async def test_outcomes_are_kept_for_the_cache_time_then_asked_again() -> None:
    cloud, clock = Cloud(), FakeClock()
    auth = method(cloud, clock)
    for _ in range(3):
        await auth.authenticate(basic("alice", "wonderland"), ADDRESS)
    assert len(cloud.asked) == 1
    clock.now += 61
    await auth.authenticate(basic("alice", "wonderland"), ADDRESS)
    assert len(cloud.asked) == 2


async def test_concurrent_requests_with_the_same_credentials_ask_once() -> None:
    cloud = Cloud()
    auth = method(cloud)
    tenants: list[Tenant] = []

    async def one() -> None:
        tenants.append(await auth.authenticate(basic("alice", "wonderland"), ADDRESS))

    async with anyio.create_task_group() as group:
        for _ in range(5):
            group.start_soon(one)
    assert len(tenants) == 5
    assert len(cloud.asked) == 1


async def test_refusals_are_throttled_before_the_cloud_is_asked() -> None:
    cloud = Cloud()
    auth = method(cloud, per_user=2)
    for guess in ("a", "b"):
        with pytest.raises(AuthenticationError):
            await auth.authenticate(basic("alice", guess), ADDRESS)
    with pytest.raises(TooManyAttemptsError):
        await auth.authenticate(basic("alice", "c"), ADDRESS)
    assert [secret for _, secret in cloud.asked] == ["a", "b"]


async def test_an_unreachable_cloud_is_a_503_not_a_refusal() -> None:
    cloud = Cloud()
    cloud.down = True
    auth = method(cloud, per_user=1)
    for _ in range(3):
        with pytest.raises(BackendUnavailableError) as error:
            await auth.authenticate(basic("alice", "wonderland"), ADDRESS)
        assert error.value.retry_after == 7
    cloud.down = False
    # Neither remembered nor counted as a failure: it works once the cloud is back.
    assert (await auth.authenticate(basic("alice", "wonderland"), ADDRESS)).id == "group-104"


def test_a_backend_that_does_not_check_callers_is_refused_at_start() -> None:
    backend = MemoryBackend(model=standard_model())
    with pytest.raises(ConfigError, match="the memory backend does not"):
        build_authenticator(AuthConfig(method="cloud"), backend)
    with pytest.raises(ConfigError, match="needs a backend"):
        build_authenticator(AuthConfig(method="cloud"))
