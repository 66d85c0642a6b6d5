"""The durable side of the server: SQLAlchemy tables, migrations, and the OCCI-only state.

`Database` wraps one engine (SQLite file by default, PostgreSQL by URL) and
runs the Alembic migrations; `MixinRepository` keeps each tenant's user
mixins and their members. The ``sim`` backend keeps its simulated cloud in
the same database (see `pyocci.store.tables`).
"""

from pyocci.store.database import Database, default_database_url
from pyocci.store.mixins import MixinRepository
from pyocci.store.tables import metadata

__all__ = ["Database", "MixinRepository", "default_database_url", "metadata"]
