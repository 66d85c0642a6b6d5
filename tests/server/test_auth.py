"""Authentication plug-ins: password hashing, the users file, HTTP basic, no-auth,
bearer tokens, x509 and Keystone (against a real Keystone, see ``tests/keystone.py``)."""

from __future__ import annotations

import base64
import logging
import os
import stat
from collections.abc import Mapping
from pathlib import Path

import anyio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clocks import FakeClock
from e2e.server import free_port
from keystone import SERVICE_USER, SKIP_VARIABLE, USERS, Keystone, shared_keystone
from pyocci.backends.api import Tenant
from pyocci.server.auth import (
    AuthenticationError,
    Authenticator,
    BasicAuth,
    IdentityServiceUnavailableError,
    KeystoneAuth,
    NoAuth,
    TokenAuth,
    User,
    X509Auth,
    basic_challenge,
    bearer_challenge,
    build_authenticator,
    generate_token,
    hash_password,
    hash_token,
    keystone_v3_url,
    parse_basic_authorization,
    read_users_file,
    verify_password,
    write_users_file,
)
from pyocci.server.config import AuthConfig, ConfigError
from server.conftest import CountingVerify

CHALLENGE = 'Basic realm="pyocci"'
# Cheap scrypt parameters for users the tests create by the dozen; the default
# parameters are exercised by the hashing tests themselves.
FAST = {"n": 16, "r": 1, "p": 1}


def basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"authorization": f"Basic {token}"}


def user(name: str, tenant: str, password: str) -> User:
    return User(name, tenant, hash_password(password, **FAST))


def make_auth(path: Path, **kwargs) -> BasicAuth:
    authenticator = BasicAuth(path, **kwargs)
    # The decoy hash unknown users are checked against, made cheap for the tests.
    authenticator._decoy_hash = hash_password("decoy", **FAST)
    return authenticator


async def refused(authenticator: Authenticator, headers: Mapping[str, str]) -> str:
    with pytest.raises(AuthenticationError) as caught:
        await authenticator.authenticate(headers)
    assert caught.value.challenge == authenticator.challenge
    return caught.value.message


# --- passwords ----------------------------------------------------------------------------


def test_hash_format_and_round_trip() -> None:
    stored = hash_password("correct horse")
    scheme, n, r, p, salt, key = stored.split("$")
    assert (scheme, n, r, p) == ("scrypt", "16384", "8", "1")
    assert len(base64.b64decode(salt + "==")) == 16
    assert len(base64.b64decode(key + "=")) == 32
    assert verify_password("correct horse", stored)
    assert not verify_password("correct horse ", stored)
    assert not verify_password("", stored)


def test_hashes_are_salted() -> None:
    first, second = hash_password("same", **FAST), hash_password("same", **FAST)
    assert first != second
    assert verify_password("same", first) and verify_password("same", second)


def test_parameters_are_read_from_the_stored_hash() -> None:
    stored = hash_password("pw", n=1024, r=2, p=3)
    assert stored.startswith("scrypt$1024$2$3$")
    assert verify_password("pw", stored)


def test_passwords_are_unicode_normalized() -> None:
    stored = hash_password("caf\u00e9", **FAST)  # é precomposed
    assert verify_password("cafe\u0301", stored)  # e + combining acute
    assert not verify_password("cafe", stored)


def test_empty_and_odd_passwords_hash() -> None:
    for password in ("", ":", "\ud800", "\x00", "x" * 10_000):
        assert verify_password(password, hash_password(password, **FAST))


@pytest.mark.parametrize(
    "parameters",
    [{"n": 3}, {"n": 1}, {"n": 0}, {"r": 0}, {"p": 0}, {"p": 17}, {"n": 2**20, "r": 8}],
)
def test_hash_password_refuses_bad_parameters(parameters: dict[str, int]) -> None:
    with pytest.raises(ValueError):
        hash_password("pw", **parameters)


GOOD = hash_password("pw", **FAST)
_, _N, _R, _P, _SALT, _KEY = GOOD.split("$")


@pytest.mark.parametrize(
    "stored",
    [
        "",
        "pw",
        "scrypt",
        f"bcrypt${_N}${_R}${_P}${_SALT}${_KEY}",
        f"scrypt${_N}${_R}${_P}${_SALT}",
        f"scrypt${_N}${_R}${_P}${_SALT}${_KEY}$",
        f"scrypt$x${_R}${_P}${_SALT}${_KEY}",
        f"scrypt$-16${_R}${_P}${_SALT}${_KEY}",
        f"scrypt$\u0661\u0666${_R}${_P}${_SALT}${_KEY}",  # Arabic-Indic digits
        f"scrypt$17${_R}${_P}${_SALT}${_KEY}",  # not a power of 2
        f"scrypt${2**30}$8${_P}${_SALT}${_KEY}",  # 128 GiB: refused, not attempted
        f"scrypt${_N}${_R}$99${_SALT}${_KEY}",
        f"scrypt${_N}${_R}${_P}$!!!${_KEY}",
        f"scrypt${_N}${_R}${_P}${_SALT}$short",
        f"scrypt${_N}${_R}${_P}$${_KEY}",
    ],
)
def test_malformed_stored_hashes_match_nothing(stored: str) -> None:
    assert verify_password("pw", stored) is False


@settings(max_examples=200)
@given(st.text(), st.text())
def test_verify_password_never_raises(password: str, stored: str) -> None:
    assert verify_password(password, stored) is False


# --- the users file -----------------------------------------------------------------------


def test_users_file_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "dir" / "users.toml"
    users = {
        name: user(name, tenant, "pw")
        for name, tenant in [
            ("alice", "physics"),
            ("bob smith", "chemistry"),
            ('quote"back\\slash', "t\u00e9nant"),
            ("\u00e9l\u00e8ve", "physics"),
        ]
    }
    write_users_file(path, users)
    assert read_users_file(path) == users
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(os.listdir(path.parent)) == ["users.toml"]  # no temporary file left


def test_users_file_is_replaced_atomically_and_stays_private(tmp_path: Path) -> None:
    path = tmp_path / "users.toml"
    path.write_text("")
    path.chmod(0o644)
    inode = path.stat().st_ino
    write_users_file(path, {"a": user("a", "t", "pw")})
    assert path.stat().st_ino != inode  # a new file renamed over the old one
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_missing_users_file_has_no_users(tmp_path: Path) -> None:
    assert read_users_file(tmp_path / "none.toml") == {}
    with pytest.raises(ConfigError, match="does not exist"):
        read_users_file(tmp_path / "none.toml", missing_ok=False)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[users.a\n", "is not valid TOML"),
        ('admins = ["a"]', "unknown key 'admins'"),
        ("users = 5", "'users' must be a table"),
        ("[users]\na = 5", "user 'a': expected a table with tenant and password"),
        ('[users.a]\npassword = "{good}"', "user 'a': tenant: expected a non-empty string"),
        ('[users.a]\ntenant = ""\npassword = "{good}"', "user 'a': tenant: expected a non-empty"),
        ('[users.a]\ntenant = "t"', "user 'a': password: expected a hash made by"),
        ('[users.a]\ntenant = "t"\npassword = "pw"', "user 'a': password: expected a hash"),
        ('[users.a]\ntenant = "t"\npassword = "{good}"\nrole = "x"', "unknown key 'role'"),
        ('[users."a:b"]\ntenant = "t"\npassword = "{good}"', "cannot contain ':'"),
        ('[users.""]\ntenant = "t"\npassword = "{good}"', "cannot be empty"),
    ],
)
def test_malformed_users_files_are_config_errors(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "users.toml"
    path.write_text(text.replace("{good}", GOOD))
    with pytest.raises(ConfigError) as caught:
        read_users_file(path)
    assert expected in caught.value.message
    assert str(path) in caught.value.message


def test_a_users_file_must_be_utf8(tmp_path: Path) -> None:
    path = tmp_path / "users.toml"
    path.write_bytes(b"\xff")
    with pytest.raises(ConfigError, match="not UTF-8"):
        read_users_file(path)


# --- Authorization: Basic -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (basic("alice", "pw")["authorization"], ("alice", "pw")),
        (basic("alice", "p:w:")["authorization"], ("alice", "p:w:")),
        (basic("alice", "")["authorization"], ("alice", "")),
        (basic("\u00e9l\u00e8ve", "\u00fc")["authorization"], ("\u00e9l\u00e8ve", "\u00fc")),
        ("basic YWxpY2U6cHc=", ("alice", "pw")),
        ("BASIC   YWxpY2U6cHc=  ", ("alice", "pw")),
        ("Basic\tYWxpY2U6cHc=", ("alice", "pw")),
        ("Basic YWxpY2U6cHc", ("alice", "pw")),  # padding left out
    ],
)
def test_parse_basic_authorization(value: str, expected: tuple[str, str]) -> None:
    assert parse_basic_authorization(value) == expected


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "HTTP basic credentials only"),
        ("Bearer abc", "HTTP basic credentials only"),
        ("Digest username=x", "HTTP basic credentials only"),
        ("Basic", "no credentials after 'Basic'"),
        ("Basic   ", "no credentials after 'Basic'"),
        ("Basic !!!!", "not base64"),
        ("Basic YWxp Y2U6", "not base64"),
        ("Basic YWxpY2U6cHc==x", "not base64"),
        ("Basic \u00e9\u00e9\u00e9\u00e9", "not base64"),
        ("Basic " + base64.b64encode(b"\xff\xfe:pw").decode(), "not UTF-8"),
        ("Basic " + base64.b64encode(b"alicepw").decode(), "no ':'"),
        ("Basic " + base64.b64encode(b":pw").decode(), "user name is empty"),
        ("Basic " + base64.b64encode(b"al\x00ice:pw").decode(), "control characters"),
        ("Basic " + base64.b64encode(b"alice:p\nw").decode(), "control characters"),
        ("Basic " + "A" * 5000, "too long"),
    ],
)
def test_malformed_authorization_is_refused_with_a_reason(value: str, reason: str) -> None:
    with pytest.raises(AuthenticationError) as caught:
        parse_basic_authorization(value, challenge='Basic realm="x"')
    assert reason in caught.value.message
    assert "send 'Authorization: Basic <base64 of user:password>'" in caught.value.message
    assert caught.value.challenge == 'Basic realm="x"'


def _credentials() -> st.SearchStrategy[str]:
    raw = st.one_of(
        st.binary(max_size=64),
        st.text(max_size=32).map(lambda text: text.encode("utf-8", "surrogatepass")),
    )
    encoded = raw.map(lambda data: base64.b64encode(data).decode())
    scheme = st.sampled_from(["Basic", "basic", "BASIC", "Bearer", "", "Basic\t", "Negotiate"])
    return st.one_of(
        st.text(),
        st.builds(lambda s, t: f"{s} {t}", scheme, encoded),
        st.builds(lambda s, t: f"{s} {t}", scheme, st.text()),
    )


@given(_credentials())
def test_the_header_parser_raises_only_authentication_errors(value: str) -> None:
    try:
        user_name, _ = parse_basic_authorization(value)
    except AuthenticationError as error:
        assert error.challenge == CHALLENGE
        return
    assert user_name and ":" not in user_name


def test_basic_challenge_quotes_the_realm() -> None:
    assert basic_challenge() == CHALLENGE
    assert basic_challenge('my "lab" \\ cloud') == 'Basic realm="my \\"lab\\" \\\\ cloud"'


# --- authenticators -------------------------------------------------------------------------


@pytest.mark.anyio
async def test_no_auth_serves_one_tenant() -> None:
    authenticator = build_authenticator(AuthConfig(method="none", tenant="lab"))
    assert isinstance(authenticator, NoAuth)
    assert authenticator.challenge is None
    assert await authenticator.authenticate({}) == Tenant(id="lab")
    assert await authenticator.authenticate({"authorization": "garbage"}) == Tenant(id="lab")
    assert await NoAuth().authenticate({}) == Tenant(id="default")
    await authenticator.close()


def test_build_authenticator_basic(tmp_path: Path) -> None:
    path = tmp_path / "users.toml"
    authenticator = build_authenticator(
        AuthConfig(method="basic", users_file=path, realm="lab", cache_seconds=1, cache_size=2)
    )
    assert isinstance(authenticator, BasicAuth)
    assert authenticator.users_file == path
    assert authenticator.challenge == 'Basic realm="lab"'


def test_build_authenticator_basic_uses_the_default_users_file(isolated_env: Path) -> None:
    authenticator = build_authenticator(AuthConfig(method="basic"))
    assert isinstance(authenticator, BasicAuth)
    assert authenticator.users_file == isolated_env / "users.toml"


def test_build_authenticator_refuses_unknown_methods() -> None:
    with pytest.raises(ConfigError) as caught:
        build_authenticator(AuthConfig(method="ldap"))
    assert caught.value.message == (
        "auth.method: expected one of 'none', 'basic', 'token', 'x509', 'keystone', 'oidc', "
        "'cloud', 'voms', got 'ldap'"
    )


def test_a_broken_users_file_stops_the_server_starting(tmp_path: Path) -> None:
    path = tmp_path / "users.toml"
    path.write_text("[users.a]\ntenant = 1\n")
    with pytest.raises(ConfigError, match="user 'a': tenant"):
        build_authenticator(AuthConfig(method="basic", users_file=path))


@pytest.fixture
def users_file(tmp_path: Path) -> Path:
    path = tmp_path / "users.toml"
    write_users_file(
        path, {"alice": user("alice", "physics", "wonderland"), "bob": user("bob", "physics", "b")}
    )
    return path


@pytest.mark.anyio
async def test_basic_auth_admits_users_with_their_tenant(users_file: Path) -> None:
    authenticator = make_auth(users_file)
    assert authenticator.challenge == CHALLENGE
    assert await authenticator.authenticate(basic("alice", "wonderland")) == Tenant(id="physics")
    assert await authenticator.authenticate(basic("bob", "b")) == Tenant(id="physics")
    assert set(authenticator.users) == {"alice", "bob"}


@pytest.mark.anyio
async def test_basic_auth_refusals(users_file: Path) -> None:
    authenticator = make_auth(users_file)
    wrong = await refused(authenticator, basic("alice", "looking-glass"))
    unknown = await refused(authenticator, basic("carol", "wonderland"))
    assert wrong == unknown == "unknown user or wrong password"  # no user enumeration
    assert (await refused(authenticator, {})).startswith("authentication required")
    assert "HTTP basic credentials only" in await refused(
        authenticator, {"authorization": "Bearer x"}
    )
    assert "not base64" in await refused(authenticator, {"authorization": "Basic %%%"})
    # Header names are lower-case; the app passes them so.
    assert (await refused(authenticator, {"Authorization": "x"})).startswith("authentication")


# The users file is only read here, so sharing it between examples is harmless.
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(value=_credentials())
def test_basic_auth_raises_only_authentication_errors(users_file: Path, value: str) -> None:
    authenticator = make_auth(users_file)

    async def attempt() -> None:
        try:
            await authenticator.authenticate({"authorization": value})
        except AuthenticationError as error:
            assert error.challenge == CHALLENGE
        else:
            raise AssertionError(f"{value!r} was admitted")

    anyio.run(attempt)


@pytest.mark.anyio
async def test_users_file_changes_take_effect_without_restart(users_file: Path) -> None:
    authenticator = make_auth(users_file)
    await refused(authenticator, basic("carol", "c"))

    users = read_users_file(users_file)
    users["carol"] = user("carol", "biology", "c")
    write_users_file(users_file, users)
    assert await authenticator.authenticate(basic("carol", "c")) == Tenant(id="biology")

    # Cached successes do not outlive a removal or a password change.
    assert await authenticator.authenticate(basic("alice", "wonderland"))
    del users["alice"]
    users["bob"] = user("bob", "physics", "new")
    write_users_file(users_file, users)
    await refused(authenticator, basic("alice", "wonderland"))
    await refused(authenticator, basic("bob", "b"))
    assert await authenticator.authenticate(basic("bob", "new")) == Tenant(id="physics")


@pytest.mark.anyio
async def test_a_users_file_broken_later_keeps_the_previous_users(
    users_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    authenticator = make_auth(users_file, cache_seconds=0)
    assert await authenticator.authenticate(basic("bob", "b"))
    good = users_file.read_text()
    users_file.write_text(good + "\n[users.broken\n")
    with caplog.at_level(logging.ERROR, logger="pyocci.server.auth"):
        assert await authenticator.authenticate(basic("bob", "b")) == Tenant(id="physics")
        assert await authenticator.authenticate(basic("bob", "b"))
    errors = [record for record in caplog.records if record.levelno == logging.ERROR]
    assert len(errors) == 1  # logged once per change, not per request
    assert "not valid TOML" in errors[0].getMessage()
    assert "previous users stay in force" in errors[0].getMessage()

    write_users_file(users_file, {"dora": user("dora", "art", "d")})
    await refused(authenticator, basic("bob", "b"))
    assert await authenticator.authenticate(basic("dora", "d")) == Tenant(id="art")


@pytest.mark.anyio
async def test_a_missing_users_file_admits_nobody_until_it_appears(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "users.toml"
    with caplog.at_level(logging.WARNING, logger="pyocci.server.auth"):
        authenticator = make_auth(path)
    assert "does not exist" in caplog.text
    await refused(authenticator, basic("alice", "pw"))
    write_users_file(path, {"alice": user("alice", "t", "pw")})
    assert await authenticator.authenticate(basic("alice", "pw")) == Tenant(id="t")
    path.unlink()
    await refused(authenticator, basic("alice", "pw"))


@pytest.mark.anyio
async def test_verifications_are_cached_briefly(
    users_file: Path, verifications: CountingVerify
) -> None:
    clock = FakeClock()
    authenticator = make_auth(users_file, cache_seconds=30, clock=clock)
    for _ in range(3):
        assert await authenticator.authenticate(basic("alice", "wonderland"))
    assert verifications.calls == 1
    for _ in range(3):
        await refused(authenticator, basic("alice", "wrong"))  # failures too
    assert verifications.calls == 2
    for _ in range(2):
        await refused(authenticator, basic("nobody", "x"))  # unknown users pay scrypt too
    assert verifications.calls == 3
    clock.now += 31
    assert await authenticator.authenticate(basic("alice", "wonderland"))
    assert verifications.calls == 4


@pytest.mark.anyio
async def test_the_cache_can_be_disabled(users_file: Path, verifications: CountingVerify) -> None:
    authenticator = make_auth(users_file, cache_seconds=0)
    for _ in range(3):
        assert await authenticator.authenticate(basic("alice", "wonderland"))
    assert verifications.calls == 3


@pytest.mark.anyio
async def test_the_cache_is_bounded(users_file: Path, verifications: CountingVerify) -> None:
    authenticator = make_auth(users_file, cache_size=1)
    await authenticator.authenticate(basic("alice", "wonderland"))
    await authenticator.authenticate(basic("bob", "b"))  # evicts alice
    await authenticator.authenticate(basic("bob", "b"))
    assert verifications.calls == 2
    await authenticator.authenticate(basic("alice", "wonderland"))
    assert verifications.calls == 3
    assert len(authenticator._cache) == 1


@pytest.mark.anyio
async def test_concurrent_requests_are_all_answered(users_file: Path) -> None:
    authenticator = make_auth(users_file)
    results: list[Tenant] = []

    async def one() -> None:
        results.append(await authenticator.authenticate(basic("alice", "wonderland")))

    async with anyio.create_task_group() as group:
        for _ in range(20):
            group.start_soon(one)
    assert results == [Tenant(id="physics")] * 20


@pytest.mark.anyio
async def test_default_parameters_verify_off_the_event_loop(tmp_path: Path) -> None:
    path = tmp_path / "users.toml"
    write_users_file(path, {"eve": User("eve", "t", hash_password("real cost"))})
    authenticator = BasicAuth(path)
    assert await authenticator.authenticate(basic("eve", "real cost")) == Tenant(id="t")
    await refused(authenticator, basic("mallory", "real cost"))  # the decoy, built lazily


# --- bearer tokens ----------------------------------------------------------------------------


def test_generated_tokens_are_long_random_and_hashed() -> None:
    first, second = generate_token(), generate_token()
    assert first != second
    assert first.startswith("pyocci_") and len(first) == len("pyocci_") + 43
    stored = hash_token(first)
    assert stored.startswith("sha256$") and first not in stored
    assert hash_token(first) == stored and hash_token(second) != stored


def test_users_file_holds_passwords_tokens_or_both(tmp_path: Path) -> None:
    path = tmp_path / "users.toml"
    users = {
        "pw": user("pw", "t1", "secret"),
        "tok": User("tok", "t2", token_hash=hash_token("abc")),
        "both": User("both", "t3", hash_password("x", **FAST), hash_token("def")),
    }
    write_users_file(path, users)
    assert read_users_file(path) == users
    assert "abc" not in path.read_text()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[users.a]\ntenant = "t"', "password: expected a hash made by 'occi-server user add'"),
        ('[users.a]\ntenant = "t"\ntoken = "abc"', "token: expected a hash made by"),
        ('[users.a]\ntenant = "t"\ntoken = 5', "token: expected a hash made by"),
        ('[users.a]\ntenant = "t"\nkey = "x"', "expected tenant, password and token"),
    ],
)
def test_malformed_token_entries(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "users.toml"
    path.write_text(text + "\n")
    with pytest.raises(ConfigError, match=message):
        read_users_file(path)


@pytest.fixture
def token_users(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    tokens = {"alice": generate_token(), "bob": generate_token()}
    path = tmp_path / "users.toml"
    write_users_file(
        path,
        {
            "alice": User("alice", "physics", token_hash=hash_token(tokens["alice"])),
            "bob": User("bob", "chemistry", token_hash=hash_token(tokens["bob"])),
            "carol": user("carol", "physics", "password only"),
        },
    )
    return path, tokens


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


@pytest.mark.anyio
async def test_token_auth_admits_tokens_with_their_tenant(
    token_users: tuple[Path, dict[str, str]],
) -> None:
    path, tokens = token_users
    authenticator = build_authenticator(AuthConfig(method="token", users_file=path, realm="lab"))
    assert isinstance(authenticator, TokenAuth)
    assert authenticator.challenge == 'Bearer realm="lab"'
    assert await authenticator.authenticate(bearer(tokens["alice"])) == Tenant("physics")
    assert (await authenticator.authenticate({"authorization": f"bearer  {tokens['bob']}"})).id == (
        "chemistry"
    )


@pytest.mark.anyio
async def test_token_auth_refusals(token_users: tuple[Path, dict[str, str]]) -> None:
    path, tokens = token_users
    authenticator = TokenAuth(path)
    invalid = bearer_challenge("pyocci", "invalid_token")
    cases = {
        "missing": ({}, 'Bearer realm="pyocci"'),
        "unknown": (bearer(generate_token()), invalid),
        "basic": (basic("carol", "password only"), invalid),
        "spaces": ({"authorization": "Bearer a b"}, invalid),
        "huge": (bearer("a" * 5000), invalid),
        "hash": (bearer(hash_token(tokens["alice"])), invalid),
    }
    for name, (headers, challenge) in cases.items():
        with pytest.raises(AuthenticationError) as caught:
            await authenticator.authenticate(headers)
        assert caught.value.challenge == challenge, name


@pytest.mark.anyio
async def test_token_changes_take_effect_without_restart(
    token_users: tuple[Path, dict[str, str]],
) -> None:
    path, tokens = token_users
    authenticator = TokenAuth(path)
    assert await authenticator.authenticate(bearer(tokens["alice"]))
    renewed = generate_token()
    users = read_users_file(path)
    users["alice"] = User("alice", "physics", token_hash=hash_token(renewed))
    write_users_file(path, users)
    with pytest.raises(AuthenticationError):
        await authenticator.authenticate(bearer(tokens["alice"]))
    assert (await authenticator.authenticate(bearer(renewed))).id == "physics"


# --- x509 -------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_x509_serves_the_configured_tenant() -> None:
    authenticator = build_authenticator(AuthConfig(method="x509", tenant="grid"))
    assert isinstance(authenticator, X509Auth)
    assert authenticator.challenge is None
    assert await authenticator.authenticate({}) == Tenant(id="grid")


# --- Keystone ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "v3"),
    [
        ("https://k.example.org:5000/v3", "https://k.example.org:5000/v3"),
        ("https://k.example.org:5000/v3/", "https://k.example.org:5000/v3"),
        ("https://k.example.org:5000/v2.0", "https://k.example.org:5000/v3"),
        ("https://k.example.org/identity", "https://k.example.org/identity/v3"),
    ],
)
def test_keystone_v3_url(url: str, v3: str) -> None:
    assert keystone_v3_url(url) == v3


def test_keystone_settings_are_required() -> None:
    with pytest.raises(ConfigError) as caught:
        AuthConfig(method="keystone", keystone_url="https://k.example.org/v3")
    assert caught.value.message.startswith(
        "auth.method 'keystone' needs auth.keystone_service_user, "
        "auth.keystone_service_password, auth.keystone_service_project"
    )


@pytest.fixture(scope="module")
def keystone() -> Keystone:
    if os.environ.get(SKIP_VARIABLE):
        pytest.skip(f"{SKIP_VARIABLE} is set")
    return shared_keystone()


def keystone_auth(url: str, **kwargs) -> KeystoneAuth:
    name, password, project = SERVICE_USER
    authenticator = build_authenticator(
        AuthConfig(
            method="keystone",
            keystone_url=url,
            keystone_service_user=name,
            keystone_service_password=password,
            keystone_service_project=project,
        )
    )
    assert isinstance(authenticator, KeystoneAuth)
    if kwargs:
        authenticator = KeystoneAuth(
            url,
            service_user=name,
            service_password=password,
            service_project=project,
            **kwargs,
        )
    return authenticator


@pytest.mark.anyio
async def test_keystone_tenant_is_the_project_and_carries_the_token(keystone: Keystone) -> None:
    authenticator = keystone_auth(keystone.v3)
    token = keystone.token("alice", USERS["alice"][0], "alpha")
    try:
        tenant = await authenticator.authenticate({"x-auth-token": token})
        assert tenant == Tenant(id=keystone.projects["alpha"], name="alpha", token=token)
        assert authenticator.challenge == f"Keystone uri='{keystone.v3}'"
        message = await refused(authenticator, {})
        assert "get a project-scoped token from Keystone" in message
    finally:
        await authenticator.close()


@pytest.mark.anyio
async def test_keystone_validations_are_cached_for_a_bounded_time(keystone: Keystone) -> None:
    clock = FakeClock()
    authenticator = keystone_auth(keystone.v3, cache_seconds=30, clock=clock)
    token = keystone.token("bob", USERS["bob"][0], "beta")
    try:
        assert await authenticator.authenticate({"x-auth-token": token})
        keystone.revoke(token)
        # Within the cache time the earlier validation stands (the documented trade-off)...
        clock.now += 29
        assert await authenticator.authenticate({"x-auth-token": token})
        # ...after it, Keystone is asked again and says no.
        clock.now += 2
        message = await refused(authenticator, {"x-auth-token": token})
        assert "invalid or has expired" in message
    finally:
        await authenticator.close()


@pytest.mark.anyio
async def test_keystone_cache_is_bounded(keystone: Keystone) -> None:
    authenticator = keystone_auth(keystone.v3, cache_size=1)
    try:
        for name, project in (("alice", "alpha"), ("bob", "beta")):
            token = keystone.token(name, USERS[name][0], project)
            assert await authenticator.authenticate({"x-auth-token": token})
        assert len(authenticator._checked.kept) == 1
    finally:
        await authenticator.close()


@pytest.mark.anyio
async def test_keystone_with_wrong_service_credentials_is_unavailable(
    keystone: Keystone,
) -> None:
    authenticator = KeystoneAuth(
        keystone.v3, service_user="occi", service_password="wrong", service_project="service"
    )
    token = keystone.token("alice", USERS["alice"][0], "alpha")
    try:
        with pytest.raises(IdentityServiceUnavailableError) as caught:
            await authenticator.authenticate({"x-auth-token": token})
        assert "refused occi-server's service credentials" in caught.value.message
    finally:
        await authenticator.close()


@pytest.mark.anyio
async def test_an_unreachable_keystone_is_unavailable_with_retry_after() -> None:
    authenticator = KeystoneAuth(
        f"http://127.0.0.1:{free_port()}/v3",
        service_user="occi",
        service_password="x",
        service_project="service",
        retry_after=7,
    )
    try:
        with pytest.raises(IdentityServiceUnavailableError) as caught:
            await authenticator.authenticate({"x-auth-token": "gAAAAAx"})
        assert caught.value.retry_after == 7
        assert "cannot be reached" in caught.value.message
    finally:
        await authenticator.close()
