"""`IssuedTokens`: the handshake's tokens, signed, expiring, bound to a user and a tenant."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from joserfc import jwt
from joserfc.jwk import OctKey

from clocks import FakeClock
from pyocci.server.auth.issued import (
    ISSUER,
    MAX_TOKEN_LENGTH,
    IssuedToken,
    IssuedTokens,
    TokenRefusedError,
)
from pyocci.server.auth.signing_key import SigningKeyFile

PROJECTS = ("vo.alpha.org", "vo.beta.org")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def keys(tmp_path: Path) -> SigningKeyFile:
    return SigningKeyFile(tmp_path / "handshake.key")


@pytest.fixture
def tokens(keys: SigningKeyFile, clock: FakeClock) -> IssuedTokens:
    return IssuedTokens(keys, lifetime=3600, clock=clock)


def issue(tokens: IssuedTokens, **extra: object) -> tuple[str, IssuedToken]:
    settings: dict = {"user": "carol", "projects": PROJECTS, "project": None, "methods": ["oidc"]}
    return tokens.issue(**{**settings, **extra})


def refusal(tokens: IssuedTokens, value: str) -> str:
    with pytest.raises(TokenRefusedError) as caught:
        tokens.read(value)
    return caught.value.reason


def test_a_token_says_what_it_was_issued_for(tokens: IssuedTokens, clock: FakeClock) -> None:
    value, issued = issue(tokens, project="vo.beta.org")
    read = tokens.read(value)
    assert read == issued
    assert (read.user, read.project, read.projects) == ("carol", "vo.beta.org", PROJECTS)
    assert read.expires_at == clock.now + 3600
    assert len(read.audit_id) >= 22  # 128 random bits


def test_two_tokens_for_the_same_are_different(tokens: IssuedTokens) -> None:
    first, _ = issue(tokens)
    second, _ = issue(tokens)
    assert first != second


def test_a_token_never_outlives_its_credential(tokens: IssuedTokens, clock: FakeClock) -> None:
    _, issued = issue(tokens, not_after=clock.now + 60)
    assert issued.expires_at == clock.now + 60
    _, issued = issue(tokens, not_after=clock.now + 10_000)
    assert issued.expires_at == clock.now + 3600
    with pytest.raises(TokenRefusedError, match="the credential has expired"):
        issue(tokens, not_after=clock.now)


def test_an_expired_token_is_refused(tokens: IssuedTokens, clock: FakeClock) -> None:
    value, _ = issue(tokens)
    clock.advance(3599)
    assert tokens.read(value)
    clock.advance(1)
    assert refusal(tokens, value) == "the token has expired: get a new one"


def test_rescoping_keeps_the_expiry_and_the_projects(
    tokens: IssuedTokens, clock: FakeClock
) -> None:
    _, unscoped = issue(tokens)
    clock.advance(100)
    value, scoped = tokens.rescope(unscoped, "vo.alpha.org")
    assert scoped.project == "vo.alpha.org"
    assert scoped.expires_at == unscoped.expires_at
    assert scoped.methods == ("oidc", "token")
    assert scoped.audit_id != unscoped.audit_id
    assert tokens.read(value) == scoped
    with pytest.raises(TokenRefusedError, match=r"'vo\.gamma\.org' is not one of yours"):
        tokens.rescope(unscoped, "vo.gamma.org")
    clock.advance(3600)
    with pytest.raises(TokenRefusedError, match="has expired"):
        tokens.rescope(unscoped, "vo.alpha.org")


def test_a_changed_claim_breaks_the_signature(tokens: IssuedTokens) -> None:
    value, _ = issue(tokens, project="vo.alpha.org")
    header, payload, signature = value.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["project"] = "vo.gamma.org"
    claims["projects"] = ["vo.gamma.org"]
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    assert refusal(tokens, f"{header}.{forged}.{signature}") == "the token's signature is not valid"


def test_a_token_of_a_replaced_key_is_refused(tokens: IssuedTokens, keys: SigningKeyFile) -> None:
    value, _ = issue(tokens)
    assert tokens.read(value)  # verified once, and remembered
    keys.replace()
    assert "a key this server no longer uses" in refusal(tokens, value)


def test_a_token_signed_by_someone_else_is_refused(tokens: IssuedTokens, tmp_path: Path) -> None:
    other = IssuedTokens(SigningKeyFile(tmp_path / "other.key"))
    value, _ = issue(other)
    assert "a key this server no longer uses" in refusal(tokens, value)
    # With this server's key id, but another secret: the signature gives it away.
    header = {"alg": "HS256", "kid": tokens.keys.current().id}
    claims = {"iss": ISSUER, "sub": "x", "iat": 0, "exp": 2e9, "jti": "j"}
    guessed = jwt.encode(header, claims, OctKey.import_key(b"k" * 32))
    assert refusal(tokens, guessed) == "the token's signature is not valid"


def test_signed_claims_that_are_no_token_are_refused(tokens: IssuedTokens) -> None:
    # Properly signed, yet not what the handshake issues (no projects, no methods).
    key = OctKey.import_key(tokens.keys.current().secret)
    header = {"alg": "HS256", "kid": tokens.keys.current().id}
    value = jwt.encode(header, {"iss": ISSUER, "sub": "x", "exp": 2e9}, key)
    assert refusal(tokens, value) == "malformed token: not one this server issued"


@pytest.mark.parametrize(
    "value",
    ["", "   ", "not.a.jwt", "x" * (MAX_TOKEN_LENGTH + 1), "caf\u00e9.b.c"],
    ids=["empty", "blank", "garbage", "huge", "non-ascii"],
)
def test_malformed_tokens_are_refused(tokens: IssuedTokens, value: str) -> None:
    assert refusal(tokens, value).startswith("malformed token")


def test_an_unsigned_token_is_refused(tokens: IssuedTokens) -> None:
    value, _ = issue(tokens)
    _, payload, _ = value.split(".")
    none = base64.urlsafe_b64encode(b'{"alg":"none"}').rstrip(b"=").decode()
    assert refusal(tokens, f"{none}.{payload}.").startswith("malformed token")


def test_remembered_tokens_are_bounded(
    tokens: IssuedTokens, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("pyocci.server.auth.issued.VERIFIED_SIZE", 3)
    values = [issue(tokens)[0] for _ in range(5)]
    for value in values:
        assert tokens.read(value)
    assert len(tokens._verified) == 3
    # Forgotten ones are verified again, as the first time.
    assert tokens.read(values[0]).user == "carol"
