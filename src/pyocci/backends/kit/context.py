"""Contextualization: the user data and SSH key a new compute is given.

OCCI 1.2 carries them in the ``user_data`` and ``ssh_key`` mixins'
attributes; OCCI 1.1-era clients (rOCCI-cli 4, OCCI-OS, OOI) in the legacy
OpenStack mixins'. A backend reads both spellings through these functions,
declares `CONTEXT_MIXINS` among what it understands, and chooses templates
from a compute's mixins with `chosen`.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Mapping
from typing import Any

from pyocci.backends.errors import InvalidRequestError
from pyocci.model.extensions import OPENSTACK_PUBLIC_KEY, OPENSTACK_USER_DATA
from pyocci.model.infrastructure import SSH_KEY, USER_DATA

#: Where clients put the user data (base64, GFD.224), OCCI 1.2's name first.
USER_DATA_ATTRIBUTES = ("occi.compute.userdata", "org.openstack.compute.user_data")
#: Where clients put an SSH public key, OCCI 1.2's name first.
SSH_KEY_ATTRIBUTES = ("occi.credentials.ssh.publickey", "org.openstack.credentials.publickey.data")
#: The contextualization mixins a backend that takes user data and keys understands.
CONTEXT_MIXINS = (USER_DATA, SSH_KEY, OPENSTACK_USER_DATA, OPENSTACK_PUBLIC_KEY)
#: Attributes a compute is given once, at creation, that no cloud changes afterwards.
CONTEXT_ATTRIBUTES = (
    *USER_DATA_ATTRIBUTES,
    "occi.credentials.ssh.publickey",
    "org.openstack.credentials.publickey.name",
    "org.openstack.credentials.publickey.data",
)


def user_data(attributes: Mapping[str, Any]) -> str | None:
    """The user data given, as the client sent it (base64 text), checked to be base64;
    None when none is given."""
    for name in USER_DATA_ATTRIBUTES:
        value = attributes.get(name)
        if value:
            try:
                base64.b64decode(str(value), validate=True)
            except binascii.Error:
                raise InvalidRequestError(f"{name} must be base64-encoded") from None
            return str(value)
    return None


def user_data_text(attributes: Mapping[str, Any]) -> str | None:
    """The user data given, decoded: for clouds whose SDK encodes it again on the wire.
    A 400 when it is not base64-encoded UTF-8 text; None when none is given."""
    for name in USER_DATA_ATTRIBUTES:
        value = attributes.get(name)
        if value:
            try:
                return base64.b64decode(str(value), validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                raise InvalidRequestError(
                    f"{name} must be base64-encoded UTF-8 text (the user data itself, encoded)"
                ) from None
    return None


def public_key(attributes: Mapping[str, Any]) -> str | None:
    """The SSH public key given (either spelling), stripped; None when none is given."""
    return next((str(attributes[n]).strip() for n in SSH_KEY_ATTRIBUTES if attributes.get(n)), None)


def chosen(mixins: Iterable[str], scheme: str) -> str | None:
    """The term of the first mixin of this scheme (the os_tpl or resource_tpl chosen)."""
    return next((m[len(scheme) :] for m in mixins if m.startswith(scheme)), None)
