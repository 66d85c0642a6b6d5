"""The EGI / OpenStack extensions that OCCI clients in the field expect, as data.

None of these is in an OGF document (several nevertheless use the reserved
``schemas.ogf.org`` base, as rOCCI and OOI do; we keep their identifiers so
existing clients work). Sources: rOCCI-core ``infrastructure_ext``, OOI,
GFD.222 (CRTP) for the resource templates.
"""

from __future__ import annotations

from pyocci.model.attribute import AttributeDefinition, AttributeType
from pyocci.model.category import Action, Kind, Mixin, attribute_map
from pyocci.model.core import LINK, RESOURCE
from pyocci.model.infrastructure import (
    COMPUTE,
    INFRA,
    LINK_STATES,
    NETWORK,
    NETWORKINTERFACE,
    OS_TPL,
    RESOURCE_TPL,
    STORAGE,
    STORAGELINK,
    state_attribute,
    state_message_attribute,
)
from pyocci.model.states import StateMachine

IPRESERVATION_ACTION = "http://schemas.ogf.org/occi/infrastructure/ipreservation/action#"
CRTP_SCHEME = "http://schemas.ogf.org/occi/infrastructure/compute/template/1.1#"
OPENSTACK_USER_DATA_SCHEME = "http://schemas.openstack.org/compute/instance#"
OPENSTACK_CREDENTIALS_SCHEME = "http://schemas.openstack.org/instance/credentials#"
EGI_NETWORK_SCHEME = "http://schemas.fedcloud.egi.eu/occi/infrastructure/network#"
EGI_COMPUTE_SCHEME = "http://schemas.fedcloud.egi.eu/occi/infrastructure/compute#"


# --- security groups -----------------------------------------------------------

SECURITYGROUP = Kind(
    scheme=INFRA,
    term="securitygroup",
    title="Security Group Resource",
    parent=RESOURCE.id,
    location="/securitygroup/",
    attributes=attribute_map(
        [
            AttributeDefinition(
                name="occi.securitygroup.rules",
                type=AttributeType.LIST,
                required=True,
                description=(
                    "Rules as objects with type (inbound|outbound), protocol, "
                    "port ('22' or '8000-8080'), range (CIDR) and ipversion (IPv4|IPv6)"
                ),
            ),
            state_attribute("occi.securitygroup.state", LINK_STATES, "inactive"),
            state_message_attribute("occi.securitygroup.state.message"),
        ]
    ),
)

SECURITYGROUPLINK = Kind(
    scheme=INFRA,
    term="securitygrouplink",
    title="Security Group Link",
    parent=LINK.id,
    location="/securitygrouplink/",
    attributes=attribute_map(
        [
            state_attribute("occi.securitygrouplink.state", LINK_STATES, "inactive"),
            state_message_attribute("occi.securitygrouplink.state.message"),
        ]
    ),
)

# --- public IPs ------------------------------------------------------------------

IPRESERVATION_UP = Action(
    scheme=IPRESERVATION_ACTION, term="up", title="Activate the IP reservation"
)
IPRESERVATION_DOWN = Action(
    scheme=IPRESERVATION_ACTION, term="down", title="Deactivate the IP reservation"
)

IPRESERVATION = Kind(
    scheme=INFRA,
    term="ipreservation",
    title="IP Reservation (public IP address)",
    parent=NETWORK.id,
    location="/ipreservation/",
    actions=(IPRESERVATION_UP.id, IPRESERVATION_DOWN.id),
    attributes=attribute_map(
        [
            AttributeDefinition(
                name="occi.ipreservation.address", description="Reserved IP address"
            ),
            AttributeDefinition(
                name="occi.ipreservation.used",
                type=AttributeType.BOOLEAN,
                mutable=False,
                default=False,
                description="Whether the address is associated with an interface",
            ),
            state_attribute("occi.ipreservation.state", LINK_STATES, "inactive"),
            state_message_attribute("occi.ipreservation.state.message"),
        ]
    ),
)

IPRESERVATION_STATE_MACHINE = StateMachine(
    attribute="occi.ipreservation.state",
    initial="inactive",
    transitions={
        IPRESERVATION_UP.id: {"inactive": "active"},
        IPRESERVATION_DOWN.id: {"active": "inactive"},
    },
)

FLOATINGIPPOOL = Mixin(
    scheme="http://schemas.openstack.org/network#",
    term="floatingippool",
    title="Floating IP pool",
    # rOCCI applies pools to ipreservation, OOI to networkinterface.
    applies=(IPRESERVATION.id, NETWORKINTERFACE.id),
    location="/mixin/floatingippool/",
)

# --- placement -------------------------------------------------------------------

_PLACEABLE = (
    COMPUTE.id,
    STORAGE.id,
    NETWORK.id,
    SECURITYGROUP.id,
    IPRESERVATION.id,
    NETWORKINTERFACE.id,
    STORAGELINK.id,
    SECURITYGROUPLINK.id,
)

AVAILABILITY_ZONE = Mixin(
    scheme=INFRA,
    term="availability_zone",
    title="Availability zone",
    applies=_PLACEABLE,
    location="/mixin/availability_zone/",
)

REGION = Mixin(
    scheme=INFRA,
    term="region",
    title="Region",
    applies=_PLACEABLE,
    location="/mixin/region/",
)

# --- legacy contextualization (rOCCI-cli 4, OCCI-OS, OOI) --------------------------

OPENSTACK_USER_DATA = Mixin(
    scheme=OPENSTACK_USER_DATA_SCHEME,
    term="user_data",
    title="OpenStack contextualization (legacy)",
    applies=(COMPUTE.id,),
    location="/mixin/openstack/user_data/",
    attributes=attribute_map(
        [
            AttributeDefinition(
                name="org.openstack.compute.user_data",
                required=True,
                description="Contextualization data (base64)",
            )
        ]
    ),
)

OPENSTACK_PUBLIC_KEY = Mixin(
    scheme=OPENSTACK_CREDENTIALS_SCHEME,
    term="public_key",
    title="OpenStack SSH public key (legacy)",
    applies=(COMPUTE.id,),
    location="/mixin/openstack/public_key/",
    attributes=attribute_map(
        [
            AttributeDefinition(name="org.openstack.credentials.publickey.name"),
            AttributeDefinition(
                name="org.openstack.credentials.publickey.data",
                required=True,
                description="Contents of the SSH public key file",
            ),
        ]
    ),
)

#: Attribute names other implementations send for the 1.2 ones (OOI reads
#: these on create; it also misspells ``credentials``).
LEGACY_ATTRIBUTE_NAMES = {
    "occi.compute.user_data": "occi.compute.userdata",
    "occi.credentials.ssh_key": "occi.credentials.ssh.publickey",
    "occi.crendentials.ssh.publickey": "occi.credentials.ssh.publickey",
}

# --- EGI network tags ------------------------------------------------------------


def _network_tag(term: str, title: str) -> Mixin:
    return Mixin(
        scheme=EGI_NETWORK_SCHEME,
        term=term,
        title=title,
        applies=(NETWORK.id,),
        location=f"/mixin/network/{term}/",
    )


PUBLIC_NET = _network_tag("public_net", "Public network")
PRIVATE_NET = _network_tag("private_net", "Private network")
NAT_NET = _network_tag("nat_net", "NATed network")

DEFAULT_CONNECTIVITY = Mixin(
    scheme=EGI_COMPUTE_SCHEME,
    term="default_connectivity",
    title="Default network connectivity of the compute instance",
    applies=(COMPUTE.id,),
    location="/mixin/default_connectivity/",
    attributes=attribute_map(
        [
            AttributeDefinition(
                name="eu.egi.fedcloud.compute.default_connectivity",
                type=AttributeType.ENUM,
                enum=("public", "private", "nat"),
            )
        ]
    ),
)

# --- CRTP resource templates (GFD.222) -------------------------------------------

#: term -> (cores, memory GiB, ephemeral storage GiB, title)
CRTP_SIZES = {
    "small": (1, 1.0, 10.0, "Small instance"),
    "medium": (2, 2.0, 20.0, "Medium instance"),
    "large": (4, 4.0, 40.0, "Large instance"),
    "mem_small": (1, 4.0, 10.0, "Small instance with extra memory"),
    "mem_medium": (2, 8.0, 20.0, "Medium instance with extra memory"),
    "mem_large": (4, 16.0, 40.0, "Large instance with extra memory"),
}


def os_template(scheme: str, term: str, title: str | None = None) -> Mixin:
    """An OS template (an image): a mixin that depends on os_tpl, at /mixin/os_tpl/<term>/."""
    return Mixin(
        scheme=scheme,
        term=term,
        title=title,
        depends=(OS_TPL.id,),
        applies=(COMPUTE.id,),
        location=f"/mixin/os_tpl/{term}/",
    )


def resource_template(
    scheme: str,
    term: str,
    *,
    cores: int,
    memory: float,
    ephemeral_storage: float | None = None,
    title: str | None = None,
    location: str | None = None,
) -> Mixin:
    """A resource template (flavour): a mixin that depends on resource_tpl and sets sizes."""
    definitions = [
        AttributeDefinition(
            name="occi.compute.cores",
            type=AttributeType.INTEGER,
            mutable=False,
            default=cores,
            description="Number of virtual CPU cores",
        ),
        AttributeDefinition(
            name="occi.compute.memory",
            type=AttributeType.NUMBER,
            mutable=False,
            default=memory,
            description="Maximum RAM in gigabytes",
        ),
    ]
    if ephemeral_storage is not None:
        definitions.append(
            AttributeDefinition(
                name="occi.compute.ephemeral_storage.size",
                type=AttributeType.NUMBER,
                mutable=False,
                default=ephemeral_storage,
                description="Ephemeral storage in gigabytes",
            )
        )
    return Mixin(
        scheme=scheme,
        term=term,
        title=title,
        depends=(RESOURCE_TPL.id,),
        applies=(COMPUTE.id,),
        location=location or f"/mixin/resource_tpl/{term}/",
        attributes=attribute_map(definitions),
    )


def crtp_templates() -> tuple[Mixin, ...]:
    """The six resource templates of the CRTP profile (small ... mem_large)."""
    return tuple(
        resource_template(
            CRTP_SCHEME,
            term,
            cores=cores,
            memory=memory,
            ephemeral_storage=ephemeral,
            title=title,
        )
        for term, (cores, memory, ephemeral, title) in CRTP_SIZES.items()
    )


EXTENSION_KINDS = (SECURITYGROUP, SECURITYGROUPLINK, IPRESERVATION)
EXTENSION_MIXINS = (
    FLOATINGIPPOOL,
    AVAILABILITY_ZONE,
    REGION,
    OPENSTACK_USER_DATA,
    OPENSTACK_PUBLIC_KEY,
    PUBLIC_NET,
    PRIVATE_NET,
    NAT_NET,
    DEFAULT_CONNECTIVITY,
)
EXTENSION_ACTIONS = (IPRESERVATION_UP, IPRESERVATION_DOWN)
EXTENSION_STATE_MACHINES = {
    IPRESERVATION.id: IPRESERVATION_STATE_MACHINE,
    # No actions drive them, but their state attribute is a life cycle all the same.
    SECURITYGROUP.id: StateMachine(attribute="occi.securitygroup.state", initial="inactive"),
    SECURITYGROUPLINK.id: StateMachine(
        attribute="occi.securitygrouplink.state", initial="inactive"
    ),
}
