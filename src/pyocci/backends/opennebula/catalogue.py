"""The OpenNebula offer: VM templates as OS templates, configured sizes as resource templates.

An os_tpl is a VM template the tenant may use (``templatepool.info`` with
the tenant's session: oned's ACLs decide), restricted to the configured
``templates`` when any are named. Its term is OCCI 1.1-safe, made of the
template's name and id (``debian_12-7``: the id keeps it unique and stable
when two templates share a name); its title is the template's real name.
A template whose disk images oned is still writing (a ``save`` just made
them, ``LOCKED``) cannot start a VM yet: it is followed and offered as soon
as its images are ready. A resource_tpl is a configured size (CPU, VCPU,
MEMORY). Each tenant's offer is read with its own session, at most once per
``template_ttl``.
"""

from __future__ import annotations

import contextvars
from collections.abc import Hashable, Iterable
from typing import Any

from pyocci.backends import pending
from pyocci.backends.kit.catalogue import Offer, TemplateCatalogue
from pyocci.backends.opennebula.api import OneApi
from pyocci.backends.opennebula.records import listed, one_list
from pyocci.backends.opennebula.settings import OpenNebulaSettings, Size
from pyocci.backends.opennebula.tenancy import Acting
from pyocci.model.category import Mixin, occi11_term
from pyocci.model.extensions import os_template, resource_template

OS_TPL_SCHEME = "http://schemas.pyocci.org/opennebula/os_tpl#"
RESOURCE_TPL_SCHEME = "http://schemas.pyocci.org/opennebula/resource_tpl#"
#: OpenNebula's image state that can start a VM (IMAGE_STATES: READY, and USED for a
#: non-persistent image other VMs use too).
READY_IMAGE_STATES = {1, 2}
#: Image states oned leaves by itself (INIT, LOCKED, CLONE, LOCKED_USED...).
PENDING_IMAGE_STATES = {0, 4, 6, 9, 10}

#: Who the current request acts for (set by the backend before the catalogue is read).
current: contextvars.ContextVar[Acting | None] = contextvars.ContextVar(
    "opennebula_acting", default=None
)


def template_term(template_id: int | str, name: str) -> str:
    """The os_tpl term of a VM template: its name, OCCI 1.1-safe, and its id."""
    return f"{occi11_term(name)}-{template_id}"


def template_id_of(term: str) -> int | None:
    """The VM template id an os_tpl term ends with; None when it names none."""
    tail = term.rsplit("-", 1)[-1]
    return int(tail) if tail.isdigit() else None


def size_mixin(term: str, size: Size) -> Mixin:
    """The resource_tpl mixin of a configured size."""
    return resource_template(
        RESOURCE_TPL_SCHEME,
        term,
        cores=size.vcpu,
        memory=size.memory,
        title=f"{term}: {size.vcpu} VCPU ({size.cpu:g} CPU), {size.memory:g} GiB",
    )


def template_images(template: Any) -> list[int]:
    """The ids of the images a VM template's disks are made from."""
    body = template.TEMPLATE if isinstance(template.TEMPLATE, dict) else {}
    return [int(disk["IMAGE_ID"]) for disk in one_list(body.get("DISK")) if "IMAGE_ID" in disk]


class Catalogue(TemplateCatalogue[Size]):
    """Each tenant's VM templates and the configured sizes."""

    def __init__(self, api: OneApi, settings: OpenNebulaSettings) -> None:
        super().__init__(settings.template_ttl)
        self.api = api
        self.settings = settings

    def key(self) -> Hashable:
        """Each group's templates apart: oned's ACLs may let groups see different ones."""
        acting = current.get()
        return acting.group_id if acting is not None else None

    def _session(self) -> str:
        acting = current.get()
        if acting is None:
            raise RuntimeError("the catalogue is read for a tenant: set `current` first")
        return acting.session

    def image_mixin(self, image_id: str, name: str | None) -> Mixin:
        """The os_tpl mixin of a VM template (followed templates are keyed by their id)."""
        title = name or f"VM template {image_id}"
        return os_template(OS_TPL_SCHEME, template_term(image_id, title), title)

    def _offered(self, templates: Iterable[Any]) -> list[Any]:
        wanted = set(self.settings.templates)
        return [t for t in templates if not wanted or t.NAME in wanted or str(t.ID) in wanted]

    async def _images(self) -> dict[int, int]:
        images = await self.api.call(self._session(), "imagepool.info", -2, -1, -1, -1)
        return {int(image.ID): int(image.STATE) for image in listed(images, "IMAGE")}

    async def read(self) -> Offer[Size]:
        """The usable VM templates whose images are ready; those whose images oned is
        still writing are followed."""
        pool = await self.api.call(self._session(), "templatepool.info", -2, -1, -1)
        templates = self._offered(listed(pool, "VMTEMPLATE"))
        states = await self._images()
        images: dict[str, Mixin] = {}
        for template in templates:
            needed = [states.get(image_id) for image_id in template_images(template)]
            if any(state in PENDING_IMAGE_STATES for state in needed):
                self.follow(str(template.ID), template.NAME)
                continue
            self.forget(str(template.ID))
            mixin = self.image_mixin(str(template.ID), template.NAME)
            images[mixin.id] = mixin
        return Offer(
            images=images,
            sizes=dict(self.settings.sizes),
            size_mixins={
                term: size_mixin(term, size) for term, size in self.settings.sizes.items()
            },
        )

    async def look(self, image_ids: list[str]) -> pending.Looked:
        """What oned says of followed templates' images: two pool reads, whatever their
        number."""
        wanted = set(image_ids)
        pool = await self.api.call(self._session(), "templatepool.info", -2, -1, -1)
        templates = [t for t in listed(pool, "VMTEMPLATE") if str(t.ID) in wanted]
        states = await self._images()
        ready: dict[str, str | None] = {}
        still: list[str] = []
        for template in templates:
            needed = [states.get(image_id) for image_id in template_images(template)]
            if any(state in PENDING_IMAGE_STATES for state in needed):
                still.append(str(template.ID))
            elif all(state in READY_IMAGE_STATES for state in needed):
                ready[str(template.ID)] = template.NAME
        return pending.Looked(ready=ready, pending=still)

    async def still_writing(self, template_id: str) -> bool:
        """Whether oned is still writing a VM template's images (it is followed then). A
        followed template found ready is offered at once: a listing may have looked at it
        less than a recheck ago, while it was still being written."""
        looked = await self.look([template_id])
        if template_id in looked.pending:
            self.follow(template_id)
            return True
        followed = self.pending.get(self.key())
        if template_id in looked.ready and followed is not None and template_id in followed:
            self.offer_ready(template_id, looked.ready[template_id])
        return False

    async def template_named(self, term: str) -> int | None:
        """The id of the offered VM template with this os_tpl term, None when none is."""
        offer = await self.offer()
        if OS_TPL_SCHEME + term in offer.images:
            return template_id_of(term)
        return None
