"""OpenStack Cinder for the tests: PyPI's ``cinder`` in its own virtual environment.

`CinderServer.find_or_install()` makes (once, then reuses) the environment
holding a pinned ``cinder`` release and the few packages Cinder's
functional-test fixtures import; `start()` runs `tests/cinder_launcher.py`,
which brings Cinder's API, scheduler, volume and backup services up in one
process on a free 127.0.0.1 port (see `openstackservice`).
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from openstackservice import ADMIN_TOKEN, Release, ServiceProcess, ServiceUnavailableError

__all__ = ["ADMIN_TOKEN", "SKIP_VARIABLE", "CinderServer", "CinderUnavailableError"]

CINDER_VERSION = "29.0.0"
# cinder itself, then what its functional-test fixtures import but do not
# declare (oslotest, testtools, fixtures); SQLAlchemy capped as for Nova.
CINDER = Release(
    "Cinder",
    (
        f"cinder=={CINDER_VERSION}",
        "SQLAlchemy>=2.0,<2.1",
        "oslotest>=5.0",
        "testtools>=2.7",
        "fixtures>=4.0",
    ),
)
SKIP_VARIABLE = CINDER.skip_variable


class CinderUnavailableError(ServiceUnavailableError):
    """Cinder could not be installed or started."""


class CinderServer(ServiceProcess):
    """One Cinder process: the block-storage API (v3) at `volume_url`.

    Options go to Cinder's configuration (``{"osapi_max_limit": 3}``).
    """

    release: ClassVar[Release] = CINDER
    unavailable: ClassVar[type[ServiceUnavailableError]] = CinderUnavailableError

    def __init__(
        self, python: Path, options: dict[str, object] | None = None, *, backup: bool = True
    ) -> None:
        super().__init__(python, options)
        #: Whether the backup service runs (Cinder's fake backup driver).
        self.backup = backup

    def environment(self) -> dict[str, str]:
        return {"PYOCCI_CINDER_BACKUP": "1" if self.backup else "0"}

    @property
    def volume_url(self) -> str:
        """The block-storage API endpoint (version 3, no project id in the path)."""
        return f"{self.url}/v3"
