"""OCCI Core 1.2 (GFD.221), declared as data: entity, resource and link.

This module and its siblings `infrastructure` and `extensions` are the one
place where the standard categories are written down.
"""

from __future__ import annotations

from pyocci.model.attribute import AttributeDefinition
from pyocci.model.category import Kind, attribute_map

CORE_SCHEME = "http://schemas.ogf.org/occi/core#"

ENTITY = Kind(
    scheme=CORE_SCHEME,
    term="entity",
    title="Entity",
    # GFD.223 binds no location to entity; rOCCI-core's JSON schema requires
    # one on every kind, and rOCCI-server serves it as a read-only listing.
    location="/entity/",
    attributes=attribute_map(
        [
            AttributeDefinition(
                name="occi.core.id",
                mutable=False,
                # No '/', '?', '#' or white space: the id becomes a URL path segment.
                pattern=r"[^\s/?#]+",
                description="Identifier of the entity, unique in the provider's namespace",
            ),
            AttributeDefinition(
                name="occi.core.title",
                description="Human-readable name of the entity",
            ),
        ]
    ),
)

RESOURCE = Kind(
    scheme=CORE_SCHEME,
    term="resource",
    title="Resource",
    parent=ENTITY.id,
    location="/resource/",
    attributes=attribute_map(
        [AttributeDefinition(name="occi.core.summary", description="Summary of the resource")]
    ),
)

LINK = Kind(
    scheme=CORE_SCHEME,
    term="link",
    title="Link",
    parent=ENTITY.id,
    location="/link/",
    attributes=attribute_map(
        [
            AttributeDefinition(
                name="occi.core.source",
                required=True,
                description="Location of the source resource",
            ),
            AttributeDefinition(
                name="occi.core.source.kind",
                mutable=False,
                description="Kind of the source resource",
            ),
            AttributeDefinition(
                name="occi.core.target",
                required=True,
                description="Location (or any URI) of the target",
            ),
            AttributeDefinition(
                name="occi.core.target.kind",
                description="Kind of the target, if it has one",
            ),
        ]
    ),
)

CORE_KINDS = (ENTITY, RESOURCE, LINK)
