"""The claim-mapping rules of method oidc, and the issuers file that holds them."""

from __future__ import annotations

from pathlib import Path

import pytest

from pyocci.server.auth.oidc_issuers import parse_issuers, read_issuers_file
from pyocci.server.auth.oidc_mapping import (
    MAX_TENANTS,
    TenantRule,
    claim_values,
    map_tenant,
    map_tenants,
)
from pyocci.server.config import ConfigError

EGI = TenantRule.parse(
    "eduperson_entitlement",
    r"^urn:mace:egi\.eu:group:(?P<vo>[^:#]+):role=member#aai\.egi\.eu$",
    "{vo}",
)
USER = TenantRule.parse("sub", ".+", "user-{0}")


def entitlement(vo: str, role: str = "member") -> str:
    return f"urn:mace:egi.eu:group:{vo}:role={role}#aai.egi.eu"


def test_an_entitlement_maps_to_its_vo() -> None:
    claims = {
        "eduperson_entitlement": [
            entitlement("vo.example.org", "vm_operator"),
            entitlement("vo.example.org"),
        ]
    }
    assert map_tenant(claims, [EGI]) == "vo.example.org"


def test_the_first_rule_that_matches_decides() -> None:
    claims = {"sub": "abc@egi.eu", "eduperson_entitlement": [entitlement("vo.a.org")]}
    assert map_tenant(claims, [EGI, USER]) == "vo.a.org"
    assert map_tenant(claims, [USER, EGI]) == "user-abc@egi.eu"
    assert map_tenant({"sub": "abc"}, [EGI, USER]) == "user-abc"


def test_no_matching_value_is_no_tenant() -> None:
    claims = {"eduperson_entitlement": [entitlement("vo.a.org", "observer")]}
    assert map_tenant(claims, [EGI]) is None
    assert map_tenant({}, [EGI, USER]) is None


def test_every_tenant_of_a_token_each_once_the_first_the_one_a_request_gets() -> None:
    claims = {
        "sub": "abc",
        "eduperson_entitlement": [
            entitlement("vo.b.org"),
            entitlement("vo.a.org", "observer"),
            entitlement("vo.a.org"),
            entitlement("vo.b.org"),
        ],
    }
    assert map_tenants(claims, [EGI, USER]) == ("vo.b.org", "vo.a.org", "user-abc")
    assert map_tenants(claims, [EGI, USER])[0] == map_tenant(claims, [EGI, USER])
    assert map_tenants({"eduperson_entitlement": []}, [EGI]) == ()


def test_a_token_maps_to_a_bounded_number_of_tenants() -> None:
    claims = {"eduperson_entitlement": [entitlement(f"vo{n}.org") for n in range(500)]}
    tenants = map_tenants(claims, [EGI])
    assert len(tenants) == MAX_TENANTS
    assert tenants[:2] == ("vo0.org", "vo1.org")


def test_the_expression_must_match_the_whole_value() -> None:
    rule = TenantRule.parse("groups", "occi-[a-z]+")
    assert map_tenant({"groups": ["occi-physics"]}, [rule]) == "occi-physics"
    assert map_tenant({"groups": ["occi-physics/admins"]}, [rule]) is None


def test_without_a_template_the_first_group_is_the_tenant() -> None:
    rule = TenantRule.parse("groups", "occi-([a-z]+)")
    assert map_tenant({"groups": "occi-chemistry"}, [rule]) == "chemistry"


def test_dotted_claims_reach_into_objects_and_ignore_non_strings() -> None:
    claims = {"realm_access": {"roles": ["a", 3, None, "b"]}, "n": 5}
    assert claim_values(claims, "realm_access.roles") == ["a", "b"]
    assert claim_values(claims, "n") == []
    assert claim_values(claims, "realm_access.roles.x") == []


@pytest.mark.parametrize(
    ("claim", "match", "tenant", "message"),
    [
        ("groups", "(", None, "match: not a regular expression"),
        ("groups", "(?P<vo>.+)", "{group}", "{group} is no group of the expression"),
        (" ", ".+", None, "claim: the name of a claim is needed"),
    ],
)
def test_bad_rules_say_what_is_wrong(
    claim: str, match: str, tenant: str | None, message: str
) -> None:
    with pytest.raises(ValueError, match=message.replace("{", r"\{").replace("(", r"\(")):
        TenantRule.parse(claim, match, tenant)


def test_an_issuers_file_is_read(tmp_path: Path) -> None:
    path = tmp_path / "issuers.toml"
    path.write_text(
        '[[issuers]]\nissuer = "https://aai.example.org"\naudience = "occi"\n'
        'client_id = "occi"\nclient_secret = "s"\n'
        '[[issuers.tenants]]\nclaim = "groups"\nmatch = "occi-(.+)"\n'
        '[[issuers]]\nissuer = "https://other.example.org"\naudience = ["a", "b"]\n'
        '[[issuers.tenants]]\nclaim = "sub"\nmatch = ".+"\ntenant = "u-{0}"\n'
    )
    egi, other = read_issuers_file(path)
    assert egi.introspects and egi.audiences == ("occi",)
    assert not other.introspects and other.audiences == ("a", "b")
    assert map_tenant({"sub": "x"}, other.rules) == "u-x"


GOOD = {
    "issuer": "https://aai.example.org",
    "audience": "occi",
    "tenants": [{"claim": "sub", "match": ".+"}],
}


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({}, "no [[issuers]] table"),
        ({"issuer": []}, "unknown key 'issuer'"),
        ({"issuers": [{**GOOD, "issuer": "aai.example.org"}]}, "issuer: expected an http(s) URL"),
        ({"issuers": [{**GOOD, "audience": []}]}, "audience: expected the audience"),
        ({"issuers": [{**GOOD, "client_id": "occi"}]}, "client_id and client_secret go together"),
        ({"issuers": [{**GOOD, "tenants": []}]}, "no [[issuers.tenants]] rule"),
        ({"issuers": [{**GOOD, "tenants": [{"claim": "sub"}]}]}, "a rule needs claim and match"),
        ({"issuers": [{**GOOD, "tenants": [{"claim": "x", "match": "("}]}]}, "tenants[0]: match"),
        ({"issuers": [GOOD, GOOD]}, "is listed twice"),
        ({"issuers": [{**GOOD, "audiance": "x"}]}, "unknown key 'audiance'"),
    ],
)
def test_a_wrong_issuers_file_names_the_key(document: dict, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_issuers(document, where="issuers.toml")
    assert message in caught.value.message
    assert caught.value.message.startswith("issuers.toml")


def test_a_missing_issuers_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        read_issuers_file(tmp_path / "none.toml")
