"""Certificates that ``cryptography`` cannot read, each in its own way: DER edited after
signing, since no library makes such certificates on purpose (the signatures no longer
hold, but reading them fails first)."""

from __future__ import annotations

import base64
import datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

__all__ = ["MALFORMED_KINDS", "malformed_pem"]

_FIRST = x509.ObjectIdentifier("1.2.3.4")
_SECOND = x509.ObjectIdentifier("1.2.3.5")
#: A DNS name whose bytes, read as the content of a constructed element, are one empty
#: element: the name can become an ediPartyName (tag [5]) by changing its tag alone.
_NAME = "\x04\x00"


def _signed(extensions: list[x509.ExtensionType]) -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Mal Formed")])
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
    )
    for extension in extensions:
        builder = builder.add_extension(extension, critical=False)
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


def _replaced_once(der: bytes, old: bytes, new: bytes) -> bytes:
    assert der.count(old) == 1 and len(old) == len(new)
    return der.replace(old, new)


def invalid_version() -> bytes:
    """Version 4 (the INTEGER 3): X.509 knows 1 to 3 (raises x509.InvalidVersion)."""
    return _replaced_once(_signed([]), b"\xa0\x03\x02\x01\x02", b"\xa0\x03\x02\x01\x03")


def duplicate_extension() -> bytes:
    """Two extensions of one OID (raises x509.DuplicateExtension when they are read)."""
    der = _signed(
        [
            x509.UnrecognizedExtension(_FIRST, b"\x05\x00"),
            x509.UnrecognizedExtension(_SECOND, b"\x05\x00"),
        ]
    )
    return _replaced_once(der, b"\x06\x03\x2a\x03\x05", b"\x06\x03\x2a\x03\x04")


def unsupported_general_name() -> bytes:
    """A subject alternative name of a kind cryptography does not read, an ediPartyName
    (raises x509.UnsupportedGeneralNameType when the extensions are read)."""
    der = _signed([x509.SubjectAlternativeName([x509.DNSName(_NAME)])])
    return _replaced_once(der, b"\x82\x02" + _NAME.encode(), b"\xa5\x02" + _NAME.encode())


#: Each kind of malformed certificate, by what cryptography raises for it.
MALFORMED_KINDS = {
    "InvalidVersion": invalid_version,
    "DuplicateExtension": duplicate_extension,
    "UnsupportedGeneralNameType": unsupported_general_name,
}


def malformed_pem(kind: str) -> str:
    """A malformed certificate of `kind` (a key of `MALFORMED_KINDS`), as PEM."""
    body = base64.encodebytes(MALFORMED_KINDS[kind]()).decode("ascii")
    return f"-----BEGIN CERTIFICATE-----\n{body}-----END CERTIFICATE-----\n"
