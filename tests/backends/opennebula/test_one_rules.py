"""OCCI security group rules as OpenNebula RULE vectors and back, without oned: what a
client writes reads back as it was normalised, and what OpenNebula cannot keep is a 400
saying what to send."""

from __future__ import annotations

import pytest

from pyocci.backends.errors import InvalidRequestError
from pyocci.backends.opennebula.rules import occi_rules, one_rules
from pyocci.backends.securityrules import normalise_rules


def as_oned_keeps(vectors: list[dict]) -> list[dict[str, str]]:
    """Vectors as oned answers them: every value text."""
    return [{key: str(value) for key, value in vector.items()} for vector in vectors]


def round_trip(rules: list[dict]) -> tuple[list[dict], list[dict]]:
    normalised = normalise_rules(rules)
    shown, unshown = occi_rules(as_oned_keeps(one_rules(normalised)))
    assert unshown == []
    return normalised, shown


def as_set(rules: list[dict]) -> set[tuple]:
    return {tuple(sorted(rule.items())) for rule in rules}


@pytest.mark.parametrize(
    "rules",
    [
        [{"type": "inbound", "protocol": "tcp", "port": "22", "range": "0.0.0.0/0"}],
        [{"type": "inbound", "protocol": "udp", "port": "8000-8080", "range": "10.1.2.0/23"}],
        [{"type": "outbound", "protocol": "any", "range": "192.168.7.9/32"}],
        [{"type": "inbound", "protocol": "tcp", "range": "2001:db8::/120"}],
        [{"type": "inbound", "protocol": "icmp", "range": "0.0.0.0/0"}],
        [{"type": "inbound", "protocol": "icmp", "range": "::/0", "ipversion": "IPv6"}],
        [{"type": "inbound", "protocol": "icmp", "range": "2001:db8::1/128"}],
        [
            {"type": "outbound", "protocol": "any", "range": "0.0.0.0/0"},
            {"type": "outbound", "protocol": "any", "range": "::/0"},
        ],
        [
            {"type": "inbound", "protocol": "tcp", "port": "443", "range": "::/0"},
            {"type": "inbound", "protocol": "tcp", "port": "443", "range": "0.0.0.0/0"},
            {"type": "inbound", "protocol": "tcp", "port": "80", "range": "0.0.0.0/0"},
        ],
        [],
    ],
)
def test_what_is_written_reads_back_as_normalised(rules: list[dict]) -> None:
    normalised, shown = round_trip(rules)
    assert as_set(shown) == as_set(normalised)
    assert len(shown) == len(normalised)


def test_a_range_is_its_first_address_and_size() -> None:
    [vector] = one_rules(
        normalise_rules(
            [{"type": "inbound", "protocol": "udp", "port": "53-54", "range": "10.1.3.7/23"}]
        )
    )
    assert vector == {
        "RULE_TYPE": "INBOUND",
        "PROTOCOL": "UDP",
        "RANGE": "53:54",
        "IP": "10.1.2.0",
        "SIZE": 512,
    }


def test_both_versions_everywhere_is_one_rule_without_an_address() -> None:
    rules = [
        {"type": "inbound", "protocol": "any", "range": "::/0"},
        {"type": "inbound", "protocol": "any", "range": "0.0.0.0/0"},
    ]
    assert one_rules(normalise_rules(rules)) == [{"RULE_TYPE": "INBOUND", "PROTOCOL": "ALL"}]


def test_ipv4_everywhere_alone_is_two_halves_read_back_as_one() -> None:
    rules = [{"type": "inbound", "protocol": "tcp", "port": "22", "range": "0.0.0.0/0"}]
    vectors = one_rules(normalise_rules(rules))
    assert [(v["IP"], v["SIZE"]) for v in vectors] == [("0.0.0.0", 2**31), ("128.0.0.0", 2**31)]
    assert occi_rules(as_oned_keeps(vectors))[0] == normalise_rules(rules)


def test_icmp_everywhere_is_the_protocol_of_its_ip_version() -> None:
    rules = [
        {"type": "inbound", "protocol": "icmp", "range": "0.0.0.0/0"},
        {"type": "inbound", "protocol": "icmp", "range": "::/0"},
    ]
    assert one_rules(normalise_rules(rules)) == [
        {"RULE_TYPE": "INBOUND", "PROTOCOL": "ICMP"},
        {"RULE_TYPE": "INBOUND", "PROTOCOL": "ICMPV6"},
    ]


def test_what_opennebula_cannot_keep_is_refused_saying_what_to_send() -> None:
    rules = [
        {"type": "inbound", "protocol": "tcp", "range": "::/0"},
        {"type": "inbound", "protocol": "tcp", "range": "2001:db8::/64"},
        {"type": "inbound", "protocol": "tcp", "range": "10.0.0.0/8"},
    ]
    with pytest.raises(InvalidRequestError) as refused:
        one_rules(normalise_rules(rules))
    message = str(refused.value)
    assert "rule 1: ::/0 alone" in message and "0.0.0.0/0" in message
    assert "rule 2: 2001:db8::/64 is wider than /97" in message
    assert "rule 3" not in message


def test_rules_made_with_opennebulas_tools_show_as_what_they_filter() -> None:
    vectors = [
        # Not aligned, and two port ranges: cut into CIDRs as the drivers cut it.
        {
            "RULE_TYPE": "INBOUND",
            "PROTOCOL": "TCP",
            "IP": "10.0.0.6",
            "SIZE": "4",
            "RANGE": "22,80:81",
        },
        # Every address of both versions.
        {"RULE_TYPE": "outbound", "PROTOCOL": "all"},
    ]
    shown, unshown = occi_rules(vectors)
    assert unshown == []
    tcp = [(r["range"], r["port"]) for r in shown if r["protocol"] == "tcp"]
    assert tcp == [
        ("10.0.0.6/31", "22"),
        ("10.0.0.6/31", "80-81"),
        ("10.0.0.8/31", "22"),
        ("10.0.0.8/31", "80-81"),
    ]
    assert [(r["type"], r["range"]) for r in shown if r["protocol"] == "any"] == [
        ("outbound", "0.0.0.0/0"),
        ("outbound", "::/0"),
    ]
    assert normalise_rules(shown) == shown


@pytest.mark.parametrize(
    "vector",
    [
        {"RULE_TYPE": "INBOUND", "PROTOCOL": "IPSEC"},
        {"RULE_TYPE": "INBOUND", "PROTOCOL": "ICMP", "ICMP_TYPE": "8"},
        {"RULE_TYPE": "INBOUND", "PROTOCOL": "TCP", "NETWORK_ID": "3"},
        {"RULE_TYPE": "INBOUND", "PROTOCOL": "TCP", "RANGE": "0"},
        {"RULE_TYPE": "INBOUND", "PROTOCOL": "ICMP", "IP": "2001:db8::", "SIZE": "1"},
        {"RULE_TYPE": "INBOUND", "PROTOCOL": "TCP", "IP": "10.0.0.1", "SIZE": "0"},
        {"RULE_TYPE": "SIDEWAYS", "PROTOCOL": "TCP"},
    ],
)
def test_rules_without_an_occi_form_are_not_shown_but_kept(vector: dict) -> None:
    assert occi_rules([vector]) == ([], [vector])


def test_a_port_range_from_zero_shows_from_one() -> None:
    shown, _ = occi_rules([{"RULE_TYPE": "INBOUND", "PROTOCOL": "UDP", "RANGE": "0:1024"}])
    assert {rule["port"] for rule in shown} == {"1-1024"}


def test_a_range_past_the_end_of_the_address_space_stops_there() -> None:
    shown, _ = occi_rules(
        [{"RULE_TYPE": "INBOUND", "PROTOCOL": "ICMP", "IP": "255.255.255.254", "SIZE": "10"}]
    )
    assert [rule["range"] for rule in shown] == ["255.255.255.254/31"]
