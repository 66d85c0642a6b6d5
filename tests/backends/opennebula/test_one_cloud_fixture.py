"""The test cloud itself: oned started fresh for the session, and provisioned."""

from __future__ import annotations

import pyone

from opennebula_cloud import cache_dir, cached_build, source_tarball


def test_the_build_is_cached_where_the_script_keeps_it(one_cloud) -> None:
    assert cached_build(source_tarball()).is_file()
    assert cached_build(source_tarball()).parent == cache_dir()


def test_the_cloud_is_fresh_and_provisioned(one_cloud) -> None:
    one = one_cloud.client()
    made = one_cloud.provisioned
    assert one.host.info(made.host_id).STATE == pyone.HOST_STATES.MONITORED
    # Ready, or used by VMs an earlier test made that oned is still terminating.
    assert one.image.info(made.image_id).STATE in (
        pyone.IMAGE_STATES.READY,
        pyone.IMAGE_STATES.USED,
    )
    template = one.template.info(made.template_id)
    assert made.template_name == template.NAME
    network = one.vn.info(made.network_id)
    assert network.AR_POOL.AR[0].SIZE == 200
    datastores = {int(d.ID): d.NAME for d in one.datastorepool.info().DATASTORE}
    assert datastores[made.system_datastore_id] == "dummy-system"
    assert datastores[made.image_datastore_id] == "dummy-images"


def test_a_tenant_account_logs_in_to_its_own_group(one_cloud) -> None:
    account = one_cloud.tenant("fixture-check")
    me = one_cloud.client(account.session).user.info(-1)
    assert int(me.ID) == account.user_id
    assert int(me.GID) == account.group_id
