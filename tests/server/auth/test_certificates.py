"""Who a client certificate stands for: its subject, or a proxy's signer."""

from __future__ import annotations

from pathlib import Path

from cryptography import x509

from pki import Pki
from pyocci.server.auth.certificates import certificate_identity, holder_of, is_proxy


def load(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def test_a_user_certificate_stands_for_its_subject(pki: Pki) -> None:
    certificate = load(pki.user_certificate)
    assert not is_proxy(certificate)
    assert holder_of(certificate) == pki.user_subject == "CN=Alice Example,O=pyocci tests"


def test_a_proxy_stands_for_the_user_who_signed_it(pki: Pki) -> None:
    proxy = load(pki.proxy)  # the file's first certificate is the proxy's own
    assert is_proxy(proxy)
    assert proxy.subject.rfc4514_string().startswith("CN=")
    assert proxy.subject != load(pki.user_certificate).subject
    assert holder_of(proxy) == pki.user_subject


def test_the_identity_expires_with_the_certificate(pki: Pki) -> None:
    certificate = load(pki.user_certificate)
    identity = certificate_identity(certificate, ("grid",))
    assert identity.tenants == ("grid",)
    assert identity.expires_at == certificate.not_valid_after_utc.timestamp()
