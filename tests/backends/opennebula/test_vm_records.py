"""oned's VM answers read by the backend: the same values pyone's bindings give, for
crafted answers and for every VM of the session's oned."""

from __future__ import annotations

from typing import Any

import pytest
from one_helpers import compute, delete, os_tpl
from pyone import bindings

from opennebula_cloud import OneCloud
from pyocci.backends.opennebula.vm_records import Record, read

pytestmark = pytest.mark.anyio

#: A VM as oned 7.5 answers vm.info (abridged), with what varies between VMs: two disks,
#: one NIC, a context, one disk snapshot, empty elements, two placements (the second with
#: the action, user and request id oned 7.5 writes, a request id being text to pyone).
VM = """<VM><ID>42</ID><UID>2</UID><GID>100</GID><UNAME>u</UNAME><GNAME>g</GNAME>
<NAME>007</NAME><PERMISSIONS><OWNER_U>1</OWNER_U><OWNER_M>1</OWNER_M><OWNER_A>0</OWNER_A>
<GROUP_U>1</GROUP_U><GROUP_M>1</GROUP_M><GROUP_A>0</GROUP_A><OTHER_U>0</OTHER_U>
<OTHER_M>0</OTHER_M><OTHER_A>0</OTHER_A></PERMISSIONS><LAST_POLL>0</LAST_POLL>
<STATE>3</STATE><LCM_STATE>3</LCM_STATE><PREV_STATE>3</PREV_STATE>
<PREV_LCM_STATE>3</PREV_LCM_STATE><RESCHED>0</RESCHED><STIME>1796631713</STIME>
<ETIME>0</ETIME><DEPLOY_ID>dummy-host:one-42:dummy</DEPLOY_ID><MONITORING></MONITORING>
<TEMPLATE><CPU><![CDATA[0.5]]></CPU><CONTEXT><NETWORK><![CDATA[YES]]></NETWORK>
<SSH_PUBLIC_KEY><![CDATA[ssh-ed25519 AAAA a&b <c>]]></SSH_PUBLIC_KEY></CONTEXT>
<DISK><DISK_ID><![CDATA[0]]></DISK_ID><IMAGE_ID><![CDATA[0]]></IMAGE_ID><TARGET><![CDATA[sda]]></TARGET></DISK>
<DISK><DISK_ID><![CDATA[1]]></DISK_ID><IMAGE_ID><![CDATA[7]]></IMAGE_ID><EMPTY></EMPTY></DISK>
<MEMORY><![CDATA[1024]]></MEMORY><NIC><IP><![CDATA[10.0.0.2]]></IP><MAC><![CDATA[02:00:0a:00:00:02]]></MAC>
<NETWORK_ID><![CDATA[0]]></NETWORK_ID><SECURITY_GROUPS><![CDATA[0,101]]></SECURITY_GROUPS></NIC>
<SNAPSHOT><SNAPSHOT_ID><![CDATA[0]]></SNAPSHOT_ID></SNAPSHOT><TEMPLATE_ID><![CDATA[3]]></TEMPLATE_ID>
<VCPU><![CDATA[1]]></VCPU></TEMPLATE><USER_TEMPLATE><ERROR><![CDATA[deploy failed]]></ERROR>
<SCHED_DS_REQUIREMENTS><![CDATA[ID = 100]]></SCHED_DS_REQUIREMENTS></USER_TEMPLATE>
<HISTORY_RECORDS><HISTORY><OID>42</OID><SEQ>0</SEQ><HOSTNAME>dummy-host</HOSTNAME><HID>0</HID>
<CID>0</CID><STIME>1</STIME><ETIME>2</ETIME><VM_MAD><![CDATA[dummy]]></VM_MAD></HISTORY>
<HISTORY><OID>42</OID><SEQ>1</SEQ><HOSTNAME>dummy-host-b</HOSTNAME><HID>1</HID><CID>100</CID>
<STIME>3</STIME><ETIME>0</ETIME><ACTION>0</ACTION><UID>-1</UID><GID>-1</GID>
<REQUEST_ID>-1</REQUEST_ID></HISTORY></HISTORY_RECORDS></VM>""".replace("\n", "")

#: A VM with as little as oned gives: no template attributes, one placement.
BARE_VM = (
    "<VM><ID>7</ID><GID>1</GID><NAME></NAME><STATE>1</STATE><LCM_STATE>0</LCM_STATE>"
    "<TEMPLATE></TEMPLATE><USER_TEMPLATE/><HISTORY_RECORDS><HISTORY><SEQ>0</SEQ><CID>-1</CID>"
    "</HISTORY></HISTORY_RECORDS></VM>"
)


def same(ours: Any, theirs: Any, where: str = "") -> None:
    """Every value of our record is pyone's, recursively."""
    if isinstance(ours, Record):
        for name, value in vars(ours).items():
            if not hasattr(theirs, name):
                continue  # pyone's schema of a pool's VM leaves some elements out
            same(value, getattr(theirs, name), f"{where}.{name}")
    elif isinstance(ours, list):
        assert isinstance(theirs, list), where
        assert len(ours) == len(theirs), where
        for index, (mine, pyone_value) in enumerate(zip(ours, theirs, strict=True)):
            same(mine, pyone_value, f"{where}[{index}]")
    else:
        assert ours == theirs, where
        assert type(ours) is type(theirs) or isinstance(ours, dict), where


@pytest.mark.parametrize("xml", [VM, BARE_VM])
def test_a_vm_reads_as_pyone_binds_it(xml: str) -> None:
    same(read(xml), bindings.parseString(xml.encode()))


def test_what_the_backend_reads_of_a_vm() -> None:
    vm = read(VM)
    assert (vm.ID, vm.GID, vm.NAME, vm.STATE, vm.LCM_STATE) == (42, 100, "007", 3, 3)
    assert [h.CID for h in vm.HISTORY_RECORDS.HISTORY] == [0, 100]
    assert [d["IMAGE_ID"] for d in vm.TEMPLATE["DISK"]] == ["0", "7"]
    assert vm.TEMPLATE["DISK"][1]["EMPTY"] is None
    assert vm.TEMPLATE["NIC"]["SECURITY_GROUPS"] == "0,101"  # one NIC: not a list
    assert vm.TEMPLATE["SNAPSHOT"] == [{"SNAPSHOT_ID": "0"}]  # always a list
    assert vm.TEMPLATE["CONTEXT"]["SSH_PUBLIC_KEY"] == "ssh-ed25519 AAAA a&b <c>"
    assert vm.USER_TEMPLATE["ERROR"] == "deploy failed"
    bare = read(BARE_VM)
    assert (bare.NAME, bare.TEMPLATE, bare.USER_TEMPLATE) == ("", {}, {})


def test_a_pool_reads_as_pyone_binds_it() -> None:
    pool = f"<VM_POOL>{VM}{BARE_VM}</VM_POOL>"
    ours = read(pool)
    assert [vm.ID for vm in ours.VM] == [42, 7]
    same(ours, bindings.parseString(pool.encode()))
    assert read("<VM_POOL></VM_POOL>").VM == []


@pytest.mark.parametrize(
    ("xml", "says"),
    [("<IMAGE><ID>1</ID></IMAGE>", "where a VM"), ("<VM><ID>1</VM>", "not XML")],
)
def test_what_is_not_a_vm_is_a_value_error(xml: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        read(xml)


def test_a_number_that_is_not_one_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        read("<VM><ID>one</ID></VM>")


async def test_oneds_own_vms_read_as_pyone_binds_them(
    one_cloud: OneCloud, backend: Any, tenant: Any
) -> None:
    made = await backend.create_entity(tenant, compute(await os_tpl(backend, tenant)))
    try:
        one = one_cloud.client()
        # One answer of oned's, read both ways: VMs change state between two calls.
        raw = one._do_request("one.vmpool.infoextended", one._cast_parms((-2, -1, -1, -1)))
        pool = bindings.parseString(raw[1].encode("utf-8"))
        assert pool.VM, "the session's oned has VMs"
        same(read(raw[1]), pool)
        for vm in pool.VM[:20]:
            raw = one._do_request("one.vm.info", one._cast_parms((vm.ID, False)))
            same(read(raw[1]), bindings.parseString(raw[1].encode("utf-8")))
    finally:
        await delete(backend, tenant, made)
