"""What the sim takes from a client's entity, and what it decides itself.

The service has validated the entity and applied the model's defaults; the
sim keeps what a client may choose (mutable attributes, the mixins it
understands) and sets what the cloud manages: ids, states, link ends, and
the attributes the kind declares immutable (a NIC's interface name, an IP
reservation's ``used``).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from pyocci.backends.errors import ConflictError, InvalidRequestError
from pyocci.backends.sim import images, records
from pyocci.backends.sim.context import Work
from pyocci.model.entity import (
    Entity,
)
from pyocci.model.infrastructure import RESOURCE_TPL


def client_attributes(work: Work, entity: Entity, kind_id: str | None = None) -> dict[str, Any]:
    """The attributes a client chose (no None values, nothing the cloud manages)."""
    managed = work.cloud.managed_attributes(kind_id or entity.kind or "")
    return {
        name: value
        for name, value in entity.attributes.items()
        if value is not None and name not in managed
    }


def kept_mixins(work: Work, mixin_ids: Iterable[str]) -> list[str]:
    """The mixins of an entity that the sim stores: its own and the standard ones it
    understands, and the tenant's saved images. User mixins are the store's."""
    mixin_ids = list(dict.fromkeys(mixin_ids))
    saved = images.saved_image_ids(work, mixin_ids)
    catalogue = work.cloud.catalogue
    return [mixin for mixin in mixin_ids if catalogue.keeps(mixin) or mixin in saved]


def template_of(work: Work, mixin_ids: Iterable[str]) -> str | None:
    """The resource template among the mixins, if any; InvalidRequestError if unknown."""
    catalogue = work.cloud.catalogue
    chosen = None
    for mixin_id in mixin_ids:
        if mixin_id in catalogue.templates:
            chosen = mixin_id
        elif mixin_id != RESOURCE_TPL.id and catalogue.model.depends_on(mixin_id, RESOURCE_TPL.id):
            offered = ", ".join(catalogue.templates)
            raise InvalidRequestError(
                f"{mixin_id!r} is not a resource template of this cloud; choose one of {offered}"
            )
    return chosen


def positive(value: Any, name: str, *, integer: bool = False) -> Any:
    """The value if it is a positive number (integer), else InvalidRequestError."""
    wrong_type = isinstance(value, bool) or not isinstance(value, int if integer else int | float)
    if wrong_type or value <= 0:
        what = "a positive integer" if integer else "a positive number"
        raise InvalidRequestError(f"{name} must be {what}; got {value!r}")
    return value


def new_id(work: Work, entity: Entity) -> str:
    """The id of a new entity: the client's (checked unused), else a fresh UUID."""
    kind = entity.kind or ""
    wanted = entity.id
    if wanted is None:
        return str(uuid.uuid4())
    location = work.cloud.location_of(kind, wanted)
    if work.cloud.shared.by_location(location) is not None or records.exists(work, wanted):
        raise ConflictError(f"{location} already exists; choose another id or update it")
    return wanted


def path_of(location: str | None) -> str:
    """A location as a path (clients may send absolute URLs)."""
    if not location:
        return ""
    return urlsplit(location).path if "://" in location else location


_HOSTNAME = re.compile(r"[^a-z0-9-]+")


def hostname_for(title: str | None, entity_id: str) -> str:
    """A DNS label for a compute: from its title, else from its id."""
    label = _HOSTNAME.sub("-", (title or "").lower()).strip("-")[:63].strip("-")
    return label or "vm-" + entity_id.split("-", 1)[0][:8]
