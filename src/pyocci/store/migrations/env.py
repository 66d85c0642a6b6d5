"""Alembic environment for the pyocci store, and for every branch of its schema.

`pyocci.store.database.Database.upgrade` runs this with an open connection in
``config.attributes["connection"]`` and the branches it migrates in
``config.attributes["migrations"]``; a developer's ``alembic`` command line
(with a config naming ``sqlalchemy.url`` and the ``version_locations``) gets an
engine of its own and compares with every installed branch's tables.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from pyocci.store import schema

config = context.config

#: What autogenerate compares with: the tables of every branch migrated.
target_metadata = [
    metadata
    for migrations in config.attributes.get("migrations") or schema.installed()
    if (metadata := migrations.metadata()) is not None
]


def _run(connection: sa.engine.Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things; batch mode copies the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Migrate over the caller's connection, or one made from the configured URL."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = sa.create_engine(config.get_main_option("sqlalchemy.url"))
    with engine.begin() as new_connection:
        _run(new_connection)
    engine.dispose()


if context.is_offline_mode():
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
