"""The open-files limit and the connections a worker may hold under it."""

from __future__ import annotations

import resource
from collections.abc import Iterator

import pytest

from pyocci.server.open_files import RESERVED_FILES, connection_cap, raise_open_files_limit


@pytest.fixture
def limit() -> Iterator[tuple[int, int]]:
    """This process's open-files limit, restored after the test."""
    before = resource.getrlimit(resource.RLIMIT_NOFILE)
    yield before
    resource.setrlimit(resource.RLIMIT_NOFILE, before)


def test_the_cap_keeps_room_for_the_rest(limit: tuple[int, int]) -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (RESERVED_FILES + 100, limit[1]))
    assert connection_cap(1000) == 100
    assert connection_cap(50) == 50


def test_the_soft_limit_is_raised_as_far_as_needed(limit: tuple[int, int]) -> None:
    hard = limit[1]
    if hard != resource.RLIM_INFINITY and hard < RESERVED_FILES + 600:
        pytest.skip(f"the hard open-files limit ({hard}) is too low to raise")
    resource.setrlimit(resource.RLIMIT_NOFILE, (RESERVED_FILES + 100, hard))
    assert raise_open_files_limit(500) == 500
    assert resource.getrlimit(resource.RLIMIT_NOFILE)[0] == RESERVED_FILES + 500


def test_past_the_hard_limit_the_cap_is_lowered(limit: tuple[int, int]) -> None:
    hard = limit[1]
    if hard == resource.RLIM_INFINITY:
        pytest.skip("no hard open-files limit")
    assert raise_open_files_limit(hard + 1000) == hard - RESERVED_FILES
    assert resource.getrlimit(resource.RLIMIT_NOFILE)[0] == hard
