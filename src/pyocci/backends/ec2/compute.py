"""Computes on EC2: instances launched, resized, acted on and terminated.

A compute is created with RunInstances (the os_tpl's AMI, the
resource_tpl's instance type, user data, an imported key pair); links
given inline are made once the instance runs, and if one fails the
instance is terminated so nothing is left half made. A resize swaps the
instance type, which EC2 allows only on a stopped instance (the backend
checks the state itself rather than relying on EC2 to refuse).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import hashlib
from collections.abc import AsyncIterator, Mapping
from typing import Any

from pyocci.backends.api import ActionOutcome, Query, Tenant
from pyocci.backends.ec2 import busy, entities, ids, linkmeta, network, storage
from pyocci.backends.ec2.catalogue import OS_TPL_SCHEME, RESOURCE_TPL_SCHEME, type_named
from pyocci.backends.ec2.context import Ec2, Ec2Collection, target_id
from pyocci.backends.ec2.entities import compute_state
from pyocci.backends.ec2.placement import Place
from pyocci.backends.ec2.reading import compute_filters
from pyocci.backends.ec2.saved_images import saved_tags
from pyocci.backends.errors import (
    ConflictError,
    EntityNotFoundError,
    InvalidRequestError,
    NotSupportedError,
)
from pyocci.backends.kit import ActionHandler
from pyocci.backends.kit.context import CONTEXT_MIXINS, chosen, public_key, user_data_text
from pyocci.model.entity import CORE_SUMMARY, Entity, Resource
from pyocci.model.extensions import SECURITYGROUPLINK
from pyocci.model.infrastructure import (
    COMPUTE,
    NETWORKINTERFACE,
    OS_TPL,
    RESOURCE_TPL,
    RESTART,
    SAVE,
    START,
    STOP,
    STORAGELINK,
    SUSPEND,
)

#: What a compute's size comes from on EC2: its instance type, nothing else.
SIZE_ATTRIBUTES = ("occi.compute.cores", "occi.compute.memory")


def _chosen_type(mixins: list[str]) -> str | None:
    term = chosen(mixins, RESOURCE_TPL_SCHEME)
    return type_named(term) if term is not None else None


class Computes(Ec2Collection):
    """EC2 instances, with their links from the same DescribeInstances answer."""

    kinds = (COMPUTE.id,)
    mixins = frozenset(mixin.id for mixin in (OS_TPL, RESOURCE_TPL, *CONTEXT_MIXINS))

    @property
    def actions(self) -> dict[str, ActionHandler]:
        """start, stop, restart (reboot), suspend (hibernate), save (create an AMI)."""
        return {
            START.id: self._start,
            STOP.id: self._stop,
            RESTART.id: self._restart,
            SUSPEND.id: self._suspend,
            SAVE.id: self._save,
        }

    async def listing(self, tenant: Tenant, query: Query) -> AsyncIterator[Entity]:
        """The tenant's computes, state, title, id and template filters pushed down;
        `query.limit` is the size of the first page of instances."""
        async for resource in self.ec2.reader.computes(tenant, compute_filters(query), query.limit):
            yield resource

    async def get(self, tenant: Tenant, kind_id: str, entity_id: str) -> Entity:
        """One compute with its links."""
        return await self.ec2.reader.compute(tenant, entity_id)

    async def create(self, tenant: Tenant, entity: Entity) -> Entity:
        """Launch an instance, then make its inline links."""
        ec2 = self.ec2
        settings = ec2.settings
        offer = await ec2.catalogue.offer()
        image = chosen(entity.mixins, OS_TPL_SCHEME) or settings.default_image
        if image is None:
            offered = ", ".join(mixin.term for mixin in offer.images.values()) or "none"
            raise InvalidRequestError(
                f"choose an os_tpl (an AMI) for the compute; offered: {offered}"
            )
        if OS_TPL_SCHEME + image not in offer.images:
            # Not offered: an AMI EC2 is still making (a save's) cannot start a compute yet.
            waiting = await ec2.catalogue.pending_image(image)
            if waiting is not None:
                raise waiting
        instance_type = _chosen_type(entity.mixins) or settings.default_instance_type
        links = list(entity.links) if isinstance(entity, Resource) else []
        await _check_targets(ec2, tenant, links)
        groups = [
            target_id(link, "sg", "a security group")
            for link in links
            if link.kind == SECURITYGROUPLINK.id
        ]
        # The first interface to a subnet is the primary one, made by RunInstances itself.
        subnets = [
            ids.ec2_id_of(link.attributes.get("occi.core.target"), "subnet")
            for link in links
            if link.kind == NETWORKINTERFACE.id
        ]
        tags = ec2.tenancy.tags(tenant, entity.title, entity.attributes.get(CORE_SUMMARY))
        parameters: dict[str, Any] = {
            "ImageId": image,
            "InstanceType": instance_type,
            "MinCount": 1,
            "MaxCount": 1,
            "TagSpecifications": [
                *ec2.tenancy.specification("instance", tags),
                *ec2.tenancy.specification("volume", ec2.tenancy.tags(tenant)),
            ],
        }
        if settings.hibernation:
            # What suspend needs; AWS also wants an encrypted root volume (the AMI's choice).
            parameters["HibernationOptions"] = {"Configured": True}
        user_data = user_data_text(entity.attributes)
        if user_data is not None:
            parameters["UserData"] = user_data
        key_name = await _key_name(ec2, entity.attributes)
        if key_name is not None:
            parameters["KeyName"] = key_name

        async def launch(place: Place) -> tuple[str, dict[str, Any]]:
            primary = next((subnet for subnet in subnets if subnet is not None), place.subnet_id)
            interface = {
                "DeviceIndex": 0,
                "SubnetId": primary,
                "Groups": groups or list(place.group_ids),
                "AssociatePublicIpAddress": settings.public_ip_on_launch,
                "DeleteOnTermination": True,
            }
            response = await ec2.api.call(
                "run_instances",
                missing=InvalidRequestError,
                NetworkInterfaces=[interface],
                **parameters,
            )
            return primary, response

        primary, response = await ec2.placement.using(launch)
        launched = response["Instances"][0]
        instance_id = launched["InstanceId"]
        others = [link for link in links if link.kind != SECURITYGROUPLINK.id]
        first = next(
            (link for link in others if ids.ec2_id_of(link.target, "subnet") == primary), None
        )
        others = [link for link in others if link is not first]
        if others:
            try:
                await _link_at_creation(ec2, tenant, instance_id, others)
            except Exception:
                await ec2.api.call("terminate_instances", InstanceIds=[instance_id])
                raise
            created = await _read_new(ec2, tenant, instance_id)
        else:
            # RunInstances describes the new instance (pending): no second call needed.
            created = entities.compute(launched, offer, ec2.reader.locate)
        await _keep_link_metadata(ec2, created, links)
        return created

    async def update(self, tenant: Tenant, current: Entity, desired: Entity) -> Entity:
        """Swap the instance type of a stopped instance, change the title."""
        ec2 = self.ec2
        instance_id = current.id or ""
        old_image = chosen(current.mixins, OS_TPL_SCHEME)
        new_image = chosen(desired.mixins, OS_TPL_SCHEME)
        if new_image is not None and new_image != old_image:
            raise NotSupportedError(
                "EC2 cannot put another image on an existing instance; create a new compute "
                "with this os_tpl (save this one first to keep its disk)"
            )
        old_type = _chosen_type(current.mixins)
        new_type = _chosen_type(desired.mixins)
        # With a new template the sizes are the template's; without, they cannot change.
        for name in () if new_type != old_type else SIZE_ATTRIBUTES:
            wanted = desired.attributes.get(name, current.attributes.get(name))
            if wanted != current.attributes.get(name):
                raise InvalidRequestError(
                    f"{name} comes with the instance type on EC2; associate another resource_tpl"
                )
        if new_type is not None and new_type != old_type:
            await resize(ec2, tenant, instance_id, new_type)
        await storage.retitle(ec2, instance_id, current, desired)
        return await ec2.reader.compute(tenant, instance_id)

    async def delete(self, tenant: Tenant, entity: Entity) -> None:
        """Release the instance's elastic IPs (links go with it), then terminate it."""
        ec2, instance_id = self.ec2, entity.id or ""
        instance = await ec2.reader.instance(tenant, instance_id)
        for eni in instance.get("NetworkInterfaces", ()):
            if (eni.get("Association") or {}).get("PublicIp"):
                # An address EC2 gave at launch (ConflictError) goes with the instance.
                with contextlib.suppress(ConflictError):
                    await network.release_public(ec2, eni["NetworkInterfaceId"])
        await ec2.api.call("terminate_instances", InstanceIds=[instance_id])

    async def trigger(
        self, tenant: Tenant, entity: Entity, action_id: str, parameters: Mapping[str, Any]
    ) -> ActionOutcome:
        """The action from the table; a refusal of the instance's state that EC2 leaves by
        itself (pending, stopping) is a matter of time: 409 with Retry-After."""
        try:
            return await super().trigger(tenant, entity, action_id, parameters)
        except ConflictError as refused:
            if refused.cloud_code != "IncorrectInstanceState":
                raise
            instance = await self.ec2.reader.instance(tenant, entity.id or "")
            waiting = busy.instance(instance, self.ec2.settings.retry_after, refused.cloud_code)
            raise (waiting or refused) from None

    async def _start(
        self, tenant: Tenant, entity: Entity, parameters: Mapping[str, Any]
    ) -> ActionOutcome:
        response = await self.ec2.api.call("start_instances", InstanceIds=[entity.id or ""])
        return ActionOutcome(entity=_with_state(entity, response["StartingInstances"][0]))

    async def _stop(
        self, tenant: Tenant, entity: Entity, parameters: Mapping[str, Any]
    ) -> ActionOutcome:
        force = parameters.get("method") == "poweroff"
        response = await self.ec2.api.call(
            "stop_instances", InstanceIds=[entity.id or ""], Force=force
        )
        return ActionOutcome(entity=_with_state(entity, response["StoppingInstances"][0]))

    async def _restart(
        self, tenant: Tenant, entity: Entity, parameters: Mapping[str, Any]
    ) -> ActionOutcome:
        await self.ec2.api.call("reboot_instances", InstanceIds=[entity.id or ""])
        return ActionOutcome(entity=_with_state(entity, None))

    async def _suspend(
        self, tenant: Tenant, entity: Entity, parameters: Mapping[str, Any]
    ) -> ActionOutcome:
        changes = await _hibernate(self.ec2, tenant, entity.id or "")
        return ActionOutcome(entity=_with_state(entity, changes))

    async def _save(
        self, tenant: Tenant, entity: Entity, parameters: Mapping[str, Any]
    ) -> ActionOutcome:
        created = await _save_image(self.ec2, tenant, entity, parameters)
        return ActionOutcome(entity=_with_state(entity, None), created=created)


async def _key_name(ec2: Ec2, attributes: Mapping[str, Any]) -> str | None:
    key = public_key(attributes)
    policy = ec2.settings.key_policy
    if key is None:
        return ec2.settings.key_name
    if policy != "import":
        raise InvalidRequestError(
            "this server does not take SSH keys from clients "
            + ("(it uses its own key pair)" if policy == "fixed" else "(no key pairs at all)")
        )
    # One key pair per distinct key, named after it: importing again is a no-op.
    name = "occi-" + hashlib.sha256(key.encode()).hexdigest()[:20]
    with contextlib.suppress(ConflictError):  # imported before: InvalidKeyPair.Duplicate
        await ec2.api.call("import_key_pair", KeyName=name, PublicKeyMaterial=key.encode())
    return name


def _last_segment(location: Any) -> str:
    return str(location or "").rstrip("/").rsplit("/", 1)[-1]


async def _keep_link_metadata(ec2: Ec2, created: Resource, asked: list) -> None:
    """Tag the instance with what the client gave its inline links (titles, mount points)."""
    for wanted in asked:
        if not any(wanted.attributes.get(name) for name in linkmeta.KEPT):
            continue
        made = next(
            (
                link
                for link in created.links
                if link.kind == wanted.kind
                and _last_segment(link.target) == _last_segment(wanted.target)
            ),
            None,
        )
        if made is None or made.id is None:
            continue
        await linkmeta.keep(ec2.api, created.id or "", made.id, wanted.attributes)
        made.attributes.update(
            {name: wanted.attributes[name] for name in linkmeta.KEPT if wanted.attributes.get(name)}
        )


async def _check_targets(ec2: Ec2, tenant: Tenant, links: list) -> None:
    """Refuse links EC2 cannot make, or to what the tenant does not have, before launching."""
    for link in links:
        target = link.attributes.get("occi.core.target")
        try:
            if link.kind == STORAGELINK.id:
                volume = await ec2.reader.volume(tenant, target_id(link, "vol", "a storage"))
                # A volume EC2 is still creating: say so before launching anything.
                waiting = busy.volume(volume, ec2.settings.retry_after)
                if waiting is not None:
                    raise waiting
            elif link.kind == NETWORKINTERFACE.id:
                if ids.ec2_id_of(target, ids.PUBLIC) != ids.PUBLIC:
                    await ec2.reader.subnet(tenant, target_id(link, "subnet", "a network"))
            elif link.kind == SECURITYGROUPLINK.id:
                await ec2.reader.group(tenant, target_id(link, "sg", "a security group"))
            else:
                raise InvalidRequestError(f"a compute cannot have a {link.kind} link on EC2")
        except EntityNotFoundError:
            raise InvalidRequestError(f"the link target {target!r} does not exist") from None


async def _link_at_creation(ec2: Ec2, tenant: Tenant, instance_id: str, links: list) -> None:
    async def running() -> dict | None:
        instance = await ec2.reader.instance(tenant, instance_id)
        return instance if instance["State"]["Name"] == "running" else None

    # EC2 attaches volumes and addresses to running (or stopped) instances only.
    for link in links:
        instance = await ec2.wait_for("starting the instance", running)
        if link.kind == STORAGELINK.id:
            await storage.attach(ec2, tenant, instance, link)
        else:
            await network.attach(ec2, tenant, instance, link)


async def _read_new(ec2: Ec2, tenant: Tenant, instance_id: str) -> Resource:
    async def visible() -> Resource | None:
        # EC2 is eventually consistent: a new instance may not be described at once.
        try:
            return await ec2.reader.compute(tenant, instance_id)
        except EntityNotFoundError:
            return None

    return await ec2.wait_for("making the new instance visible", visible, interval=0.5)


async def resize(ec2: Ec2, tenant: Tenant, instance_id: str, instance_type: str) -> None:
    """ModifyInstanceAttribute InstanceType, on a stopped instance only (as on AWS)."""
    instance = await ec2.reader.instance(tenant, instance_id)
    state = instance["State"]["Name"]
    waiting = busy.instance(instance, ec2.settings.retry_after)
    if state == "stopping" and waiting is not None:
        raise waiting  # stopped soon, and then the swap can be made
    if state != "stopped":
        raise ConflictError(
            f"EC2 changes the instance type of a stopped instance only, and {instance_id} is "
            f"{state}: stop the compute, associate the resource_tpl, then start it again"
        )
    await ec2.api.call(
        "modify_instance_attribute",
        missing=InvalidRequestError,
        InstanceId=instance_id,
        InstanceType={"Value": instance_type},
    )


def _with_state(entity: Entity, change: dict[str, Any] | None) -> Entity:
    """The entity with the state EC2 answered the action with (no describe call needed);
    unchanged for actions that leave the state as it was (reboot, create image)."""
    shown = dataclasses.replace(entity, attributes=dict(entity.attributes))
    if change is not None:
        state = change["CurrentState"]["Name"]
        reason = {"Code": entities.HIBERNATED} if change.get("Hibernated") else {}
        shown.attributes["occi.compute.state"] = compute_state(
            {"State": {"Name": state}, "StateReason": reason}
        )
        shown.attributes["occi.compute.state.message"] = f"EC2 state {state}"
    return shown


async def _hibernate(ec2: Ec2, tenant: Tenant, instance_id: str) -> dict[str, Any]:
    instance = await ec2.reader.instance(tenant, instance_id)
    if not (instance.get("HibernationOptions") or {}).get("Configured"):
        raise NotSupportedError(
            f"{instance_id} was not launched with hibernation enabled, and EC2 can only "
            "hibernate such instances; stop it instead"
        )
    if compute_state(instance) != "active":
        waiting = busy.instance(instance, ec2.settings.retry_after)
        if waiting is not None and instance["State"]["Name"] == "pending":
            raise waiting  # running soon, and then it can hibernate
        raise ConflictError(f"{instance_id} is not running; only a running instance hibernates")
    response = await ec2.api.call("stop_instances", InstanceIds=[instance_id], Hibernate=True)
    change = response["StoppingInstances"][0]
    # A hibernating instance is on its way to suspended, not to inactive.
    return {"CurrentState": change["CurrentState"], "Hibernated": True}


async def _save_image(
    ec2: Ec2, tenant: Tenant, entity: Entity, parameters: Mapping[str, Any]
) -> Any:
    instance_id = entity.id or ""
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    name = str(parameters.get("name") or f"{entity.title or instance_id}-{stamp}")
    response = await ec2.api.call(
        "create_image",
        InstanceId=instance_id,
        Name=name,
        # "hot": snapshot the running disk as it is; "deferred": let EC2 reboot for
        # a consistent file system.
        NoReboot=parameters.get("method") == "hot",
        # Marked as the tenant's save: what lets that tenant delete it (`saved_images`).
        TagSpecifications=ec2.tenancy.specification("image", saved_tags(ec2, tenant)),
    )
    # The answer names the new os_tpl at once; it is offered, and starts computes, once
    # EC2 calls the AMI available (until then a create naming it is told to wait).
    return ec2.catalogue.add_image(response["ImageId"], name)
