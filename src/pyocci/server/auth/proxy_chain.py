"""Verifying a client's certificate chain: an end-entity certificate and its RFC 3820 proxies.

Method ``voms`` (`pyocci.server.auth.voms`) gets the chain from a TLS front
as untrusted data and checks all of it here, with ``cryptography``:

* the end-entity certificate (the first one in the chain that is not a
  proxy) chains to one of the configured CA certificates, through
  intermediates the client sent if need be, and is valid now (``cryptography``'s
  RFC 5280 path validation; the end entity's own extensions are not judged,
  since grid certificates carry few of the ones the web requires);
* each proxy (RFC 3820) is signed by the certificate below it (the end
  entity, or the previous proxy), its subject is its issuer's subject plus
  one CN, it carries a critical proxyCertInfo extension with a policy that
  inherits its issuer's rights, it respects the path length its issuers set,
  and it is valid now.

The holder is the end entity's subject: a proxy acts for the person who signed it.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.x509.oid import NameOID
from cryptography.x509.verification import (
    ExtensionPolicy,
    PolicyBuilder,
    Store,
    VerificationError,
)
from pyasn1.codec.der import decoder
from pyasn1.error import PyAsn1Error
from pyasn1_modules import rfc3820

from pyocci.server.auth.base import RefusedError
from pyocci.server.auth.certificates import PROXY_CERT_INFO, is_proxy
from pyocci.server.auth.front import MAX_CHAIN_HEADERS

__all__ = ["MAX_CHAIN", "ChainRefusedError", "VerifiedChain", "verify_chain", "verify_end_entity"]

#: The most certificates a chain may hold (proxies of proxies of ...; real ones hold 2-4):
#: every one the front passes on, the client's own and one per chain header.
MAX_CHAIN = 1 + MAX_CHAIN_HEADERS
#: The proxy policies that give a proxy its issuer's rights (RFC 3820 §3.8 inheritAll,
#: and Globus' limited proxies, which only keep a proxy from starting grid jobs).
_INHERITING = {
    str(rfc3820.id_ppl_inheritAll): "inheritAll",
    "1.3.6.1.4.1.3536.1.1.1.9": "limited",
}


class ChainRefusedError(RefusedError):
    """The chain is not acceptable; `reason` says why, for the client."""


@dataclass(frozen=True, slots=True)
class VerifiedChain:
    """A chain that passed `verify_chain`."""

    #: The end-entity certificate: the holder's own.
    end_entity: x509.Certificate
    #: The proxies, the one the client presented first, each signed by the next (the
    #: last by `end_entity`); empty for a plain certificate.
    proxies: tuple[x509.Certificate, ...]

    @property
    def holder(self) -> str:
        """The holder's distinguished name (RFC 4514): the end entity's subject."""
        return self.end_entity.subject.rfc4514_string()

    @property
    def not_after(self) -> datetime.datetime:
        """When the first certificate of the chain expires."""
        return min(c.not_valid_after_utc for c in (self.end_entity, *self.proxies))


def verify_chain(
    certificates: Sequence[x509.Certificate],
    anchors: Sequence[x509.Certificate],
    now: datetime.datetime,
) -> VerifiedChain:
    """Check `certificates` (the client's own first, then the rest of what it sent, in any
    order) against the trusted CA certificates `anchors` at `now`; ChainRefusedError."""
    if not certificates:
        raise ChainRefusedError("no client certificate")
    if len(certificates) > MAX_CHAIN:
        raise ChainRefusedError(
            f"the chain holds {len(certificates)} certificates; at most {MAX_CHAIN} are read"
        )
    others = list(certificates[1:])
    proxies: list[x509.Certificate] = []
    current = certificates[0]
    while is_proxy(current):
        proxies.append(current)
        issuer = _issuer_of(current, others)
        if issuer is None:
            raise ChainRefusedError(
                f"the proxy {_dn(current)} came without the certificate that signed it "
                f"({current.issuer.rfc4514_string()}): send the whole chain, as the proxy "
                "file holds it"
            )
        others.remove(issuer)
        current = issuer
    verify_end_entity(current, others, anchors, now)
    _check_proxies(current, proxies, now)
    return VerifiedChain(end_entity=current, proxies=tuple(proxies))


def _issuer_of(
    certificate: x509.Certificate, candidates: Sequence[x509.Certificate]
) -> x509.Certificate | None:
    """The candidate whose subject is `certificate`'s issuer (the signature is checked later)."""
    return next((c for c in candidates if c.subject == certificate.issuer), None)


def verify_end_entity(
    end_entity: x509.Certificate,
    intermediates: Sequence[x509.Certificate],
    anchors: Sequence[x509.Certificate],
    now: datetime.datetime,
) -> list[x509.Certificate]:
    """Check that `end_entity` chains to one of `anchors` (through `intermediates`) and is
    valid at `now`; ChainRefusedError. Its own extensions are not judged. The path built:
    `end_entity`, the intermediates it went through, the anchor."""
    if not anchors:
        raise ChainRefusedError("this server trusts no certificate authority")
    verifier = (
        PolicyBuilder()
        .store(Store(list(anchors)))
        .time(now)
        .max_chain_depth(MAX_CHAIN)
        .extension_policies(
            ca_policy=ExtensionPolicy.webpki_defaults_ca(),
            ee_policy=ExtensionPolicy.permit_all(),
        )
        .build_client_verifier()
    )
    try:
        return verifier.verify(end_entity, list(intermediates)).chain
    except VerificationError as error:
        if not end_entity.not_valid_before_utc <= now <= end_entity.not_valid_after_utc:
            raise ChainRefusedError(
                f"the certificate {_dn(end_entity)} is not valid now: {_validity(end_entity)}"
            ) from None
        raise ChainRefusedError(
            f"the certificate {_dn(end_entity)} (issued by {end_entity.issuer.rfc4514_string()}) "
            f"does not chain to a certificate authority this server trusts ({error})"
        ) from None


def _check_proxies(
    end_entity: x509.Certificate, proxies: Sequence[x509.Certificate], now: datetime.datetime
) -> None:
    """Each proxy from the end entity up: signed by the one below, named after it, valid."""
    issuer = end_entity
    # How many more proxies the issuers so far allow (None: no limit).
    allowed: int | None = None
    for proxy in reversed(proxies):
        if allowed is not None:
            if allowed <= 0:
                raise ChainRefusedError(
                    f"the proxy {_dn(proxy)} is one proxy too many: a proxy below it allows "
                    "no further proxies (its path length)"
                )
            allowed -= 1
        try:
            proxy.verify_directly_issued_by(issuer)
        except (InvalidSignature, UnsupportedAlgorithm, ValueError, TypeError) as error:
            raise ChainRefusedError(
                f"the proxy {_dn(proxy)} is not signed by {_dn(issuer)} ({type(error).__name__})"
            ) from None
        _check_proxy_name(proxy, issuer)
        length = _proxy_path_length(proxy)
        if length is not None:
            allowed = length if allowed is None else min(allowed, length)
        if not proxy.not_valid_before_utc <= now <= proxy.not_valid_after_utc:
            raise ChainRefusedError(f"the proxy {_dn(proxy)} is not valid now: {_validity(proxy)}")
        issuer = proxy


def _check_proxy_name(proxy: x509.Certificate, issuer: x509.Certificate) -> None:
    """RFC 3820 §3.4: the proxy's subject is its issuer's subject plus one CN."""
    rdns = list(proxy.subject.rdns)
    last = rdns[-1] if rdns else None
    one_cn = last is not None and len(last) == 1 and next(iter(last)).oid == NameOID.COMMON_NAME
    if not one_cn or x509.Name(rdns[:-1]) != issuer.subject:
        raise ChainRefusedError(
            f"the proxy {_dn(proxy)} is not named after its issuer {_dn(issuer)}: a proxy's "
            "subject is its issuer's subject plus one CN (RFC 3820)"
        )


def _proxy_path_length(proxy: x509.Certificate) -> int | None:
    """The proxy's path length constraint, after checking its proxyCertInfo extension."""
    extension = proxy.extensions.get_extension_for_oid(PROXY_CERT_INFO)
    if not extension.critical:
        raise ChainRefusedError(
            f"the proxy {_dn(proxy)} has a proxyCertInfo extension that is not critical "
            "(RFC 3820 requires it to be)"
        )
    value = extension.value
    der = value.value if isinstance(value, x509.UnrecognizedExtension) else value.public_bytes()
    try:
        info, rest = decoder.decode(der, asn1Spec=rfc3820.ProxyCertInfoExtension())
    except PyAsn1Error:
        raise ChainRefusedError(f"the proxy {_dn(proxy)} has a malformed proxyCertInfo") from None
    if rest:
        raise ChainRefusedError(f"the proxy {_dn(proxy)} has a malformed proxyCertInfo")
    language = str(info["proxyPolicy"]["policyLanguage"])
    if language not in _INHERITING:
        raise ChainRefusedError(
            f"the proxy {_dn(proxy)} has the policy {language}, which does not give it its "
            f"holder's rights; use a proxy with one of: {', '.join(_INHERITING.values())}"
        )
    length = info["pCPathLenConstraint"]
    return int(length) if length.isValue else None


def _dn(certificate: x509.Certificate) -> str:
    return repr(certificate.subject.rfc4514_string())


def _validity(certificate: x509.Certificate) -> str:
    start = certificate.not_valid_before_utc.isoformat(timespec="seconds")
    end = certificate.not_valid_after_utc.isoformat(timespec="seconds")
    return f"from {start} to {end}"
