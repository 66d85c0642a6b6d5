"""The server's URL as each client names it, and locations made absolute against it."""

from __future__ import annotations

from typing import Any

from pyocci.server.origins import KEPT_ORIGINS, Origins


def scope(host: bytes | None, scheme: str = "http", server: Any = ("10.0.0.1", 8080)) -> dict:
    headers = [(b"host", host)] if host is not None else []
    return {"type": "http", "scheme": scheme, "server": server, "headers": headers, "path": "/"}


def test_the_host_header_names_the_server() -> None:
    origins = Origins()
    assert origins.base_url(scope(b"occi.example.org:8443", "https")) == (
        "https://occi.example.org:8443/"
    )
    assert origins.absolute(scope(b"occi.example.org"), "/compute/1") == (
        "http://occi.example.org/compute/1"
    )


def test_without_a_host_header_the_server_address_does() -> None:
    assert Origins().base_url(scope(None)) == "http://10.0.0.1:8080/"


def test_a_configured_base_url_wins_over_the_host_header() -> None:
    origins = Origins("https://cloud.example.org/occi")
    assert origins.base_url(scope(b"localhost:8080")) == "https://cloud.example.org/occi/"
    assert origins.absolute(scope(b"localhost:8080"), "compute/1") == (
        "https://cloud.example.org/occi/compute/1"
    )


def test_the_origins_kept_are_bounded_and_still_right_past_the_bound() -> None:
    origins = Origins()
    for n in range(KEPT_ORIGINS + 10):
        assert origins.base_url(scope(f"host-{n}".encode())) == f"http://host-{n}/"
    assert len(origins._kept) <= KEPT_ORIGINS
    # The same Host over another scheme is another origin.
    assert origins.base_url(scope(b"host-1", "https")) == "https://host-1/"
