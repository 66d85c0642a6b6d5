"""OS images, the configured ones and those tenants save with the compute `save` action.

A saved image is an os_tpl mixin owned by one tenant: persisted in
`sim_images`, offered to that tenant only (`provider_mixins`), usable to
create new computes, and independent of the compute it came from.

Saving takes `transition_seconds`, as a compute's changes do: the image is
ready once that long has passed since it was made (`created_at`). Until
then it is not offered, and a create naming it is refused with
`BusyError` (409 with Retry-After: the seconds left). With
`transition_seconds` 0 an image is ready at once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import sqlalchemy as sa

from pyocci.backends.errors import BusyError, InvalidRequestError
from pyocci.backends.sim import transitions
from pyocci.backends.sim.context import Work
from pyocci.backends.sim.tables import sim_images
from pyocci.model.category import Mixin, occi11_term
from pyocci.model.infrastructure import COMPUTE, OS_TPL

IMAGES = sim_images

_INVALID = re.compile(r"[^a-z0-9_\-]+")


def _mixin(row: sa.Row) -> Mixin:
    return Mixin(
        scheme=row.scheme,
        term=row.term,
        title=row.title,
        depends=(OS_TPL.id,),
        applies=(COMPUTE.id,),
        location=row.location,
    )


def _ready(work: Work) -> sa.ColumnElement[bool]:
    """The tenant's saved images that are ready now (every one, without transitions: a
    clock a little behind another process's must not hide an image just saved there)."""
    mine = IMAGES.c.tenant_id == work.tenant_id
    seconds = work.settings.transition_seconds
    if seconds <= 0:
        return mine
    return sa.and_(mine, IMAGES.c.created_at + seconds <= work.now)


def saved_images(work: Work) -> list[Mixin]:
    """The tenant's saved images that are ready, oldest first."""
    rows = work.connection.execute(sa.select(IMAGES).where(_ready(work)).order_by(IMAGES.c.seq))
    return [_mixin(row) for row in rows]


def saved_image_ids(work: Work, mixin_ids: Iterable[str]) -> set[str]:
    """Which of these mixin ids are images the tenant saved and that are ready (one
    query, none if no id has the saved-image scheme)."""
    scheme = work.settings.saved_image_scheme
    terms = [mixin_id[len(scheme) :] for mixin_id in mixin_ids if mixin_id.startswith(scheme)]
    if not terms:
        return set()
    found = work.connection.scalars(
        sa.select(IMAGES.c.term).where(_ready(work), IMAGES.c.term.in_(terms))
    )
    return {scheme + term for term in found}


def pending_image(work: Work, mixin_id: str) -> BusyError | None:
    """The error to answer for an image of the tenant's still being saved (409 with
    Retry-After: the seconds until it is ready); None for any other mixin."""
    seconds = work.settings.transition_seconds
    scheme = work.settings.saved_image_scheme
    if seconds <= 0 or not mixin_id.startswith(scheme):
        return None
    row = work.connection.execute(
        sa.select(IMAGES.c.term, IMAGES.c.source, IMAGES.c.created_at).where(
            IMAGES.c.tenant_id == work.tenant_id, IMAGES.c.term == mixin_id[len(scheme) :]
        )
    ).first()
    if row is None:
        return None
    remaining = row.created_at + seconds - work.now
    if remaining <= 0:
        return None
    return BusyError(
        f"the image {row.term} ({mixin_id}) is still being saved from {row.source} (ready "
        f"in {remaining:.1f} s); try again then",
        retry_after=transitions.retry_after(remaining),
    )


def image_of(work: Work, mixins: Iterable[str]) -> str | None:
    """The os_tpl among an entity's mixins, if any; InvalidRequestError for an unknown one,
    BusyError for a saved image that is not ready yet."""
    catalogue = work.cloud.catalogue
    mixins = list(mixins)
    saved = saved_image_ids(work, mixins)
    chosen: str | None = None
    for mixin_id in mixins:
        if mixin_id in catalogue.images or mixin_id in saved:
            chosen = mixin_id
        elif (pending := pending_image(work, mixin_id)) is not None:
            raise pending
        elif mixin_id.startswith(work.settings.saved_image_scheme) or (
            mixin_id != OS_TPL.id and catalogue.model.depends_on(mixin_id, OS_TPL.id)
        ):
            raise InvalidRequestError(
                f"{mixin_id!r} is not an OS template you can use; " + choices(work)
            )
    return chosen


def choices(work: Work) -> str:
    """The message that lists every image the tenant may use ("choose an OS template: ...")."""
    images = [*work.cloud.catalogue.images.values(), *saved_images(work)]
    listed = ", ".join(f"{image.term} ({image.id})" for image in images)
    return f"choose an OS template: {listed}"


def make_term(name: str | None, fallback: str) -> str:
    """An OCCI 1.1 term from a name hint: lower case, runs of anything else as '-'."""
    term = _INVALID.sub("-", (name or "").strip().lower()).strip("-_")
    return occi11_term(term or fallback)[:64]


def save_image(
    work: Work,
    *,
    name: str | None,
    source: str,
    base_image: str | None,
    title_of_source: str | None,
) -> Mixin:
    """Persist a new image of the tenant from a compute; the term is made unique."""
    settings = work.settings
    taken = {image.term for image in settings.images}
    taken.update(
        work.connection.scalars(
            sa.select(IMAGES.c.term).where(IMAGES.c.tenant_id == work.tenant_id)
        )
    )
    base = make_term(name, "image-" + source.rstrip("/").rsplit("/", 1)[-1][:8])
    term = base
    counter = 2
    while term in taken:
        term = f"{base}-{counter}"
        counter += 1
    described = f"{title_of_source!r} ({source})" if title_of_source else source
    title = f"{name or term}: image saved from compute {described}"
    location = f"/mixin/os_tpl/{term}/"
    work.connection.execute(
        IMAGES.insert().values(
            tenant_id=work.tenant_id,
            scheme=settings.saved_image_scheme,
            term=term,
            title=title,
            location=location,
            source=source,
            base_image=base_image,
            created_at=work.now,
        )
    )
    return Mixin(
        scheme=settings.saved_image_scheme,
        term=term,
        title=title,
        depends=(OS_TPL.id,),
        applies=(COMPUTE.id,),
        location=location,
    )
