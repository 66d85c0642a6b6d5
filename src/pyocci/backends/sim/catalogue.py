"""The sim's offer: its provider mixins and capabilities, and the questions asked of them.

Provider mixins come from the settings (OS images, resource templates, an
availability zone, a floating IP pool) plus one mixin of the sim's own that
declares the attributes recording storage backups and snapshots (OCCI 1.1
actions), so rOCCI-style validation finds every attribute declared. Images
that tenants save are not here: they belong to one tenant each and live in
the database (`pyocci.backends.sim.images`).
"""

from __future__ import annotations

from pyocci.backends.api import Capabilities
from pyocci.backends.kit.context import CONTEXT_MIXINS
from pyocci.backends.sim.settings import SimSettings
from pyocci.model.attribute import AttributeDefinition, AttributeType
from pyocci.model.category import Mixin, attribute_map
from pyocci.model.extensions import (
    AVAILABILITY_ZONE,
    FLOATINGIPPOOL,
    IPRESERVATION,
    SECURITYGROUP,
    SECURITYGROUPLINK,
)
from pyocci.model.infrastructure import (
    COMPUTE,
    IPNETWORK,
    IPNETWORKINTERFACE,
    NETWORK,
    NETWORKINTERFACE,
    OS_TPL,
    RESOURCE_TPL,
    STORAGE,
    STORAGELINK,
)
from pyocci.model.registry import Model

SIM_SCHEME = "http://schemas.pyocci.org/sim#"

BACKUP_COUNT = "org.pyocci.sim.backup.count"
BACKUP_LAST = "org.pyocci.sim.backup.last"
SNAPSHOT_COUNT = "org.pyocci.sim.snapshot.count"
SNAPSHOT_LAST = "org.pyocci.sim.snapshot.last"

#: Declares what the 1.1 storage actions backup and snapshot leave behind.
STORAGE_HISTORY = Mixin(
    scheme=SIM_SCHEME,
    term="storage_history",
    title="Backups and snapshots of a simulated storage",
    applies=(STORAGE.id,),
    location="/mixin/sim/storage_history/",
    attributes=attribute_map(
        [
            AttributeDefinition(
                name=BACKUP_COUNT,
                type=AttributeType.INTEGER,
                mutable=False,
                description="How many backups were taken",
            ),
            AttributeDefinition(
                name=BACKUP_LAST,
                mutable=False,
                description="When the last backup was taken (ISO 8601, UTC)",
            ),
            AttributeDefinition(
                name=SNAPSHOT_COUNT,
                type=AttributeType.INTEGER,
                mutable=False,
                description="How many snapshots were taken",
            ),
            AttributeDefinition(
                name=SNAPSHOT_LAST,
                mutable=False,
                description="When the last snapshot was taken (ISO 8601, UTC)",
            ),
        ]
    ),
)

KINDS = (
    COMPUTE,
    STORAGE,
    NETWORK,
    NETWORKINTERFACE,
    STORAGELINK,
    SECURITYGROUP,
    SECURITYGROUPLINK,
    IPRESERVATION,
)

#: The standard mixins the sim understands: contextualization (both spellings) among them.
STANDARD_MIXINS = (
    OS_TPL,
    RESOURCE_TPL,
    *CONTEXT_MIXINS,
    IPNETWORK,
    IPNETWORKINTERFACE,
    AVAILABILITY_ZONE,
    FLOATINGIPPOOL,
)

#: Mixins the sim puts on entities itself and keeps whatever an update says.
MANAGED_MIXINS = frozenset({IPNETWORK.id, IPNETWORKINTERFACE.id, STORAGE_HISTORY.id})

#: Contextualization: supplied once, at creation.
CONTEXT_MIXIN_IDS = frozenset(mixin.id for mixin in CONTEXT_MIXINS)


class Catalogue:
    """The provider mixins of one sim configuration, and a model that knows them."""

    def __init__(self, model: Model, settings: SimSettings) -> None:
        self.settings = settings
        self.images = {mixin.id: mixin for mixin in settings.image_mixins()}
        self.templates = {mixin.id: mixin for mixin in settings.resource_templates}
        self.zones = {
            mixin.id: mixin
            for mixin in (
                Mixin(
                    scheme=settings.availability_zone_scheme,
                    term=zone,
                    title=f"Availability zone {zone}",
                    depends=(AVAILABILITY_ZONE.id,),
                    location=f"/mixin/availability_zone/{zone}/",
                )
                for zone in settings.availability_zones
            )
        }
        self.pool = Mixin(
            scheme=settings.floating_ip_pool_scheme,
            term=settings.floating_ip_pool,
            title=f"Floating IP pool {settings.floating_ip_pool} ({settings.public_cidr})",
            depends=(FLOATINGIPPOOL.id,),
            location=f"/mixin/floatingippool/{settings.floating_ip_pool}/",
        )
        self.mixins: tuple[Mixin, ...] = (
            *self.images.values(),
            *self.templates.values(),
            *self.zones.values(),
            self.pool,
            STORAGE_HISTORY,
        )
        #: The standard model with the provider mixins laid over it: attribute
        #: definitions and template dependencies of the sim's entities.
        self.model = Model(self.mixins, base=model)
        self.default_image = (
            None
            if settings.default_image is None
            else self.images[settings.image_scheme + settings.default_image]
        )
        self.default_template = next(
            (
                template
                for template in self.templates.values()
                if template.term == settings.default_resource_template
            ),
            None,
        )
        self._keepable = frozenset(
            {mixin.id for mixin in STANDARD_MIXINS} | {mixin.id for mixin in self.mixins}
        ) - {OS_TPL.id, RESOURCE_TPL.id, AVAILABILITY_ZONE.id, FLOATINGIPPOOL.id}
        self.capabilities = Capabilities(
            kinds=frozenset(kind.id for kind in KINDS),
            actions=frozenset(
                action for kind in KINDS for action in model.declared_actions(kind.id)
            ),
            mixins=frozenset(mixin.id for mixin in STANDARD_MIXINS),
        )

    def keeps(self, mixin_id: str) -> bool:
        """Whether the sim stores this mixin on an entity (tenants' saved images aside).

        Parents (os_tpl itself, resource_tpl itself...) are not templates and
        user mixins are the store's business, so neither is kept.
        """
        return mixin_id in self._keepable

    def sizes(self, template: Mixin) -> dict[str, object]:
        """The attribute values a resource template sets (cores, memory...)."""
        return {
            name: definition.default
            for name, definition in template.attributes.items()
            if definition.default is not None
        }
