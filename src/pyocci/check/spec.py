"""What the specifications say, as the checks need it: identifiers, states, media types.

Written from GFD.221 (Core), GFD.224 (Infrastructure), GFD.223 (HTTP
protocol), GFD.226 (JSON) and GFD.229 (text), not taken from `pyocci.model`:
a checker that read its expectations from the implementation it also
serves would agree with that implementation's mistakes.
"""

from __future__ import annotations

from dataclasses import dataclass

CORE = "http://schemas.ogf.org/occi/core#"
INFRA = "http://schemas.ogf.org/occi/infrastructure#"

ENTITY = CORE + "entity"
RESOURCE = CORE + "resource"
LINK = CORE + "link"

COMPUTE = INFRA + "compute"
STORAGE = INFRA + "storage"
NETWORK = INFRA + "network"
NETWORKINTERFACE = INFRA + "networkinterface"
STORAGELINK = INFRA + "storagelink"

OS_TPL = INFRA + "os_tpl"
RESOURCE_TPL = INFRA + "resource_tpl"
IPNETWORK = "http://schemas.ogf.org/occi/infrastructure/network#ipnetwork"

#: GFD.224 "Kinds": each infrastructure kind's parent.
PARENTS = {
    COMPUTE: RESOURCE,
    STORAGE: RESOURCE,
    NETWORK: RESOURCE,
    NETWORKINTERFACE: LINK,
    STORAGELINK: LINK,
}

#: GFD.224's names of its kinds (its section titles).
NAMES = {
    COMPUTE: "Compute",
    STORAGE: "Storage",
    NETWORK: "Network",
    NETWORKINTERFACE: "NetworkInterface",
    STORAGELINK: "StorageLink",
}

#: GFD.221 "Core kinds": the parents of the core kinds (entity has none).
CORE_PARENTS = {RESOURCE: ENTITY, LINK: ENTITY}

#: GFD.224: the attributes each infrastructure kind defines that every instance has
#: (multiplicity 1), by kind.
INSTANCE_ATTRIBUTES = {
    COMPUTE: ("occi.compute.state",),
    STORAGE: ("occi.storage.size", "occi.storage.state"),
    NETWORK: ("occi.network.state",),
    NETWORKINTERFACE: (
        "occi.networkinterface.interface",
        "occi.networkinterface.mac",
        "occi.networkinterface.state",
    ),
    STORAGELINK: ("occi.storagelink.deviceid", "occi.storagelink.state"),
}

#: GFD.224: the attribute holding each kind's state, and the values it takes.
STATE_ATTRIBUTE = {
    COMPUTE: "occi.compute.state",
    STORAGE: "occi.storage.state",
    NETWORK: "occi.network.state",
    NETWORKINTERFACE: "occi.networkinterface.state",
    STORAGELINK: "occi.storagelink.state",
}
STATES = {
    COMPUTE: frozenset({"active", "inactive", "suspended", "error"}),
    STORAGE: frozenset({"online", "offline", "error"}),
    NETWORK: frozenset({"active", "inactive", "error"}),
    NETWORKINTERFACE: frozenset({"active", "inactive", "error"}),
    STORAGELINK: frozenset({"active", "inactive", "error"}),
}

#: GFD.224's conventional locations: where a client may look for a kind the query
#: interface does not list (to tell "not offered" from "offered but hidden").
USUAL_LOCATIONS = {
    COMPUTE: "/compute/",
    STORAGE: "/storage/",
    NETWORK: "/network/",
    NETWORKINTERFACE: "/networkinterface/",
    STORAGELINK: "/storagelink/",
}


def action_scheme(kind: str) -> str:
    """GFD.224: the scheme of a kind's actions (``.../infrastructure/compute/action#``)."""
    return kind.replace("#", "/") + "/action#"


def action_id(kind: str, term: str) -> str:
    """The identifier of one of a kind's GFD.224 actions."""
    return action_scheme(kind) + term


@dataclass(frozen=True)
class StateMachine:
    """GFD.224's state diagram of a kind: which action leads from which state where."""

    kind: str
    #: (state, action term) -> the state the action leads to.
    moves: dict[tuple[str, str], str]
    #: The actions whose starting states the diagram settles; the others (compute's
    #: restart and save, which "return to active") it leaves open, so they are not judged.
    judged: frozenset[str] = frozenset()

    def applicable(self, state: str) -> frozenset[str]:
        """The action terms the diagram draws from `state`."""
        return frozenset(term for (source, term) in self.moves if source == state)

    def target(self, state: str, term: str) -> str | None:
        """Where `term` leads from `state`; None when the diagram draws no such move."""
        return self.moves.get((state, term))

    def terms(self) -> frozenset[str]:
        """Every action term the diagram uses."""
        return frozenset(term for (_, term) in self.moves)

    def misplaced(self, state: str, offered: frozenset[str] | set[str]) -> list[str]:
        """The judged action terms among `offered` that the diagram does not draw from
        `state`."""
        return sorted(t for t in offered if t in self.judged and t not in self.applicable(state))


#: GFD.224 "Compute" state diagram; restart and save return to active.
COMPUTE_MACHINE = StateMachine(
    COMPUTE,
    {
        ("inactive", "start"): "active",
        ("active", "stop"): "inactive",
        ("active", "suspend"): "suspended",
        ("active", "restart"): "active",
        ("active", "save"): "active",
        ("suspended", "start"): "active",
    },
    judged=frozenset({"start", "stop", "suspend"}),
)
#: GFD.224 "Network" state diagram.
NETWORK_MACHINE = StateMachine(
    NETWORK,
    {("inactive", "up"): "active", ("active", "down"): "inactive"},
    judged=frozenset({"up", "down"}),
)
#: GFD.224 "Storage" state diagram (1.2: online and offline only).
STORAGE_MACHINE = StateMachine(
    STORAGE,
    {("offline", "online"): "online", ("online", "offline"): "offline"},
    judged=frozenset({"online", "offline"}),
)
MACHINES = {m.kind: m for m in (COMPUTE_MACHINE, NETWORK_MACHINE, STORAGE_MACHINE)}

# GFD.223 "Media types" (with GFD.229 and GFD.226).
TEXT_PLAIN = "text/plain"
TEXT_OCCI = "text/occi"
URI_LIST = "text/uri-list"
OCCI_JSON = "application/occi+json"
#: Not an OCCI media type: rOCCI-server's alias of application/occi+json, which some
#: clients send.
PLAIN_JSON = "application/json"
JSON_TYPES = (OCCI_JSON, PLAIN_JSON)

#: GFD.223 "Versioning": the version this checker speaks, and one no server implements.
VERSION = "OCCI/1.2"
VERSION_11 = "OCCI/1.1"
VERSION_TOO_HIGH = "OCCI/9.9"


def term_of(identifier: str) -> str:
    """GFD.221 "Type identifiers": the term is what follows the last ``#``."""
    return identifier.rsplit("#", 1)[-1]


def scheme_of(identifier: str) -> str:
    """The scheme of a category identifier, ``#`` included."""
    return identifier.rsplit("#", 1)[0] + "#"


#: Statuses that say an entity is gone (GFD.223: 404; 410 where a server remembers it).
GONE = (404, 410)
