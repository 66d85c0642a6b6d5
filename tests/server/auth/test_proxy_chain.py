"""Verifying a certificate chain with RFC 3820 proxies: each reason a chain is refused."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from pki import Pki
from proxies import INDEPENDENT, load, load_key, make_proxy, proxy_cert_info
from pyocci.server.auth.front import MAX_CHAIN_HEADERS, FrontCertificates
from pyocci.server.auth.proxy_chain import (
    MAX_CHAIN,
    ChainRefusedError,
    verify_chain,
    verify_end_entity,
)

#: The moment the chains are checked at: half an hour after the module starts running
#: (set by `_checked_half_an_hour_on`), so after every certificate its fixtures make and
#: long before any of them expires (hours, days). Not at collection: a whole run reaches
#: this module long after it was collected, and the certificates are made then.
NOW = datetime.datetime.now(datetime.UTC) + datetime.timedelta(minutes=30)


@pytest.fixture(autouse=True, scope="module")
def _checked_half_an_hour_on() -> None:
    global NOW
    NOW = datetime.datetime.now(datetime.UTC) + datetime.timedelta(minutes=30)


def pem_of(certificate: x509.Certificate) -> str:
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


def user(pki: Pki) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = load_key(pki.user_key)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return load(pki.user_certificate)[0], key


def ca(pki: Pki) -> list[x509.Certificate]:
    return load(pki.ca)


def refusal(pki: Pki, chain: list[x509.Certificate], now: datetime.datetime | None = None) -> str:
    with pytest.raises(ChainRefusedError) as refused:
        verify_chain(chain, ca(pki), now or NOW)
    return refused.value.reason


def test_a_plain_certificate_is_its_own_holder(pki: Pki) -> None:
    certificate, _ = user(pki)
    chain = verify_chain([certificate], ca(pki), NOW)
    assert chain.holder == pki.user_subject
    assert chain.proxies == ()
    assert chain.not_after == certificate.not_valid_after_utc


def test_a_proxy_of_a_proxy_is_held_by_the_end_entity(pki: Pki) -> None:
    certificate, key = user(pki)
    first, first_key = make_proxy(certificate, key)
    second, _ = make_proxy(first, first_key, not_after=NOW + datetime.timedelta(hours=1))
    # The client's own certificate first, the rest in any order.
    chain = verify_chain([second, certificate, first], ca(pki), NOW)
    assert chain.holder == pki.user_subject
    assert chain.proxies == (second, first)
    assert chain.not_after == second.not_valid_after_utc


def test_the_proxy_file_of_the_tests_verifies(pki: Pki) -> None:
    assert verify_chain(load(pki.proxy), ca(pki), NOW).holder == pki.user_subject


def test_a_certificate_of_another_ca_is_refused(pki: Pki) -> None:
    reason = refusal(pki, load(pki.stranger_certificate))
    assert "does not chain to a certificate authority this server trusts" in reason
    assert "Mallory" in reason


def test_an_expired_end_entity_is_refused(pki: Pki) -> None:
    certificate, _ = user(pki)
    later = certificate.not_valid_after_utc + datetime.timedelta(days=1)
    assert "is not valid now" in refusal(pki, [certificate], later)


def test_a_proxy_signed_by_another_key_is_refused(pki: Pki) -> None:
    certificate, key = user(pki)
    proxy, _ = make_proxy(certificate, key, signer_key=ec.generate_private_key(ec.SECP256R1()))
    assert "is not signed by" in refusal(pki, [proxy, certificate])


def test_a_proxy_not_named_after_its_issuer_is_refused(pki: Pki) -> None:
    certificate, key = user(pki)
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "pyocci tests"),
            x509.NameAttribute(NameOID.COMMON_NAME, "Somebody Else"),
            x509.NameAttribute(NameOID.COMMON_NAME, "12345"),
        ]
    )
    proxy, _ = make_proxy(certificate, key, subject=subject)
    assert "is not named after its issuer" in refusal(pki, [proxy, certificate])


def test_an_expired_proxy_is_refused(pki: Pki) -> None:
    certificate, key = user(pki)
    proxy, _ = make_proxy(
        certificate,
        key,
        not_before=NOW - datetime.timedelta(hours=3),
        not_after=NOW - datetime.timedelta(hours=1),
    )
    reason = refusal(pki, [proxy, certificate])
    assert "the proxy" in reason and "is not valid now" in reason


def test_a_proxy_without_the_certificate_that_signed_it_is_refused(pki: Pki) -> None:
    certificate, key = user(pki)
    proxy, _ = make_proxy(certificate, key)
    assert "came without the certificate that signed it" in refusal(pki, [proxy])


def test_an_independent_proxy_is_refused(pki: Pki) -> None:
    certificate, key = user(pki)
    proxy, _ = make_proxy(certificate, key, info=proxy_cert_info(INDEPENDENT))
    assert "does not give it its holder's rights" in refusal(pki, [proxy, certificate])


def test_a_proxy_whose_proxy_info_is_not_critical_is_refused(pki: Pki) -> None:
    certificate, key = user(pki)
    proxy, _ = make_proxy(certificate, key, info_critical=False)
    assert "not critical" in refusal(pki, [proxy, certificate])


def test_a_proxy_past_the_path_length_is_refused(pki: Pki) -> None:
    certificate, key = user(pki)
    first, first_key = make_proxy(certificate, key, info=proxy_cert_info(path_length=0))
    second, _ = make_proxy(first, first_key)
    assert "one proxy too many" in refusal(pki, [second, first, certificate])


def test_a_path_length_of_one_allows_exactly_one_more_proxy(pki: Pki) -> None:
    certificate, key = user(pki)
    first, first_key = make_proxy(certificate, key, info=proxy_cert_info(path_length=1))
    second, second_key = make_proxy(first, first_key)
    third, _ = make_proxy(second, second_key)
    assert verify_chain([second, first, certificate], ca(pki), NOW).proxies == (second, first)
    reason = refusal(pki, [third, second, first, certificate])
    assert reason.startswith(f"the proxy {third.subject.rfc4514_string()!r} is one proxy too many")


def test_every_certificate_the_front_passes_on_is_read(pki: Pki) -> None:
    # The client's own certificate and one per chain header: a user certificate and as
    # many proxies of proxies as the headers hold.
    assert MAX_CHAIN == 1 + MAX_CHAIN_HEADERS
    certificate, key = user(pki)
    chain: list[x509.Certificate] = [certificate]
    for _ in range(MAX_CHAIN_HEADERS):
        proxy, key = make_proxy(chain[0], key)
        chain.insert(0, proxy)
    headers = {"x-ssl-client-cert": pem_of(chain[0])}
    headers |= {f"x-ssl-client-cert-chain-{n}": pem_of(c) for n, c in enumerate(chain[1:])}
    passed = FrontCertificates.chain(headers)
    assert passed == chain
    assert verify_chain(passed, ca(pki), NOW).proxies == tuple(chain[:-1])


def test_a_chain_past_the_limit_is_refused(pki: Pki) -> None:
    certificate, _ = user(pki)
    assert f"at most {MAX_CHAIN}" in refusal(pki, [certificate] * (MAX_CHAIN + 1))


def test_no_certificate_is_refused(pki: Pki) -> None:
    assert refusal(pki, []) == "no client certificate"


def test_no_trusted_ca_is_refused(pki: Pki, tmp_path: Path) -> None:
    certificate, _ = user(pki)
    with pytest.raises(ChainRefusedError, match="trusts no certificate authority"):
        verify_chain([certificate], [], NOW)


def test_the_path_built_for_an_end_entity_runs_to_its_anchor(pki: Pki) -> None:
    certificate, _ = user(pki)
    # The stranger's certificate is offered too: the path takes only what it went through.
    offered = load(pki.stranger_certificate)
    assert verify_end_entity(certificate, offered, ca(pki), NOW) == [certificate, *ca(pki)]
