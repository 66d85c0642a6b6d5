"""The VOMS file of method voms: trusted CAs, VOMS servers and the mapping rules."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from pki import Pki
from proxies import load
from pyocci.server.auth import build_authenticator
from pyocci.server.auth.voms import VomsAuth
from pyocci.server.auth.voms_ac import VomsServerCertificate
from pyocci.server.auth.voms_trust import read_voms_file
from pyocci.server.config import AuthConfig, ConfigError

RULE = '[[tenants]]\nclaim = "fqan"\nmatch = "^/(vo\\\\.example\\\\.org)/.*$"\n'


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_a_file_with_certificate_directories(pki: Pki, tmp_path: Path) -> None:
    # Like /etc/grid-security: hashed links, CRLs, signing policies, LSC files around.
    certificates = tmp_path / "certificates"
    certificates.mkdir()
    shutil.copy(pki.ca, certificates / "1a2b3c4d.0")
    (certificates / "1a2b3c4d.signing_policy").write_text("access_id_CA X509 '/O=x'\n")
    (certificates / "1a2b3c4d.r0").write_text("-----BEGIN X509 CRL-----\n")
    vomsdir = tmp_path / "vomsdir" / "vo.example.org"
    vomsdir.mkdir(parents=True)
    shutil.copy(pki.server_certificate, vomsdir / "voms.example.org.pem")
    (vomsdir / "voms.example.org.lsc").write_text(
        "/O=pyocci tests/CN=voms\n/O=pyocci tests/CN=ca\n"
    )
    path = write(
        tmp_path / "voms.toml",
        'ca_certificates = "certificates"\nvoms_certificates = "vomsdir"\n' + RULE,
    )
    trust = read_voms_file(path)
    assert trust.ca_certificates == tuple(load(pki.ca))
    assert trust.voms_certificates == tuple(
        VomsServerCertificate("vo.example.org", c) for c in load(pki.server_certificate)
    )
    assert trust.rules[0].claim == "fqan"
    assert trust.rules[0].apply({"fqan": ["/vo.example.org/Role=NULL"]}) == "vo.example.org"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('ca_certificates = "{ca}"\nvoms_certificates = "{ca}"\n', "no [[tenants]] rule"),
        ('voms_certificates = "{ca}"\n' + RULE, "ca_certificates: expected the path"),
        (
            'ca_certificates = "{ca}"\nvoms_certificates = "{ca}"\n'
            '[[tenants]]\nclaim = "entitlement"\nmatch = ".*"\n',
            "claim: expected one of fqan, vo, subject, issuer",
        ),
        (
            'ca_certificates = "{ca}"\nvoms_certificates = "{ca}"\nlsc = "x"\n' + RULE,
            "unknown key 'lsc'",
        ),
        ('ca_certificates = "{ca}"\nvoms_certificates = "nowhere"\n' + RULE, "does not exist"),
        ('ca_certificates = "{key}"\nvoms_certificates = "{ca}"\n' + RULE, "no PEM certificate"),
        (
            'ca_certificates = "{ca}"\nvoms_certificates = "{ca}"\n' + RULE,
            "is not a directory; it is a VOMS directory with a folder per VO",
        ),
        ("ca_certificates = [\n", "not valid TOML"),
    ],
)
def test_what_is_wrong_is_said(pki: Pki, tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path / "voms.toml", text.format(ca=pki.ca, key=pki.user_key))
    with pytest.raises(ConfigError, match=re.escape(message)):
        read_voms_file(path)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist; it names the trusted CAs"):
        read_voms_file(tmp_path / "voms.toml")


def test_the_method_is_built_from_the_configuration(pki: Pki, tmp_path: Path) -> None:
    (tmp_path / "vomsdir" / "vo.example.org").mkdir(parents=True)
    shutil.copy(pki.server_certificate, tmp_path / "vomsdir" / "vo.example.org" / "voms.pem")
    path = write(
        tmp_path / "voms.toml",
        f'ca_certificates = "{pki.ca}"\nvoms_certificates = "vomsdir"\n' + RULE,
    )
    method = build_authenticator(
        AuthConfig(method="voms", front_addresses="127.0.0.1", voms_file=path)
    )
    assert isinstance(method, VomsAuth)
    assert method.front.trusted("127.0.0.1") and not method.front.trusted("127.0.0.2")
    assert method.challenge == 'X509 realm="pyocci"'


def test_the_method_needs_fronts_and_a_file() -> None:
    with pytest.raises(ConfigError, match=r"needs auth\.front_addresses"):
        AuthConfig(method="voms", front_addresses="127.0.0.1")


def test_a_vomsdir_of_lsc_files_only(pki: Pki, tmp_path: Path) -> None:
    vomsdir = tmp_path / "vomsdir" / "vo.example.org"
    vomsdir.mkdir(parents=True)
    (vomsdir / "voms.example.org.lsc").write_text(
        "/O=pyocci tests/CN=voms.example.org\n/O=pyocci tests/CN=pyocci test CA\n"
    )
    path = write(
        tmp_path / "voms.toml",
        f'ca_certificates = "{pki.ca}"\nvoms_certificates = "vomsdir"\n' + RULE,
    )
    trust = read_voms_file(path)
    assert trust.voms_certificates == ()
    assert [(lsc.vo, lsc.host) for lsc in trust.lsc] == [("vo.example.org", "voms.example.org")]


def test_an_empty_vomsdir_is_refused(pki: Pki, tmp_path: Path) -> None:
    (tmp_path / "vomsdir").mkdir()
    path = write(
        tmp_path / "voms.toml",
        f'ca_certificates = "{pki.ca}"\nvoms_certificates = "vomsdir"\n' + RULE,
    )
    with pytest.raises(ConfigError, match="no PEM certificate or LSC file in"):
        read_voms_file(path)


def test_each_voms_certificate_is_trusted_for_its_folders_vo(pki: Pki, tmp_path: Path) -> None:
    for vo in ("vo.example.org", "vo.other.org"):
        (tmp_path / "vomsdir" / vo).mkdir(parents=True)
    shutil.copy(pki.server_certificate, tmp_path / "vomsdir" / "vo.example.org" / "a.pem")
    shutil.copy(pki.user_certificate, tmp_path / "vomsdir" / "vo.other.org" / "b.pem")
    path = write(
        tmp_path / "voms.toml",
        f'ca_certificates = "{pki.ca}"\nvoms_certificates = "vomsdir"\n' + RULE,
    )
    trust = read_voms_file(path)
    assert [(s.vo, s.certificate) for s in trust.voms_certificates] == [
        ("vo.example.org", load(pki.server_certificate)[0]),
        ("vo.other.org", load(pki.user_certificate)[0]),
    ]


def test_a_voms_certificate_outside_a_vo_folder_is_refused(pki: Pki, tmp_path: Path) -> None:
    # It would be trusted for no VO, or for every one: the operator says which.
    (tmp_path / "vomsdir" / "vo.example.org").mkdir(parents=True)
    (tmp_path / "vomsdir" / "vo.example.org" / "voms.lsc").write_text("/O=a/CN=b\n/O=a/CN=c\n")
    shutil.copy(pki.server_certificate, tmp_path / "vomsdir" / "voms.example.org.pem")
    path = write(
        tmp_path / "voms.toml",
        f'ca_certificates = "{pki.ca}"\nvoms_certificates = "vomsdir"\n' + RULE,
    )
    with pytest.raises(ConfigError, match=r"voms\.example\.org\.pem is not in a VO's folder"):
        read_voms_file(path)
