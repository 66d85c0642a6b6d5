"""From an OIDC token's claims to its tenant: the mapping rules of method ``oidc``.

A rule names a claim, a regular expression its value must match as a whole,
and the tenant a match maps to, a template that may use the expression's
named groups::

    claim = "eduperson_entitlement"
    match = '^urn:mace:egi\\.eu:group:(?P<vo>[^:#]+):role=member#aai\\.egi\\.eu$'
    tenant = "{vo}"

A claim may hold a string or a list of strings (``eduperson_entitlement``,
``groups``), and a name with dots reaches into objects (``realm_access.roles``).
The rules are tried in order and, within a rule, the claim's values in the
token's order: the first match decides. A token that matches no rule gets
no tenant, and the request is refused.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pyocci.server.auth.users import check_tenant_id
from pyocci.server.config import ConfigError

__all__ = ["MAX_TENANTS", "TenantRule", "claim_values", "map_tenant", "map_tenants", "parse_rules"]

#: The keys of a rule's table.
RULE_KEYS = ("claim", "match", "tenant")

#: The most tenants one token maps to (`map_tenants`): what a token of the Keystone-like
#: handshake can list; nobody is a member of more VOs than this.
MAX_TENANTS = 64

# The longest claim value a rule looks at: nobody's group names are this long, and a
# regular expression should not run over megabytes an issuer was made to sign.
_MAX_VALUE = 1024


@dataclass(frozen=True, slots=True)
class TenantRule:
    """One mapping rule: a claim, an expression its value must match, the tenant it maps to."""

    claim: str
    match: re.Pattern[str]
    #: A `str.format` template over the expression's named groups; ``{0}`` is the
    #: whole value.
    tenant: str

    @classmethod
    def parse(cls, claim: str, match: str, tenant: str | None = None) -> TenantRule:
        """A rule from its settings; ValueError naming what is wrong.

        Without `tenant`, the tenant is the first group of the expression, or the
        whole value when it has none.
        """
        if not claim.strip():
            raise ValueError("claim: the name of a claim is needed")
        try:
            pattern = re.compile(match)
        except re.error as error:
            raise ValueError(f"match: not a regular expression ({error})") from None
        if tenant is None:
            tenant = "{1}" if pattern.groups else "{0}"
        fields = {name for _, name, _, _ in string.Formatter().parse(tenant) if name is not None}
        known = {"0", *pattern.groupindex, *(str(n) for n in range(1, pattern.groups + 1))}
        unknown = sorted(fields - known)
        if unknown:
            raise ValueError(
                f"tenant: {{{unknown[0]}}} is no group of the expression {match!r}; "
                f"use a named group (?P<{unknown[0]}>...) or one of {sorted(known)}"
            )
        return cls(claim=claim.strip(), match=pattern, tenant=tenant)

    def apply(self, claims: Mapping[str, Any]) -> str | None:
        """The tenant this rule maps `claims` to, or None when no value matches."""
        return next(self.tenants(claims), None)

    def tenants(self, claims: Mapping[str, Any]) -> Iterator[str]:
        """Every tenant this rule maps `claims` to, in the order of the claim's values."""
        for value in claim_values(claims, self.claim):
            found = self.match.fullmatch(value)
            if found is None:
                continue
            groups = [found.group(0), *(group or "" for group in found.groups())]
            named = {name: group or "" for name, group in found.groupdict().items()}
            tenant = self.tenant.format(*groups, **named)
            if check_tenant_id(tenant) is None:
                yield tenant


def claim_values(claims: Mapping[str, Any], name: str) -> list[str]:
    """The string values of a claim: a string, or the strings of a list; a dotted
    name reaches into objects. Anything else (numbers, missing claims) is no value."""
    value: Any = claims
    for part in name.split("."):
        if not isinstance(value, Mapping):
            return []
        value = value.get(part)
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, Sequence):
        return []
    return [item for item in value if isinstance(item, str) and len(item) <= _MAX_VALUE]


def map_tenant(claims: Mapping[str, Any], rules: Sequence[TenantRule]) -> str | None:
    """The tenant of the first rule that maps `claims` to one; None when none does."""
    for rule in rules:
        tenant = rule.apply(claims)
        if tenant is not None:
            return tenant
    return None


def map_tenants(claims: Mapping[str, Any], rules: Sequence[TenantRule]) -> tuple[str, ...]:
    """Every tenant the rules map `claims` to (at most `MAX_TENANTS`), each once: the
    rules in order, within a rule the claim's values in order, so that the first is
    the one `map_tenant` gives."""
    found: dict[str, None] = {}
    for rule in rules:
        for tenant in rule.tenants(claims):
            found.setdefault(tenant)
            if len(found) >= MAX_TENANTS:
                return tuple(found)
    return tuple(found)


def parse_rules(tables: Any, where: str, *, table: str) -> tuple[TenantRule, ...]:
    """The rules of a parsed TOML array of tables (``[[<table>]]``, each with `RULE_KEYS`);
    ConfigError naming `where` and the rule when one is wrong, or when there is none."""
    if not isinstance(tables, list) or not tables:
        raise ConfigError(f"{where}: no [[{table}]] rule: say how credentials map to tenants")
    rules = []
    for index, rule in enumerate(tables):
        rule_where = f"{where}, {table.rsplit('.', 1)[-1]}[{index}]"
        if not isinstance(rule, Mapping):
            raise ConfigError(f"{rule_where}: must be a table ([[{table}]])")
        unknown = sorted(set(rule) - set(RULE_KEYS))
        if unknown:
            raise ConfigError(
                f"{rule_where}: unknown key {unknown[0]!r}; expected one of {', '.join(RULE_KEYS)}"
            )
        values = {}
        for key in RULE_KEYS:
            value = rule.get(key)
            if value is not None and (not isinstance(value, str) or not value.strip()):
                raise ConfigError(
                    f"{rule_where}: {key}: expected a non-empty string, got {value!r}"
                )
            values[key] = value
        if values["claim"] is None or values["match"] is None:
            raise ConfigError(f"{rule_where}: a rule needs claim and match")
        try:
            rules.append(TenantRule.parse(values["claim"], values["match"], values["tenant"]))
        except ValueError as error:
            raise ConfigError(f"{rule_where}: {error}") from None
    return tuple(rules)
