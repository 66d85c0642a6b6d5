"""Errors of the renderings: what was wrong in a document, and where."""

from __future__ import annotations

from pyocci.model.errors import OcciError


class ParseError(OcciError):
    """A document could not be read.

    `media_type` is the rendering being parsed, `where` points at the problem
    in a form a person can find: ``line 3``, ``header Category #2``, or a JSON
    pointer such as ``/resources/0/kind``. The message says what to fix.
    """

    def __init__(self, message: str, *, media_type: str, where: str | None = None) -> None:
        located = f"{message} (at {where})" if where else message
        super().__init__(f"{media_type}: {located}")
        self.reason = message
        self.media_type = media_type
        self.where = where


class UnsupportedDocumentError(OcciError):
    """The media type cannot carry this kind of document (e.g. a resource as text/uri-list)."""

    def __init__(self, media_type: str, document: str) -> None:
        super().__init__(f"{media_type} cannot carry {document}; ask for another media type")
        self.media_type = media_type
        self.document = document
