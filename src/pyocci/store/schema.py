"""Whose tables the store's migrations create: the store's own, and each backend's.

The schema is one Alembic history with a branch per owner: the store's
chain (label ``store``) creates the OCCI-only state every backend needs;
a backend with state of its own (the ``sim``) brings a branch of its own,
whose first revision depends on the store's. `Database.upgrade` brings
every branch to its head.

A backend declares its branch with an entry point of the
``pyocci.migrations`` group, named after the branch's label, naming the
package of its migrations::

    [project.entry-points."pyocci.migrations"]
    mycloud = "mycloud_occi.migrations"

That package holds the revision modules in ``versions/`` and names the
`MetaData` of the tables they create ``metadata`` (what ``alembic
revision --autogenerate`` compares with). Its first revision has
``branch_labels = ("mycloud",)``, ``down_revision = None`` and
``depends_on = "0001_initial"`` (the store's first). The store's
environment (``env.py``) runs every branch: a backend ships no ``env.py``.

Every installed backend's branch is migrated, whichever backend serves: a
database keeps the tables of a backend it served before, and the revisions
it records stay known to the next upgrade.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from importlib.metadata import entry_points

import sqlalchemy as sa

#: The entry point group a backend declares its migrations in.
GROUP = "pyocci.migrations"


@dataclass(frozen=True, slots=True)
class Migrations:
    """One branch of the schema: its label and the package of its migrations."""

    #: The branch label of its first revision (``store``, ``sim``, ...).
    label: str
    #: The importable package holding ``versions/`` (and ``metadata``).
    package: str

    @property
    def version_location(self) -> str:
        """Where Alembic finds the revisions, as a package resource (``package:versions``)."""
        return f"{self.package}:versions"

    def metadata(self) -> sa.MetaData | None:
        """The tables the revisions create (the package's ``metadata``), if it names them."""
        found = getattr(importlib.import_module(self.package), "metadata", None)
        return found if isinstance(found, sa.MetaData) else None


#: The store's own chain: user mixins and their members.
STORE = Migrations(label="store", package="pyocci.store.migrations")


def installed() -> tuple[Migrations, ...]:
    """The store's migrations, then every installed backend's, by label; ValueError
    when two distributions declare one label differently, or one takes ``store``."""
    declared: dict[str, set[str]] = {}
    for point in entry_points(group=GROUP):
        declared.setdefault(point.name, set()).add(point.module)
    for label, packages in declared.items():
        if label == STORE.label:
            raise ValueError(
                f"the {GROUP} entry point {label!r} ({', '.join(sorted(packages))}) takes "
                f"the store's own label; name it after its backend"
            )
        if len(packages) > 1:
            raise ValueError(
                f"the {GROUP} entry point {label!r} is declared for several packages "
                f"({', '.join(sorted(packages))}); uninstall all but one"
            )
    backends = (Migrations(label, packages.pop()) for label, packages in sorted(declared.items()))
    return (STORE, *backends)
