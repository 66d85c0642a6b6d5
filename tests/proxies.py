"""RFC 3820 proxy certificates made to order with ``cryptography``, right or wrong.

`make_proxy` signs a proxy for an issuer (a user certificate or another
proxy) with whatever a test needs to be wrong: another signing key, another
subject, past validity, another policy, a path length, extensions copied
from elsewhere (a VOMS AC). `load` and `load_key` read `pki.Pki` files.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from pyasn1.codec.der import encoder
from pyasn1.type import univ
from pyasn1_modules import rfc3820

PROXY_CERT_INFO = x509.ObjectIdentifier("1.3.6.1.5.5.7.1.14")
INHERIT_ALL = "1.3.6.1.5.5.7.21.1"
INDEPENDENT = "1.3.6.1.5.5.7.21.2"

Key = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


def load(path: Path) -> list[x509.Certificate]:
    """The certificates of a PEM file."""
    return x509.load_pem_x509_certificates(path.read_bytes())


def load_key(path: Path) -> Key:
    """The private key of a PEM file (the first one, in a proxy file)."""
    data = path.read_bytes()
    start = data.index(b"-----BEGIN")
    while b"CERTIFICATE" in data[start : start + 40]:
        start = data.index(b"-----BEGIN", start + 1)
    key = serialization.load_pem_private_key(data[start:], None)
    assert isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey)
    return key


def proxy_cert_info(language: str = INHERIT_ALL, path_length: int | None = None) -> bytes:
    """The DER of a proxyCertInfo value (RFC 3820 §3.8)."""
    info = rfc3820.ProxyCertInfoExtension()
    if path_length is not None:
        info["pCPathLenConstraint"] = path_length
    info["proxyPolicy"]["policyLanguage"] = univ.ObjectIdentifier(language)
    return encoder.encode(info)


def make_proxy(
    issuer: x509.Certificate,
    issuer_key: Key,
    *,
    signer_key: Key | None = None,
    subject: x509.Name | None = None,
    not_before: datetime.datetime | None = None,
    not_after: datetime.datetime | None = None,
    info: bytes | None = None,
    info_critical: bool = True,
    extensions: Sequence[x509.Extension[x509.ExtensionType]] = (),
) -> tuple[x509.Certificate, Key]:
    """A proxy of `issuer`, signed with `signer_key` (default: `issuer_key`); its key."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    serial = x509.random_serial_number()
    if subject is None:
        subject = x509.Name(
            [*issuer.subject, x509.NameAttribute(NameOID.COMMON_NAME, str(serial % 10**9))]
        )
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.subject)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(not_before or now - datetime.timedelta(minutes=5))
        .not_valid_after(not_after or now + datetime.timedelta(hours=12))
        .add_extension(
            x509.UnrecognizedExtension(PROXY_CERT_INFO, info or proxy_cert_info()),
            critical=info_critical,
        )
    )
    for extension in extensions:
        builder = builder.add_extension(extension.value, critical=extension.critical)
    return builder.sign(signer_key or issuer_key, hashes.SHA256()), key
