"""Reading and verifying the VOMS attribute certificate of a proxy made by voms-proxy-fake:
the FQANs of a good one, and each reason one is refused."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from pyasn1.codec.der import decoder, encoder
from pyasn1.type import univ
from pyasn1_modules import rfc5755

from malformed_certificates import MALFORMED_KINDS
from pki import Pki, issue_certificate, make_pki
from proxies import load, load_key, make_proxy
from pyocci.server.auth.proxy_chain import VerifiedChain, verify_chain
from pyocci.server.auth.voms_ac import (
    CLOCK_SKEW,
    MAX_FQAN_LENGTH,
    VOMS_AC_EXTENSION,
    AcRefusedError,
    VomsAttributes,
    VomsServerCertificate,
    voms_attributes,
)
from pyocci.server.auth.voms_lsc import AC_CERTIFICATES, LscFile
from voms import FQAN, VO, make_voms_proxy

#: The moment the chains are checked at: half an hour after the module starts running
#: (set by `_checked_half_an_hour_on`), so after every certificate its fixtures make and
#: long before any of them expires (hours, days). Not at collection: a whole run reaches
#: this module long after it was collected, and the certificates are made then.
NOW = datetime.datetime.now(datetime.UTC) + datetime.timedelta(minutes=30)


@pytest.fixture(autouse=True, scope="module")
def _checked_half_an_hour_on() -> None:
    global NOW
    NOW = datetime.datetime.now(datetime.UTC) + datetime.timedelta(minutes=30)


def voms_certificates(vomsdir: Path, vo: str = VO) -> list[VomsServerCertificate]:
    """The tests' VOMS server, trusted for `vo`."""
    return [VomsServerCertificate(vo, c) for c in load(vomsdir / "voms.example.org.pem")]


def chain_of(pki: Pki, proxy: Path) -> VerifiedChain:
    return verify_chain(load(proxy), load(pki.ca), NOW)


def attributes(pki: Pki, vomsdir: Path, proxy: Path) -> VomsAttributes | None:
    return voms_attributes(chain_of(pki, proxy), voms_certificates(vomsdir), NOW)


def refusal(pki: Pki, vomsdir: Path, proxy: Path) -> str:
    with pytest.raises(AcRefusedError) as refused:
        attributes(pki, vomsdir, proxy)
    return refused.value.reason


def test_the_fqans_and_vo_of_a_proxy(pki: Pki, vomsdir: Path) -> None:
    group = f"/{VO}/ops/Role=manager/Capability=NULL"
    proxy, _ = make_voms_proxy(pki, vomsdir, fqans=(FQAN, group))
    found = attributes(pki, vomsdir, proxy)
    assert found is not None
    assert found.vos == (VO,)
    assert found.fqans == (FQAN, group)
    assert NOW < found.not_after <= NOW + datetime.timedelta(hours=13)


def test_a_proxy_without_an_ac_has_no_attributes(pki: Pki, vomsdir: Path) -> None:
    assert attributes(pki, vomsdir, pki.proxy) is None


def test_an_ac_signed_by_another_key_is_refused(pki: Pki, vomsdir: Path, tmp_path: Path) -> None:
    # The VOMS server's name, another key: what a forger can make.
    forger = issue_certificate(pki, tmp_path, "voms.example.org", server=True)
    proxy, _ = make_voms_proxy(pki, tmp_path, user="Fiona Forger", host=forger)
    reason = refusal(pki, vomsdir, proxy)
    assert "the AC was forged or altered" in reason


def test_an_ac_of_an_unknown_voms_server_is_refused(pki: Pki, vomsdir: Path) -> None:
    proxy, _ = make_voms_proxy(pki, vomsdir, user="Una Known")
    with pytest.raises(AcRefusedError, match="not a VOMS server this server trusts"):
        voms_attributes(chain_of(pki, proxy), [VomsServerCertificate(VO, load(pki.ca)[0])], NOW)


def test_an_expired_ac_is_refused(pki: Pki, vomsdir: Path) -> None:
    proxy, _ = make_voms_proxy(
        pki, vomsdir, user="Ed Expired", options=("-pastac", "3:00", "-vomslife", "1")
    )
    reason = refusal(pki, vomsdir, proxy)
    assert "is not valid now" in reason and "voms-proxy-init" in reason


def test_an_ac_of_another_certificate_is_refused(pki: Pki, vomsdir: Path) -> None:
    # The AC of Vera's proxy, copied into a proxy that Alice signs.
    proxy, _ = make_voms_proxy(pki, vomsdir, user="Vera Voms")
    ac = load(proxy)[0].extensions.get_extension_for_oid(VOMS_AC_EXTENSION)
    alice = load(pki.user_certificate)[0]
    stolen, _ = make_proxy(alice, load_key(pki.user_key), extensions=[ac])
    chain = verify_chain([stolen, alice], load(pki.ca), NOW)
    with pytest.raises(AcRefusedError, match="issued for another certificate"):
        voms_attributes(chain, voms_certificates(vomsdir), NOW)


def test_a_malformed_ac_is_refused(pki: Pki, vomsdir: Path) -> None:
    alice = load(pki.user_certificate)[0]
    garbage = x509.Extension(
        VOMS_AC_EXTENSION,
        False,
        x509.UnrecognizedExtension(VOMS_AC_EXTENSION, b"\x30\x03\x02\x01\x01"),
    )
    proxy, _ = make_proxy(alice, load_key(pki.user_key), extensions=[garbage])
    chain = verify_chain([proxy, alice], load(pki.ca), NOW)
    with pytest.raises(AcRefusedError, match="malformed"):
        voms_attributes(chain, voms_certificates(vomsdir), NOW)


def test_an_ac_with_a_critical_extension_not_understood_is_refused(pki: Pki, vomsdir: Path) -> None:
    proxy, _ = make_voms_proxy(
        pki, vomsdir, user="Cris Critical", options=("-acextension", "1.2.3.4/true:hello")
    )
    reason = refusal(pki, vomsdir, proxy)
    assert "critical extension this server does not understand (1.2.3.4)" in reason


def test_an_ac_with_an_extension_that_is_not_critical_is_taken(pki: Pki, vomsdir: Path) -> None:
    proxy, _ = make_voms_proxy(
        pki, vomsdir, user="Nick Noncritical", options=("-acextension", "1.2.3.4/false:hello")
    )
    found = attributes(pki, vomsdir, proxy)
    assert found is not None and found.fqans == (FQAN,)


def test_an_ac_starting_a_moment_from_now_is_taken_one_later_is_not(
    pki: Pki, tmp_path: Path
) -> None:
    # VOMS servers date ACs by their own clock: a little ahead of this one is tolerated.
    # The VOMS server's certificate is valid since a day, so that only the AC's start
    # decides.
    a_day_ago = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=1)
    server = issue_certificate(pki, tmp_path, "voms.example.org", server=True, valid_from=a_day_ago)
    trusted = [VomsServerCertificate(VO, c) for c in load(server[0])]
    proxy, _ = make_voms_proxy(pki, tmp_path, user="Sam Skew", host=server)
    chain = chain_of(pki, proxy)
    start = ac_start(chain)
    a_moment = start - CLOCK_SKEW + datetime.timedelta(seconds=1)
    assert voms_attributes(chain, trusted, a_moment) is not None
    earlier = start - CLOCK_SKEW - datetime.timedelta(seconds=1)
    with pytest.raises(AcRefusedError, match=r"the VOMS AC of .* is not valid now: from"):
        voms_attributes(chain, trusted, earlier)


def ac_start(chain: VerifiedChain) -> datetime.datetime:
    """When the VOMS AC of `chain`'s proxy starts, as the AC says."""
    value = chain.proxies[0].extensions.get_extension_for_oid(VOMS_AC_EXTENSION).value.value
    lists, _ = decoder.decode(value, asn1Spec=_AcExtension())
    moment = lists[0][0]["acinfo"]["attrCertValidityPeriod"]["notBeforeTime"].asDateTime
    return moment.replace(tzinfo=datetime.UTC) if moment.tzinfo is None else moment


# --- VOMS servers trusted by LSC file ---------------------------------------------------------

SERVER_DNS = ("/O=pyocci tests/CN=voms.example.org", "/O=pyocci tests/CN=pyocci test CA")


def lsc_of(*chain: str, host: str = "voms.example.org") -> tuple[LscFile, ...]:
    return (LscFile(vo=VO, host=host, chains=(chain,)),)


def test_an_ac_of_a_server_an_lsc_file_names_is_taken(pki: Pki, vomsdir: Path) -> None:
    proxy, _ = make_voms_proxy(pki, vomsdir, user="Lena Lsc")
    found = voms_attributes(
        chain_of(pki, proxy), [], NOW, lsc=lsc_of(*SERVER_DNS), anchors=load(pki.ca)
    )
    assert found is not None and found.fqans == (FQAN,)


def test_an_lsc_file_naming_another_server_refuses_the_ac(pki: Pki, vomsdir: Path) -> None:
    proxy, _ = make_voms_proxy(pki, vomsdir, user="Lena Lsc")
    lsc = lsc_of("/O=pyocci tests/CN=voms2.example.org", SERVER_DNS[1])
    with pytest.raises(AcRefusedError, match="is not the one the LSC file"):
        voms_attributes(chain_of(pki, proxy), [], NOW, lsc=lsc, anchors=load(pki.ca))


def test_an_lsc_file_of_another_server_is_no_trust(pki: Pki, vomsdir: Path) -> None:
    proxy, _ = make_voms_proxy(pki, vomsdir, user="Lena Lsc")
    lsc = lsc_of(*SERVER_DNS, host="voms2.example.org")
    with pytest.raises(AcRefusedError, match=r"nor an LSC file vo\.example\.org/voms\.example"):
        voms_attributes(chain_of(pki, proxy), [], NOW, lsc=lsc, anchors=load(pki.ca))


def test_a_server_of_the_lsc_names_from_an_untrusted_ca_is_refused(
    pki: Pki, vomsdir: Path, tmp_path: Path
) -> None:
    # Another CA of the same name issues a certificate of the VOMS server's name: the
    # names match the LSC file, the signatures do not chain.
    impostor = make_pki(tmp_path / "impostor")
    forger = issue_certificate(impostor, tmp_path, "voms.example.org", server=True)
    proxy, _ = make_voms_proxy(pki, tmp_path, user="Ivan Impostor", host=forger)
    with pytest.raises(AcRefusedError, match="does not chain to a certificate authority"):
        voms_attributes(
            chain_of(pki, proxy), [], NOW, lsc=lsc_of(*SERVER_DNS), anchors=load(pki.ca)
        )


def _der_sequence(content: bytes) -> bytes:
    size = len(content)
    if size < 0x80:
        return b"\x30" + bytes([size]) + content
    length = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return b"\x30" + bytes([0x80 | len(length)]) + length + content


class _AcList(univ.SequenceOf):
    componentType = rfc5755.AttributeCertificate()  # noqa: N815 - pyasn1's name


class _AcExtension(univ.SequenceOf):
    componentType = _AcList()  # noqa: N815 - pyasn1's name


def carrying(value: bytes, certificates: list[bytes], key: rsa.RSAPrivateKey) -> bytes:
    """The VOMS extension `value` with its AC carrying `certificates` (DER) instead, signed
    anew with `key`: what the holder of a VOMS server certificate's key can make."""
    lists, _ = decoder.decode(value, asn1Spec=_AcExtension())
    ac = lists[0][0]
    info = ac["acinfo"]
    carried = b"".join(certificates)
    for extension in info["extensions"]:
        if str(extension["extnID"]) == AC_CERTIFICATES:
            extension["extnValue"] = univ.OctetString(_der_sequence(_der_sequence(carried)))
    signature = key.sign(encoder.encode(info), padding.PKCS1v15(), hashes.SHA256())
    ac["signatureValue"] = univ.BitString.fromOctetString(signature)
    return encoder.encode(lists)


def der(*certificates: x509.Certificate) -> list[bytes]:
    return [c.public_bytes(serialization.Encoding.DER) for c in certificates]


def resigned_by(
    pki: Pki, tmp_path: Path, user: str, server: tuple[Path, Path], anchors: list[x509.Certificate]
) -> Callable[[list[bytes]], VerifiedChain]:
    """A function giving the chain of a proxy of `user` whose AC, made by voms-proxy-fake
    and signed by `server` (certificate, key), carries the certificates it is given (DER),
    re-signed with `server`'s key: what the holder of that key can make."""
    proxy, _ = make_voms_proxy(pki, tmp_path, user=user, host=server)
    certificates = load(proxy)
    holder = certificates[1]
    key = load_key(tmp_path / f"{user.replace(' ', '-').lower()}.key")
    value = certificates[0].extensions.get_extension_for_oid(VOMS_AC_EXTENSION).value.value
    server_key = load_key(server[1])
    assert isinstance(server_key, rsa.RSAPrivateKey)

    def chain_carrying(carried: list[bytes]) -> VerifiedChain:
        altered = carrying(value, carried, server_key)
        extension = x509.Extension(
            VOMS_AC_EXTENSION, False, x509.UnrecognizedExtension(VOMS_AC_EXTENSION, altered)
        )
        mutant, _ = make_proxy(holder, key, extensions=[extension])
        return verify_chain([mutant, holder], anchors, NOW)

    return chain_carrying


def test_lsc_names_are_those_of_the_path_built_not_of_the_certificates_carried(
    pki: Pki, tmp_path: Path
) -> None:
    # Another CA trusted here issues a certificate of the VOMS server's name; the AC
    # carries it next to the real CA's certificate, whose name the LSC file lists. The
    # carried names match the LSC file; the path that verifies (through the other CA)
    # does not.
    other = make_pki(tmp_path / "other", ca_name="other trusted CA")
    forged = issue_certificate(other, tmp_path, "voms.example.org", server=True)
    anchors = [*load(pki.ca), *load(other.ca)]
    chain_carrying = resigned_by(pki, tmp_path, "Carl Carried", forged, anchors)

    # The re-signed AC itself is good: trusted by its own path's names, it is taken.
    other_lsc = lsc_of(SERVER_DNS[0], "/O=pyocci tests/CN=other trusted CA")
    own = voms_attributes(
        chain_carrying(der(*load(forged[0]))), [], NOW, lsc=other_lsc, anchors=anchors
    )
    assert own is not None and own.fqans == (FQAN,)
    with pytest.raises(AcRefusedError, match="is not the one the LSC file"):
        voms_attributes(
            chain_carrying(der(*load(forged[0]), *load(pki.ca))),
            [],
            NOW,
            lsc=lsc_of(*SERVER_DNS),
            anchors=anchors,
        )


@pytest.mark.parametrize("kind", sorted(MALFORMED_KINDS))
def test_a_malformed_certificate_carried_in_the_ac_is_refused(
    pki: Pki, vomsdir: Path, tmp_path: Path, kind: str
) -> None:
    server = (vomsdir / "voms.example.org.pem", vomsdir / "voms.example.org.key")
    chain_carrying = resigned_by(pki, tmp_path, "Mo Malformed", server, load(pki.ca))
    # Next to the server's certificate and its CA's: one that cannot be loaded refuses the
    # AC; one whose extensions cannot be read is not on the path, and not read.
    chain = chain_carrying([*der(*load(server[0])), MALFORMED_KINDS[kind](), *der(*load(pki.ca))])
    lsc = lsc_of(*SERVER_DNS)
    if kind == "InvalidVersion":
        with pytest.raises(AcRefusedError, match="the VOMS AC carries a malformed certificate"):
            voms_attributes(chain, [], NOW, lsc=lsc, anchors=load(pki.ca))
    else:
        found = voms_attributes(chain, [], NOW, lsc=lsc, anchors=load(pki.ca))
        assert found is not None and found.fqans == (FQAN,)


def test_an_altered_ac_is_refused_whatever_byte_changed(pki: Pki, vomsdir: Path) -> None:
    # The AC of a real proxy with one byte changed, in a proxy its holder signs: every
    # change is refused as malformed or forged (or, in unsigned parts, changes nothing
    # that matters), never an error of another kind.
    proxy, _ = make_voms_proxy(pki, vomsdir, user="Mia Mutant")
    certificates = load(proxy)
    holder, holder_key = certificates[1], load_key(vomsdir / "mia-mutant.key")
    ac = certificates[0].extensions.get_extension_for_oid(VOMS_AC_EXTENSION)
    original = ac.value.value
    refused = 0
    for position in range(0, len(original), 7):
        altered = bytearray(original)
        altered[position] ^= 0x55
        extension = x509.Extension(
            VOMS_AC_EXTENSION,
            False,
            x509.UnrecognizedExtension(VOMS_AC_EXTENSION, bytes(altered)),
        )
        mutant, _ = make_proxy(holder, holder_key, extensions=[extension])
        chain = verify_chain([mutant, holder], load(pki.ca), NOW)
        try:
            found = voms_attributes(chain, voms_certificates(vomsdir), NOW)
        except AcRefusedError:
            refused += 1
        else:
            assert found is None or found.fqans == (FQAN,)
    # The signed part is most of the AC: most changes are refused.
    assert refused > len(original) // 7 // 2


SHA256_WITH_RSA = bytes.fromhex("06092a864886f70d01010b")
SHA1_WITH_RSA = bytes.fromhex("06092a864886f70d010105")


def with_ac(pki: Pki, vomsdir: Path, user: str, alter: Callable[[bytes], bytes]) -> VerifiedChain:
    """The chain of a proxy of `user` whose AC extension `alter` changed, signed anew by
    `user` (so that only the AC is wrong)."""
    proxy, _ = make_voms_proxy(pki, vomsdir, user=user)
    certificates = load(proxy)
    holder = certificates[1]
    key = load_key(vomsdir / f"{user.replace(' ', '-').lower()}.key")
    value = certificates[0].extensions.get_extension_for_oid(VOMS_AC_EXTENSION).value.value
    extension = x509.Extension(
        VOMS_AC_EXTENSION, False, x509.UnrecognizedExtension(VOMS_AC_EXTENSION, alter(value))
    )
    altered, _ = make_proxy(holder, key, extensions=[extension])
    return verify_chain([altered, holder], load(pki.ca), NOW)


def test_an_ac_naming_two_signature_algorithms_is_refused(pki: Pki, vomsdir: Path) -> None:
    def outer_sha1(value: bytes) -> bytes:
        # The last algorithm identifier of the extension is the AC's own, after acinfo.
        at = value.rindex(SHA256_WITH_RSA)
        return value[:at] + SHA1_WITH_RSA + value[at + len(SHA1_WITH_RSA) :]

    chain = with_ac(pki, vomsdir, "Al Gorithm", outer_sha1)
    with pytest.raises(AcRefusedError, match="names two different signature algorithms"):
        voms_attributes(chain, voms_certificates(vomsdir), NOW)


def test_an_ac_signed_with_sha1_is_refused(pki: Pki, vomsdir: Path) -> None:
    def both_sha1(value: bytes) -> bytes:
        first, last = value.index(SHA256_WITH_RSA), value.rindex(SHA256_WITH_RSA)
        for at in (first, last):
            value = value[:at] + SHA1_WITH_RSA + value[at + len(SHA1_WITH_RSA) :]
        return value

    chain = with_ac(pki, vomsdir, "Sha One", both_sha1)
    with pytest.raises(AcRefusedError, match=r"algorithm 1\.2\.840\.113549\.1\.1\.5"):
        voms_attributes(chain, voms_certificates(vomsdir), NOW)


def test_an_ac_of_a_voms_server_whose_certificate_expired_is_refused(
    pki: Pki, vomsdir: Path
) -> None:
    proxy, _ = make_voms_proxy(pki, vomsdir, user="Pat Past")
    server = voms_certificates(vomsdir)[0]
    later = server.certificate.not_valid_after_utc + datetime.timedelta(minutes=1)
    with pytest.raises(AcRefusedError, match="that signed the AC is not valid now"):
        voms_attributes(chain_of(pki, proxy), [server], later)


# --- FQANs and VOMS servers bound to the AC's VO ----------------------------------------------

OTHER_VO = "vo.other.org"


@pytest.mark.parametrize(
    "fqan",
    [
        f"/{OTHER_VO}/Role=admin/Capability=NULL",
        # A VO whose name starts like the AC's is another VO.
        f"/{VO}.evil/Role=NULL/Capability=NULL",
        "/Role=NULL/Capability=NULL",
    ],
)
def test_an_fqan_of_another_vo_refuses_the_ac(pki: Pki, vomsdir: Path, fqan: str) -> None:
    # The VOMS server of vo.example.org vouches only for vo.example.org's groups and roles.
    proxy, _ = make_voms_proxy(pki, vomsdir, user="Rob Roles", fqans=(FQAN, fqan))
    reason = refusal(pki, vomsdir, proxy)
    assert f"grants {fqan!r}, which is not of the AC's VO {VO!r}" in reason


def test_the_vo_itself_is_an_fqan_of_the_vo(pki: Pki, vomsdir: Path) -> None:
    proxy, _ = make_voms_proxy(pki, vomsdir, user="Vic Vo", fqans=(f"/{VO}",))
    found = attributes(pki, vomsdir, proxy)
    assert found is not None and found.fqans == (f"/{VO}",)


def test_a_voms_server_trusted_for_one_vo_cannot_sign_for_another(pki: Pki, vomsdir: Path) -> None:
    fqan = f"/{OTHER_VO}/Role=admin/Capability=NULL"
    proxy, _ = make_voms_proxy(pki, vomsdir, user="Otto Other", vo=OTHER_VO, fqans=(fqan,))
    chain = chain_of(pki, proxy)
    with pytest.raises(AcRefusedError) as refused:
        voms_attributes(chain, voms_certificates(vomsdir), NOW)
    assert f"the AC of VO {OTHER_VO!r}" in refused.value.reason
    assert f"trusted here for the ACs of {VO} only" in refused.value.reason
    # The same server, trusted for that VO (in its folder too), signs for it.
    both = voms_certificates(vomsdir) + voms_certificates(vomsdir, OTHER_VO)
    found = voms_attributes(chain, both, NOW)
    assert found is not None and found.vos == (OTHER_VO,) and found.fqans == (fqan,)


def test_an_lsc_file_of_another_vo_is_no_trust(pki: Pki, vomsdir: Path) -> None:
    proxy, _ = make_voms_proxy(
        pki, vomsdir, user="Lou Lsc", vo=OTHER_VO, fqans=(f"/{OTHER_VO}/Role=NULL",)
    )
    with pytest.raises(AcRefusedError, match="not a VOMS server this server trusts"):
        voms_attributes(
            chain_of(pki, proxy), [], NOW, lsc=lsc_of(*SERVER_DNS), anchors=load(pki.ca)
        )


def test_an_fqan_longer_than_the_limit_refuses_the_ac(pki: Pki, vomsdir: Path) -> None:
    long = f"/{VO}/" + "g" * MAX_FQAN_LENGTH
    proxy, _ = make_voms_proxy(pki, vomsdir, user="Len Long", fqans=(FQAN, long))
    reason = refusal(pki, vomsdir, proxy)
    assert f"an FQAN of {len(long)} characters; at most {MAX_FQAN_LENGTH}" in reason


def test_an_fqan_of_the_longest_length_is_taken(pki: Pki, vomsdir: Path) -> None:
    longest = f"/{VO}/" + "g" * (MAX_FQAN_LENGTH - len(VO) - 2)
    proxy, _ = make_voms_proxy(pki, vomsdir, user="Lea Longest", fqans=(longest,))
    found = attributes(pki, vomsdir, proxy)
    assert found is not None and found.fqans == (longest,)
