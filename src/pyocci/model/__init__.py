"""The OCCI 1.2 model: categories, entities, the standard declarations and the registry.

Pure data and rules: no I/O, no HTTP, no SQL.
"""

from pyocci.model.attribute import AttributeDefinition, AttributeType
from pyocci.model.category import (
    TERM_PATTERN,
    Action,
    Category,
    Kind,
    Mixin,
    attribute_map,
    split_identifier,
)
from pyocci.model.entity import ActionInvocation, Entity, Link, Resource
from pyocci.model.errors import (
    CategoryConflictError,
    OcciError,
    UnknownCategoryError,
    ValidationError,
)
from pyocci.model.registry import Model, normalize_location
from pyocci.model.standard import standard_model
from pyocci.model.states import StateMachine

__all__ = [
    "TERM_PATTERN",
    "Action",
    "ActionInvocation",
    "AttributeDefinition",
    "AttributeType",
    "Category",
    "CategoryConflictError",
    "Entity",
    "Kind",
    "Link",
    "Mixin",
    "Model",
    "OcciError",
    "Resource",
    "StateMachine",
    "UnknownCategoryError",
    "ValidationError",
    "attribute_map",
    "normalize_location",
    "split_identifier",
    "standard_model",
]
