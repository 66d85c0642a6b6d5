"""Values no database of the store can hold, refused before a statement is sent.

PostgreSQL keeps no NUL character (U+0000) in text or JSON, nor text that
is not Unicode (an unpaired UTF-16 surrogate, which a Python string holds
after decoding the JSON ``"\\ud800"``); SQLite keeps NUL but fails on a
surrogate; a NaN becomes NULL in SQLite and is not JSON to PostgreSQL; an
integer wider than its column fails on both, each in its own way. Left to
the databases, the same request would be stored by one and be a 500 on the
other. So `guard_values` has an engine check the parameters of every
statement it runs, whatever built the statement, and refuse the first such
value with an `UnstorableValueError` that names it: one answer on every
database, and no call site that can forget to ask.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from pyocci.store.errors import UnstorableValueError

INT16 = (-(2**15), 2**15 - 1)
INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)

#: How much of an offending text a message quotes.
_SHOWN = 60

# SQLAlchemy numbers the parameters it names after a column (``entity_id_1``), and
# the members of an expanded IN list once more (``entity_id_1_2``).
_NUMBERED = re.compile(r"(_\d+)+$")


def guard_values(engine: Engine) -> None:
    """Make `engine` refuse, with `UnstorableValueError`, any statement whose parameters
    hold a value that some database of the store could not keep (see the module)."""

    @sa.event.listens_for(engine, "before_cursor_execute")
    def _check(
        _connection: Any,
        _cursor: Any,
        _statement: str,
        parameters: Any,
        context: Any,
        _executemany: bool,
    ) -> None:
        compiled = None if context is None else context.compiled
        if compiled is None:
            # A driver-level statement (exec_driver_sql): its parameters as given.
            for name, value in _raw_items(parameters):
                check_value(name, value)
            return
        # The values before any type processed them (JSON is still a dict, not its text).
        binds = getattr(compiled, "binds", None)
        if binds is None:  # DDL: no parameters
            return
        for row in context.compiled_parameters:
            for name, value in row.items():
                if value is not None:
                    # A member of an expanded IN list has the list's type.
                    bind = binds.get(name)
                    if bind is None:
                        bind = binds.get(name.rpartition("_")[0])
                    check_value(name, value, None if bind is None else bind.type)


def check_value(name: str, value: Any, type_: sa.types.TypeEngine[Any] | None = None) -> None:
    """Raise `UnstorableValueError` if `value`, bound as parameter `name` of type
    `type_`, holds what a database of the store cannot keep."""
    # Every statement passes here: the common plain values are settled first, cheaply.
    kind = type(value)
    if (
        (kind is str and "\x00" not in value and value.isascii())
        # Finite: inf - inf and NaN - NaN are NaN.
        or (kind is float and value - value == 0.0)
        # Fits every integer column.
        or (kind is int and INT16[0] <= value <= INT16[1])
    ):
        return
    json = isinstance(type_, sa.JSON)
    # Integers inside JSON are arbitrary-precision numbers on both databases.
    bounds = None if json else _integer_bounds(type_)
    found = _first_problem(value, bounds)
    if found is not None:
        path, problem = found
        raise UnstorableValueError(f"{_where(name, path)} {problem}")


def _first_problem(
    value: Any, bounds: tuple[int, int] | None
) -> tuple[tuple[Any, ...], str] | None:
    # Iterative: a document nested deeper than the recursion limit is still walked.
    pending: list[tuple[tuple[Any, ...], Any]] = [((), value)]
    while pending:
        path, item = pending.pop()
        if isinstance(item, str):
            if "\x00" in item or not item.isascii():
                problem = text_problem(item)
                if problem is not None:
                    return path, problem
        elif item is None or isinstance(item, bool):
            continue
        elif isinstance(item, int):
            if bounds is not None and not bounds[0] <= item <= bounds[1]:
                return path, (
                    f"is {_shown_number(item)}, out of the range that can be stored "
                    f"({bounds[0]} to {bounds[1]})"
                )
        elif isinstance(item, float):
            if not math.isfinite(item):
                return path, f"is {item!r}, which cannot be stored; send a finite number"
        elif isinstance(item, dict | Mapping):
            for key, member in item.items():
                if isinstance(key, str) and ("\x00" in key or not key.isascii()):
                    problem = text_problem(key)
                    if problem is not None:
                        return path, f"has a name that {problem}"
                if not (type(member) is str and "\x00" not in member and member.isascii()):
                    pending.append(((*path, key), member))
        elif isinstance(item, list | tuple) or (
            isinstance(item, Sequence) and not isinstance(item, bytes | bytearray)
        ):
            for index, member in enumerate(item):
                if not (type(member) is str and "\x00" not in member and member.isascii()):
                    pending.append(((*path, index), member))
    return None


def text_problem(text: str) -> str | None:
    """Why `text` cannot be stored, as the end of a sentence; None when it can."""
    if "\x00" in text:
        return (
            f"holds a NUL character (U+0000), which the server cannot store or look up: "
            f"{_shown(text)}; remove it"
        )
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as error:
            code = ord(text[error.start])
            return (
                f"holds an unpaired surrogate (U+{code:04X}), which is not Unicode text and "
                f"which the server cannot store or look up: {_shown(text)}; send valid UTF-8"
            )
    return None


def _integer_bounds(type_: sa.types.TypeEngine[Any] | None) -> tuple[int, int]:
    # By the column's declared type, not by what this database makes of it, so that
    # SQLite (all integers 64-bit) refuses what PostgreSQL's 32-bit INTEGER would.
    if isinstance(type_, sa.SmallInteger):
        return INT16
    if isinstance(type_, sa.BigInteger) or not isinstance(type_, sa.Integer):
        # Anything else bound as an integer must fit a 64-bit one: SQLite's driver
        # binds no wider.
        return INT64
    return INT32


def _raw_items(parameters: Any) -> list[tuple[str, Any]]:
    if isinstance(parameters, Mapping):
        return list(parameters.items())
    if isinstance(parameters, (list, tuple)):
        if parameters and isinstance(parameters[0], (list, tuple, Mapping)):
            # executemany: one set of parameters per row.
            return [item for row in parameters for item in _raw_items(row)]
        return [("", value) for value in parameters]
    return []


def _where(name: str, path: tuple[Any, ...]) -> str:
    """The value's name as a client knows it: ``attribute occi.core.title``, ``entity id``."""
    column = _NUMBERED.sub("", name)
    if not column or column.startswith(("param", "anon", "%(")):
        label = "a value"
    elif column == "attributes" and path:
        label, path = f"attribute {path[0]}", path[1:]
    else:
        label = "the " + column.replace("_", " ")
    if path:
        label += " (at /" + "/".join(str(step) for step in path) + ")"
    return label


def _shown(text: str) -> str:
    if len(text) <= _SHOWN:
        return repr(text)
    return f"{text[:_SHOWN]!r}... ({len(text)} characters)"


def _shown_number(number: int) -> str:
    # Checked before str(): Python refuses to print integers of more than 4,300 digits.
    if number.bit_length() <= 128:
        return str(number)
    return "a number of more than 38 digits"
