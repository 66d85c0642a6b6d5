"""One real Nova per test session, whichever test directories ask for it.

The OpenStack backend tests and the end-to-end tests both have a ``nova``
fixture that returns `session_nova(config)`. pytest caches a fixture per
conftest that declares it, so the process itself is kept on the session's
`pytest.Config`: the first request starts Nova, later ones get the same
process, and it stops when the session ends.

Without Nova the tests fail with the reason, unless ``PYOCCI_SKIP_NOVA=1``
says to skip them.
"""

from __future__ import annotations

import contextlib

import pytest

from novaserver import NovaServer
from openstackservice import running

#: How the conftests register the marker of every test that needs Nova.
OPENSTACK_MARKER = "openstack: needs the session's Nova (CI runs these in a stage of their own)"

_RUNNING = pytest.StashKey[NovaServer]()


def session_nova(config: pytest.Config) -> NovaServer:
    """The session's Nova, installed (once, cached) and started on first use."""
    server = config.stash.get(_RUNNING, None)
    if server is not None:
        return server
    stack = contextlib.ExitStack()
    server = stack.enter_context(running(NovaServer, config))
    config.stash[_RUNNING] = server
    config.add_cleanup(stack.close)
    return server
