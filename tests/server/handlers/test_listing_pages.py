"""Paging a listing: ``?page=&number=`` read, and the Link header of a page."""

from __future__ import annotations

import pytest

from pyocci.backends.api import Tenant
from pyocci.model import standard_model
from pyocci.rendering import codec_for
from pyocci.server.handlers.exchange import Exchange
from pyocci.server.handlers.listings import MAX_PAGE_INDEX, page_links, page_request
from pyocci.server.origins import Origins
from pyocci.server.responses import OCCI_1_2
from pyocci.service.errors import BadRequestError
from pyocci.service.occi import PageRequest


def test_no_paging_asked_is_the_whole_listing() -> None:
    assert page_request({}) is None
    assert page_request({"action": "start"}) is None


def test_a_page_is_its_index_and_size() -> None:
    assert page_request({"page": "3", "number": "25"}) == PageRequest(3, 25)
    assert page_request({"page": str(MAX_PAGE_INDEX), "number": "1"}) == PageRequest(
        MAX_PAGE_INDEX, 1
    )


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ({"page": "1"}, "both page="),
        ({"number": "1"}, "both page="),
        ({"page": "0", "number": "5"}, "whole numbers from 1"),
        ({"page": "1", "number": "-5"}, "whole numbers from 1"),
        ({"page": "x", "number": "5"}, "whole numbers from 1"),
        ({"page": "\u0661", "number": "5"}, "whole numbers from 1"),
        ({"page": "9" * 19, "number": "5"}, "whole numbers from 1"),
        ({"page": str(MAX_PAGE_INDEX + 1), "number": "5"}, "past the last page"),
    ],
)
def test_a_page_that_cannot_be_is_refused_saying_why(query: dict[str, str], words: str) -> None:
    with pytest.raises(BadRequestError) as refused:
        page_request(query)
    assert words in refused.value.message


def exchange(path: str) -> Exchange:
    scope = {"type": "http", "scheme": "https", "path": path, "headers": [(b"host", b"h")]}
    codec = codec_for("text/uri-list")
    assert codec is not None
    return Exchange(
        "GET",
        path,
        {"host": "h"},
        {},
        b"",
        Tenant("default"),
        standard_model(),
        codec,
        OCCI_1_2,
        scope,
        Origins(),
    )


def test_a_page_links_first_previous_next_and_last() -> None:
    links = page_links(exchange("/compute/"), PageRequest(2, 10), 35).split(", ")
    assert links == [
        '<https://h/compute/?page=1&number=10>; rel="first"',
        '<https://h/compute/?page=1&number=10>; rel="prev"',
        '<https://h/compute/?page=3&number=10>; rel="next"',
        '<https://h/compute/?page=4&number=10>; rel="last"',
    ]


def test_the_last_page_has_no_next_and_an_unknown_total_no_last() -> None:
    last = page_links(exchange("/compute/"), PageRequest(4, 10), 35)
    assert 'rel="next"' not in last
    assert '<https://h/compute/?page=4&number=10>; rel="last"' in last
    unknown = page_links(exchange("/compute/"), PageRequest(1, 10), None)
    assert unknown == (
        '<https://h/compute/?page=1&number=10>; rel="first", '
        '<https://h/compute/?page=2&number=10>; rel="next"'
    )
    # An empty collection still has a first and a last page.
    empty = page_links(exchange("/compute/"), PageRequest(1, 10), 0)
    assert empty.endswith('<https://h/compute/?page=1&number=10>; rel="last"')
    assert page_links(exchange("/compute/"), None, 35) == ""
