"""The failed-authentication throttle: limits per user name and per address, locks that
end, trusted addresses, attempts in flight, bounded memory, and its settings."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from clocks import FakeClock
from pyocci.server.auth import TooManyAttemptsError, build_throttle, client_address
from pyocci.server.auth.throttle import TRUSTED_SECONDS, FailureThrottle
from pyocci.server.config import AuthConfig, ConfigError, ServerConfig, load_config


def throttle(clock: FakeClock, **kwargs) -> FailureThrottle:
    settings = {
        "max_failures_per_user": 3,
        "max_failures_per_address": 5,
        "window": 60.0,
        "lockout": 30.0,
        **kwargs,
    }
    return FailureThrottle(clock=clock, **settings)


def fail(limiter: FailureThrottle, user: str | None, address: str | None) -> None:
    with limiter.attempt(user, address) as attempt:
        attempt.failed()


def refusal(
    limiter: FailureThrottle, user: str | None, address: str | None
) -> TooManyAttemptsError:
    """The refusal of an attempt, checked the cheap way and when admitting alike."""
    with pytest.raises(TooManyAttemptsError) as checked:
        limiter.check(user, address)
    with pytest.raises(TooManyAttemptsError) as admitted:  # noqa: SIM117 - the with must raise
        with limiter.attempt(user, address):
            pass
    assert admitted.value.retry_after == checked.value.retry_after
    return checked.value


def admitted(limiter: FailureThrottle, user: str | None, address: str | None) -> bool:
    try:
        limiter.check(user, address)
        with limiter.attempt(user, address):
            return True
    except TooManyAttemptsError:
        return False


# --- per address -----------------------------------------------------------------------------


def test_an_address_is_locked_after_its_failures_and_others_are_not() -> None:
    clock = FakeClock()
    limiter = throttle(clock)
    for n in range(5):
        assert admitted(limiter, None, "192.0.2.1"), n
        fail(limiter, f"user{n}", "192.0.2.1")  # another user name each time
    error = refusal(limiter, "someone", "192.0.2.1")
    assert error.retry_after == 30
    assert "too many failed authentications from this address" in error.message
    assert "try again in 30 s" in error.message
    assert admitted(limiter, "someone", "192.0.2.2")
    assert admitted(limiter, None, "192.0.2.2")


def test_retry_after_counts_down_and_the_lock_ends() -> None:
    clock = FakeClock()
    limiter = throttle(clock)
    for _ in range(5):
        fail(limiter, None, "192.0.2.1")
    clock.now += 10.5
    assert refusal(limiter, None, "192.0.2.1").retry_after == 20  # 19.5, rounded up
    clock.now += 19.4
    assert refusal(limiter, None, "192.0.2.1").retry_after == 1
    clock.now += 0.1
    assert admitted(limiter, None, "192.0.2.1")
    # The failures that caused the lock are forgotten with it: a new budget.
    for _ in range(4):
        fail(limiter, None, "192.0.2.1")
    assert admitted(limiter, None, "192.0.2.1")
    fail(limiter, None, "192.0.2.1")
    assert refusal(limiter, None, "192.0.2.1").retry_after == 30


def test_failures_older_than_the_window_are_forgotten() -> None:
    clock = FakeClock()
    limiter = throttle(clock)
    for _ in range(4):
        fail(limiter, None, "192.0.2.1")
    clock.now += 60
    for _ in range(4):
        fail(limiter, None, "192.0.2.1")
    assert admitted(limiter, None, "192.0.2.1")


def test_an_attempt_that_does_not_fail_counts_for_nothing() -> None:
    clock = FakeClock()
    limiter = throttle(clock, max_failures_per_address=1)
    for _ in range(3):
        with limiter.attempt(None, "192.0.2.1"):
            pass  # a success
    with pytest.raises(RuntimeError), limiter.attempt(None, "192.0.2.1"):
        raise RuntimeError("the identity service went away")
    assert admitted(limiter, None, "192.0.2.1")
    fail(limiter, None, "192.0.2.1")
    assert not admitted(limiter, None, "192.0.2.1")


def test_a_success_does_not_wipe_the_failures_of_its_address() -> None:
    """Someone holding a valid account must not reset the count of the guesses they
    make at other accounts by logging in between them."""
    clock = FakeClock()
    limiter = throttle(clock)
    for n in range(4):
        fail(limiter, f"victim{n}", "192.0.2.1")
        with limiter.attempt("mallory", "192.0.2.1"):
            limiter.succeeded("mallory", "192.0.2.1")
    fail(limiter, "victim4", "192.0.2.1")
    assert not admitted(limiter, "mallory", "192.0.2.1")


# --- per user --------------------------------------------------------------------------------


def test_a_user_is_locked_after_failures_from_many_addresses() -> None:
    clock = FakeClock()
    limiter = throttle(clock)
    for n in range(3):
        fail(limiter, "alice", f"198.51.100.{n}")  # each address far below its own limit
    error = refusal(limiter, "alice", "198.51.100.99")
    assert "too many failed authentications for user 'alice'" in error.message
    assert error.retry_after == 30
    assert admitted(limiter, "bob", "198.51.100.99")
    clock.now += 30
    assert admitted(limiter, "alice", "198.51.100.99")


def test_the_owner_keeps_working_from_an_address_she_logged_in_from() -> None:
    """Anyone can fail on purpose as alice: that must not lock alice out where she works."""
    clock = FakeClock()
    limiter = throttle(clock)
    with limiter.attempt("alice", "192.0.2.10"):
        limiter.succeeded("alice", "192.0.2.10")
    assert limiter.trusted("alice", "192.0.2.10")
    for n in range(3):
        fail(limiter, "alice", f"198.51.100.{n}")
    assert not admitted(limiter, "alice", "198.51.100.50")
    assert admitted(limiter, "alice", "192.0.2.10")
    # Trust is per user: bob is not trusted at alice's address...
    assert not limiter.trusted("bob", "192.0.2.10")
    # ...and the address's own limit still applies there.
    for _ in range(5):
        fail(limiter, "alice", "192.0.2.10")
    assert not admitted(limiter, "alice", "192.0.2.10")


def test_trust_lasts_a_bounded_time() -> None:
    clock = FakeClock()
    limiter = throttle(clock)
    limiter.succeeded("alice", "192.0.2.10")
    clock.now += TRUSTED_SECONDS - 1
    assert limiter.trusted("alice", "192.0.2.10")
    clock.now += 1
    assert not limiter.trusted("alice", "192.0.2.10")


def test_without_an_address_only_the_user_limit_applies() -> None:
    clock = FakeClock()
    limiter = throttle(clock)
    for _ in range(3):
        fail(limiter, "alice", None)
    assert not admitted(limiter, "alice", None)
    limiter.succeeded("alice", None)  # nothing to trust
    assert not admitted(limiter, "alice", None)
    assert admitted(limiter, "bob", None)


# --- attempts in flight ------------------------------------------------------------------------


def test_attempts_in_flight_count_against_the_limit() -> None:
    """Concurrent guesses cannot all start before the first one fails."""
    clock = FakeClock()
    limiter = throttle(clock)
    attempts = [limiter.attempt("alice", f"192.0.2.{n}") for n in range(3)]
    for attempt in attempts:
        attempt.__enter__()
    with pytest.raises(TooManyAttemptsError) as caught:  # noqa: SIM117
        with limiter.attempt("alice", "192.0.2.77"):
            pass
    assert caught.value.retry_after == 1
    assert "too many authentication attempts at once for user 'alice'" in caught.value.message
    limiter.check("alice", "192.0.2.77")  # not locked: nothing has failed yet
    for attempt in attempts:
        attempt.__exit__(None, None, None)  # they succeeded
    assert admitted(limiter, "alice", "192.0.2.77")


# --- settings, memory and the log ------------------------------------------------------------


def test_a_limit_of_zero_is_off() -> None:
    clock = FakeClock()
    limiter = throttle(clock, max_failures_per_user=0)
    for n in range(50):
        fail(limiter, "alice", f"192.0.2.{n}")
    assert admitted(limiter, "alice", "192.0.2.200")
    never = FailureThrottle.disabled()
    for _ in range(100):
        fail(never, "alice", "192.0.2.1")
    assert admitted(never, "alice", "192.0.2.1")
    assert never.sizes == (0, 0, 0)


def test_memory_is_bounded_when_names_and_addresses_rotate() -> None:
    clock = FakeClock()
    limiter = throttle(clock, size=100)
    for n in range(20_000):
        address = f"10.{n // 65536}.{n // 256 % 256}.{n % 256}"
        fail(limiter, f"user-{n}", address)
        limiter.succeeded(f"user-{n}", address)
    assert limiter.sizes == (100, 100, 100)


def test_the_entry_of_a_busy_attacker_survives_a_flood_of_others() -> None:
    """Least recently used entries go first: the address that keeps failing stays."""
    clock = FakeClock()
    limiter = throttle(clock, size=50, max_failures_per_address=1000)
    for n in range(999):
        fail(limiter, None, "192.0.2.1")
        fail(limiter, None, f"10.0.{n // 256}.{n % 256}")
    fail(limiter, None, "192.0.2.1")
    assert not admitted(limiter, None, "192.0.2.1")


def test_each_lock_is_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    limiter = throttle(clock, max_failures_per_user=5)
    with caplog.at_level(logging.WARNING, logger="pyocci.server.auth"):
        for _ in range(5):
            fail(limiter, "x" * 500, "192.0.2.1")
        for _ in range(20):
            assert not admitted(limiter, "y", "192.0.2.1")
    lines = [record.getMessage() for record in caplog.records]
    assert len(lines) == 2, lines
    assert any("for user 'xxxx" in line and "..." in line for line in lines)
    assert all(len(line) < 300 for line in lines)
    assert "5 failed authentications from 192.0.2.1 within 60 s: attempts refused for 30 s" in lines


@pytest.mark.parametrize(
    ("client", "address"),
    [
        (("192.0.2.7", 4711), "192.0.2.7"),
        (["192.0.2.7", 4711], "192.0.2.7"),
        (("2001:db8:1:2:aaaa::1", 1), "2001:db8:1:2::/64"),
        (("2001:db8:1:2:bbbb::9", 1), "2001:db8:1:2::/64"),
        (("2001:db8:1:3::1", 1), "2001:db8:1:3::/64"),
        (("::ffff:192.0.2.7", 1), "192.0.2.7"),
        (("testclient", 50000), "testclient"),
        (None, None),
        ((), None),
        (("", 0), None),
    ],
)
def test_client_address(client: object, address: str | None) -> None:
    assert client_address(client) == address  # type: ignore[arg-type]


def test_the_settings_build_the_throttle() -> None:
    config = AuthConfig(
        method="basic",
        max_failures_per_user=0,
        max_failures_per_address=2,
        failure_window_seconds=10,
        lockout_seconds=7,
        throttle_size=5,
    )
    limiter = build_throttle(config)
    for _ in range(2):
        fail(limiter, "alice", "192.0.2.1")
    assert refusal(limiter, "alice", "192.0.2.1").retry_after == 7
    defaults = AuthConfig()
    assert (defaults.max_failures_per_user, defaults.max_failures_per_address) == (10, 30)
    assert (defaults.failure_window_seconds, defaults.lockout_seconds) == (300.0, 300.0)


@pytest.mark.parametrize(
    "setting",
    [
        {"max_failures_per_user": -1},
        {"max_failures_per_address": -1},
        {"failure_window_seconds": 0},
        {"lockout_seconds": 0.5},
        {"throttle_size": 0},
    ],
)
def test_bad_settings_are_refused(setting: dict[str, float]) -> None:
    with pytest.raises(ConfigError) as caught:
        ServerConfig.from_json(json.dumps({"auth": setting}))
    assert f"auth.{next(iter(setting))}" in caught.value.message


def test_long_user_names_are_kept_small_and_apart() -> None:
    clock = FakeClock()
    limiter = throttle(clock, max_failures_per_address=0)
    first, second = "a" * 3000 + "1", "a" * 3000 + "2"
    for _ in range(3):
        fail(limiter, first, None)
    error = refusal(limiter, first, None)
    assert "for user 'aaaaaaaa" in error.message
    assert len(error.message) < 200
    assert admitted(limiter, second, None)
    assert all(len(name) <= 128 for name in limiter._users.table._items)


def test_the_settings_come_from_the_file_and_the_environment(tmp_path: Path) -> None:
    path = tmp_path / "server.toml"
    path.write_text("[auth]\nmax_failures_per_user = 4\nfailure_window_seconds = 90\n")
    environ = {
        "PYOCCI_AUTH_MAX_FAILURES_PER_ADDRESS": "0",
        "PYOCCI_AUTH_LOCKOUT_SECONDS": "2.5",
        "PYOCCI_AUTH_THROTTLE_SIZE": "64",
    }
    auth = load_config(path, environ=environ).auth
    assert (auth.max_failures_per_user, auth.max_failures_per_address) == (4, 0)
    assert (auth.failure_window_seconds, auth.lockout_seconds) == (90.0, 2.5)
    assert auth.throttle_size == 64
