"""What a ``POST /v3/auth/tokens`` body asks for, and what a wrong one is told."""

from __future__ import annotations

import json

import pytest

from pyocci.server.identity.requests import (
    TokenRequest,
    parse_token_request,
    parse_v2_token_request,
)
from pyocci.service.errors import BadRequestError


def body(identity: dict, scope: object = None) -> bytes:
    auth: dict = {"identity": identity}
    if scope is not None:
        auth["scope"] = scope
    return json.dumps({"auth": auth}).encode()


TOKEN = {"methods": ["token"], "token": {"id": "abc"}}


@pytest.mark.parametrize(
    ("scope", "project"),
    [
        (None, None),
        ("unscoped", None),
        ({"project": {"id": "vo.alpha.org"}}, "vo.alpha.org"),
        ({"project": {"name": "vo.alpha.org", "domain": {"name": "Default"}}}, "vo.alpha.org"),
    ],
)
def test_a_token_is_rescoped(scope: object, project: str | None) -> None:
    assert parse_token_request(body(TOKEN, scope)) == TokenRequest(
        "token", token="abc", project=project
    )


def test_the_token_may_come_from_the_header() -> None:
    request = parse_token_request(body({"methods": ["token"]}))
    assert request == TokenRequest("token", token=None)


def test_a_password_names_its_user() -> None:
    identity = {
        "methods": ["password"],
        "password": {"user": {"name": "alice", "domain": {"name": "Default"}, "password": "pw"}},
    }
    assert parse_token_request(body(identity, {"project": {"id": "physics"}})) == TokenRequest(
        "password", user="alice", password="pw", project="physics"
    )


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"\xff", "the body is not JSON"),
        (b"[]", "the body: an object 'auth' is needed"),
        (b'{"auth": {"identity": {}}}', "auth.identity.methods: a list of methods is needed"),
        (body({"methods": ["totp"]}), "this server takes one of token, password, got 'totp'"),
        (body({"methods": ["token", "password"]}), "this server takes one of"),
        (body({"methods": ["token"], "token": "abc"}), "auth.identity.token: an object"),
        (body({"methods": ["token"], "token": {"id": 5}}), "auth.identity.token.id: a string"),
        (body({"methods": ["password"]}), "auth.identity: an object 'password' is needed"),
        (
            body({"methods": ["password"], "password": {"user": {"name": "a"}}}),
            "a name and a password are needed",
        ),
        (body(TOKEN, {"system": {"all": True}}), "this server scopes to projects only"),
        (body(TOKEN, {"project": "p"}), "auth.scope.project: an object with an id or a name"),
        (body(TOKEN, {"project": {"id": ""}}), "auth.scope.project: an id or a name is needed"),
    ],
)
def test_a_wrong_body_says_what_to_send(raw: bytes, message: str) -> None:
    with pytest.raises(BadRequestError) as caught:
        parse_token_request(raw)
    assert message in caught.value.message


# --- v2.0 ---------------------------------------------------------------------------------------


def v2(auth: object) -> bytes:
    return json.dumps({"auth": auth}).encode()


@pytest.mark.parametrize(
    ("auth", "request_made"),
    [
        ({"voms": True}, TokenRequest("voms")),
        ({"voms": True, "tenantName": "grid"}, TokenRequest("voms", project="grid")),
        (
            {"passwordCredentials": {"username": "alice", "password": "pw"}, "tenantId": "p"},
            TokenRequest("password", user="alice", password="pw", project="p"),
        ),
        (
            {"token": {"id": "abc"}, "tenantName": "p"},
            TokenRequest("token", token="abc", project="p"),
        ),
    ],
)
def test_v2_requests(auth: object, request_made: TokenRequest) -> None:
    assert parse_v2_token_request(v2(auth)) == request_made


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"{", "the body is not JSON"),
        (v2({"voms": True, "tenantName": 5}), "auth.tenantName: a tenant name is needed"),
        (v2({"passwordCredentials": {"username": "a"}}), "a username and a password"),
        (v2({"token": {}}), "auth.token.id: a token is needed"),
        (v2({"voms": "yes"}), 'send "passwordCredentials", "token" or "voms": true'),
    ],
)
def test_wrong_v2_requests_say_what_to_send(raw: bytes, message: str) -> None:
    with pytest.raises(BadRequestError) as caught:
        parse_v2_token_request(raw)
    assert message in caught.value.message
