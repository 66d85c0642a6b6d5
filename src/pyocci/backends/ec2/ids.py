"""OCCI ids of EC2 things: the EC2 ids themselves, so they survive any restart.

A resource's id is its EC2 id (``/compute/i-0abc...``, ``/storage/vol-...``,
``/network/subnet-...``, ``/securitygroup/sg-...``). A link that EC2 gives
an id of its own uses it (an interface: ``/networkinterface/eni-...``);
one that EC2 knows only as a pair is named by the pair joined with ``_``
(a volume attachment: ``/storagelink/i-..._vol-...``; a security group on
an instance: ``/securitygrouplink/i-..._sg-...``; the public address of an
interface: ``/networkinterface/eni-..._public``). The provider's public
network is ``/network/public``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pyocci.model.extensions import SECURITYGROUP, SECURITYGROUPLINK
from pyocci.model.infrastructure import COMPUTE, NETWORK, NETWORKINTERFACE, STORAGE, STORAGELINK

PUBLIC = "public"

_EC2_ID = r"[a-z]+-[0-9a-f]{1,32}"
_ID = re.compile(_EC2_ID)
_AMI = re.compile(r"ami-[0-9a-f]{1,32}")
_PAIR = re.compile(rf"({_EC2_ID})_({_EC2_ID}|{PUBLIC})")

#: Which kind an EC2 id prefix is.
_PREFIXES = {
    "i": COMPUTE.id,
    "vol": STORAGE.id,
    "subnet": NETWORK.id,
    "sg": SECURITYGROUP.id,
    "eni": NETWORKINTERFACE.id,
}

#: Which link kind a pair (first prefix, second prefix) is.
_PAIRS = {
    ("i", "vol"): STORAGELINK.id,
    ("i", "sg"): SECURITYGROUPLINK.id,
    ("eni", PUBLIC): NETWORKINTERFACE.id,
}


@dataclass(frozen=True, slots=True)
class ParsedId:
    """An OCCI id understood: its kind and the EC2 ids it is made of."""

    kind: str
    first: str
    second: str | None = None


def parse(entity_id: str) -> ParsedId | None:
    """What an OCCI id names, or None if no EC2 thing can have it."""
    if entity_id == PUBLIC:
        return ParsedId(NETWORK.id, PUBLIC)
    if _ID.fullmatch(entity_id):
        kind = _PREFIXES.get(entity_id.split("-", 1)[0])
        return None if kind is None else ParsedId(kind, entity_id)
    pair = _PAIR.fullmatch(entity_id)
    if pair is None:
        return None
    first, second = pair.group(1), pair.group(2)
    kind = _PAIRS.get((first.split("-", 1)[0], second.split("-", 1)[0]))
    return None if kind is None else ParsedId(kind, first, second)


def pair(first: str, second: str) -> str:
    """The id of a link EC2 knows only as a pair."""
    return f"{first}_{second}"


def public_link(interface_id: str) -> str:
    """The id of an interface's public address link."""
    return pair(interface_id, PUBLIC)


def ec2_id_of(location: str | None, prefix: str) -> str | None:
    """The EC2 id at the end of a location (``/storage/vol-1`` -> ``vol-1``) if it has
    this prefix, else None."""
    if not location:
        return None
    last = location.rstrip("/").rsplit("/", 1)[-1]
    if last == PUBLIC and prefix == PUBLIC:
        return last
    return last if _ID.fullmatch(last) and last.startswith(prefix + "-") else None


def is_image(text: str) -> bool:
    """Whether `text` can be an AMI id (``ami-0abc...``)."""
    return _AMI.fullmatch(text) is not None
