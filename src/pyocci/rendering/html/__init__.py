"""The HTML view: pages a person reads in a browser (text/html), from Jinja2 templates.

Unlike the OCCI renderings, HTML is not a codec: no client sends it back.
A page shows the same model objects the other renderings carry (the query
interface, one page of a collection, one entity with its links) and forms
that post back to the same URLs (see `pyocci.server.html`). The templates
are package data under ``templates/``; everything they show is escaped.
"""

from pyocci.rendering.html.pages import (
    ATTRIBUTE_FIELD,
    CSRF_FIELD,
    ActionForm,
    Choice,
    EntityRow,
    Field,
    Frame,
    LinkChoice,
    ListingFilters,
    Paging,
    TemplatePicker,
    action_form,
    attribute_field,
    creatable_kind,
    creation_fields,
    entity_row,
    render_create,
    render_delete,
    render_entity,
    render_error,
    render_listing,
    render_query_interface,
    template_pickers,
)

__all__ = [
    "ATTRIBUTE_FIELD",
    "CSRF_FIELD",
    "ActionForm",
    "Choice",
    "EntityRow",
    "Field",
    "Frame",
    "LinkChoice",
    "ListingFilters",
    "Paging",
    "TemplatePicker",
    "action_form",
    "attribute_field",
    "creatable_kind",
    "creation_fields",
    "entity_row",
    "render_create",
    "render_delete",
    "render_entity",
    "render_error",
    "render_listing",
    "render_query_interface",
    "template_pickers",
]
