"""Errors raised by the model. Every pyocci error derives from `OcciError`."""

from __future__ import annotations

from collections.abc import Sequence


class OcciError(Exception):
    """Base class of the errors pyocci raises on purpose (bad input, conflicts...)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ValidationError(OcciError):
    """An entity, mixin or invocation does not conform to the model.

    `problems` lists each violation as a sentence that says what to fix.
    """

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))


class UnknownCategoryError(OcciError):
    """A document names a category the model does not know."""

    def __init__(self, identifier: str, expected: str = "category") -> None:
        super().__init__(f"unknown {expected} {identifier!r}")
        self.identifier = identifier


class CategoryConflictError(OcciError):
    """A category cannot be added: its identifier or location is taken, or it is malformed."""
