"""The memory backend's templates: a static offer made from its settings, and the
images each tenant saved.

A cloud whose images and sizes must be asked for builds a kit
`TemplateCatalogue` (a cached read, and images still being written followed
until ready). Nothing here is asked of anyone, and a saved image is ready
when ``save`` returns, so this catalogue is two dictionaries.
"""

from __future__ import annotations

from pyocci.backends.memory.settings import MemorySettings
from pyocci.model.category import Mixin, occi11_term
from pyocci.model.extensions import crtp_templates, os_template

#: The scheme of the images offered: ``<scheme><term>`` is an OS template's id.
OS_TPL_SCHEME = "http://schemas.pyocci.org/memory/os_tpl#"


class Catalogue:
    """The OS templates (images) and resource templates (sizes) offered to every tenant,
    and the images each tenant saved, offered to that tenant alone."""

    def __init__(self, settings: MemorySettings) -> None:
        images = (os_template(OS_TPL_SCHEME, occi11_term(n), n) for n in settings.images)
        #: The OS templates, by mixin id.
        self.images = {mixin.id: mixin for mixin in images}
        #: The resource templates, by mixin id: the CRTP profile's, those configured.
        self.sizes = {m.id: m for m in crtp_templates() if m.term in settings.sizes}
        #: The images saved from computes, by tenant then mixin id.
        self.saved: dict[str, dict[str, Mixin]] = {}

    def mixins(self, tenant_id: str) -> list[Mixin]:
        """Every template offered to the tenant: images (its saved ones last), then sizes."""
        saved = self.saved.get(tenant_id, {})
        return [*self.images.values(), *saved.values(), *self.sizes.values()]

    def save(self, tenant_id: str, name: str | None, source: str) -> Mixin:
        """A new OS template of the tenant's, saved from the compute at `source`, named
        after `name` (or the compute) and numbered when the name is taken."""
        saved = self.saved.setdefault(tenant_id, {})
        taken = {mixin.term for mixin in [*self.images.values(), *saved.values()]}
        base = occi11_term(name or "image-" + source.rstrip("/").rsplit("/", 1)[-1][:8])
        term, number = base, 1
        while term in taken:
            number += 1
            term = f"{base}-{number}"
        mixin = os_template(OS_TPL_SCHEME, term, f"{name or term}: saved from {source}")
        saved[mixin.id] = mixin
        return mixin
