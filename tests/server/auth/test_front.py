"""Certificate headers of a TLS front: reading them, and whom they are taken from."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from cryptography.hazmat.primitives import serialization

from pki import Pki
from proxies import load
from pyocci.server.auth.front import (
    MAX_CHAIN_HEADERS,
    PEER_EXTENSION,
    FrontCertificates,
    HeaderRefusedError,
    parse_addresses,
    peer_of,
    remember_peer,
)

pytestmark = pytest.mark.anyio


def pem(path: Path, index: int = 0) -> str:
    return load(path)[index].public_bytes(serialization.Encoding.PEM).decode()


def test_fronts_are_addresses_and_networks() -> None:
    front = FrontCertificates(parse_addresses("127.0.0.1, 10.1.0.0/24, ::1"))
    assert front.trusted("127.0.0.1")
    assert front.trusted("10.1.0.77")
    assert front.trusted("::1")
    # An IPv4 peer seen through an IPv6 socket is the IPv4 address.
    assert front.trusted("::ffff:10.1.0.5")
    assert not front.trusted("127.0.0.2")
    assert not front.trusted("10.1.1.1")
    assert not front.trusted("testclient")
    assert not front.trusted(None)


def test_an_address_that_is_none_is_named() -> None:
    with pytest.raises(ValueError, match=r"'front\.example\.org' is not an IP address"):
        parse_addresses("127.0.0.1, front.example.org")


def test_the_chain_in_apache_s_form(pki: Pki) -> None:
    headers = {
        "x-ssl-client-cert": pem(pki.proxy).replace("\n", " ").strip(),
        "x-ssl-client-cert-chain-0": pem(pki.proxy, 1).replace("\n", " "),
        "x-ssl-client-cert-chain-1": "(null)",
        "x-ssl-client-cert-chain-2": "",
    }
    chain = FrontCertificates.chain(headers)
    assert chain == load(pki.proxy)


def test_the_chain_url_encoded(pki: Pki) -> None:
    # nginx's $ssl_client_escaped_cert.
    chain = FrontCertificates.chain({"x-ssl-client-cert": quote(pem(pki.user_certificate))})
    assert chain == load(pki.user_certificate)


def test_chain_headers_past_the_last_read_are_ignored(pki: Pki) -> None:
    headers = {
        "x-ssl-client-cert": pem(pki.user_certificate),
        f"x-ssl-client-cert-chain-{MAX_CHAIN_HEADERS}": pem(pki.ca),
    }
    assert FrontCertificates.chain(headers) == load(pki.user_certificate)


def test_no_certificate_is_an_empty_chain() -> None:
    assert FrontCertificates.chain({"x-ssl-client-cert": "(null)"}) == []
    # What Apache sends for a client without a certificate is no certificate.
    assert not FrontCertificates.present({"x-ssl-client-cert": "(null)"})
    assert not FrontCertificates.present({"accept": "text/plain"})
    assert FrontCertificates.present({"x-ssl-client-cert-chain-3": "anything"})


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("not a certificate", "not a PEM certificate"),
        ("-----BEGIN CERTIFICATE----- AAAA -----END CERTIFICATE-----", "not a valid certificate"),
        ("x" * 20000, "over 16384 characters"),
    ],
)
def test_a_header_that_holds_no_certificate_is_refused(value: str, reason: str) -> None:
    with pytest.raises(HeaderRefusedError, match=reason):
        FrontCertificates.chain({"x-ssl-client-cert": value})


def test_the_peer_is_the_kept_one_never_the_client() -> None:
    scope: dict[str, Any] = {
        "client": ("203.0.113.5", 0),
        "extensions": {PEER_EXTENSION: ("127.0.0.1", 5555)},
    }
    assert peer_of(scope) == "127.0.0.1"
    # Without the kept peer, the client (which X-Forwarded-For may have made 127.0.0.1)
    # is no peer: the headers are then taken from nobody.
    assert peer_of({"client": ("127.0.0.1", 1)}) is None
    assert peer_of({"client": ("127.0.0.1", 1), "extensions": {"tls": {}}}) is None
    assert peer_of({"client": None}) is None


async def test_remember_peer_keeps_the_client_before_the_inner_app_changes_it() -> None:
    seen: dict[str, Any] = {}

    async def rewriting(scope: Any, receive: Any, send: Any) -> None:
        # What a proxy-headers middleware does with X-Forwarded-For.
        scope["client"] = ("203.0.113.5", 0)
        seen["peer"] = peer_of(scope)

    app = remember_peer(rewriting)
    await app(
        {"type": "http", "client": ("127.0.0.1", 4444), "extensions": {"tls": {}}}, None, None
    )
    assert seen["peer"] == "127.0.0.1"
