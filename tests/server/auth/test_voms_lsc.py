"""LSC files: reading them, and matching a VOMS server's certificates to their names."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from pki import Pki
from proxies import load
from pyocci.server.auth.voms_lsc import LscFile, matches, oneline, read_lsc_files


def test_names_in_openssl_s_one_line_form() -> None:
    name = x509.Name(
        [
            x509.RelativeDistinguishedName([x509.NameAttribute(NameOID.DOMAIN_COMPONENT, "org")]),
            x509.RelativeDistinguishedName(
                [
                    x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Physics"),
                    x509.NameAttribute(NameOID.COMMON_NAME, "Alice"),
                ]
            ),
            x509.RelativeDistinguishedName(
                [x509.NameAttribute(NameOID.EMAIL_ADDRESS, "alice@example.org")]
            ),
        ]
    )
    assert oneline(name) == "/DC=org/OU=Physics+CN=Alice/emailAddress=alice@example.org"


def test_lsc_files_of_a_vomsdir(tmp_path: Path) -> None:
    (tmp_path / "vo.example.org").mkdir()
    (tmp_path / "vo.example.org" / "voms.example.org.lsc").write_text(
        "/O=Example/CN=voms.example.org\n/O=Example/CN=Example CA\n"
        "------ NEXT CHAIN ------\n"
        "/O=Example/CN=voms.example.org\n/O=Example/CN=New CA\n"
    )
    (tmp_path / "vo.example.org" / "voms.example.org.pem").write_text("not read here")
    assert read_lsc_files(tmp_path) == (
        LscFile(
            vo="vo.example.org",
            host="voms.example.org",
            chains=(
                ("/O=Example/CN=voms.example.org", "/O=Example/CN=Example CA"),
                ("/O=Example/CN=voms.example.org", "/O=Example/CN=New CA"),
            ),
        ),
    )


def test_an_lsc_file_of_one_name_is_refused(tmp_path: Path) -> None:
    (tmp_path / "vo").mkdir()
    (tmp_path / "vo" / "host.lsc").write_text("/O=Example/CN=voms.example.org\n")
    with pytest.raises(ValueError, match=r"host\.lsc: an LSC file lists"):
        read_lsc_files(tmp_path)


def test_a_certificate_matches_its_names(pki: Pki) -> None:
    server = load(pki.server_certificate)
    assert matches(server, ["/O=pyocci tests/CN=127.0.0.1", "/O=pyocci tests/CN=pyocci test CA"])
    assert not matches(server, ["/O=pyocci tests/CN=127.0.0.1", "/O=other/CN=CA"])
    assert not matches(
        server, ["/O=pyocci tests/CN=127.0.0.1", "/O=pyocci tests/CN=pyocci test CA", "/CN=root"]
    )
    assert not matches([], ["/O=pyocci tests/CN=127.0.0.1", "/O=x"])
