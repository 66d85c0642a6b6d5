"""The durable side of the server: SQLAlchemy tables, migrations, and the OCCI-only state.

`Database` wraps one engine (SQLite file by default, PostgreSQL by URL) and
runs the Alembic migrations; `MixinRepository` keeps each tenant's user
mixins and their members (`metadata`: the store's tables). A backend with
state of its own, like the ``sim``, keeps it in the same database, in tables
of its own created by a branch of migrations of its own (see
`pyocci.store.schema`).
"""

from pyocci.store.database import Database, default_database_url
from pyocci.store.mixins import MixinRepository
from pyocci.store.tables import metadata

__all__ = ["Database", "MixinRepository", "default_database_url", "metadata"]
