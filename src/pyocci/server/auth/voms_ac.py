"""The VOMS attribute certificate of a proxy: read, verified, its FQANs.

A VOMS server vouches for a user's VO membership by signing an attribute
certificate (RFC 5755) that ``voms-proxy-init`` puts into the proxy, in the
extension `VOMS_AC_EXTENSION`. Its attribute `VOMS_ATTRIBUTE` lists the
FQANs (``/vo.example.org/group/Role=manager/Capability=NULL``) the user holds
in the VO.

`voms_attributes` trusts nothing the client (or a front) says about the AC:
it checks the AC's signature against the configured VOMS server
certificates, its validity, that its holder is the chain's end-entity
certificate (issuer and serial number), and that it carries no critical
extension this server does not understand. The AC is parsed with
``pyasn1-modules``' RFC 5755 types; the bytes signed are taken as they came,
never re-encoded.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from pyasn1.codec.der import decoder, encoder
from pyasn1.error import PyAsn1Error
from pyasn1.type import namedtype, univ
from pyasn1_modules import rfc5280, rfc5755

from pyocci.server.auth.base import RefusedError
from pyocci.server.auth.certificates import MALFORMED
from pyocci.server.auth.proxy_chain import ChainRefusedError, VerifiedChain, verify_end_entity
from pyocci.server.auth.voms_lsc import AC_CERTIFICATES, LscFile, matches, oneline

__all__ = [
    "CLOCK_SKEW",
    "MAX_FQANS",
    "MAX_FQAN_LENGTH",
    "VOMS_AC_EXTENSION",
    "VOMS_ATTRIBUTE",
    "AcRefusedError",
    "VomsAttributes",
    "VomsServerCertificate",
    "voms_attributes",
]

#: The proxy certificate extension that holds the VOMS attribute certificates.
VOMS_AC_EXTENSION = x509.ObjectIdentifier("1.3.6.1.4.1.8005.100.100.5")
#: The AC attribute that holds the FQANs (an IetfAttrSyntax).
VOMS_ATTRIBUTE = "1.3.6.1.4.1.8005.100.100.4"
#: The most FQANs read from one proxy; nobody holds this many roles.
MAX_FQANS = 256
#: The longest FQAN taken; an AC holding a longer one is refused.
MAX_FQAN_LENGTH = 1024
#: How far in the future an AC's start may be: VOMS servers date ACs by their own clock
#: and do not date them back, so an AC made a moment ago may seem to start later here.
CLOCK_SKEW = datetime.timedelta(minutes=5)

# AC extensions understood (or harmless to ignore): the VOMS server's certificate
# chain, VOMS generic attributes, no revocation information (RFC 5755 §4.3.6), the
# authority key identifier.
_KNOWN_EXTENSIONS = {
    "1.3.6.1.4.1.8005.100.100.10",
    "1.3.6.1.4.1.8005.100.100.11",
    "2.5.29.56",
    "2.5.29.35",
}

# Signature algorithms accepted on an AC: RSA PKCS#1 v1.5 and ECDSA with SHA-2.
_ALGORITHMS: dict[str, hashes.HashAlgorithm] = {
    "1.2.840.113549.1.1.14": hashes.SHA224(),
    "1.2.840.113549.1.1.11": hashes.SHA256(),
    "1.2.840.113549.1.1.12": hashes.SHA384(),
    "1.2.840.113549.1.1.13": hashes.SHA512(),
    "1.2.840.10045.4.3.1": hashes.SHA224(),
    "1.2.840.10045.4.3.2": hashes.SHA256(),
    "1.2.840.10045.4.3.3": hashes.SHA384(),
    "1.2.840.10045.4.3.4": hashes.SHA512(),
}


class AcRefusedError(RefusedError):
    """The attribute certificate is not acceptable; `reason` says why, for the client."""


@dataclass(frozen=True, slots=True)
class VomsAttributes:
    """What the verified ACs of a proxy say."""

    #: The VOs, in the proxy's order.
    vos: tuple[str, ...]
    #: The FQANs, in the proxy's order (the first is the primary one).
    fqans: tuple[str, ...]
    #: When the first of the ACs expires.
    not_after: datetime.datetime


@dataclass(frozen=True, slots=True)
class VomsServerCertificate:
    """A VOMS server's certificate, trusted to sign the ACs of one VO only (the one whose
    folder of the VOMS directory holds it: ``vomsdir/<vo>/<host>.pem``)."""

    vo: str
    certificate: x509.Certificate


class _SignedAc(univ.Sequence):
    """RFC 5755's AttributeCertificate with its acinfo kept as the bytes that were signed."""

    componentType = namedtype.NamedTypes(  # noqa: N815 - pyasn1's name
        namedtype.NamedType("acinfo", univ.Any()),
        namedtype.NamedType("signatureAlgorithm", rfc5280.AlgorithmIdentifier()),
        namedtype.NamedType("signatureValue", univ.BitString()),
    )


class _AcSequence(univ.SequenceOf):
    componentType = _SignedAc()  # noqa: N815 - pyasn1's name


class _VomsExtension(univ.SequenceOf):
    """The extension's value: a sequence of AC sequences."""

    componentType = _AcSequence()  # noqa: N815 - pyasn1's name


class _CertificateList(univ.SequenceOf):
    componentType = univ.Any()  # noqa: N815 - pyasn1's name


class _AcCertificates(univ.Sequence):
    """The AC extension that carries the VOMS server's certificates (DER, as received)."""

    componentType = namedtype.NamedTypes(  # noqa: N815 - pyasn1's name
        namedtype.NamedType("certificates", _CertificateList())
    )


@dataclass(frozen=True, slots=True)
class _Servers:
    """Whom an AC may be signed by: VOMS server certificates trusted as they are, and LSC
    files with the CA certificates that the certificate an AC carries must chain to."""

    certificates: Sequence[VomsServerCertificate]
    lsc: Sequence[LscFile]
    anchors: Sequence[x509.Certificate]


def voms_attributes(
    chain: VerifiedChain,
    voms_certificates: Sequence[VomsServerCertificate],
    now: datetime.datetime,
    *,
    lsc: Sequence[LscFile] = (),
    anchors: Sequence[x509.Certificate] = (),
) -> VomsAttributes | None:
    """The VOs and FQANs of the chain's VOMS ACs (those of the proxy nearest the client that
    has any); None when no proxy carries one. AcRefusedError when one is not acceptable:
    a proxy with a forged AC is refused, not taken for a plain proxy.

    An AC is believed when signed by one of `voms_certificates` trusted for the AC's VO,
    or by the certificate it carries when an LSC file of `lsc` names that certificate for
    the AC's VO and server and it chains to one of `anchors` (the trusted CAs). Every FQAN
    must be of the AC's VO."""
    servers = _Servers(certificates=voms_certificates, lsc=lsc, anchors=anchors)
    extension = _ac_extension(chain)
    if extension is None:
        return None
    try:
        lists, rest = decoder.decode(extension, asn1Spec=_VomsExtension())
    except PyAsn1Error:
        raise AcRefusedError("the proxy's VOMS extension is malformed") from None
    if rest:
        raise AcRefusedError("the proxy's VOMS extension is malformed")
    vos: list[str] = []
    fqans: list[str] = []
    not_after: datetime.datetime | None = None
    for ac_list in lists:
        for signed in ac_list:
            try:
                vo, found, expires = _verified(signed, chain.end_entity, servers, now)
            except MALFORMED:
                # A part of the AC that the DER decoding let through but that does not
                # hold what RFC 5755 says (a missing field, a time that is no time).
                raise AcRefusedError("a VOMS attribute certificate is malformed") from None
            vos.append(vo)
            fqans.extend(found)
            not_after = expires if not_after is None else min(not_after, expires)
            if len(fqans) > MAX_FQANS:
                raise AcRefusedError(f"the proxy's ACs hold over {MAX_FQANS} FQANs")
    if not_after is None:
        raise AcRefusedError("the proxy's VOMS extension holds no attribute certificate")
    return VomsAttributes(vos=tuple(vos), fqans=tuple(fqans), not_after=not_after)


def _ac_extension(chain: VerifiedChain) -> bytes | None:
    for proxy in chain.proxies:
        try:
            extension = proxy.extensions.get_extension_for_oid(VOMS_AC_EXTENSION)
        except x509.ExtensionNotFound:
            continue
        value = extension.value
        assert isinstance(value, x509.UnrecognizedExtension)
        return value.value
    return None


def _verified(
    signed: _SignedAc,
    end_entity: x509.Certificate,
    servers: _Servers,
    now: datetime.datetime,
) -> tuple[str, list[str], datetime.datetime]:
    """One AC's VO, FQANs and expiry, once it is checked."""
    tbs = bytes(signed["acinfo"])
    try:
        info, rest = decoder.decode(tbs, asn1Spec=rfc5755.AttributeCertificateInfo())
    except PyAsn1Error:
        raise AcRefusedError("a VOMS attribute certificate is malformed") from None
    if rest:
        raise AcRefusedError("a VOMS attribute certificate is malformed")
    issuer = _issuer_name(info)
    vo, host, fqans, expires = _fqans(info, issuer)
    named = [s for s in servers.certificates if _same_name(s.certificate.subject, issuer)]
    signers = [s.certificate for s in named if s.vo == vo]
    signers += _lsc_signers(info, vo, host, issuer, servers, now)
    if named and not signers:
        trusted_for = ", ".join(sorted({s.vo for s in named}))
        raise AcRefusedError(
            f"the AC of VO {vo!r} was issued by {issuer.rfc4514_string()!r}, a VOMS server "
            f"trusted here for the ACs of {trusted_for} only"
        )
    _check_signature(signed, info, tbs, issuer, signers, vo, host, now)
    _check_validity(info, issuer, now)
    _check_holder(info, end_entity)
    _check_extensions(info)
    return vo, fqans, expires


def _lsc_signers(
    info: univ.Sequence,
    vo: str,
    host: str | None,
    issuer: x509.Name,
    servers: _Servers,
    now: datetime.datetime,
) -> list[x509.Certificate]:
    """The certificate the AC carries, when an LSC file for its VO and server names it and
    it chains to a trusted CA; none without such a file."""
    files = [f for f in servers.lsc if f.vo == vo and f.host == host]
    if not files:
        return []
    carried = _carried_certificates(info)
    if not carried:
        raise AcRefusedError(
            f"the VOMS AC carries no certificate of its server, which the LSC file "
            f"{vo}/{host}.lsc names"
        )
    if not _same_name(carried[0].subject, issuer):
        raise AcRefusedError("the VOMS AC's issuer is not the certificate it carries")
    try:
        path = verify_end_entity(carried[0], carried[1:], servers.anchors, now)
    except ChainRefusedError as refusal:
        raise AcRefusedError(f"the VOMS server's {refusal.reason}") from None
    # The names of the path that verified, not of the certificates carried: a certificate
    # of the server's name from another trusted CA, carried next to the CA the LSC file
    # names, verifies through its own CA.
    if not any(matches(path, chain) for f in files for chain in f.chains):
        raise AcRefusedError(
            f"the VOMS server certificate the AC carries is not the one the LSC file "
            f"{vo}/{host}.lsc names: its path of certificate authorities is "
            f"{' > '.join(oneline(c.subject) for c in path)}"
        )
    return [carried[0]]


def _carried_certificates(info: univ.Sequence) -> list[x509.Certificate]:
    """The certificates of the AC's `AC_CERTIFICATES` extension (none without it)."""
    extensions = info["extensions"]
    if not extensions.isValue:
        return []
    for extension in extensions:
        if str(extension["extnID"]) != AC_CERTIFICATES:
            continue
        try:
            value, _ = decoder.decode(extension["extnValue"].asOctets(), asn1Spec=_AcCertificates())
            return [x509.load_der_x509_certificate(bytes(item)) for item in value["certificates"]]
        except MALFORMED:
            raise AcRefusedError("the VOMS AC carries a malformed certificate") from None
    return []


def _issuer_name(info: univ.Sequence) -> x509.Name:
    """The AC's issuer (v2Form's issuerName, or v1Form) as a name."""
    choice = info["issuer"]
    form = choice.getComponent()
    names = form["issuerName"] if choice.getName() == "v2Form" else form
    name = _directory_name(names)
    if name is None:
        raise AcRefusedError("a VOMS attribute certificate names no issuer")
    return name


def _directory_name(names: univ.SequenceOf) -> x509.Name | None:
    """The first directoryName of GeneralNames, as a `cryptography` name."""
    for general in names:
        if general.getName() == "directoryName":
            return _name(general.getComponent())
    return None


def _name(name: rfc5280.Name) -> x509.Name:
    rdns = []
    try:
        for rdn in name.getComponent():
            attributes = []
            for pair in rdn:
                value, _ = decoder.decode(bytes(pair["value"]))
                attributes.append(
                    x509.NameAttribute(x509.ObjectIdentifier(str(pair["type"])), str(value))
                )
            rdns.append(x509.RelativeDistinguishedName(attributes))
    except MALFORMED:
        raise AcRefusedError("a VOMS attribute certificate holds a malformed name") from None
    return x509.Name(rdns)


def _check_signature(
    signed: _SignedAc,
    info: univ.Sequence,
    tbs: bytes,
    issuer: x509.Name,
    signers: Sequence[x509.Certificate],
    vo: str,
    host: str | None,
    now: datetime.datetime,
) -> None:
    shown = issuer.rfc4514_string()
    algorithm = str(signed["signatureAlgorithm"]["algorithm"])
    if encoder.encode(info["signature"]) != encoder.encode(signed["signatureAlgorithm"]):
        raise AcRefusedError(f"the AC of {shown!r} names two different signature algorithms")
    digest = _ALGORITHMS.get(algorithm)
    if digest is None:
        raise AcRefusedError(
            f"the AC of {shown!r} is signed with algorithm {algorithm}; this server takes "
            "RSA or ECDSA signatures with SHA-2"
        )
    if not signers:
        raise AcRefusedError(
            f"the AC was issued by {shown!r}, which is not a VOMS server this server trusts "
            f"(neither its certificate nor an LSC file {vo}/{host}.lsc is configured)"
        )
    signature = signed["signatureValue"].asOctets()
    for signer in signers:
        key = signer.public_key()
        try:
            if isinstance(key, rsa.RSAPublicKey):
                key.verify(signature, tbs, padding.PKCS1v15(), digest)
            elif isinstance(key, ec.EllipticCurvePublicKey):
                key.verify(signature, tbs, ec.ECDSA(digest))
            else:
                continue
        except InvalidSignature:
            continue
        if not signer.not_valid_before_utc <= now <= signer.not_valid_after_utc:
            raise AcRefusedError(
                f"the certificate of VOMS server {shown!r} that signed the AC is not valid now"
            )
        return
    raise AcRefusedError(
        f"the signature of the AC is not the VOMS server {shown!r}'s: the AC was forged or "
        "altered, or the server's certificate configured here is not the one it signs with"
    )


def _same_name(first: x509.Name, second: x509.Name) -> bool:
    # By their text: the same name may be encoded with other string types.
    return first.rfc4514_string() == second.rfc4514_string()


def _check_validity(info: univ.Sequence, issuer: x509.Name, now: datetime.datetime) -> None:
    period = info["attrCertValidityPeriod"]
    start = _utc(period["notBeforeTime"].asDateTime)
    end = _utc(period["notAfterTime"].asDateTime)
    if not start - CLOCK_SKEW <= now <= end:
        raise AcRefusedError(
            f"the VOMS AC of {issuer.rfc4514_string()!r} is not valid now: from "
            f"{start.isoformat(timespec='seconds')} to {end.isoformat(timespec='seconds')}; "
            "make a new proxy (voms-proxy-init)"
        )


def _utc(moment: datetime.datetime) -> datetime.datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=datetime.UTC)
    return moment.astimezone(datetime.UTC)


def _check_holder(info: univ.Sequence, end_entity: x509.Certificate) -> None:
    """The AC's holder is the end entity: its serial number, with the name of its issuer
    (RFC 5755 §4.2.2) or its own subject (what VOMS itself writes there, voms-proxy-fake
    included). Either name with the serial picks out the one certificate: no other
    certificate of that serial has the end entity (not a CA) as its issuer."""
    holder = info["holder"]
    base = holder["baseCertificateID"]
    issuer = _directory_name(base["issuer"]) if base.isValue else None
    if (
        issuer is None
        or not (_same_name(issuer, end_entity.issuer) or _same_name(issuer, end_entity.subject))
        or int(base["serial"]) != end_entity.serial_number
    ):
        raise AcRefusedError(
            f"the VOMS AC was issued for another certificate, not for "
            f"{end_entity.subject.rfc4514_string()!r}"
        )


def _check_extensions(info: univ.Sequence) -> None:
    extensions = info["extensions"]
    if not extensions.isValue:
        return
    for extension in extensions:
        oid = str(extension["extnID"])
        if bool(extension["critical"]) and oid not in _KNOWN_EXTENSIONS:
            raise AcRefusedError(
                f"the VOMS AC has a critical extension this server does not understand ({oid}"
                + (", AC targeting" if oid == "2.5.29.55" else "")
                + ")"
            )


def _fqans(
    info: univ.Sequence, issuer: x509.Name
) -> tuple[str, str | None, list[str], datetime.datetime]:
    """The AC's VO, VOMS server host (from its policy authority, ``vo://host:port``), FQANs
    and expiry. Every FQAN must be of the AC's VO: a VOMS server vouches for its own VO's
    groups and roles only (its signature is checked later)."""
    shown = issuer.rfc4514_string()
    vo: str | None = None
    host: str | None = None
    fqans: list[str] = []
    for attribute in info["attributes"]:
        if str(attribute["type"]) != VOMS_ATTRIBUTE:
            continue
        for value in attribute["values"]:
            try:
                syntax, _ = decoder.decode(bytes(value), asn1Spec=rfc5755.IetfAttrSyntax())
            except PyAsn1Error:
                raise AcRefusedError("the VOMS AC's FQAN attribute is malformed") from None
            authority = syntax["policyAuthority"]
            if authority.isValue:
                for general in authority:
                    if general.getName() == "uniformResourceIdentifier":
                        vo, _, where = str(general.getComponent()).partition("://")
                        host = where.rsplit(":", 1)[0] or None
            for item in syntax["values"]:
                if item.getName() != "octets":
                    continue
                fqan = item.getComponent().asOctets().decode("utf-8", "replace")
                if len(fqan) > MAX_FQAN_LENGTH:
                    raise AcRefusedError(
                        f"the VOMS AC of {shown!r} holds an FQAN of {len(fqan)} characters; "
                        f"at most {MAX_FQAN_LENGTH} are taken"
                    )
                fqans.append(fqan)
                if len(fqans) > MAX_FQANS:
                    raise AcRefusedError(f"the VOMS AC of {shown!r} holds over {MAX_FQANS} FQANs")
    if not fqans:
        raise AcRefusedError(f"the VOMS AC of {shown!r} holds no FQAN: it grants nothing")
    if vo is None:
        vo = fqans[0].strip("/").split("/", 1)[0]
    if not vo or "/" in vo:
        raise AcRefusedError(f"the VOMS AC of {shown!r} names no VO its FQANs could be of")
    for fqan in fqans:
        if fqan != f"/{vo}" and not fqan.startswith(f"/{vo}/"):
            raise AcRefusedError(
                f"the VOMS AC of {shown!r} grants {fqan!r}, which is not of the AC's VO "
                f"{vo!r}: a VOMS server vouches only for the groups and roles of its own VO"
            )
    end = _utc(info["attrCertValidityPeriod"]["notAfterTime"].asDateTime)
    return vo, host, fqans, end
