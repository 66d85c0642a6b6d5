"""Throwaway X.509 material for the TLS tests, made with ``cryptography``.

`make_pki(directory)` writes, as PEM files:

* a CA, and a server certificate it signs for ``127.0.0.1`` and ``localhost``;
* a user certificate and key it signs (``user.pem``, ``user.key``);
* an RFC 3820 proxy signed by that user certificate, in one file holding the
  proxy certificate, its key and the user certificate - the layout
  ``voms-proxy-init`` writes (``proxy.pem``);
* a user certificate from another CA, which the server must refuse;
* the user key encrypted with a passphrase (``user-encrypted.key``);
* the user certificate and key as PKCS#12, protected by `PKCS12_PASSWORD`
  (``user.p12``) and by no password (``user-open.p12``);
* the CA's key (``ca.key``), for tests that issue more certificates
  (`issue_certificate`).
"""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# proxyCertInfo (RFC 3820 §3.8) with the inherit-all policy and no path length:
# SEQUENCE { SEQUENCE { OID 1.3.6.1.5.5.7.21.1 } }, DER by hand since cryptography
# has no type for it.
_PROXY_CERT_INFO = x509.ObjectIdentifier("1.3.6.1.5.5.7.1.14")
_INHERIT_ALL_DER = bytes.fromhex("300c300a06082b06010505071501")

_KeyType = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey

#: The password of ``user.p12``.
PKCS12_PASSWORD = "p12 secret"


@dataclass(frozen=True)
class Pki:
    """Where `make_pki` put each file."""

    ca: Path
    ca_key: Path
    server_certificate: Path
    server_key: Path
    user_certificate: Path
    user_key: Path
    user_encrypted_key: Path
    proxy: Path
    stranger_certificate: Path
    stranger_key: Path
    user_subject: str
    user_pkcs12: Path
    user_open_pkcs12: Path


def _key() -> _KeyType:
    return ec.generate_private_key(ec.SECP256R1())


def _name(*common_names: str) -> x509.Name:
    attributes = [
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "pyocci tests"),
        *(x509.NameAttribute(NameOID.COMMON_NAME, name) for name in common_names),
    ]
    return x509.Name(attributes)


def _builder(
    subject: x509.Name,
    issuer: x509.Name,
    key: _KeyType,
    serial: int | None = None,
    valid_from: datetime.datetime | None = None,
) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(serial if serial is not None else x509.random_serial_number())
        .not_valid_before(valid_from or now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
    )


def _ca(name: str) -> tuple[x509.Certificate, _KeyType]:
    # RSA: voms-proxy-fake signs a proxy with the digest of its user certificate's
    # signature, which it finds for RSA signatures only (SHA-1, which OpenSSL 3
    # refuses, otherwise).
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = _name(name)
    certificate = (
        _builder(subject, subject, key)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return certificate, key


def _leaf(
    ca: x509.Certificate,
    ca_key: _KeyType,
    name: str,
    *,
    server: bool,
    key: _KeyType | None = None,
    valid_from: datetime.datetime | None = None,
) -> tuple[x509.Certificate, _KeyType]:
    key = key if key is not None else _key()
    usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
    builder = (
        _builder(_name(name), ca.subject, key, valid_from=valid_from)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if server:
        builder = builder.add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
    return builder.sign(ca_key, hashes.SHA256()), key


def _proxy(user: x509.Certificate, user_key: _KeyType) -> tuple[x509.Certificate, _KeyType]:
    """An RFC 3820 proxy: subject = the user's plus one CN, signed by the user's key."""
    key = _key()
    serial = x509.random_serial_number()
    subject = x509.Name([*user.subject, x509.NameAttribute(NameOID.COMMON_NAME, str(serial))])
    certificate = (
        _builder(subject, user.subject, key, serial)
        .add_extension(
            x509.UnrecognizedExtension(_PROXY_CERT_INFO, _INHERIT_ALL_DER), critical=True
        )
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=True,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(user_key, hashes.SHA256())
    )
    return certificate, key


def _pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


def _key_pem(key: _KeyType, password: bytes | None = None) -> bytes:
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password)
        if password
        else serialization.NoEncryption()
    )
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )


def make_pki(directory: Path, *, ca_name: str = "pyocci test CA") -> Pki:
    """Create the CA (named `ca_name`), server, user, proxy and stranger files in
    `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    ca, ca_key = _ca(ca_name)
    server, server_key = _leaf(ca, ca_key, "127.0.0.1", server=True)
    user, user_key = _leaf(ca, ca_key, "Alice Example", server=False)
    proxy, proxy_key = _proxy(user, user_key)
    other_ca, other_key = _ca("another CA")
    stranger, stranger_key = _leaf(other_ca, other_key, "Mallory", server=False)

    def write(name: str, data: bytes) -> Path:
        path = directory / name
        path.write_bytes(data)
        path.chmod(0o600)
        return path

    def p12(password: bytes | None) -> bytes:
        encryption: serialization.KeySerializationEncryption = (
            serialization.BestAvailableEncryption(password)
            if password
            else serialization.NoEncryption()
        )
        return pkcs12.serialize_key_and_certificates(b"alice", user_key, user, [ca], encryption)

    return Pki(
        ca=write("ca.pem", _pem(ca)),
        ca_key=write("ca.key", _key_pem(ca_key)),
        server_certificate=write("server.pem", _pem(server)),
        server_key=write("server.key", _key_pem(server_key)),
        user_certificate=write("user.pem", _pem(user)),
        user_key=write("user.key", _key_pem(user_key)),
        user_encrypted_key=write("user-encrypted.key", _key_pem(user_key, b"secret")),
        # voms-proxy-init's order: proxy certificate, proxy key, then the chain.
        proxy=write("proxy.pem", _pem(proxy) + _key_pem(proxy_key) + _pem(user)),
        stranger_certificate=write("stranger.pem", _pem(stranger)),
        stranger_key=write("stranger.key", _key_pem(stranger_key)),
        user_subject=user.subject.rfc4514_string(),
        user_pkcs12=write("user.p12", p12(PKCS12_PASSWORD.encode())),
        user_open_pkcs12=write("user-open.p12", p12(None)),
    )


def issue_certificate(
    pki: Pki,
    directory: Path,
    name: str,
    *,
    server: bool = False,
    valid_from: datetime.datetime | None = None,
) -> tuple[Path, Path]:
    """A certificate and RSA key (``<name>.pem``, ``<name>.key``) that `pki`'s CA issues
    for `name`, valid from `valid_from` (default: a few minutes ago): RSA for the tools
    that know no other keys (voms-proxy-fake)."""
    ca = x509.load_pem_x509_certificate(pki.ca.read_bytes())
    ca_key = serialization.load_pem_private_key(pki.ca_key.read_bytes(), None)
    assert isinstance(ca_key, rsa.RSAPrivateKey)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    certificate, _ = _leaf(ca, ca_key, name, server=server, key=key, valid_from=valid_from)
    stem = name.replace(" ", "-").lower()
    certificate_file = directory / f"{stem}.pem"
    key_file = directory / f"{stem}.key"
    certificate_file.write_bytes(_pem(certificate))
    key_file.write_bytes(_key_pem(key))
    key_file.chmod(0o600)
    return certificate_file, key_file
