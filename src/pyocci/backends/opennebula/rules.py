"""Security group rules: OCCI's rule objects as OpenNebula ``RULE`` vectors, and back.

OCCI's rules (`pyocci.backends.securityrules`, normalised before they get
here) name one CIDR each; an OpenNebula rule names its addresses as a first
``IP`` and a ``SIZE`` (how many follow), or none at all for every address
of both IP versions. oned reads ``SIZE`` as a 32-bit unsigned number, so:

- an IPv4 CIDR of /1 or longer, and an IPv6 CIDR of /97 or longer, is one
  rule with its network address as ``IP`` and its size as ``SIZE``;
- IPv4 ``0.0.0.0/0`` and IPv6 ``::/0`` given together (same direction,
  protocol and ports) are one rule without ``IP``: every address;
- ``0.0.0.0/0`` alone is the two halves of the IPv4 space (``/1`` each),
  read back as one ``0.0.0.0/0`` rule;
- ICMP's everywhere is the ``ICMP`` rule (IPv4) or ``ICMPV6`` (IPv6) without
  ``IP``, which the drivers apply to that IP version only;
- an IPv6 range wider than /97 alone has no OpenNebula form: 400.

Ports are OpenNebula's ``RANGE`` (``22`` or ``8000:8080``). Read back, a
rule becomes one OCCI rule per port range and per CIDR its addresses cover
(OpenNebula's drivers cut ``IP`` and ``SIZE`` into CIDRs the same way), so
a rule written with OpenNebula's own tools shows as what it filters. Rules
OCCI cannot say (``IPSEC``, ICMP types, a ``NETWORK_ID`` target, port 0)
are not shown, and an update keeps them.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pyocci.backends.errors import InvalidRequestError

Rule = dict[str, str]
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

#: The most addresses one rule's SIZE can count (oned reads it as a 32-bit unsigned).
LARGEST_SIZE = 2**32 - 1
EVERYWHERE: dict[str, IpNetwork] = {
    "IPv4": ipaddress.IPv4Network("0.0.0.0/0"),
    "IPv6": ipaddress.IPv6Network("::/0"),
}
#: The two halves of the IPv4 space: ``0.0.0.0/0`` alone, as OpenNebula can keep it.
IPV4_HALVES = (ipaddress.IPv4Network("0.0.0.0/1"), ipaddress.IPv4Network("128.0.0.0/1"))
_OCCI_PROTOCOLS = {"TCP": "tcp", "UDP": "udp", "ALL": "any", "ICMP": "icmp", "ICMPV6": "icmp"}
#: The only IP version an ICMP rule (by oned's protocol name) filters.
_ICMP_VERSIONS = {"ICMP": 4, "ICMPV6": 6}
_KEEP_OUT = ("ICMP_TYPE", "ICMPV6_TYPE", "NETWORK_ID")


def _protocol(rule: Mapping[str, str]) -> str:
    if rule["protocol"] == "icmp":
        return "ICMP" if rule["ipversion"] == "IPv4" else "ICMPV6"
    return "ALL" if rule["protocol"] == "any" else rule["protocol"].upper()


def _ends(rule: Mapping[str, str]) -> tuple[str, str, str, str]:
    """What a rule is besides its addresses: direction, protocol, ports, IP version."""
    return rule["type"], rule["protocol"], rule.get("port", ""), rule["ipversion"]


def one_rules(rules: Sequence[Mapping[str, str]]) -> list[dict[str, Any]]:
    """OpenNebula RULE vectors for normalised OCCI rules; a 400 naming each rule
    OpenNebula cannot keep, and what to send instead."""
    everywhere = {
        _ends(rule) for rule in rules if ipaddress.ip_network(rule["range"]).prefixlen == 0
    }
    vectors: list[dict[str, Any]] = []
    problems: list[str] = []
    paired: set[tuple[str, str, str]] = set()
    for number, rule in enumerate(rules, start=1):
        network = ipaddress.ip_network(rule["range"])
        vector: dict[str, Any] = {"RULE_TYPE": rule["type"].upper(), "PROTOCOL": _protocol(rule)}
        if "port" in rule:
            vector["RANGE"] = rule["port"].replace("-", ":")
        if network.prefixlen == 0 and rule["protocol"] != "icmp":
            direction, protocol, port, version = _ends(rule)
            other = "IPv6" if version == "IPv4" else "IPv4"
            if (direction, protocol, port, other) in everywhere:
                # Both versions' everywhere: one rule without IP, written once.
                if (direction, protocol, port) not in paired:
                    paired.add((direction, protocol, port))
                    vectors.append(vector)
            elif version == "IPv4":
                vectors.extend(_addressed(vector, half) for half in IPV4_HALVES)
            else:
                problems.append(
                    f"rule {number}: ::/0 alone (every IPv6 address is kept only in a rule for "
                    "every address of both versions: add the same rule for 0.0.0.0/0, or send "
                    "IPv6 ranges of /97 or longer)"
                )
        elif network.prefixlen == 0:
            vectors.append(vector)  # ICMP's, or ICMPv6's, everywhere
        elif network.num_addresses > LARGEST_SIZE:
            problems.append(
                f"rule {number}: {network} is wider than /97 (a rule counts its addresses in "
                "32 bits: send IPv6 ranges of /97 or longer, or ::/0 with 0.0.0.0/0 for every "
                "address)"
            )
        else:
            vectors.append(_addressed(vector, network))
    if problems:
        raise InvalidRequestError(
            "OpenNebula cannot keep these security group rules: " + "; ".join(problems)
        )
    return vectors


def _addressed(vector: Mapping[str, Any], network: IpNetwork) -> dict[str, Any]:
    return {**vector, "IP": str(network.network_address), "SIZE": network.num_addresses}


def occi_rules(vectors: Iterable[Mapping[str, Any]]) -> tuple[list[Rule], list[dict[str, Any]]]:
    """The OCCI rules OpenNebula's RULE vectors say, in their order and each once; and
    the vectors that have no OCCI form (kept as they are by an update)."""
    shown: list[Rule] = []
    unshown: list[dict[str, Any]] = []
    for vector in vectors:
        rules = _occi(vector)
        if rules is None:
            unshown.append(dict(vector))
        else:
            shown.extend(rules)
    return _unique(_joined_halves(shown)), unshown


def _occi(vector: Mapping[str, Any]) -> list[Rule] | None:
    """The OCCI rules one RULE vector says; None when it has no OCCI form."""
    direction = str(vector.get("RULE_TYPE", "")).lower()
    protocol = str(vector.get("PROTOCOL", "")).upper()
    if direction not in ("inbound", "outbound") or protocol not in _OCCI_PROTOCOLS:
        return None
    if any(vector.get(name) not in (None, "") for name in _KEEP_OUT):
        return None
    ports = _ports(vector.get("RANGE"))
    networks = _networks(vector.get("IP"), vector.get("SIZE"), protocol)
    if ports is None or not networks:
        return None
    only = _ICMP_VERSIONS.get(protocol)
    if only is not None and any(network.version != only for network in networks):
        return None  # ICMP to IPv6 addresses (or ICMPv6 to IPv4 ones) filters nothing
    rules = []
    for network in networks:
        for port in ports:
            rule = {
                "type": direction,
                "protocol": _OCCI_PROTOCOLS[protocol],
                "range": str(network),
                "ipversion": f"IPv{network.version}",
            }
            if port is not None:
                rule["port"] = port
            rules.append(rule)
    return rules


def _ports(value: Any) -> list[str | None] | None:
    """OpenNebula's RANGE (``22``, ``8000:8080``, or a list of them) as OCCI ports; [None]
    for every port; None when it has no OCCI form."""
    if value in (None, ""):
        return [None]
    ports: list[str | None] = []
    for part in str(value).split(","):
        low, _, high = part.strip().partition(":")
        if not low.isdigit() or (high and not high.isdigit()):
            return None
        # Port 0 carries no traffic: a range from 0 filters what it does from 1.
        first, last = max(int(low), 1), int(high or low)
        if not 1 <= last <= 65535 or first > last:
            return None
        ports.append(str(first) if first == last else f"{first}-{last}")
    return ports


def _networks(ip: Any, size: Any, protocol: str) -> list[IpNetwork]:
    """The CIDRs a rule's IP and SIZE cover (none when they are malformed or empty); with
    no IP, everywhere for the IP versions the protocol has."""
    if ip in (None, ""):
        only = _ICMP_VERSIONS.get(protocol)
        return [EVERYWHERE[v] for v in ("IPv4", "IPv6") if only is None or f"IPv{only}" == v]
    try:
        first = ipaddress.ip_address(str(ip).strip())
        count = int(str(size).strip())
    except ValueError:
        return []
    if count <= 0:
        return []
    # Addresses past the end of the space are none (the drivers' cut stops there too).
    last = type(first)(min(int(first) + count - 1, 2**first.max_prefixlen - 1))
    return list(ipaddress.summarize_address_range(first, last))  # type: ignore[arg-type]


def _joined_halves(rules: list[Rule]) -> list[Rule]:
    """Rules for both halves of the IPv4 space (otherwise alike) as one 0.0.0.0/0 rule, at
    the first one's place: how ``0.0.0.0/0`` alone is kept."""
    halves = {str(half) for half in IPV4_HALVES}
    found: dict[tuple[str, ...], set[str]] = {}
    for rule in rules:
        if rule["range"] in halves:
            found.setdefault(_ends(rule), set()).add(rule["range"])
    whole = {ends for ends, seen in found.items() if seen == halves}
    if not whole:
        return rules
    joined: list[Rule] = []
    done: set[tuple[str, ...]] = set()
    for rule in rules:
        ends = _ends(rule)
        if ends in whole and rule["range"] in halves:
            if ends not in done:
                done.add(ends)
                joined.append({**rule, "range": str(EVERYWHERE["IPv4"])})
            continue
        joined.append(rule)
    return joined


def _unique(rules: list[Rule]) -> list[Rule]:
    seen: set[tuple[tuple[str, str], ...]] = set()
    kept = []
    for rule in rules:
        key = tuple(sorted(rule.items()))
        if key not in seen:
            seen.add(key)
            kept.append(rule)
    return kept
