"""What method ``voms`` trusts: the VOMS file (``[auth] voms_file``).

A TOML file naming the CA certificates that issue users' certificates, the
certificates of the VOMS servers whose attribute certificates are believed,
and the rules that map a certificate to tenants (`pyocci.server.auth.oidc_mapping`)::

    ca_certificates = "/etc/grid-security/certificates"
    voms_certificates = "/etc/grid-security/vomsdir"

    [[tenants]]
    claim = "fqan"
    match = '^/(?P<vo>vo\\.example\\.org)(/[^/]+)*/Role=NULL/Capability=NULL$'
    tenant = "{vo}"

``ca_certificates`` takes a PEM file or a directory, read with its
subdirectories (every file holding a PEM certificate; other files, such as
CRLs and signing policies, are passed over). ``voms_certificates`` takes a
VOMS directory laid out as ``/etc/grid-security/vomsdir``: a folder per VO,
holding the certificates of the VO's VOMS servers (``<vo>/<host>.pem``) or
their LSC files (``<vo>/<host>.lsc``, `pyocci.server.auth.voms_lsc`). A VOMS
server is trusted for the ACs of the VO whose folder names it, and no other:
a server of one VO cannot grant roles in another. Relative paths are
relative to the VOMS file. The claims rules look at are listed in `CLAIMS`.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from pyocci.server.auth.oidc_mapping import TenantRule, parse_rules
from pyocci.server.auth.voms_ac import VomsServerCertificate
from pyocci.server.auth.voms_lsc import LscFile, read_lsc_files
from pyocci.server.config import ConfigError

__all__ = [
    "CLAIMS",
    "VomsTrust",
    "load_certificates",
    "load_voms_certificates",
    "read_voms_file",
]

#: What the rules of the VOMS file can look at: the FQANs of the proxy's VOMS ACs, their
#: VOs, and the holder's subject and its issuer (distinguished names, RFC 4514).
CLAIMS = ("fqan", "vo", "subject", "issuer")
_KEYS = ("ca_certificates", "voms_certificates", "tenants")
# The largest file read as a possible certificate: a PEM bundle of every IGTF CA fits.
_MAX_FILE = 4 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class VomsTrust:
    """The CA and VOMS server certificates trusted, and the mapping rules."""

    ca_certificates: tuple[x509.Certificate, ...]
    #: The VOMS servers' certificates, each with the VO it is trusted for.
    voms_certificates: tuple[VomsServerCertificate, ...]
    rules: tuple[TenantRule, ...]
    #: The LSC files of the VOMS certificate directory (`pyocci.server.auth.voms_lsc`).
    lsc: tuple[LscFile, ...] = ()


def read_voms_file(path: Path) -> VomsTrust:
    """The trust the VOMS file at `path` describes; ConfigError saying what is wrong."""
    where = f"auth.voms_file ({path})"
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            f"auth.voms_file: {path} does not exist; it names the trusted CAs, VOMS servers "
            "and the mapping rules"
        ) from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"auth.voms_file: cannot read {path}: {error}") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{where}: not valid TOML: {error}") from None
    return parse_voms_document(document, where=where, base=path.parent)


def parse_voms_document(document: Mapping[str, Any], *, where: str, base: Path) -> VomsTrust:
    """The trust of a parsed VOMS file (`where` names it in messages, `base` is where
    relative paths start)."""
    unknown = sorted(set(document) - set(_KEYS))
    if unknown:
        raise ConfigError(
            f"{where}: unknown key {unknown[0]!r}; expected one of {', '.join(_KEYS)}"
        )
    rules = parse_rules(document.get("tenants"), where, table="tenants")
    for index, rule in enumerate(rules):
        if rule.claim not in CLAIMS:
            raise ConfigError(
                f"{where}, tenants[{index}]: claim: expected one of {', '.join(CLAIMS)}, "
                f"got {rule.claim!r}"
            )
    ca_certificates = load_certificates(_path(document, "ca_certificates", where, base), where)
    voms = _path(document, "voms_certificates", where, base)
    if not voms.exists():
        raise ConfigError(f"{where}: {voms} does not exist")
    if not voms.is_dir():
        raise ConfigError(
            f"{where}: voms_certificates: {voms} is not a directory; it is a VOMS directory "
            "with a folder per VO holding its VOMS servers' certificates or LSC files "
            "(<vo>/<host>.pem, <vo>/<host>.lsc)"
        )
    try:
        lsc = read_lsc_files(voms)
    except (OSError, ValueError) as error:
        raise ConfigError(f"{where}: voms_certificates: {error}") from None
    return VomsTrust(
        ca_certificates=ca_certificates,
        voms_certificates=load_voms_certificates(voms, where, required=not lsc),
        rules=rules,
        lsc=lsc,
    )


def _path(document: Mapping[str, Any], key: str, where: str, base: Path) -> Path:
    value = document.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}: {key}: expected the path of a PEM file or a directory")
    path = Path(value).expanduser()
    return path if path.is_absolute() else base / path


def load_voms_certificates(
    directory: Path, where: str, *, required: bool = True
) -> tuple[VomsServerCertificate, ...]:
    """The certificates of the VO folders of a VOMS directory, each trusted for its folder's
    VO; ConfigError for a certificate outside a VO's folder (it would be trusted for no VO,
    or for all of them), or when there is none and one is `required`."""
    found: list[VomsServerCertificate] = []
    for path in sorted(directory.iterdir()):
        if path.is_dir():
            found += (
                VomsServerCertificate(vo=path.name, certificate=certificate)
                for certificate in load_certificates(path, where, required=False)
            )
        elif path.is_file() and load_certificates(path, where, required=False):
            raise ConfigError(
                f"{where}: voms_certificates: {path} is not in a VO's folder: a VOMS server's "
                f"certificate goes in the folder of the VO whose ACs it signs "
                f"({directory}/<vo>/{path.name})"
            )
    if not found and required:
        raise ConfigError(f"{where}: no PEM certificate or LSC file in {directory}")
    return tuple(found)


def load_certificates(
    path: Path, where: str, *, required: bool = True
) -> tuple[x509.Certificate, ...]:
    """Every certificate of a PEM file, or of the files under a directory; ConfigError
    when there is none and one is `required`."""
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file())
    elif path.is_file():
        files = [path]
    else:
        raise ConfigError(f"{where}: {path} does not exist")
    found: dict[bytes, x509.Certificate] = {}
    for file in files:
        try:
            if file.stat().st_size > _MAX_FILE:
                continue
            data = file.read_bytes()
        except OSError as error:
            raise ConfigError(f"{where}: cannot read {file}: {error}") from None
        if b"-----BEGIN CERTIFICATE-----" not in data:
            continue
        try:
            certificates = x509.load_pem_x509_certificates(data)
        except ValueError as error:
            raise ConfigError(f"{where}: {file} holds a malformed certificate: {error}") from None
        for certificate in certificates:
            found.setdefault(certificate.fingerprint(hashes.SHA256()), certificate)
    if not found and required:
        what = "PEM certificate or LSC file" if path.is_dir() else "PEM certificate"
        raise ConfigError(f"{where}: no {what} in {path}")
    return tuple(found.values())
