"""Sizes as clouds allocate them: volumes in whole GiB (EBS, Cinder)."""

from __future__ import annotations

import math
from typing import Any

from pyocci.backends.errors import InvalidRequestError


def whole_gib(value: Any, name: str = "occi.storage.size") -> int:
    """A size in GiB rounded up to the whole GiB the cloud allocates (0.1 -> 1): the
    entity then shows what it got. InvalidRequestError unless a positive number."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise InvalidRequestError(f"{name} must be a positive number of GiB; got {value!r}")
    if math.isinf(value):
        raise InvalidRequestError(f"{name} must be a finite number of GiB; got {value!r}")
    return math.ceil(value)
