"""OpenStack Glance for the tests: PyPI's ``glance`` in its own virtual environment.

`GlanceServer.find_or_install()` makes (once, then reuses) the environment
holding a pinned ``glance`` release; `start()` runs `tests/glance_launcher.py`,
which brings Glance's image API (v2) up in one process on a free 127.0.0.1
port, with a SQLite database and the ``file`` store in a temporary
directory (see `openstackservice`).
"""

from __future__ import annotations

from typing import ClassVar

from openstackservice import ADMIN_TOKEN, Release, ServiceProcess, ServiceUnavailableError

__all__ = ["ADMIN_TOKEN", "SKIP_VARIABLE", "GlanceServer", "GlanceUnavailableError"]

GLANCE_VERSION = "33.0.0"
# glance itself, with SQLAlchemy capped as for Nova and Cinder (OpenStack's
# 2026.2 constraints stop below 2.1; Glance's own requirements do not), and a
# WSGI server: Glance is only an application now, which clouds serve with
# uWSGI or Apache; cheroot is a threaded one in pure Python.
GLANCE = Release(
    "Glance",
    (
        f"glance=={GLANCE_VERSION}",
        "SQLAlchemy>=2.0,<2.1",
        "cheroot>=10.0",
    ),
)
SKIP_VARIABLE = GLANCE.skip_variable


class GlanceUnavailableError(ServiceUnavailableError):
    """Glance could not be installed or started."""


class GlanceServer(ServiceProcess):
    """One Glance process: the image API (v2) at `image_url`.

    Options go to Glance's configuration (``{"api_limit_max": 3}``).
    """

    release: ClassVar[Release] = GLANCE
    unavailable: ClassVar[type[ServiceUnavailableError]] = GlanceUnavailableError

    @property
    def image_url(self) -> str:
        """The image API endpoint (the ``/v2`` paths are below it)."""
        return self.url
