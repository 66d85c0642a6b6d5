"""The installed backends: each is an entry point of the ``pyocci.backends`` group.

A backend can live in a distribution of its own. It declares itself in its
``pyproject.toml``::

    [project.entry-points."pyocci.backends"]
    mycloud = "mycloud_occi.backend:build"

and ``backend = "mycloud"`` in the server's configuration serves it. The
entry point names a factory, ``build(setup: BackendSetup) -> Backend``,
that builds the backend from the ``[backend_settings]`` table without any
I/O (`Backend.open` is where it connects) and refuses settings it cannot
take with a ValueError or TypeError whose message names the setting.
pyocci's own backends (sim, ec2, openstack) are declared the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from typing import TYPE_CHECKING, Any

from pyocci.backends.deadline import DEFAULT_DEADLINE

if TYPE_CHECKING:
    from pyocci.backends.api import Backend
    from pyocci.model.registry import Model
    from pyocci.store.database import Database

#: The entry point group backends are declared in.
GROUP = "pyocci.backends"


@dataclass(frozen=True, slots=True)
class BackendSetup:
    """What a backend is built from."""

    #: The standard model: kinds, their locations, what links may join.
    model: Model
    #: The server's store, for a backend that keeps state of its own; None when the
    #: configuration is only being checked (build, but touch nothing).
    database: Database | None
    #: The ``[backend_settings]`` table, as the configuration file has it.
    settings: Mapping[str, Any] = field(default_factory=dict)
    #: ``[limits] cloud_deadline``: the longest a request waits for the cloud; SDK
    #: timeouts and retries must fit in it.
    cloud_deadline: float = DEFAULT_DEADLINE
    #: ``[auth] method``: how callers prove who they are (a backend that passes their
    #: credentials on to its cloud needs to know).
    auth_method: str = "none"


#: What an entry point names: builds the backend, raises ValueError or TypeError for
#: settings it cannot take.
BackendFactory = Callable[[BackendSetup], "Backend"]


class BackendSetupError(Exception):
    """The configured backend cannot be built: not installed, a library missing, or
    settings it refuses. The message says which and what to do."""


def installed() -> list[str]:
    """The names of the installed backends, sorted."""
    return sorted({point.name for point in entry_points(group=GROUP)})


def build_backend(name: str, setup: BackendSetup) -> Backend:
    """The backend installed as `name`, built (not opened) from `setup`;
    BackendSetupError when that cannot be done."""
    point = _entry_point(name)
    try:
        factory: BackendFactory = point.load()
        return factory(setup)
    except ImportError as error:
        raise BackendSetupError(
            f"the {name} backend needs a library that is not installed ({error}); "
            f"{_install_hint(point, name)}"
        ) from None
    except (ValueError, TypeError) as error:
        raise BackendSetupError(f"the {name} backend's settings: {error}") from None


def _entry_point(name: str) -> EntryPoint:
    found = list(entry_points(group=GROUP, name=name))
    if not found:
        names = ", ".join(installed()) or "none"
        raise BackendSetupError(
            f"backend {name!r} is not installed; the installed backends are: {names}"
        )
    distributions = {_distribution(point) for point in found}
    if len(distributions) > 1:
        raise BackendSetupError(
            f"backend {name!r} is installed by several distributions "
            f"({', '.join(sorted(distributions))}); uninstall all but one"
        )
    return found[0]


def _distribution(point: EntryPoint) -> str:
    dist = point.dist
    return dist.name if dist is not None else point.value


def _install_hint(point: EntryPoint, name: str) -> str:
    distribution = _distribution(point)
    if distribution == "pyocci":
        return f"install it with pip install 'pyocci[{name}]'"
    return f"install what {distribution} needs for it"
