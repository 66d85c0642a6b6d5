"""Image export (see docs/export.md): the export kind, its cancel action, the target schemes.

pyocci's own scheme, as the backends' templates use: nothing here changes an
OGF or EGI category, so a client that does not know exports only sees one
more kind in discovery.
"""

from __future__ import annotations

from pyocci.model.attribute import AttributeDefinition, AttributeType
from pyocci.model.category import Action, Kind, Mixin, attribute_map
from pyocci.model.core import RESOURCE
from pyocci.model.infrastructure import state_attribute, state_message_attribute
from pyocci.model.states import StateMachine

EXPORT_SCHEME = "http://schemas.pyocci.org/occi/infrastructure#"
EXPORT_ACTION_SCHEME = "http://schemas.pyocci.org/occi/infrastructure/export/action#"
EXPORT_TARGET_SCHEME = "http://schemas.pyocci.org/occi/infrastructure/export/target#"
EXPORT_FORMAT_SCHEME = "http://schemas.pyocci.org/occi/infrastructure/export/format#"

SOURCE = "org.pyocci.export.source"
TARGET = "org.pyocci.export.target"
STATE = "org.pyocci.export.state"
STATE_MESSAGE = "org.pyocci.export.state.message"
PROGRESS = "org.pyocci.export.progress"
BYTES = "org.pyocci.export.bytes"
SIZE = "org.pyocci.export.size"
FORMAT = "org.pyocci.export.format"
SOURCE_FORMAT = "org.pyocci.export.source.format"
STAGE = "org.pyocci.export.stage"
CHECKSUM_VERIFIED = "org.pyocci.export.checksum.verified"
CHECKSUM = "org.pyocci.export.checksum"
URL = "org.pyocci.export.url"

PENDING = "pending"
TRANSFERRING = "transferring"
ACTIVE = "active"
ERROR = "error"
CANCELLED = "cancelled"
#: Every state, in the order an export goes through them.
EXPORT_STATES = (PENDING, TRANSFERRING, ACTIVE, ERROR, CANCELLED)
#: The states the runner still has work in (what the per-tenant limit counts).
RUNNING_STATES = (PENDING, TRANSFERRING)

#: What a transferring export is doing: reading the image to the server's disk,
#: converting it, or sending it (the only stage of an export without conversion).
READING = "reading"
CONVERTING = "converting"
UPLOADING = "uploading"
EXPORT_STAGES = (READING, CONVERTING, UPLOADING)

#: The disk formats an export may be asked for (converted with qemu-img).
DISK_FORMATS = ("raw", "qcow2")

#: The attributes a client sets when it creates an export (and never after).
SETTABLE_AT_EXPORT = frozenset({SOURCE, TARGET, FORMAT})

EXPORT_CANCEL = Action(scheme=EXPORT_ACTION_SCHEME, term="cancel", title="Stop the export")


def _server(name: str, kind: AttributeType, description: str) -> AttributeDefinition:
    return AttributeDefinition(name=name, type=kind, mutable=False, description=description)


EXPORT = Kind(
    scheme=EXPORT_SCHEME,
    term="export",
    title="Image export",
    parent=RESOURCE.id,
    location="/export/",
    actions=(EXPORT_CANCEL.id,),
    attributes=attribute_map(
        [
            AttributeDefinition(
                name=SOURCE,
                mutable=False,
                required=True,
                description="The os_tpl to export (scheme and term)",
            ),
            AttributeDefinition(
                name=TARGET,
                mutable=False,
                required=True,
                # Checked by the service, which says which schemes this site offers.
                description=(
                    "Where to: s3://bucket/key, an https:// URL that accepts a PUT, "
                    "or glance://site/image-name"
                ),
            ),
            state_attribute(STATE, EXPORT_STATES, PENDING),
            state_message_attribute(STATE_MESSAGE),
            _server(PROGRESS, AttributeType.INTEGER, "Percent of the bytes written (0-100)"),
            _server(BYTES, AttributeType.INTEGER, "Bytes written to the target so far"),
            _server(SIZE, AttributeType.INTEGER, "The image's size in bytes"),
            AttributeDefinition(
                name=FORMAT,
                mutable=False,
                # Checked by the service, which says which formats this site converts to.
                description="The disk format to export in (raw, qcow2); the cloud's if unset",
            ),
            _server(SOURCE_FORMAT, AttributeType.STRING, "The disk format the cloud holds"),
            _server(STAGE, AttributeType.STRING, "reading, converting or uploading"),
            _server(CHECKSUM, AttributeType.STRING, "sha256:<hex> of the bytes written"),
            AttributeDefinition(
                name=CHECKSUM_VERIFIED,
                type=AttributeType.BOOLEAN,
                mutable=False,
                description="Whether the target confirmed the bytes it holds",
            ),
            _server(URL, AttributeType.STRING, "Where the image is, once active"),
        ]
    ),
)

EXPORT_STATE_MACHINE = StateMachine(
    attribute=STATE,
    initial=PENDING,
    transitions={EXPORT_CANCEL.id: {PENDING: CANCELLED, TRANSFERRING: CANCELLED}},
    passing=frozenset(RUNNING_STATES),
)


def target_mixin(scheme: str, title: str) -> Mixin:
    """The mixin that tells discovery this site can export to URLs of `scheme`."""
    return Mixin(
        scheme=EXPORT_TARGET_SCHEME,
        term=scheme,
        title=title,
        applies=(EXPORT.id,),
        location=f"/mixin/export/target/{scheme}/",
    )


S3_TARGET = target_mixin("s3", "Export to s3://bucket/key")
HTTPS_TARGET = target_mixin("https", "Export by HTTPS PUT")
GLANCE_TARGET = target_mixin("glance", "Export to another site's Glance")
# Titles stay short: text/occi carries every category of discovery in one response's
# headers, which proxies bound (HAProxy: 15 KiB by default).
#: The target mixins by URL scheme.
TARGET_MIXINS = {"s3": S3_TARGET, "https": HTTPS_TARGET, "glance": GLANCE_TARGET}


def format_mixin(disk_format: str) -> Mixin:
    """The mixin that tells discovery this site converts exports to `disk_format`."""
    return Mixin(
        scheme=EXPORT_FORMAT_SCHEME,
        term=disk_format,
        title=f"Export converted to {disk_format}",
        applies=(EXPORT.id,),
        location=f"/mixin/export/format/{disk_format}/",
    )


#: The format mixins by format name (offered only where qemu-img is).
FORMAT_MIXINS = {name: format_mixin(name) for name in DISK_FORMATS}

EXPORT_KINDS = (EXPORT,)
EXPORT_MIXINS = (S3_TARGET, HTTPS_TARGET, GLANCE_TARGET, *FORMAT_MIXINS.values())
EXPORT_ACTIONS = (EXPORT_CANCEL,)
EXPORT_STATE_MACHINES = {EXPORT.id: EXPORT_STATE_MACHINE}
