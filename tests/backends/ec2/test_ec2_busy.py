"""States EC2 leaves by itself (409 with Retry-After) against those only the client can
change (a plain 409), and what EC2 is deleting (not shown at all).

moto makes volumes, attachments and instances settle at once, so these states
are read from descriptions shaped as EC2 documents them; the refusals moto
does give (an attached volume) are tested on moto in test_ec2_storage.
"""

from __future__ import annotations

import pytest
from ec2_helpers import COMPUTE, STORAGELINK

from pyocci.backends.ec2 import busy, entities
from pyocci.backends.ec2.catalogue import Offer
from pyocci.backends.errors import BusyError


def test_a_volume_still_being_created_is_busy_and_says_so():
    waiting = busy.volume({"VolumeId": "vol-1", "State": "creating"}, 7, "IncorrectState")
    assert isinstance(waiting, BusyError)
    assert waiting.retry_after == 7
    assert waiting.cloud_code == "IncorrectState"
    assert "creating the volume vol-1" in str(waiting)
    assert "(state creating)" in str(waiting) and "try again in 7 s" in str(waiting)


@pytest.mark.parametrize(("status", "words"), [("attaching", "to"), ("detaching", "from")])
def test_an_attachment_on_its_way_is_busy_naming_the_instance(status, words):
    described = {
        "VolumeId": "vol-1",
        "State": "in-use",
        "Attachments": [{"InstanceId": "i-1", "State": status}],
    }
    waiting = busy.volume(described, 3)
    assert isinstance(waiting, BusyError) and waiting.retry_after == 3
    assert f"{status} the volume vol-1 {words} i-1 (attachment {status})" in str(waiting)


@pytest.mark.parametrize(
    "described",
    [
        {"VolumeId": "vol-1", "State": "available"},
        # Attached: only the client can change that (detach first), so no Retry-After.
        {"VolumeId": "vol-1", "State": "in-use", "Attachments": [{"State": "attached"}]},
        {"VolumeId": "vol-1", "State": "error"},
    ],
)
def test_settled_volumes_are_not_busy(described):
    assert busy.volume(described, 5) is None


@pytest.mark.parametrize(("state", "doing"), [("pending", "starting"), ("stopping", "stopping")])
def test_an_instance_on_its_way_is_busy(state, doing):
    waiting = busy.instance({"InstanceId": "i-1", "State": {"Name": state}}, 4)
    assert isinstance(waiting, BusyError) and waiting.retry_after == 4
    assert f"{doing} the instance i-1 (state {state})" in str(waiting)


@pytest.mark.parametrize("state", ["running", "stopped", "terminated"])
def test_settled_instances_are_not_busy(state):
    assert busy.instance({"InstanceId": "i-1", "State": {"Name": state}}, 4) is None


def test_only_a_pending_ami_is_busy():
    waiting = busy.image({"ImageId": "ami-1", "State": "pending"}, 6)
    assert isinstance(waiting, BusyError) and waiting.retry_after == 6
    assert "the AMI ami-1" in str(waiting) and "(state pending)" in str(waiting)
    for state in ("available", "failed", "disabled", "deregistered"):
        assert busy.image({"ImageId": "ami-1", "State": state}, 6) is None


# --- what EC2 is deleting is gone -----------------------------------------------------------


def test_instances_being_terminated_and_volumes_being_deleted_are_gone():
    assert entities.is_gone({"State": {"Name": "shutting-down"}})
    assert entities.is_gone({"State": {"Name": "terminated"}})
    assert not entities.is_gone({"State": {"Name": "stopping"}})
    assert not entities.is_gone({"State": {"Name": "pending"}})
    assert entities.is_gone_volume({"State": "deleting"})
    assert entities.is_gone_volume({"State": "deleted"})
    assert not entities.is_gone_volume({"State": "creating"})
    # The listing filters ask EC2 for what is shown, and nothing gone.
    assert not set(entities.SHOWN_STATES) & entities.GONE
    assert not set(entities.SHOWN_VOLUME_STATES) & entities.GONE_VOLUMES


def _instance(volume_status: str, eni_status: str) -> dict:
    return {
        "InstanceId": "i-1",
        "State": {"Name": "running"},
        "BlockDeviceMappings": [
            {"DeviceName": "/dev/xvda", "Ebs": {"VolumeId": "vol-root", "Status": "attached"}},
            {"DeviceName": "/dev/sdf", "Ebs": {"VolumeId": "vol-2", "Status": volume_status}},
        ],
        "NetworkInterfaces": [
            {
                "NetworkInterfaceId": "eni-1",
                "SubnetId": "subnet-1",
                "Attachment": {"DeviceIndex": 0, "Status": "attached"},
            },
            {
                "NetworkInterfaceId": "eni-2",
                "SubnetId": "subnet-2",
                "Attachment": {"DeviceIndex": 1, "Status": eni_status},
                "Association": {"PublicIp": "198.51.100.7"},
            },
        ],
    }


def _link_ids(instance: dict) -> set[str]:
    resource = entities.compute(instance, Offer(), lambda kind, entity_id: f"/x/{entity_id}")
    return {link.id for link in resource.links if link.kind != COMPUTE}


def test_detached_links_are_gone():
    shown = _link_ids(_instance("attached", "attached"))
    assert {"i-1_vol-2", "eni-2", "eni-2_public"} <= shown
    gone = _link_ids(_instance("detached", "detached"))
    assert gone == shown - {"i-1_vol-2", "eni-2", "eni-2_public"}
    assert "i-1_vol-root" in gone and "eni-1" in gone


def test_an_interface_being_detached_is_gone():
    # Deleting a networkinterface waits for the detach itself, then deletes the ENI.
    shown = _link_ids(_instance("attached", "detaching"))
    assert "i-1_vol-2" in shown
    assert not {"eni-2", "eni-2_public"} & shown


def test_a_volume_being_detached_is_shown_inactive_until_detached():
    # The volume is in use until EC2 has detached it (a delete of it would be refused
    # with VolumeInUse): the storagelink's delete is not done before.
    resource = entities.compute(_instance("detaching", "attached"), Offer(), lambda k, i: i)
    link = next(link for link in resource.links if link.id == "i-1_vol-2")
    assert link.attributes["occi.storagelink.state"] == "inactive"
    assert link.attributes["occi.storagelink.state.message"] == "EBS attachment detaching"


def test_an_attachment_being_made_is_shown_inactive():
    resource = entities.compute(_instance("attaching", "attached"), Offer(), lambda k, i: i)
    link = next(link for link in resource.links if link.id == "i-1_vol-2")
    assert link.kind == STORAGELINK
    assert link.attributes["occi.storagelink.state"] == "inactive"
    assert link.attributes["occi.storagelink.state.message"] == "EBS attachment attaching"


def test_a_volume_left_on_instances_being_terminated_is_busy():
    # Their computes are deleted (gone, with their links): EC2 detaches the volume once
    # it has terminated them, with no one to ask.
    waiting = busy.terminating("vol-1", {"i-1": "shutting-down"}, 5, "VolumeInUse")
    assert isinstance(waiting, BusyError) and waiting.retry_after == 5
    assert waiting.cloud_code == "VolumeInUse"
    assert "detaching the volume vol-1 from the instances it is terminating" in str(waiting)
    assert "(instance state i-1 shutting-down); try again in 5 s" in str(waiting)
