"""Choosing a category by a readable spec: exact names first, then titles, then parts."""

from __future__ import annotations

import pytest

from pyocci.client import InvalidInputError
from pyocci.client.matching import containing, listing, match
from pyocci.model import Kind, Mixin

OS = "http://example.org/os#"
SIZE = "http://example.org/size#"
DEBIAN = Mixin(scheme=OS, term="debian-12", title="Debian 12 (bookworm)", location="/os/debian-12/")
UBUNTU = Mixin(scheme=OS, term="ubuntu-24_04", title="Ubuntu 24.04", location="/os/u24/")
UBUNTU_OLD = Mixin(scheme=OS, term="ubuntu-22_04", title="Ubuntu 22.04", location="/os/u22/")
SMALL = Mixin(scheme=SIZE, term="small", title="Small instance", location="/size/small/")
MEM_SMALL = Mixin(
    scheme=SIZE, term="mem_small", title="Small instance with extra memory", location="/size/ms/"
)
COMPUTE = Kind(scheme="http://example.org/k#", term="compute", location="/compute/")
CANDIDATES = [DEBIAN, UBUNTU, UBUNTU_OLD, SMALL, MEM_SMALL, COMPUTE]


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (DEBIAN.id, DEBIAN),
        ("debian-12", DEBIAN),
        ("/os/u24/", UBUNTU),
        ("Small instance", SMALL),  # the exact title beats the longer one containing it
        ("small instance", SMALL),
        ("small", SMALL),  # the exact term beats mem_small containing it
        ("bookworm", DEBIAN),
        ("24.04", UBUNTU),
        ("EXTRA", MEM_SMALL),
        (" compute ", COMPUTE),
    ],
)
def test_a_spec_names_one_category(spec, expected):
    assert match(CANDIDATES, spec, "category") is expected


def test_several_at_the_same_step_are_refused_with_the_candidates():
    with pytest.raises(InvalidInputError) as raised:
        match(CANDIDATES, "ubuntu", "template")
    assert raised.value.message == (
        "'ubuntu' matches several templates: ubuntu-24_04 (Ubuntu 24.04), "
        "ubuntu-22_04 (Ubuntu 22.04); give one of these"
    )


def test_nothing_matching_lists_what_there_is():
    with pytest.raises(InvalidInputError, match=r"no kind or mixin matches 'windows'; the server"):
        match(CANDIDATES, "windows", "kind or mixin", "kinds or mixins")


def test_a_repeated_term_is_listed_by_its_identifier():
    legacy = Mixin(scheme="http://example.org/legacy#", term="small", location="/legacy/small/")
    assert listing([SMALL, legacy]) == (
        f"{SMALL.id} (Small instance), http://example.org/legacy#small"
    )
    with pytest.raises(InvalidInputError, match="several sizes"):
        match([SMALL, legacy], "small", "size")
    assert match([SMALL, legacy], legacy.id, "size") is legacy


def test_containing_ignores_case():
    assert containing(CANDIDATES, "SMALL") == [SMALL, MEM_SMALL]
