"""Method voms: certificates and VOMS proxies from a trusted front, mapped to tenants."""

from __future__ import annotations

import contextvars
import re
import time
from collections.abc import Mapping
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from malformed_certificates import MALFORMED_KINDS, malformed_pem
from pki import Pki, issue_certificate
from proxies import load
from pyocci.backends.api import Tenant
from pyocci.server.auth import (
    AccessDeniedError,
    AuthenticationError,
    FailureThrottle,
    FrontCertificates,
    Identity,
    TenantRule,
    TooManyAttemptsError,
    VomsAuth,
    current_peer,
    parse_addresses,
)
from pyocci.server.auth.voms_ac import VomsServerCertificate
from pyocci.server.auth.voms_trust import VomsTrust
from voms import FQAN, VO, make_voms_proxy, voms_server

FRONT = "127.0.0.1"
CLIENT = ("192.0.2.7", 40000)
pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def voms_proxy(pki: Pki, vomsdir: Path) -> Path:
    proxy, _ = make_voms_proxy(
        pki, vomsdir, fqans=(FQAN, f"/{VO}/ops/Role=manager/Capability=NULL")
    )
    return proxy


RULES = (
    TenantRule.parse("fqan", r"^/(?P<vo>[^/]+)/ops/Role=manager/Capability=NULL$", "{vo}-ops"),
    TenantRule.parse("fqan", r"^/(?P<vo>vo\.example\.org)/Role=NULL/Capability=NULL$", "{vo}"),
    TenantRule.parse("subject", r"^CN=Alice Example,O=pyocci tests$", "alice"),
)


def auth(pki: Pki, vomsdir: Path, throttle: FailureThrottle | None = None) -> VomsAuth:
    trust = VomsTrust(
        ca_certificates=tuple(load(pki.ca)),
        voms_certificates=tuple(
            VomsServerCertificate(VO, c) for c in load(vomsdir / "voms.example.org.pem")
        ),
        rules=RULES,
    )
    return VomsAuth(trust, FrontCertificates(parse_addresses(FRONT)), throttle=throttle)


def headers_of(proxy_file: Path, *, apache: bool = True) -> dict[str, str]:
    """The headers Apache sets: PEM with its line breaks as spaces, unset chain entries
    as ``(null)``."""
    certificates = load(proxy_file)

    def pem(index: int) -> str:
        text = certificates[index].public_bytes(serialization.Encoding.PEM).decode()
        return text.replace("\n", " ") if apache else text

    headers = {"x-ssl-client-cert": pem(0)}
    for index in range(4):
        value = pem(index + 1) if index + 1 < len(certificates) else "(null)"
        headers[f"x-ssl-client-cert-chain-{index}"] = value
    return headers


async def identify(
    method: VomsAuth, headers: Mapping[str, str], peer: str | None = FRONT
) -> Identity:
    """`method.identify` as the app calls it: the connection's peer in `current_peer`."""

    async def call() -> Identity:
        current_peer.set(peer)
        return await method.identify(headers, CLIENT)

    return await contextvars.copy_context().run(call)


async def test_a_voms_proxy_acts_for_the_tenants_of_its_fqans(
    pki: Pki, vomsdir: Path, voms_proxy: Path
) -> None:
    identity = await identify(auth(pki, vomsdir), headers_of(voms_proxy))
    assert identity.user == "CN=Vera Voms,O=pyocci tests"
    # Rules in order: the ops role's rule comes first.
    assert identity.tenants == (f"{VO}-ops", VO)
    assert identity.expires_at is not None


async def test_authenticate_gives_the_first_tenant(
    pki: Pki, vomsdir: Path, voms_proxy: Path
) -> None:
    method = auth(pki, vomsdir)

    async def call() -> Tenant:
        current_peer.set(FRONT)
        return await method.authenticate(headers_of(voms_proxy, apache=False), CLIENT)

    assert (await contextvars.copy_context().run(call)).id == f"{VO}-ops"


async def test_a_plain_certificate_maps_by_its_subject(pki: Pki, vomsdir: Path) -> None:
    identity = await identify(auth(pki, vomsdir), headers_of(pki.user_certificate))
    assert identity.tenants == ("alice",)


async def test_a_proxy_without_ac_maps_by_its_holder(pki: Pki, vomsdir: Path) -> None:
    identity = await identify(auth(pki, vomsdir), headers_of(pki.proxy))
    assert identity.user == pki.user_subject
    assert identity.tenants == ("alice",)


async def test_no_matching_rule_is_403_naming_the_fqans(
    pki: Pki, vomsdir: Path, tmp_path: Path
) -> None:
    unmapped = f"/{VO}/guests/Role=NULL/Capability=NULL"
    proxy, _ = make_voms_proxy(
        pki, tmp_path, user="Olga Other", fqans=(unmapped,), host=voms_server(pki, vomsdir)
    )
    with pytest.raises(AccessDeniedError) as denied:
        await identify(auth(pki, vomsdir), headers_of(proxy))
    assert unmapped in denied.value.message
    assert "Olga Other" in denied.value.message


async def test_a_role_in_another_vo_is_401_not_a_tenant(
    pki: Pki, vomsdir: Path, tmp_path: Path
) -> None:
    # The VOMS server of vo.example.org granting a role of vo.other.org: refused, though a
    # rule would map it.
    method = auth(pki, vomsdir)
    method.trust = VomsTrust(
        ca_certificates=method.trust.ca_certificates,
        voms_certificates=method.trust.voms_certificates,
        rules=(TenantRule.parse("fqan", r"^/(?P<vo>[^/]+)/Role=admin/", "{vo}-admin"),),
    )
    stolen = "/vo.other.org/Role=admin/Capability=NULL"
    proxy, _ = make_voms_proxy(
        pki, tmp_path, user="Mal Roles", fqans=(stolen,), host=voms_server(pki, vomsdir)
    )
    with pytest.raises(AuthenticationError) as refused:
        await identify(method, headers_of(proxy))
    assert f"grants {stolen!r}, which is not of the AC's VO {VO!r}" in refused.value.message


async def test_a_certificate_without_ac_or_rule_is_403_saying_no_fqans(
    pki: Pki, vomsdir: Path, tmp_path: Path
) -> None:
    # A certificate of the CA that no subject rule names, presented without a proxy.
    end_entity, _ = issue_certificate(pki, tmp_path, "Nora Nobody")
    with pytest.raises(AccessDeniedError) as denied:
        await identify(auth(pki, vomsdir), headers_of(end_entity))
    assert "FQANs (none (a certificate or proxy without a VOMS AC))" in denied.value.message
    assert "CN=Nora Nobody,O=pyocci tests" in denied.value.message


async def test_headers_from_a_peer_that_is_not_a_front_are_refused_and_counted(
    pki: Pki, vomsdir: Path, voms_proxy: Path
) -> None:
    throttle = FailureThrottle(max_failures_per_address=2, max_failures_per_user=0)
    method = auth(pki, vomsdir, throttle)
    for _ in range(2):
        with pytest.raises(AccessDeniedError, match="taken only from this server's TLS front"):
            await identify(method, headers_of(voms_proxy), peer="198.51.100.9")
    # The address is locked now, even for a good proxy through the front.
    with pytest.raises(TooManyAttemptsError):
        await identify(method, headers_of(voms_proxy))


async def test_a_locked_address_gets_429_even_for_a_remembered_chain(
    pki: Pki, vomsdir: Path, voms_proxy: Path
) -> None:
    throttle = FailureThrottle(max_failures_per_address=1, max_failures_per_user=0)
    method = auth(pki, vomsdir, throttle)
    # The good proxy's outcome is remembered ...
    await identify(method, headers_of(voms_proxy))
    # ... the address then fails with a chain that does not verify ...
    with pytest.raises(AuthenticationError, match="does not chain"):
        await identify(method, headers_of(pki.stranger_certificate))
    # ... and is locked: no answer about any chain, a remembered one included.
    with pytest.raises(TooManyAttemptsError):
        await identify(method, headers_of(voms_proxy))


async def test_headers_without_a_known_peer_are_401_and_no_failure(
    pki: Pki, vomsdir: Path, voms_proxy: Path
) -> None:
    # The app served by a server that keeps no peer: nothing tells a front from anyone.
    throttle = FailureThrottle(max_failures_per_address=1, max_failures_per_user=0)
    method = auth(pki, vomsdir, throttle)
    for _ in range(2):
        with pytest.raises(AuthenticationError, match="cannot tell the address they came from"):
            await identify(method, headers_of(voms_proxy), peer=None)
    # The server's configuration is not the client's failure: no lock.
    assert (await identify(method, headers_of(voms_proxy))).tenants[0] == f"{VO}-ops"


async def test_a_chain_that_does_not_verify_is_401(pki: Pki, vomsdir: Path) -> None:
    with pytest.raises(AuthenticationError) as refused:
        await identify(auth(pki, vomsdir), headers_of(pki.stranger_certificate))
    assert "does not chain" in refused.value.message
    assert refused.value.challenge == 'X509 realm="pyocci"'


async def test_a_header_that_holds_no_certificate_is_401(pki: Pki, vomsdir: Path) -> None:
    with pytest.raises(AuthenticationError, match="x-ssl-client-cert: not a PEM certificate"):
        await identify(auth(pki, vomsdir), {"x-ssl-client-cert": "hello"})


@pytest.mark.parametrize("kind", sorted(MALFORMED_KINDS))
@pytest.mark.parametrize("position", ["own", "chain"])
async def test_a_malformed_certificate_is_401_saying_so(
    pki: Pki, vomsdir: Path, voms_proxy: Path, kind: str, position: str
) -> None:
    # As the client's own certificate, or as the one that signed a good proxy.
    headers = headers_of(voms_proxy)
    name = "x-ssl-client-cert" if position == "own" else "x-ssl-client-cert-chain-0"
    headers[name] = malformed_pem(kind)
    with pytest.raises(AuthenticationError) as refused:
        await identify(auth(pki, vomsdir), headers)
    if position == "own" or kind == "InvalidVersion":
        # What cannot be read at all is named; a certificate that reads but is no
        # signer of the proxy is refused as that.
        assert re.search(r"malformed|not a valid certificate", refused.value.message)
    else:
        assert "came without the certificate that signed it" in refused.value.message


async def test_no_certificate_through_the_front_is_401_and_no_failure(
    pki: Pki, vomsdir: Path
) -> None:
    # Clients ask without credentials to read the challenge: that is no failed login,
    # from the front or from anywhere.
    throttle = FailureThrottle(max_failures_per_address=1, max_failures_per_user=0)
    method = auth(pki, vomsdir, throttle)
    for peer in (FRONT, "198.51.100.9", FRONT):
        with pytest.raises(AuthenticationError, match="no client certificate"):
            await identify(method, {"x-ssl-client-cert": "(null)"}, peer=peer)


async def test_no_certificate_header_is_401(pki: Pki, vomsdir: Path) -> None:
    with pytest.raises(AuthenticationError, match="present your certificate or VOMS proxy"):
        await identify(auth(pki, vomsdir), {})


class Clock:
    """A wall clock that a test moves."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def with_clock(pki: Pki, vomsdir: Path, clock: Clock, cache_seconds: float) -> VomsAuth:
    method = auth(pki, vomsdir)
    return VomsAuth(
        method.trust, method.front, cache_seconds=cache_seconds, cache_size=8, clock=clock
    )


async def test_a_chain_checked_once_is_remembered_for_cache_seconds(
    pki: Pki, vomsdir: Path, voms_proxy: Path
) -> None:
    clock = Clock()
    method = with_clock(pki, vomsdir, clock, cache_seconds=60)
    first = await identify(method, headers_of(voms_proxy))
    # The CA is no longer trusted; the outcome remembered still stands ...
    method.trust = VomsTrust(ca_certificates=(), voms_certificates=(), rules=RULES)
    clock.now += 59
    assert await identify(method, headers_of(voms_proxy)) == first
    # ... until cache_seconds have passed: then the chain is checked anew.
    clock.now += 2
    with pytest.raises(AuthenticationError, match="trusts no certificate authority"):
        await identify(method, headers_of(voms_proxy))


async def test_a_remembered_chain_never_outlives_its_proxy(
    pki: Pki, vomsdir: Path, voms_proxy: Path
) -> None:
    clock = Clock()
    method = with_clock(pki, vomsdir, clock, cache_seconds=10 * 24 * 3600)
    identity = await identify(method, headers_of(voms_proxy))
    assert identity.expires_at is not None
    clock.now = identity.expires_at + 1
    with pytest.raises(AuthenticationError, match="is not valid now"):
        await identify(method, headers_of(voms_proxy))


async def test_the_front_is_checked_even_for_a_remembered_chain(
    pki: Pki, vomsdir: Path, voms_proxy: Path
) -> None:
    method = with_clock(pki, vomsdir, Clock(), cache_seconds=60)
    await identify(method, headers_of(voms_proxy))
    with pytest.raises(AccessDeniedError, match="is not one"):
        await identify(method, headers_of(voms_proxy), peer="198.51.100.9")
