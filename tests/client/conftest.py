"""Fixtures of the client tests: real ``occi-server`` processes on loopback.

``server`` is a simulated cloud whose computes take a moment to change state
(so waiting is real) and whose page maximum is low (so listings page).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from e2e.server import RunningServer, occi_server

#: Computes take 0.2 s per transition; pages hold at most 100 entities; no quotas.
SIM_CONFIG = """
[limits]
max_page_size = 100

[backend_settings]
transition_seconds = 0.2
quotas = {computes = "unlimited", cores = "unlimited", memory = "unlimited"}
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """An occi-server shared by the module."""
    with occi_server(tmp_path_factory.mktemp("occi-server"), config=SIM_CONFIG) as running:
        yield running
