"""The standard model: OCCI Core, Infrastructure, the EGI extensions and pyocci's image
export together."""

from __future__ import annotations

from pyocci.model.core import CORE_KINDS
from pyocci.model.export import (
    EXPORT_ACTIONS,
    EXPORT_KINDS,
    EXPORT_MIXINS,
    EXPORT_STATE_MACHINES,
)
from pyocci.model.extensions import (
    EXTENSION_ACTIONS,
    EXTENSION_KINDS,
    EXTENSION_MIXINS,
    EXTENSION_STATE_MACHINES,
    LEGACY_ATTRIBUTE_NAMES,
)
from pyocci.model.infrastructure import (
    INFRASTRUCTURE_ACTIONS,
    INFRASTRUCTURE_KINDS,
    INFRASTRUCTURE_MIXINS,
    INFRASTRUCTURE_STATE_MACHINES,
)
from pyocci.model.registry import Model


def standard_model() -> Model:
    """A new Model holding every standard category, its state machines and legacy names.

    Each call builds a fresh registry, so callers may add provider templates
    or lay user mixins over it without affecting anyone else.
    """
    return Model(
        [
            *CORE_KINDS,
            *INFRASTRUCTURE_KINDS,
            *EXTENSION_KINDS,
            *EXPORT_KINDS,
            *INFRASTRUCTURE_MIXINS,
            *EXTENSION_MIXINS,
            *EXPORT_MIXINS,
            *INFRASTRUCTURE_ACTIONS,
            *EXTENSION_ACTIONS,
            *EXPORT_ACTIONS,
        ],
        state_machines={
            **INFRASTRUCTURE_STATE_MACHINES,
            **EXTENSION_STATE_MACHINES,
            **EXPORT_STATE_MACHINES,
        },
        legacy_attribute_names=LEGACY_ATTRIBUTE_NAMES,
    )
