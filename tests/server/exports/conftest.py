"""The export target tests: those against a real Glance are marked ``openstack`` (CI runs
them in its OpenStack stage), which this directory registers when run alone."""

from __future__ import annotations

import pytest

from novafixture import OPENSTACK_MARKER


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", OPENSTACK_MARKER)
