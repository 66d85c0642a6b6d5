"""What oned answers, read: pools, template bodies, and template text to send.

pyone binds oned's XML to objects; a template body (``TEMPLATE``,
``USER_TEMPLATE``) is a dictionary in which a vector attribute (``DISK``,
``NIC``) is a dictionary when there is one and a list when there are more.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def listed(pool: Any, tag: str) -> list[Any]:
    """The objects of a pool answer (``VM`` of a ``VM_POOL``...), none when empty."""
    return list(getattr(pool, tag, None) or [])


def one_list(value: Any) -> list[dict[str, Any]]:
    """A vector attribute as a list, whether oned gave none, one or several."""
    if value is None or value == "":
        return []
    if isinstance(value, list):
        return [item for item in value if isinstance(item, dict)]
    return [value] if isinstance(value, dict) else []


def ids_of(value: Any) -> list[int]:
    """The ids of a record's id list (a cluster's ``HOSTS``, an image's ``VMS``): none, one
    or several."""
    ids = getattr(value, "ID", None)
    if ids is None:
        return []
    return [int(i) for i in (ids if isinstance(ids, list) else [ids])]


def security_groups(nic: Mapping[str, Any]) -> list[int]:
    """The ids of the security groups on a NIC (its ``SECURITY_GROUPS``: ``"0,105"``)."""
    found = (part.strip() for part in str(nic.get("SECURITY_GROUPS") or "").split(","))
    return [int(part) for part in found if part.isdigit()]


def with_groups(nic: Mapping[str, Any], group_ids: list[int]) -> dict[str, Any]:
    """A NIC entry with these security groups added to its own."""
    on = security_groups(nic)
    on += [group_id for group_id in group_ids if group_id not in on]
    return {**nic, "SECURITY_GROUPS": ",".join(map(str, on))}


def body(record: Any, part: str = "TEMPLATE") -> dict[str, Any]:
    """A record's template body as a dictionary (empty when it has none)."""
    value = getattr(record, part, None)
    return dict(value) if isinstance(value, dict) else {}


def _quoted(value: Any) -> str:
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


def template_text(attributes: Mapping[str, Any]) -> str:
    """OpenNebula template syntax for attributes: ``KEY = "value"``, and a mapping (or a
    list of mappings) as vector attributes ``KEY = [ A = "x", B = "y" ]``."""
    lines = []
    for key, value in attributes.items():
        vectors = value if isinstance(value, list) else [value]
        for vector in vectors:
            if isinstance(vector, Mapping):
                inner = ", ".join(f"{k} = {_quoted(v)}" for k, v in vector.items())
                lines.append(f"{key} = [ {inner} ]")
            else:
                lines.append(f"{key} = {_quoted(vector)}")
    return "\n".join(lines)
