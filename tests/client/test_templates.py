"""Choosing templates by a readable spec and by size constraints."""

from __future__ import annotations

import pytest

from pyocci.client import InvalidInputError
from pyocci.client.discovery import model_of
from pyocci.client.templates import match, smallest, templates
from pyocci.model import Mixin
from pyocci.model.extensions import crtp_templates, resource_template
from pyocci.model.infrastructure import OS_TPL, RESOURCE_TPL

IMAGES = "http://example.org/images#"


def image(term: str, title: str) -> Mixin:
    return Mixin(scheme=IMAGES, term=term, title=title, depends=(OS_TPL.id,))


@pytest.fixture
def model():
    return model_of(
        [
            OS_TPL,
            RESOURCE_TPL,
            image("ubuntu-24.04", "Ubuntu 24.04 LTS"),
            image("ubuntu-22.04", "Ubuntu 22.04 LTS"),
            image("debian-12", "Debian 12 (bookworm)"),
            image("rocky", "Rocky Linux 9 with Ubuntu tools"),
            *crtp_templates(),
        ]
    )


def test_templates_are_split_into_os_and_resource(model):
    assert [t.term for t in templates(model, "os")] == [
        "ubuntu-24.04",
        "ubuntu-22.04",
        "debian-12",
        "rocky",
    ]
    sizes = {t.term: (t.cores, t.memory) for t in templates(model, "resource")}
    assert sizes["small"] == (1, 1.0)
    assert sizes["mem_large"] == (4, 16.0)


def test_an_unknown_template_kind_is_refused(model):
    with pytest.raises(InvalidInputError, match="use os or resource"):
        templates(model, "flavour")


@pytest.mark.parametrize(
    ("spec", "term"),
    [
        ("debian", "debian-12"),
        ("BOOKWORM", "debian-12"),
        ("ubuntu-22.04", "ubuntu-22.04"),
        (IMAGES + "rocky", "rocky"),
    ],
)
def test_a_spec_matches_term_title_or_id(model, spec, term):
    assert match(templates(model, "os"), spec, "OS template").term == term


def test_an_exact_term_wins_over_substrings(model):
    model.add(image("debian", "Debian testing"))
    # "debian" is in debian-12's term too, but a spec that is a term names that template.
    assert match(templates(model, "os"), "debian", "OS template").term == "debian"
    with pytest.raises(InvalidInputError, match="matches several"):
        match(templates(model, "os"), "Debian", "OS template")


def test_an_ambiguous_spec_lists_the_candidates(model):
    with pytest.raises(InvalidInputError) as raised:
        match(templates(model, "os"), "ubuntu", "OS template")
    message = raised.value.message
    assert "matches several OS templates" in message
    assert "ubuntu-24.04" in message and "ubuntu-22.04" in message and "rocky" in message


def test_no_match_lists_what_there_is(model):
    with pytest.raises(InvalidInputError, match=r"the server offers: .*debian-12"):
        match(templates(model, "os"), "windows", "OS template")


@pytest.mark.parametrize(
    ("cores", "memory", "term"),
    [
        (None, None, "small"),
        (2, None, "medium"),
        (1, 4, "mem_small"),
        (2, 3, "mem_medium"),
        (3, None, "large"),
        (None, 10, "mem_large"),
    ],
)
def test_constraints_pick_the_smallest_template_that_fits(model, cores, memory, term):
    assert smallest(templates(model, "resource"), cores=cores, memory=memory).term == term


def test_constraints_nothing_fits(model):
    with pytest.raises(InvalidInputError, match="no resource template has 8 cores and 64 GiB"):
        smallest(templates(model, "resource"), cores=8, memory=64)


def test_templates_without_sizes_cannot_be_chosen_by_size():
    unsized = Mixin(scheme=IMAGES, term="big", depends=(RESOURCE_TPL.id,))
    model = model_of([RESOURCE_TPL, unsized, resource_template(IMAGES, "sized", cores=2, memory=2)])
    assert smallest(templates(model, "resource"), cores=2).term == "sized"
    with pytest.raises(InvalidInputError, match="does not publish the sizes"):
        smallest([t for t in templates(model, "resource") if t.term == "big"], cores=1)
