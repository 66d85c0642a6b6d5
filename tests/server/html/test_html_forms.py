"""Reading the HTML view's forms, and the entities and invocations they describe."""

from __future__ import annotations

import pytest

from pyocci.model.entity import Link, Resource
from pyocci.model.infrastructure import COMPUTE, STORAGELINK
from pyocci.model.standard import standard_model
from pyocci.server.html.forms import (
    FORM_MEDIA_TYPE,
    MAX_FIELDS,
    Form,
    invocation_of,
    link_of,
    read_form,
    resource_of,
)
from pyocci.server.responses import HttpError
from pyocci.service.errors import BadRequestError

STOP = "http://schemas.ogf.org/occi/infrastructure/compute/action#stop"


def test_a_form_is_read_in_order_with_repeated_names() -> None:
    form = read_form(
        FORM_MEDIA_TYPE + "; charset=UTF-8",
        b"csrf=t&mixin=a&mixin=&mixin=b&attribute%3Aocci.core.title=caf%C3%A9+%3Cb%3E&x=",
    )
    assert form.csrf_token == "t"
    assert form.values("mixin") == ["a", "b"]
    assert form.attributes() == {"occi.core.title": "café <b>"}
    assert form.get("x") == "" and form.get("missing") is None


@pytest.mark.parametrize("content_type", [None, "multipart/form-data; boundary=x", "text/plain"])
def test_only_forms_are_read(content_type: str | None) -> None:
    with pytest.raises(HttpError) as refused:
        read_form(content_type, b"a=b")
    assert refused.value.status == 415


def test_bad_forms_are_400() -> None:
    with pytest.raises(BadRequestError, match="not UTF-8"):
        read_form(FORM_MEDIA_TYPE, b"a=\xff")
    with pytest.raises(BadRequestError, match=f"more than {MAX_FIELDS} fields"):
        read_form(FORM_MEDIA_TYPE, "&".join(["a=b"] * (MAX_FIELDS + 1)).encode())


def test_a_missing_field_is_named() -> None:
    with pytest.raises(BadRequestError, match="the form has no target"):
        Form((("target", "  "),)).require("target")


def test_a_create_form_becomes_a_typed_resource() -> None:
    form = Form(
        (
            ("mixin", "http://example.org/os#debian"),
            ("attribute:occi.compute.cores", "2"),
            ("attribute:occi.compute.memory", "1.5"),
            ("attribute:occi.compute.hostname", ""),
            ("attribute:occi.core.title", " web "),
        )
    )
    resource = resource_of(standard_model(), COMPUTE, form)
    assert isinstance(resource, Resource)
    assert resource.kind == COMPUTE.id
    assert resource.mixins == ["http://example.org/os#debian"]
    assert resource.attributes == {
        "occi.compute.cores": 2,
        "occi.compute.memory": 1.5,
        "occi.core.title": "web",
    }


def test_a_link_form_becomes_a_link_from_the_entity() -> None:
    form = Form((("target", "/storage/s1"), ("attribute:occi.storagelink.mountpoint", "/data")))
    link = link_of(standard_model(), STORAGELINK, "/compute/c1", form)
    assert isinstance(link, Link)
    assert (link.kind, link.source, link.target) == (STORAGELINK.id, "/compute/c1", "/storage/s1")
    assert link.attributes["occi.storagelink.mountpoint"] == "/data"


def test_an_action_form_becomes_an_invocation() -> None:
    invocation = invocation_of(standard_model(), STOP, Form((("attribute:method", "graceful"),)))
    assert invocation.action == STOP
    assert invocation.attributes == {"method": "graceful"}
    assert invocation_of(standard_model(), STOP, Form(())).attributes == {}
