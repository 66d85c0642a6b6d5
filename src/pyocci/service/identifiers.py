"""Which entity ids a client may choose: those a URL carries as they are.

An id becomes the last segment of the entity's location, and a location
travels in headers (``Location``, ``X-OCCI-Location``), in text renderings
and in URI lists. Ids made of RFC 3986 unreserved characters need no
encoding anywhere, so every rendering shows the same location and every
client can send it back unchanged. Anything else (spaces, commas, ``%``,
``/``, letters outside ASCII, control characters) is refused with a message
saying what to use, never stored.
"""

from __future__ import annotations

import re

from pyocci.service.errors import BadRequestError

#: The longest id accepted: ids are keys in the store and parts of every URL.
MAX_ID_LENGTH = 200

_UNRESERVED = re.compile(r"[A-Za-z0-9._~-]+")

#: Where no collection may live: the query interface's paths and what the server
#: serves beside it (the token endpoint of the Keystone-like handshake, /-/identity).
RESERVED_LOCATIONS = ("/-/", "/.well-known/")


def check_entity_id(entity_id: str) -> None:
    """Refuse (BadRequestError) an entity id a client chose that a URL cannot carry as is."""
    if len(entity_id) > MAX_ID_LENGTH:
        raise BadRequestError(
            f"an entity id has at most {MAX_ID_LENGTH} characters; this one has {len(entity_id)}"
        )
    if not _UNRESERVED.fullmatch(entity_id) or entity_id in (".", ".."):
        raise BadRequestError(
            f"the entity id {entity_id!r} cannot be used: ids are made of ASCII letters, "
            "digits and - . _ ~ (a UUID, for one), not '.' or '..' alone"
        )


def check_location_path(location: str) -> None:
    """Refuse (BadRequestError) a collection location a client chose (a user mixin's)
    unless it is a path of segments a URL carries as they are, ending in ``/``."""
    segments = location.split("/")
    if (
        not location.startswith("/")
        or not location.endswith("/")
        or len(location) > MAX_ID_LENGTH
        or not all(_UNRESERVED.fullmatch(s) and s not in (".", "..") for s in segments[1:-1])
    ):
        raise BadRequestError(
            f"the location {location!r} cannot be used: a location is a path such as "
            "/my/stuff/ whose segments are made of ASCII letters, digits and - . _ ~"
        )
    if location.startswith(RESERVED_LOCATIONS):
        raise BadRequestError(
            f"the location {location!r} cannot be used: the paths under "
            f"{' and '.join(RESERVED_LOCATIONS)} are the server's own"
        )
