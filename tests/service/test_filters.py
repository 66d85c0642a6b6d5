"""Filters and category names read into the model's terms: identifiers, Category
fields, and attribute values typed as the collection's entities hold them."""

from __future__ import annotations

import pytest

from pyocci.model import standard_model
from pyocci.model.category import Kind, Mixin
from pyocci.model.registry import Model
from pyocci.rendering.errors import ParseError
from pyocci.service.errors import BadRequestError
from pyocci.service.filters import (
    coerce_filter_values,
    parse_category_identifiers,
    parse_filter_attributes,
    parse_filter_categories,
)

INFRA = "http://schemas.ogf.org/occi/infrastructure#"
COMPUTE = INFRA + "compute"
OS_TPL = INFRA + "os_tpl"


@pytest.fixture(scope="module")
def model() -> Model:
    return standard_model()


def compute(model: Model) -> Kind:
    kind = model.get(COMPUTE)
    assert isinstance(kind, Kind)
    return kind


def test_identifiers_name_categories_by_scheme_and_term() -> None:
    named = parse_category_identifiers(f" {COMPUTE}, ,http://example.org/tags#web ")
    assert [category.id for category in named] == [COMPUTE, "http://example.org/tags#web"]
    assert parse_category_identifiers("") == []


@pytest.mark.parametrize("identifier", ["compute", f"{INFRA}", "#compute"])
def test_an_identifier_without_scheme_or_term_is_refused_by_name(identifier: str) -> None:
    with pytest.raises(BadRequestError) as refused:
        parse_category_identifiers(f"{COMPUTE},{identifier}")
    assert repr(identifier) in refused.value.message
    assert "scheme#term" in refused.value.message


def test_category_fields_name_categories_of_their_class() -> None:
    fields = [
        (b"category", f'compute; scheme="{INFRA}"; class="kind"'.encode()),
        (b"accept", b"text/plain"),
    ]
    (named,) = parse_filter_categories(fields)
    assert isinstance(named, Kind)
    assert named.id == COMPUTE
    assert parse_filter_categories([(b"accept", b"text/plain")]) == []


def test_a_malformed_category_field_is_a_parse_error() -> None:
    with pytest.raises(ParseError):
        parse_filter_categories([(b"category", b'compute; scheme="x')])


def test_values_sent_as_text_take_the_types_the_kind_defines(model: Model) -> None:
    coerced = coerce_filter_values(
        model,
        compute(model),
        {
            "occi.compute.cores": "2",
            "occi.compute.memory": "1.5",
            "occi.core.title": "2",
            "org.example.undeclared": "2",
        },
    )
    assert coerced == {
        "occi.compute.cores": 2,
        "occi.compute.memory": 1.5,
        "occi.core.title": "2",
        "org.example.undeclared": "2",
    }


def test_a_value_that_does_not_convert_stays_as_sent(model: Model) -> None:
    assert coerce_filter_values(model, compute(model), {"occi.compute.cores": "many"}) == {
        "occi.compute.cores": "many"
    }


def test_legacy_attribute_names_are_brought_up_to_date(model: Model) -> None:
    coerced = coerce_filter_values(model, compute(model), {"occi.compute.user_data": "aGk="})
    assert coerced == {"occi.compute.userdata": "aGk="}
    # A mixin collection names no kind: names are brought up to date, values stay text.
    template = model.get(OS_TPL)
    assert isinstance(template, Mixin)
    coerced = coerce_filter_values(
        model, template, {"occi.compute.user_data": "aGk=", "occi.compute.cores": "2"}
    )
    assert coerced == {"occi.compute.userdata": "aGk=", "occi.compute.cores": "2"}


def test_no_filters_coerce_to_none(model: Model) -> None:
    assert coerce_filter_values(model, compute(model), {}) == {}


def test_attribute_fields_are_read_and_typed(model: Model) -> None:
    fields = [
        (b"x-occi-attribute", b'occi.compute.cores="4", occi.core.title="web"'),
        (b"x-occi-attribute", b"occi.compute.speed=2.5"),
    ]
    assert parse_filter_attributes(fields, model, compute(model)) == {
        "occi.compute.cores": 4,
        "occi.core.title": "web",
        "occi.compute.speed": 2.5,
    }
    with pytest.raises(ParseError):
        parse_filter_attributes(
            [(b"x-occi-attribute", b"occi.compute.cores=")], model, compute(model)
        )
