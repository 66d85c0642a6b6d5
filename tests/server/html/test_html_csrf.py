"""The CSRF guard of the HTML view's forms: the cookie, the token, and each check."""

from __future__ import annotations

import pytest

from pyocci.backends.api import Tenant
from pyocci.server.html.csrf import COOKIE, SECURE_COOKIE, CsrfGuard
from pyocci.server.origins import Origins
from pyocci.service.errors import ForbiddenError

NONCE = "n" * 43
PHYSICS = Tenant(id="physics")


def scope(host: str = "occi.example.org:8787", scheme: str = "http") -> dict:
    return {
        "type": "http",
        "scheme": scheme,
        "server": ("127.0.0.1", 8787),
        "path": "/compute/",
        "query_string": b"",
        "headers": [(b"host", host.encode())],
    }


def guard(base_url: str | None = None) -> CsrfGuard:
    return CsrfGuard(Origins(base_url))


def form_headers(**extra: str) -> dict[str, str]:
    return {"cookie": f"{COOKIE}={NONCE}", **extra}


def test_a_browser_without_the_cookie_gets_one() -> None:
    nonce, set_cookie = guard().nonce({}, scope())
    assert len(nonce) == 43
    assert set_cookie == f"{COOKIE}={nonce}; Path=/; HttpOnly; SameSite=Strict"
    again, none = guard().nonce({"cookie": f"{COOKIE}={nonce}"}, scope())
    assert (again, none) == (nonce, None)
    assert guard().nonce({}, scope())[0] != nonce


def test_over_https_the_cookie_is_secure_and_host_only() -> None:
    nonce, set_cookie = guard().nonce({}, scope(scheme="https"))
    assert set_cookie is not None
    assert set_cookie.startswith(f"{SECURE_COOKIE}={nonce};")
    assert "; Secure" in set_cookie
    _, cookie = guard("https://occi.example.org").nonce({}, scope())
    assert cookie is not None and cookie.startswith(SECURE_COOKIE)
    # The plain cookie does not count over HTTPS (a sibling domain could have set it).
    plain = {"cookie": f"{COOKIE}={NONCE}"}
    assert guard().nonce(plain, scope(scheme="https"))[0] != NONCE


@pytest.mark.parametrize("value", ["short", "n" * 44, "n" * 42 + "!", ""])
def test_a_malformed_cookie_is_replaced(value: str) -> None:
    nonce, set_cookie = guard().nonce({"cookie": f"{COOKIE}={value}"}, scope())
    assert nonce != value and set_cookie is not None


def test_the_token_depends_on_the_nonce_and_the_tenant() -> None:
    token = CsrfGuard.token(NONCE, PHYSICS)
    assert token == CsrfGuard.token(NONCE, Tenant(id="physics", name="Physics"))
    assert token != CsrfGuard.token("m" * 43, PHYSICS)
    assert token != CsrfGuard.token(NONCE, Tenant(id="chemistry"))
    assert NONCE not in token


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"sec-fetch-site": "same-origin"},
        {"origin": "http://occi.example.org:8787"},
        {"origin": "HTTP://OCCI.example.org:8787", "sec-fetch-site": "same-origin"},
    ],
)
def test_a_form_of_this_server_passes(headers: dict[str, str]) -> None:
    guard().check(form_headers(**headers), scope(), PHYSICS, CsrfGuard.token(NONCE, PHYSICS))


def test_default_ports_are_the_same_origin() -> None:
    token = CsrfGuard.token(NONCE, PHYSICS)
    headers = {"cookie": f"{SECURE_COOKIE}={NONCE}", "origin": "https://occi.example.org"}
    guard().check(headers, scope("occi.example.org:443", "https"), PHYSICS, token)
    guard("https://occi.example.org:443").check(headers, scope(), PHYSICS, token)


@pytest.mark.parametrize(
    ("headers", "says"),
    [
        ({"sec-fetch-site": "cross-site"}, "not this server's"),
        ({"sec-fetch-site": "same-site"}, "not this server's"),
        ({"sec-fetch-site": "none"}, "not this server's"),
        ({"origin": "http://occi.example.org"}, "not from this server"),
        ({"origin": "https://occi.example.org:8787"}, "not from this server"),
        ({"origin": "http://evil.example:8787"}, "not from this server"),
        ({"origin": "null"}, "not from this server"),
        ({"origin": "http://[::1"}, "not from this server"),
    ],
)
def test_a_form_from_elsewhere_is_forbidden(headers: dict[str, str], says: str) -> None:
    token = CsrfGuard.token(NONCE, PHYSICS)
    with pytest.raises(ForbiddenError, match=says):
        guard().check(form_headers(**headers), scope(), PHYSICS, token)


@pytest.mark.parametrize(
    ("cookie", "token"),
    [
        (None, CsrfGuard.token(NONCE, PHYSICS)),
        (f"{COOKIE}={NONCE}", None),
        (f"{COOKIE}={NONCE}", ""),
        (f"{COOKIE}={NONCE}", "guessed"),
        (f"{COOKIE}={NONCE}", CsrfGuard.token(NONCE, Tenant(id="chemistry"))),
        (f"{COOKIE}={'m' * 43}", CsrfGuard.token(NONCE, PHYSICS)),
    ],
)
def test_a_form_without_the_right_token_is_forbidden(cookie: str | None, token: str | None) -> None:
    headers = {"cookie": cookie} if cookie else {}
    with pytest.raises(ForbiddenError, match="reload the page"):
        guard().check(headers, scope(), PHYSICS, token)
