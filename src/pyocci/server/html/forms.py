"""The HTML view's form posts: read as ``application/x-www-form-urlencoded``, turned into
the entities and invocations the service takes from every other rendering.

Only the HTML view reads forms: a request that did not ask for HTML (an
OCCI client) and sends a form gets the 415 it always got.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl

from pyocci.model.category import Kind
from pyocci.model.entity import CORE_SOURCE, CORE_TARGET, ActionInvocation, Link, Resource
from pyocci.model.registry import Model
from pyocci.rendering.html import ATTRIBUTE_FIELD, CSRF_FIELD
from pyocci.rendering.negotiation import media_type_of
from pyocci.server.responses import HttpError
from pyocci.service.errors import BadRequestError

FORM_MEDIA_TYPE = "application/x-www-form-urlencoded"
#: The most fields a form post may carry: the view's largest form has a few dozen.
MAX_FIELDS = 200


@dataclass(frozen=True, slots=True)
class Form:
    """The fields of a form post, in the order sent (a name may repeat)."""

    fields: tuple[tuple[str, str], ...]

    def get(self, name: str) -> str | None:
        """The first value of a field, None when it was not sent."""
        return next((value for key, value in self.fields if key == name), None)

    def require(self, name: str) -> str:
        """The first non-empty value of a field; BadRequestError naming it when missing."""
        value = (self.get(name) or "").strip()
        if not value:
            raise BadRequestError(f"the form has no {name}; fill it in and send it again")
        return value

    def values(self, name: str) -> list[str]:
        """Every non-empty value of a field."""
        return [value.strip() for key, value in self.fields if key == name and value.strip()]

    @property
    def csrf_token(self) -> str | None:
        """The CSRF token the form carries."""
        return self.get(CSRF_FIELD)

    def attributes(self) -> dict[str, str]:
        """The attribute fields (``attribute:<name>``) that were filled in."""
        found: dict[str, str] = {}
        for key, value in self.fields:
            if key.startswith(ATTRIBUTE_FIELD) and value.strip():
                found[key[len(ATTRIBUTE_FIELD) :]] = value.strip()
        return found


def read_form(content_type: str | None, body: bytes) -> Form:
    """The form a post carries; 415 for any other body, 400 for a malformed one."""
    if media_type_of(content_type) != FORM_MEDIA_TYPE:
        raise HttpError(
            415,
            f"the HTML view reads forms ({FORM_MEDIA_TYPE}), not {content_type or 'nothing'}; "
            "OCCI clients send their documents with an OCCI Accept type",
        )
    try:
        text = body.decode("utf-8")
        fields = parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FIELDS)
    except UnicodeDecodeError:
        raise BadRequestError("the form is not UTF-8; send it from this server's pages") from None
    except ValueError:
        raise BadRequestError(f"the form has more than {MAX_FIELDS} fields") from None
    return Form(tuple(fields))


def resource_of(model: Model, kind: Kind, form: Form) -> Resource:
    """The resource a create form describes: its kind, the templates and mixins picked,
    the attributes filled in (brought to their types as any rendering's are)."""
    resource = Resource(kind=kind.id, mixins=form.values("mixin"), attributes=form.attributes())
    model.coerce(resource)
    return resource


def link_of(model: Model, kind: Kind, source: str, form: Form) -> Link:
    """The link a link form describes, from the entity at `source`."""
    attributes: dict[str, object] = dict(form.attributes())
    attributes[CORE_SOURCE] = source
    attributes[CORE_TARGET] = form.require("target")
    link = Link(kind=kind.id, attributes=attributes)
    model.coerce(link)
    return link


def invocation_of(model: Model, action_id: str, form: Form) -> ActionInvocation:
    """The invocation an action form describes: the action and the parameters filled in."""
    attributes = model.coerce_invocation_attributes(action_id, dict(form.attributes()))
    return ActionInvocation(action=action_id, attributes=attributes)
