"""Entity instances: Resources and the Links between them (GFD.221 §7).

The attribute map is the single source of truth for every attribute value,
including the core ones (``occi.core.id``, ``occi.core.title``,
``occi.core.source`` ...); the properties here are conveniences over it, so
no rendering can disagree with another about an entity's id or target.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

CORE_ID = "occi.core.id"
CORE_TITLE = "occi.core.title"
CORE_SUMMARY = "occi.core.summary"
CORE_SOURCE = "occi.core.source"
CORE_SOURCE_KIND = "occi.core.source.kind"
CORE_TARGET = "occi.core.target"
CORE_TARGET_KIND = "occi.core.target.kind"


def _set_or_drop(attributes: dict[str, Any], name: str, value: Any) -> None:
    if value is None:
        attributes.pop(name, None)
    else:
        attributes[name] = value


@dataclass(slots=True, kw_only=True)
class Entity:
    """What Resources and Links share.

    `kind` and `mixins` hold category identifiers; `kind` is None only in a
    partial update, which names no kind. `actions` lists the
    identifiers of the actions applicable to the entity now (what renderings
    advertise), `location` the entity's URL path, when it has one.
    """

    kind: str | None
    mixins: list[str] = field(default_factory=list)
    attributes: dict[str, Any] = field(default_factory=dict)
    actions: list[str] = field(default_factory=list)
    location: str | None = None

    @property
    def id(self) -> str | None:
        """``occi.core.id``."""
        return self.attributes.get(CORE_ID)

    @id.setter
    def id(self, value: str | None) -> None:
        _set_or_drop(self.attributes, CORE_ID, value)

    @property
    def title(self) -> str | None:
        """``occi.core.title``."""
        return self.attributes.get(CORE_TITLE)

    @title.setter
    def title(self, value: str | None) -> None:
        _set_or_drop(self.attributes, CORE_TITLE, value)


@dataclass(slots=True, kw_only=True)
class Resource(Entity):
    """A resource, with the links that start at it (composition: they go with it)."""

    links: list[Link] = field(default_factory=list)

    @property
    def summary(self) -> str | None:
        """``occi.core.summary``."""
        return self.attributes.get(CORE_SUMMARY)

    @summary.setter
    def summary(self, value: str | None) -> None:
        _set_or_drop(self.attributes, CORE_SUMMARY, value)


@dataclass(slots=True, kw_only=True)
class Link(Entity):
    """A typed connection from a resource (source) to a resource or URI (target)."""

    @property
    def source(self) -> str | None:
        """``occi.core.source``: the location of the source resource."""
        return self.attributes.get(CORE_SOURCE)

    @source.setter
    def source(self, value: str | None) -> None:
        _set_or_drop(self.attributes, CORE_SOURCE, value)

    @property
    def source_kind(self) -> str | None:
        """``occi.core.source.kind``: the Kind identifier of the source."""
        return self.attributes.get(CORE_SOURCE_KIND)

    @source_kind.setter
    def source_kind(self, value: str | None) -> None:
        _set_or_drop(self.attributes, CORE_SOURCE_KIND, value)

    @property
    def target(self) -> str | None:
        """``occi.core.target``: the location (or any URI) of the target."""
        return self.attributes.get(CORE_TARGET)

    @target.setter
    def target(self, value: str | None) -> None:
        _set_or_drop(self.attributes, CORE_TARGET, value)

    @property
    def target_kind(self) -> str | None:
        """``occi.core.target.kind``: the Kind identifier of the target, if known."""
        return self.attributes.get(CORE_TARGET_KIND)

    @target_kind.setter
    def target_kind(self, value: str | None) -> None:
        _set_or_drop(self.attributes, CORE_TARGET_KIND, value)


@dataclass(slots=True, kw_only=True)
class ActionInvocation:
    """The body of ``POST <url>?action=<term>``: which action, with which parameters."""

    action: str
    attributes: dict[str, Any] = field(default_factory=dict)
