"""The OCCI service over the in-memory reference backend, driven without HTTP.

One service (and one in-memory store) serves every test here; each test
acts for a tenant of its own, so no test sees another's entities or user
mixins, and none pays for building the service again.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from service_driver import MAX_PAGE_SIZE, ServiceDriver, memory_service, new_tenant

from pyocci.service.occi import OcciService
from pyocci.store import Database


@pytest.fixture(scope="session")
def occi_service() -> Iterator[OcciService]:
    """The service as the server builds it, over the memory backend, for every test that asks."""
    database = Database("sqlite:///:memory:")
    database.upgrade()
    service = memory_service(
        database,
        max_page_size=MAX_PAGE_SIZE,
        # Small batches: listings of a few entities come in several of them.
        batch_size=2,
    )
    try:
        yield service
    finally:
        database.dispose()


@pytest.fixture
def occi(occi_service: OcciService) -> ServiceDriver:
    """The service, for a tenant of this test's own."""
    return ServiceDriver(occi_service, new_tenant())


@pytest.fixture
def other_occi(occi_service: OcciService) -> ServiceDriver:
    """The same service, for a second tenant of this test's own."""
    return ServiceDriver(occi_service, new_tenant())
