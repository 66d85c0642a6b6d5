"""Security group rules as OCCI carries them (the OOI/rOCCI rule objects), checked and
normalised the same way for every backend.

A rule is ``{"type": "inbound"|"outbound", "protocol": "tcp"|"udp"|"icmp"|"any",
"port": "22" or "8000-8080", "range": "<CIDR>", "ipversion": "IPv4"|"IPv6"}``.
`port` is optional (and meaningless for icmp/any), `range` defaults to
everything of the rule's IP version, `ipversion` to the range's version.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from pyocci.backends.errors import InvalidRequestError
from pyocci.model.values import shown

RULE_TYPES = ("inbound", "outbound")
PROTOCOLS = ("tcp", "udp", "icmp", "any")
IP_VERSIONS = ("IPv4", "IPv6")
_KEYS = ("type", "protocol", "port", "range", "ipversion")


def normalise_rules(value: Any) -> list[dict[str, str]]:
    """The rules in canonical form; InvalidRequestError naming every problem found."""
    if not isinstance(value, list):
        raise InvalidRequestError(
            "occi.securitygroup.rules must be an array of rule objects "
            '(e.g. [{"type": "inbound", "protocol": "tcp", "port": "22", '
            '"range": "0.0.0.0/0", "ipversion": "IPv4"}])'
        )
    problems: list[str] = []
    rules: list[dict[str, str]] = []
    for index, rule in enumerate(value):
        rule_problems, normalised = _check_rule(rule)
        problems.extend(f"rule {index + 1}: {problem}" for problem in rule_problems)
        if normalised is not None:
            rules.append(normalised)
    if problems:
        raise InvalidRequestError("invalid security group rules: " + "; ".join(problems))
    return rules


def _check_rule(rule: Any) -> tuple[list[str], dict[str, str] | None]:
    if not isinstance(rule, dict):
        return [f"must be an object with {', '.join(_KEYS)}, got {shown(rule)}"], None
    problems: list[str] = []
    unknown = sorted(set(rule) - set(_KEYS))
    if unknown:
        problems.append(f"unknown keys {', '.join(unknown)} (allowed: {', '.join(_KEYS)})")
    kind = rule.get("type")
    if kind not in RULE_TYPES:
        problems.append(f"type must be inbound or outbound, got {shown(kind)}")
    protocol = rule.get("protocol")
    if isinstance(protocol, str):
        protocol = protocol.lower()
    if protocol not in PROTOCOLS:
        problems.append(f"protocol must be one of {', '.join(PROTOCOLS)}, got {shown(protocol)}")
    port = _port(rule.get("port"), protocol, problems)
    version = rule.get("ipversion")
    if version is not None and version not in IP_VERSIONS:
        problems.append(f"ipversion must be IPv4 or IPv6, got {shown(version)}")
        version = None
    network = None
    raw_range = rule.get("range")
    if raw_range is not None:
        try:
            network = ipaddress.ip_network(str(raw_range), strict=False)
        except ValueError:
            problems.append(f"range must be a CIDR such as 10.0.0.0/8, got {shown(raw_range)}")
    if network is not None and version is not None and f"IPv{network.version}" != version:
        problems.append(f"range {network} is not an {version} range")
    if problems:
        return problems, None
    version = version or (f"IPv{network.version}" if network is not None else "IPv4")
    if network is None:
        network = ipaddress.ip_network("0.0.0.0/0" if version == "IPv4" else "::/0")
    normalised = {"type": kind, "protocol": protocol, "range": str(network), "ipversion": version}
    if port is not None:
        normalised["port"] = port
    return [], normalised


def _port(value: Any, protocol: Any, problems: list[str]) -> str | None:
    if value is None or value == "":
        return None
    if protocol in ("icmp", "any"):
        problems.append(f"a {protocol} rule takes no port")
        return None
    text = str(value).strip()
    low, _, high = text.partition("-")
    try:
        first = int(low)
        last = int(high) if high else first
    except ValueError:
        problems.append(f"port must be a number or a range like 8000-8080, got {shown(value)}")
        return None
    if not (1 <= first <= 65535 and 1 <= last <= 65535):
        problems.append(f"ports are between 1 and 65535, got {shown(value)}")
        return None
    if first > last:
        problems.append(f"port range {shown(value)} ends before it starts")
        return None
    return str(first) if first == last else f"{first}-{last}"
