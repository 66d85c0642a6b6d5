"""Contextualization: user data and SSH keys in either spelling, templates chosen."""

from __future__ import annotations

import base64

import pytest

from pyocci.backends.errors import InvalidRequestError
from pyocci.backends.kit.context import chosen, public_key, user_data, user_data_text

SCRIPT = "#!/bin/sh\necho héllo\n"
ENCODED = base64.b64encode(SCRIPT.encode()).decode()


@pytest.mark.parametrize("name", ["occi.compute.userdata", "org.openstack.compute.user_data"])
def test_user_data_in_either_spelling(name) -> None:
    assert user_data({name: ENCODED}) == ENCODED
    assert user_data_text({name: ENCODED}) == SCRIPT


def test_no_user_data() -> None:
    assert user_data({}) is None
    assert user_data_text({"occi.compute.userdata": ""}) is None


def test_user_data_not_base64_is_refused_naming_the_attribute() -> None:
    with pytest.raises(InvalidRequestError, match=r"occi\.compute\.userdata must be base64"):
        user_data({"occi.compute.userdata": "not base64!"})
    latin1 = base64.b64encode("é".encode("latin-1")).decode()
    with pytest.raises(InvalidRequestError, match="UTF-8 text"):
        user_data_text({"org.openstack.compute.user_data": latin1})


def test_public_key_in_either_spelling_stripped() -> None:
    assert public_key({"occi.credentials.ssh.publickey": " ssh-ed25519 AAAA k\n"}) == (
        "ssh-ed25519 AAAA k"
    )
    assert public_key({"org.openstack.credentials.publickey.data": "ssh-rsa B"}) == "ssh-rsa B"
    assert public_key({"occi.credentials.ssh.publickey": ""}) is None


def test_chosen_template_term() -> None:
    scheme = "http://example.org/os_tpl#"
    mixins = ["http://example.org/other#x", scheme + "ubuntu", scheme + "debian"]
    assert chosen(mixins, scheme) == "ubuntu"
    assert chosen(mixins, "http://example.org/none#") is None
