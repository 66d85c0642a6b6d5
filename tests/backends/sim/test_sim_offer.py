"""What the sim offers: capabilities, provider mixins, and nothing it cannot do."""

from __future__ import annotations

import pytest
from sim_helpers import (
    COMPUTE,
    INFRA,
    IPRESERVATION,
    NETWORK,
    NETWORKINTERFACE,
    POOL,
    SECURITYGROUP,
    SECURITYGROUPLINK,
    STORAGE,
    STORAGELINK,
    ZONE,
)

from pyocci.backends.api import Backend
from pyocci.backends.sim import SimBackend
from pyocci.model import standard_model
from pyocci.model.extensions import (
    AVAILABILITY_ZONE,
    FLOATINGIPPOOL,
    OPENSTACK_PUBLIC_KEY,
    OPENSTACK_USER_DATA,
    REGION,
)
from pyocci.model.infrastructure import (
    IPNETWORK,
    IPNETWORKINTERFACE,
    OS_TPL,
    RESOURCE_TPL,
    SSH_KEY,
    USER_DATA,
)

pytestmark = pytest.mark.anyio


def test_it_implements_the_whole_backend_interface():
    abstract = {
        name
        for name in dir(Backend)
        if getattr(getattr(Backend, name), "__isabstractmethod__", False)
    }
    assert abstract
    for name in abstract:
        assert not getattr(getattr(SimBackend, name), "__isabstractmethod__", False), name
    assert SimBackend.name == "sim"


def test_capabilities(backend):
    capabilities = backend.capabilities
    assert capabilities.kinds == {
        COMPUTE,
        STORAGE,
        NETWORK,
        NETWORKINTERFACE,
        STORAGELINK,
        SECURITYGROUP,
        SECURITYGROUPLINK,
        IPRESERVATION,
    }
    model = standard_model()
    for kind in capabilities.kinds:
        for action in model.declared_actions(kind):
            assert capabilities.supports_action(action), action
    assert len(capabilities.actions) == 18
    assert capabilities.mixins == {
        OS_TPL.id,
        RESOURCE_TPL.id,
        USER_DATA.id,
        SSH_KEY.id,
        OPENSTACK_USER_DATA.id,
        OPENSTACK_PUBLIC_KEY.id,
        IPNETWORK.id,
        IPNETWORKINTERFACE.id,
        AVAILABILITY_ZONE.id,
        FLOATINGIPPOOL.id,
    }
    # Nothing the sim does not do: no regions, no EGI tags, no core kinds.
    assert REGION.id not in capabilities.mixins
    assert INFRA + "region" not in capabilities.kinds
    assert "http://schemas.ogf.org/occi/core#resource" not in capabilities.kinds


async def test_provider_mixins(backend, tenant):
    mixins = await backend.provider_mixins(tenant)
    model = standard_model()
    images = [m for m in mixins if model.get(m.id) is None and OS_TPL.id in m.depends]
    templates = [m for m in mixins if RESOURCE_TPL.id in m.depends]
    assert len(images) == 6 and len(templates) == 6
    assert {m.id for m in mixins} >= {ZONE, POOL, "http://schemas.pyocci.org/sim#storage_history"}
    zone = next(m for m in mixins if m.id == ZONE)
    assert zone.depends == (AVAILABILITY_ZONE.id,)
    pool = next(m for m in mixins if m.id == POOL)
    assert pool.depends == (FLOATINGIPPOOL.id,)
    locations = [m.location for m in mixins]
    assert len(set(locations)) == len(locations)
    # The service can lay them over the standard model without a clash.
    from pyocci.model import Model

    Model(mixins, base=model)


async def test_configured_images_and_templates_are_offered(make_backend, tenant):
    from pyocci.backends.sim import SimSettings

    backend = make_backend(
        SimSettings.from_dict(
            {
                "images": ["alpine"],
                "resource_templates": [{"term": "tiny", "cores": 1, "memory": 1}],
                "default_resource_template": "tiny",
                "availability_zones": ["a", "b"],
            }
        )
    )
    terms = [m.term for m in await backend.provider_mixins(tenant)]
    assert terms == ["alpine", "tiny", "a", "b", "public", "storage_history"]
