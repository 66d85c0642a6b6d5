"""OCCI Infrastructure 1.2 (GFD.224), declared as data.

Kinds, mixins, actions with their parameters, and the state machines. The
OCCI 1.1 attributes and actions that 1.1 clients still send
(``occi.compute.speed``, storage backup/snapshot/resize, the 1.1 storage
states) are declared as optional extras: accepted, never required.
"""

from __future__ import annotations

from pyocci.model.attribute import AttributeDefinition, AttributeType
from pyocci.model.category import Action, Kind, Mixin, attribute_map
from pyocci.model.core import LINK, RESOURCE
from pyocci.model.states import StateMachine

INFRA = "http://schemas.ogf.org/occi/infrastructure#"
COMPUTE_ACTION = "http://schemas.ogf.org/occi/infrastructure/compute/action#"
STORAGE_ACTION = "http://schemas.ogf.org/occi/infrastructure/storage/action#"
NETWORK_ACTION = "http://schemas.ogf.org/occi/infrastructure/network/action#"
NETWORKINTERFACE_ACTION = "http://schemas.ogf.org/occi/infrastructure/networkinterface/action#"
STORAGELINK_ACTION = "http://schemas.ogf.org/occi/infrastructure/storagelink/action#"

STRING = AttributeType.STRING
NUMBER = AttributeType.NUMBER
INTEGER = AttributeType.INTEGER
ENUM = AttributeType.ENUM

LINK_STATES = ("active", "inactive", "error")
ALLOCATIONS = ("dynamic", "static")
MAC_PATTERN = r"([0-9a-fA-F]{2}[:-]){5}[0-9a-fA-F]{2}"


def state_attribute(name: str, values: tuple[str, ...], initial: str) -> AttributeDefinition:
    """The server-managed state attribute of a kind with a life cycle."""
    return AttributeDefinition(
        name=name,
        type=ENUM,
        enum=values,
        mutable=False,
        default=initial,
        description="Current state of the instance",
    )


def state_message_attribute(name: str) -> AttributeDefinition:
    """The server-managed explanation of the state (set when it is `error`)."""
    return AttributeDefinition(
        name=name, mutable=False, description="Human-readable explanation of the current state"
    )


def _method(choices: tuple[str, ...], default: str, **extra: object) -> AttributeDefinition:
    return AttributeDefinition(
        name="method",
        type=ENUM,
        enum=choices,
        default=default,
        **extra,  # type: ignore[arg-type]
    )


# --- compute -----------------------------------------------------------------

START = Action(scheme=COMPUTE_ACTION, term="start", title="Start the compute instance")
STOP = Action(
    scheme=COMPUTE_ACTION,
    term="stop",
    title="Stop the compute instance",
    attributes=attribute_map([_method(("graceful", "acpioff", "poweroff"), "poweroff")]),
)
RESTART = Action(
    scheme=COMPUTE_ACTION,
    term="restart",
    title="Restart the compute instance",
    attributes=attribute_map([_method(("graceful", "warm", "cold"), "cold")]),
)
SUSPEND = Action(
    scheme=COMPUTE_ACTION,
    term="suspend",
    title="Suspend the compute instance",
    attributes=attribute_map([_method(("hibernate", "suspend"), "suspend")]),
)
SAVE = Action(
    scheme=COMPUTE_ACTION,
    term="save",
    title="Save the compute instance as a new OS template",
    attributes=attribute_map(
        [
            _method(("hot", "deferred"), "deferred", legacy_values={"deffered": "deferred"}),
            AttributeDefinition(name="name", description="Name hint for the new OS template"),
        ]
    ),
)

COMPUTE_STATES = ("active", "inactive", "suspended", "error", "waiting")

COMPUTE = Kind(
    scheme=INFRA,
    term="compute",
    title="Compute Resource",
    parent=RESOURCE.id,
    location="/compute/",
    actions=(START.id, STOP.id, RESTART.id, SUSPEND.id, SAVE.id),
    attributes=attribute_map(
        [
            AttributeDefinition(
                name="occi.compute.architecture",
                type=ENUM,
                enum=("x86", "x64"),
                description="CPU architecture of the instance",
            ),
            AttributeDefinition(
                name="occi.compute.cores", type=INTEGER, description="Number of virtual CPU cores"
            ),
            AttributeDefinition(
                name="occi.compute.hostname", description="Fully qualified DNS hostname"
            ),
            AttributeDefinition(
                name="occi.compute.share", type=INTEGER, description="Relative number of CPU shares"
            ),
            AttributeDefinition(
                name="occi.compute.memory", type=NUMBER, description="Maximum RAM in gigabytes"
            ),
            AttributeDefinition(
                name="occi.compute.speed",
                type=NUMBER,
                description="CPU clock frequency in gigahertz (OCCI 1.1; removed in 1.2)",
            ),
            # `waiting` is rOCCI's state for an instance being prepared.
            state_attribute("occi.compute.state", COMPUTE_STATES, "inactive"),
            state_message_attribute("occi.compute.state.message"),
        ]
    ),
)

COMPUTE_STATE_MACHINE = StateMachine(
    attribute="occi.compute.state",
    initial="inactive",
    transitions={
        START.id: {"inactive": "active", "suspended": "active"},
        STOP.id: {"active": "inactive"},
        RESTART.id: {"active": "active"},
        SUSPEND.id: {"active": "suspended"},
        # Saving copies the instance; it ends in the state it started in.
        SAVE.id: {"active": "active", "inactive": "inactive"},
    },
    passing=frozenset({"waiting"}),
)

# --- storage -----------------------------------------------------------------

ONLINE = Action(scheme=STORAGE_ACTION, term="online", title="Bring the storage online")
OFFLINE = Action(scheme=STORAGE_ACTION, term="offline", title="Take the storage offline")
BACKUP = Action(scheme=STORAGE_ACTION, term="backup", title="Back up the storage (OCCI 1.1)")
SNAPSHOT = Action(scheme=STORAGE_ACTION, term="snapshot", title="Snapshot the storage (OCCI 1.1)")
RESIZE = Action(
    scheme=STORAGE_ACTION,
    term="resize",
    title="Resize the storage (OCCI 1.1 - in 1.2 update occi.storage.size)",
    attributes=attribute_map(
        [
            AttributeDefinition(
                name="size", type=NUMBER, required=True, description="New size in gigabytes"
            )
        ]
    ),
)

# degraded, backup, snapshot and resize are OCCI 1.1 storage states.
STORAGE_STATES = ("online", "offline", "error", "backup", "snapshot", "resize", "degraded")

STORAGE = Kind(
    scheme=INFRA,
    term="storage",
    title="Storage Resource",
    parent=RESOURCE.id,
    location="/storage/",
    actions=(ONLINE.id, OFFLINE.id, BACKUP.id, SNAPSHOT.id, RESIZE.id),
    attributes=attribute_map(
        [
            AttributeDefinition(
                name="occi.storage.size",
                type=NUMBER,
                required=True,
                description="Storage size in gigabytes",
            ),
            state_attribute("occi.storage.state", STORAGE_STATES, "offline"),
            state_message_attribute("occi.storage.state.message"),
        ]
    ),
)

_KEEP_STORAGE_STATE = {"online": "online", "offline": "offline"}

STORAGE_STATE_MACHINE = StateMachine(
    attribute="occi.storage.state",
    initial="offline",
    transitions={
        ONLINE.id: {"offline": "online"},
        OFFLINE.id: {"online": "offline"},
        BACKUP.id: _KEEP_STORAGE_STATE,
        SNAPSHOT.id: _KEEP_STORAGE_STATE,
        RESIZE.id: _KEEP_STORAGE_STATE,
    },
    # What a backup, a snapshot or a resize shows until it ends.
    passing=frozenset({"backup", "snapshot", "resize"}),
)

# --- network -----------------------------------------------------------------

UP = Action(scheme=NETWORK_ACTION, term="up", title="Activate the network")
DOWN = Action(scheme=NETWORK_ACTION, term="down", title="Deactivate the network")

NETWORK = Kind(
    scheme=INFRA,
    term="network",
    title="Network Resource",
    parent=RESOURCE.id,
    location="/network/",
    actions=(UP.id, DOWN.id),
    attributes=attribute_map(
        [
            AttributeDefinition(
                name="occi.network.vlan", type=INTEGER, description="802.1q VLAN identifier"
            ),
            AttributeDefinition(
                name="occi.network.label", description="Tag-based VLAN label (e.g. external-dmz)"
            ),
            state_attribute("occi.network.state", LINK_STATES, "inactive"),
            state_message_attribute("occi.network.state.message"),
        ]
    ),
)

NETWORK_STATE_MACHINE = StateMachine(
    attribute="occi.network.state",
    initial="inactive",
    transitions={UP.id: {"inactive": "active"}, DOWN.id: {"active": "inactive"}},
)

IPNETWORK = Mixin(
    scheme="http://schemas.ogf.org/occi/infrastructure/network#",
    term="ipnetwork",
    title="IP Networking Mixin",
    applies=(NETWORK.id,),
    location="/mixin/ipnetwork/",
    attributes=attribute_map(
        [
            AttributeDefinition(
                name="occi.network.address", description="IP range in CIDR notation"
            ),
            AttributeDefinition(
                name="occi.network.gateway", description="IP address of the gateway"
            ),
            AttributeDefinition(
                name="occi.network.allocation",
                type=ENUM,
                enum=ALLOCATIONS,
                description="Address allocation mechanism",
            ),
        ]
    ),
)

# --- links -------------------------------------------------------------------

# GFD.224 gives links a state machine but no actions; rOCCI-core adds these.
INTERFACE_UP = Action(scheme=NETWORKINTERFACE_ACTION, term="up", title="Activate the interface")
INTERFACE_DOWN = Action(
    scheme=NETWORKINTERFACE_ACTION, term="down", title="Deactivate the interface"
)
LINK_ONLINE = Action(scheme=STORAGELINK_ACTION, term="online", title="Bring the attachment online")
LINK_OFFLINE = Action(
    scheme=STORAGELINK_ACTION, term="offline", title="Take the attachment offline"
)

NETWORKINTERFACE = Kind(
    scheme=INFRA,
    term="networkinterface",
    title="NetworkInterface Link",
    parent=LINK.id,
    location="/networkinterface/",
    actions=(INTERFACE_UP.id, INTERFACE_DOWN.id),
    attributes=attribute_map(
        [
            AttributeDefinition(
                name="occi.networkinterface.interface",
                mutable=False,
                description="Device name of the interface (e.g. eth0)",
            ),
            AttributeDefinition(
                name="occi.networkinterface.mac",
                pattern=MAC_PATTERN,
                description="MAC address of the interface",
            ),
            state_attribute("occi.networkinterface.state", LINK_STATES, "inactive"),
            state_message_attribute("occi.networkinterface.state.message"),
        ]
    ),
)

IPNETWORKINTERFACE = Mixin(
    scheme="http://schemas.ogf.org/occi/infrastructure/networkinterface#",
    term="ipnetworkinterface",
    title="IP Network Interface Mixin",
    applies=(NETWORKINTERFACE.id,),
    location="/mixin/ipnetworkinterface/",
    attributes=attribute_map(
        [
            AttributeDefinition(
                name="occi.networkinterface.address", description="IP address of the interface"
            ),
            AttributeDefinition(
                name="occi.networkinterface.gateway", description="IP address of the gateway"
            ),
            AttributeDefinition(
                name="occi.networkinterface.allocation",
                type=ENUM,
                enum=ALLOCATIONS,
                description="Address allocation mechanism",
            ),
        ]
    ),
)

STORAGELINK = Kind(
    scheme=INFRA,
    term="storagelink",
    title="StorageLink Link",
    parent=LINK.id,
    location="/storagelink/",
    actions=(LINK_ONLINE.id, LINK_OFFLINE.id),
    attributes=attribute_map(
        [
            AttributeDefinition(
                name="occi.storagelink.deviceid", description="Device the storage appears as"
            ),
            AttributeDefinition(
                name="occi.storagelink.mountpoint", description="Where the storage is mounted"
            ),
            state_attribute("occi.storagelink.state", (*LINK_STATES, "waiting"), "inactive"),
            state_message_attribute("occi.storagelink.state.message"),
        ]
    ),
)

NETWORKINTERFACE_STATE_MACHINE = StateMachine(
    attribute="occi.networkinterface.state",
    initial="inactive",
    transitions={
        INTERFACE_UP.id: {"inactive": "active"},
        INTERFACE_DOWN.id: {"active": "inactive"},
    },
)

STORAGELINK_STATE_MACHINE = StateMachine(
    attribute="occi.storagelink.state",
    initial="inactive",
    transitions={
        LINK_ONLINE.id: {"inactive": "active"},
        LINK_OFFLINE.id: {"active": "inactive"},
    },
)

# --- templates, contextualization, credentials --------------------------------

OS_TPL = Mixin(
    scheme=INFRA,
    term="os_tpl",
    title="OS Template",
    applies=(COMPUTE.id,),
    location="/mixin/os_tpl/",
)

RESOURCE_TPL = Mixin(
    scheme=INFRA,
    term="resource_tpl",
    title="Resource Template",
    applies=(COMPUTE.id,),
    location="/mixin/resource_tpl/",
)

USER_DATA = Mixin(
    scheme="http://schemas.ogf.org/occi/infrastructure/compute#",
    term="user_data",
    title="Contextualization data for the compute instance",
    applies=(COMPUTE.id,),
    location="/mixin/user_data/",
    attributes=attribute_map(
        [
            AttributeDefinition(
                name="occi.compute.userdata",
                required=True,
                description="Contextualization data (base64), supplied once at creation",
            )
        ]
    ),
)

SSH_KEY = Mixin(
    scheme="http://schemas.ogf.org/occi/infrastructure/credentials#",
    term="ssh_key",
    title="SSH public key credentials",
    applies=(COMPUTE.id,),
    location="/mixin/ssh_key/",
    attributes=attribute_map(
        [
            AttributeDefinition(
                name="occi.credentials.ssh.publickey",
                required=True,
                description="Contents of the SSH public key file",
            )
        ]
    ),
)

INFRASTRUCTURE_KINDS = (COMPUTE, STORAGE, NETWORK, NETWORKINTERFACE, STORAGELINK)
INFRASTRUCTURE_MIXINS = (IPNETWORK, IPNETWORKINTERFACE, OS_TPL, RESOURCE_TPL, USER_DATA, SSH_KEY)
INFRASTRUCTURE_ACTIONS = (
    START,
    STOP,
    RESTART,
    SUSPEND,
    SAVE,
    ONLINE,
    OFFLINE,
    BACKUP,
    SNAPSHOT,
    RESIZE,
    UP,
    DOWN,
    INTERFACE_UP,
    INTERFACE_DOWN,
    LINK_ONLINE,
    LINK_OFFLINE,
)
INFRASTRUCTURE_STATE_MACHINES = {
    COMPUTE.id: COMPUTE_STATE_MACHINE,
    STORAGE.id: STORAGE_STATE_MACHINE,
    NETWORK.id: NETWORK_STATE_MACHINE,
    NETWORKINTERFACE.id: NETWORKINTERFACE_STATE_MACHINE,
    STORAGELINK.id: STORAGELINK_STATE_MACHINE,
}
