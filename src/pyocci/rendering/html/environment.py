"""The Jinja2 environment of the HTML view: packaged templates, escaping, filters.

Every value a page shows may come from a client (an entity's title, an
attribute, a link's target): autoescaping is on for every template, and
the filters here never mark text safe. The stylesheet is inlined in each
page; `STYLE_HASH` lets the Content-Security-Policy allow exactly it, so
the pages need no inline script or style exception.
"""

from __future__ import annotations

import base64
import hashlib
import json
from importlib import resources
from typing import Any

import jinja2

#: The stylesheet every page carries inline.
STYLE = resources.files(__package__).joinpath("style.css").read_text(encoding="utf-8")
#: Its CSP source expression (``style-src 'sha256-...'``).
STYLE_HASH = "'sha256-" + base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode() + "'"


def show(value: Any) -> str:
    """An attribute value as text: JSON's spelling for booleans, lists and objects."""
    if value is None:
        return ""
    if isinstance(value, bool | list | dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def term(identifier: str | None) -> str:
    """The term of a category identifier (what follows the last ``#``)."""
    if not identifier:
        return ""
    return identifier.rpartition("#")[2]


def href(location: Any) -> str | None:
    """A location that can be linked to: a path on this server, or an http(s) URL.
    Anything else (``javascript:`` in a link's target, say) is shown, never linked."""
    if not isinstance(location, str):
        return None
    if location.startswith("/") and not location.startswith("//"):
        return location
    if location.lower().startswith(("http://", "https://")):
        return location
    return None


def build_environment() -> jinja2.Environment:
    """The environment every page is rendered with."""
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader(__package__, "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters.update(show=show, term=term, href=href)
    environment.globals["style"] = STYLE
    return environment


ENVIRONMENT = build_environment()
