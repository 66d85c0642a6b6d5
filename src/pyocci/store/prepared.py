"""Hot statements run on SQLite's own cursor, with the store's checks kept.

On a local SQLite file a statement answers in a few microseconds, while
SQLAlchemy's work around each execution (an execution context, events,
a result object) costs ten times that: on the sim's busiest paths (read an
entity, update it, create one) it was most of the request. A `Prepared`
statement is a Core statement compiled once per set of parameter names;
`Database.fetch` and `Database.change` run it on the driver connection
under the transaction SQLAlchemy began, doing by hand only what the
engine's events do for every other statement:

- every parameter is checked first (`pyocci.store.values.check_value`),
- the column types' bind processors turn values into the driver's (JSON to
  text, numbers to floats),
- driver errors become the same store errors (`pyocci.store.faults`), or
  SQLAlchemy's own exception classes (an `IntegrityError` stays one).

Other databases (PostgreSQL, reached from worker threads and over a
network, where SQLAlchemy's share is small) run the same statement through
`Connection.execute`, so callers have one way to write a query.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

from pyocci.store.values import check_value


@dataclass(frozen=True, slots=True)
class Compiled:
    """One compiled form: SQL text and, per positional parameter, how to fill it."""

    sql: str
    #: (parameter name, type (for the value check), bind processor or None, default)
    slots: tuple[tuple[str, sa.types.TypeEngine[Any], Callable[[Any], Any] | None, Any], ...]
    #: Whether the statement changes rows (for the store's incident bookkeeping).
    is_dml: bool

    def values(self, parameters: Mapping[str, Any]) -> tuple[Any, ...]:
        """The driver's positional values for `parameters`, each checked first."""
        values = []
        for name, type_, process, default in self.slots:
            value = parameters.get(name, default)
            if value is not None:
                check_value(name, value, type_)
                if process is not None:
                    value = process(value)
            values.append(value)
        return tuple(values)


class Prepared:
    """A Core statement compiled once per dialect and set of parameter names.

    Parameters are bound by name, as with `Connection.execute`; a statement
    with an expanding IN list cannot be prepared (its SQL changes per call).
    """

    __slots__ = ("_compiled", "statement")

    def __init__(self, statement: sa.Executable) -> None:
        self.statement = statement
        self._compiled: dict[tuple[str, tuple[str, ...]], Compiled] = {}

    def compiled(self, dialect: Dialect, names: tuple[str, ...]) -> Compiled:
        """The statement compiled for `dialect` with these parameter names (an INSERT's
        or UPDATE's columns are the names given); compiled on first use."""
        key = (dialect.name, names)
        found = self._compiled.get(key)
        if found is None:
            found = self._compiled[key] = self._compile(dialect, names)
        return found

    def _compile(self, dialect: Dialect, names: tuple[str, ...]) -> Compiled:
        compiled = self.statement.compile(dialect=dialect, column_keys=list(names))
        if not compiled.positional or compiled.positiontup is None:
            raise TypeError(f"{dialect.name} binds parameters by name; use Connection.execute")
        if any(bind.expanding for bind in compiled.binds.values()):
            raise TypeError("a statement with an expanding IN list cannot be prepared")
        if compiled.insert_prefetch or compiled.update_prefetch:
            # Their values are made per execution by SQLAlchemy, which is skipped here.
            raise TypeError(
                "a statement filling columns with Python-side defaults cannot be prepared"
            )
        defaults = compiled.construct_params(_check=False)
        # Private to SQLAlchemy, and what its own execution applies: a test compares
        # this path with Connection.execute for every prepared statement of the store.
        processors = compiled._bind_processors
        slots = tuple(
            (
                name,
                compiled.binds[name].type,
                processors.get(name),
                defaults.get(name),
            )
            for name in compiled.positiontup
        )
        return Compiled(
            compiled.string, slots, compiled.isinsert or compiled.isupdate or compiled.isdelete
        )


@dataclass(frozen=True, slots=True)
class Changed:
    """What a prepared INSERT, UPDATE or DELETE did."""

    #: How many rows it changed.
    rowcount: int
    #: The primary key of the row an INSERT added (an integer key), else None.
    inserted: Any = None
