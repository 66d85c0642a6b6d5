"""Failed-authentication throttling on a real ``occi-server`` (basic auth), on uvicorn and
granian: 429 with Retry-After past the limits, per client address and per user name,
other callers unaffected, the lock ending after Retry-After, and no password hashing
for throttled requests.

Client addresses are real: the tests connect from other loopback addresses
(127.0.0.x) and, through the proxy the server trusts (127.0.0.1), with
``X-Forwarded-For``. Each test uses addresses and users of its own, so the
tests of a module-scoped server do not meet each other's locks.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from e2e.server import RunningServer, StartServer
from pyocci.server.auth import User, hash_password, write_users_file

pytestmark = pytest.mark.e2e

LOCKOUT = 3
CONFIG = f"""
[auth]
method = "basic"
users_file = "users.toml"
max_failures_per_user = 3
max_failures_per_address = 5
failure_window_seconds = 60
lockout_seconds = {LOCKOUT}
"""
PASSWORDS = {"alice": "alice's secret", "bob": "bob's secret", "carol": "carol's secret"}
TENANTS = {"alice": "physics", "bob": "chemistry", "carol": "biology"}
JSON = "application/occi+json"


def write_users(workdir: Path, **scrypt: int) -> None:
    write_users_file(
        workdir / "users.toml",
        {
            name: User(name, TENANTS[name], hash_password(password, **scrypt))
            for name, password in PASSWORDS.items()
        },
    )


@pytest.fixture(scope="module", params=["uvicorn", "granian"])
def server(
    request: pytest.FixtureRequest,
    start_server: StartServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[RunningServer]:
    workdir = tmp_path_factory.mktemp("throttle")
    # Cheap hashes: these tests are about the limits, and a lock lasts only LOCKOUT s.
    write_users(workdir, n=2**10)
    environ = {"PYOCCI_SERVER": request.param}
    with start_server(workdir=workdir, config=CONFIG, environ=environ) as running:
        yield running


def from_address(server: RunningServer, address: str) -> httpx.Client:
    """A client whose connections come from `address` (any 127.0.0.0/8 address is local)."""
    return server.client(transport=httpx.HTTPTransport(local_address=address))


def login(client: httpx.Client, user: str, password: str, **headers: str) -> httpx.Response:
    return client.get("/-/", auth=(user, password), headers={"Accept": JSON, **headers})


def assert_throttled(response: httpx.Response, what: str) -> int:
    """A 429 in the client's rendering, with Retry-After; returns Retry-After."""
    assert response.status_code == 429, response.text
    retry_after = int(response.headers["retry-after"])
    assert 1 <= retry_after <= LOCKOUT
    assert response.json() == {
        "status": 429,
        "error": f"too many failed authentications {what}; try again in {retry_after} s",
    }
    assert response.headers["x-occi-error"] == response.json()["error"]
    assert "www-authenticate" not in response.headers
    return retry_after


def test_wrong_passwords_from_one_address_lead_to_429(server: RunningServer) -> None:
    with from_address(server, "127.0.0.2") as attacker, server.client() as elsewhere:
        # Rotating user names: the address's limit catches the guesser anyway.
        for n in range(5):
            assert login(attacker, f"user{n}", "guess").status_code == 401
        retry_after = assert_throttled(login(attacker, "user5", "guess"), "from this address")
        # The right password is not even checked from there...
        assert_throttled(login(attacker, "bob", PASSWORDS["bob"]), "from this address")
        # ...and a forwarded address from an untrusted peer changes nothing.
        spoofed = login(attacker, "bob", PASSWORDS["bob"], **{"X-Forwarded-For": "192.0.2.1"})
        assert_throttled(spoofed, "from this address")
        # Other addresses are served.
        assert login(elsewhere, "bob", PASSWORDS["bob"]).status_code == 200
        # Still locked: the 200 above came during the lock.
        text = attacker.get("/-/", auth=("bob", PASSWORDS["bob"]), headers={"Accept": "text/plain"})
        assert text.status_code == 429
        assert text.text.startswith("too many failed authentications from this address")
        create = attacker.post(
            "/compute/",
            auth=("bob", PASSWORDS["bob"]),
            content="Category: compute; "
            'scheme="http://schemas.ogf.org/occi/infrastructure#"; class="kind"\n',
            headers={"Content-Type": "text/plain"},
        )
        assert create.status_code == 429
        assert int(create.headers["retry-after"]) >= 1
        time.sleep(retry_after)
        assert login(attacker, "bob", PASSWORDS["bob"]).status_code == 200


def test_guessing_one_user_from_many_addresses_locks_that_user_but_not_its_owner(
    server: RunningServer,
) -> None:
    with from_address(server, "127.0.0.3") as desk:
        # alice works from 127.0.0.3.
        assert login(desk, "alice", PASSWORDS["alice"]).status_code == 200
        for n in range(3):
            with from_address(server, f"127.0.0.{10 + n}") as guesser:
                assert login(guesser, "alice", f"guess {n}").status_code == 401
        with from_address(server, "127.0.0.20") as laptop:
            retry_after = assert_throttled(
                login(laptop, "alice", PASSWORDS["alice"]), "for user 'alice'"
            )
            # alice at her desk and other users are served during the lock.
            assert login(desk, "alice", PASSWORDS["alice"]).status_code == 200
            assert login(laptop, "carol", PASSWORDS["carol"]).status_code == 200
            assert login(laptop, "alice", PASSWORDS["alice"]).status_code == 429
            time.sleep(retry_after)
            assert login(laptop, "alice", PASSWORDS["alice"]).status_code == 200


def test_the_address_a_local_proxy_forwards_is_the_one_counted(server: RunningServer) -> None:
    """Behind a TLS proxy on this host, every request comes from 127.0.0.1: the address
    counted is the client's, from X-Forwarded-For (which the server trusts from there)."""
    with server.client() as proxy:
        forwarded = {"X-Forwarded-For": "203.0.113.9"}
        for n in range(5):
            assert login(proxy, f"someone{n}", "guess", **forwarded).status_code == 401
        assert_throttled(login(proxy, "bob", PASSWORDS["bob"], **forwarded), "from this address")
        other = {"X-Forwarded-For": "203.0.113.10"}
        assert login(proxy, "bob", PASSWORDS["bob"], **other).status_code == 200
        assert login(proxy, "bob", PASSWORDS["bob"]).status_code == 200


# --- no hashing for throttled requests --------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) used so far by a process and its descendants."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += [int(c) for c in (task / "children").read_text().split()]
        except FileNotFoundError:
            continue  # ended meanwhile
    return total


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc for CPU time")
def test_throttled_requests_cost_no_password_hashing(
    start_server: StartServer, tmp_path: Path
) -> None:
    """With a deliberately expensive hash (scrypt n=2**16, 64 MiB, about 0.2 s of CPU per
    check), the requests refused by a lock cost the server less CPU, together, than two
    of the checks that led to the lock: they were refused without hashing. (Had they been
    checked, they would have cost as many checks as there were requests.)"""
    write_users(tmp_path, n=2**16)
    # The address's limit only (5 failures), and a lock that outlasts the test.
    config = CONFIG.replace("max_failures_per_user = 3", "max_failures_per_user = 0")
    config = config.replace(f"lockout_seconds = {LOCKOUT}", "lockout_seconds = 600")
    with (
        start_server(workdir=tmp_path, config=config) as server,
        from_address(server, "127.0.0.30") as attacker,
    ):
        login(attacker, "carol", "warm-up")  # imports, first-request work
        before = cpu_seconds(server.process.pid)
        for n in range(4):
            assert login(attacker, "carol", f"guess {n}").status_code == 401
        checked = cpu_seconds(server.process.pid) - before
        assert login(attacker, "carol", "one guess too many").status_code == 429
        before = cpu_seconds(server.process.pid)
        for n in range(30):
            password = PASSWORDS["carol"] if n % 3 == 0 else f"more guesses {n}"
            assert login(attacker, "carol", password).status_code == 429
        throttled = cpu_seconds(server.process.pid) - before
    per_check = checked / 4
    assert per_check > 0.05, f"the expensive hash took {per_check:.3f} s of CPU"
    assert throttled < 2 * per_check, (
        f"30 throttled requests took {throttled:.2f} s of CPU; one check takes {per_check:.2f} s"
    )
