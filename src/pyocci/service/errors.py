"""Errors of the OCCI semantics: what the client asked for cannot be done as asked."""

from __future__ import annotations

from pyocci.model.errors import OcciError


class ServiceError(OcciError):
    """Base class; each subclass corresponds to one HTTP status."""


class BadRequestError(ServiceError):
    """The request is well-formed but wrong for OCCI (wrong kind, bad paging): 400."""


class NotFoundError(ServiceError):
    """No such path, entity or category for this tenant: 404."""


class ForbiddenError(ServiceError):
    """Not allowed for anyone (remove a provider mixin): 403."""


class MethodNotAllowedError(ServiceError):
    """The method is undefined for this path: 405, with the methods that are."""

    def __init__(self, message: str, allowed: tuple[str, ...]) -> None:
        super().__init__(message)
        self.allowed = allowed


class PageTooLargeError(ServiceError):
    """A page asks for more entities than the server hands out at once: 413."""


class StateConflictError(ServiceError):
    """The entity's state does not allow the action now, or a category is ambiguous: 409."""
