"""Image export and deletion with `OcciClient` (see docs/export.md).

An export is a resource of the ``export`` kind (pyocci's scheme): created
with the os_tpl to export and the target URL, it answers at once with its
location, then shows its state, progress and, once ``active``, the URL the
image is at. `ExportStatus` is what a client reads of it; `wait_for_export`
polls until it has ended.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from pyocci.client.client import OcciClient
from pyocci.client.errors import EntityFailedError, InvalidInputError, WaitTimeoutError
from pyocci.client.waiting import MAX_INTERVAL
from pyocci.model.entity import Entity, Resource
from pyocci.model.export import (
    BYTES,
    CHECKSUM,
    CHECKSUM_VERIFIED,
    EXPORT,
    FORMAT,
    PROGRESS,
    SIZE,
    SOURCE,
    SOURCE_FORMAT,
    STAGE,
    STATE,
    STATE_MESSAGE,
    TARGET,
    URL,
)

__all__ = [
    "ExportStatus",
    "cancel_export",
    "delete_image",
    "export_image",
    "export_status",
    "wait_for_export",
]

#: The states an export ends in.
ENDED = ("active", "error", "cancelled")

#: ``on_progress(status, elapsed_seconds)``, called after every poll.
ExportProgress = Callable[["ExportStatus", float], None]


@dataclass(frozen=True, slots=True)
class ExportStatus:
    """An export as the server shows it."""

    location: str
    source: str
    target: str
    state: str
    bytes: int = 0
    size: int | None = None
    progress: int | None = None
    url: str | None = None
    #: The disk format of the bytes (``raw``, ``qcow2``...), once the server knows it.
    disk_format: str | None = None
    checksum: str | None = None
    message: str | None = None
    #: The format the cloud holds the image in (differs when converted).
    source_format: str | None = None
    #: ``reading``, ``converting`` or ``uploading`` while transferring; `progress`
    #: is the stage's.
    stage: str | None = None
    #: Whether the target confirmed the checksum (None until active).
    checksum_verified: bool | None = None

    @classmethod
    def of(cls, entity: Entity, location: str) -> ExportStatus:
        """The status an export entity shows."""
        values = entity.attributes

        def number(name: str) -> int | None:
            value = values.get(name)
            return None if value is None else int(value)

        def text(name: str) -> str | None:
            value = values.get(name)
            return None if value is None else str(value)

        return cls(
            location=entity.location or location,
            source=str(values.get(SOURCE, "")),
            target=str(values.get(TARGET, "")),
            state=str(values.get(STATE, "")),
            bytes=number(BYTES) or 0,
            size=number(SIZE),
            progress=number(PROGRESS),
            url=text(URL),
            disk_format=text(FORMAT),
            checksum=text(CHECKSUM),
            message=text(STATE_MESSAGE),
            source_format=text(SOURCE_FORMAT),
            stage=text(STAGE),
            checksum_verified=_boolean(values.get(CHECKSUM_VERIFIED)),
        )


def _boolean(value: object) -> bool | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value.lower() == "true"
    return bool(value)


def _check_offered(client: OcciClient) -> None:
    if client.model.get(EXPORT.id) is None:
        raise InvalidInputError(
            f"{client.endpoint} does not offer image export (no {EXPORT.id} in its discovery)"
        )


def export_image(
    client: OcciClient, image: str, target: str, *, disk_format: str | None = None
) -> str:
    """Ask the server to export an OS template (a spec: term, id or part of a title) to
    `target` (``s3://bucket/key``, an ``https://`` URL that takes a PUT, or
    ``glance://site/image-name``), converted to `disk_format` (``raw``, ``qcow2``)
    when given; the export's location. Only the server's answer says whether it can
    write there and convert."""
    _check_offered(client)
    template = client.os_template(image)
    attributes = {SOURCE: template.id, TARGET: target}
    if disk_format is not None:
        attributes[FORMAT] = disk_format
    return client.create(Resource(kind=EXPORT.id, attributes=attributes))


def export_status(client: OcciClient, location: str) -> ExportStatus:
    """An export as the server shows it now."""
    return ExportStatus.of(client.get(location), location)


def wait_for_export(
    client: OcciClient,
    location: str,
    *,
    timeout: float = 3600.0,
    interval: float = 1.0,
    on_progress: ExportProgress | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> ExportStatus:
    """Poll an export until it is ``active``; its status then. EntityFailedError when it
    ends in ``error`` (with the server's reason) or is cancelled; WaitTimeoutError after
    `timeout` seconds."""
    started = clock()
    pause = max(interval, 0.05)
    while True:
        status = export_status(client, location)
        elapsed = clock() - started
        if on_progress is not None:
            on_progress(status, elapsed)
        if status.state == "active":
            return status
        if status.state in ENDED:
            raise EntityFailedError(location, "active", status.message or status.state)
        if elapsed >= timeout:
            raise WaitTimeoutError(location, "active", status.state, timeout)
        sleep(min(pause, max(timeout - elapsed, 0.0)))
        pause = min(pause * 1.5, MAX_INTERVAL)


def cancel_export(client: OcciClient, location: str) -> ExportStatus:
    """Cancel an export still running; its status then (the record stays)."""
    client.trigger(location, "cancel")
    return export_status(client, location)


def delete_image(client: OcciClient, image: str) -> str:
    """Delete an OS template the tenant saved (a spec, as for `export_image`); its id.
    The server refuses (403) the templates it offers every tenant."""
    template = client.os_template(image)
    client.remove_mixin(template.id)
    return template.id
