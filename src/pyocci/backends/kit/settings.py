"""Typed backend settings: a dataclass per backend, read from ``[backend_settings]``.

A backend declares its settings as a frozen dataclass whose field types say
what each setting takes (``Annotated`` constraints for ranges, ``Literal``
for choices, the types below for common shapes) and checks what spans
several settings in ``__post_init__`` by raising ValueError. `read_settings`
validates a configuration table against it with pydantic and answers a
mistake with a ValueError naming each wrong key, what it takes and what it
was given; an unknown key is named with the closest known one.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
from collections.abc import Mapping
from typing import Annotated, Any, TypeVar

from annotated_types import Ge, Gt
from pydantic import (
    AllowInfNan,
    BeforeValidator,
    Strict,
    StringConstraints,
    TypeAdapter,
    ValidationError,
)

from pyocci.model.values import shown

T = TypeVar("T")

#: The section the settings come from, as operators write it.
SECTION = "backend_settings"


def _one_or_many(value: Any) -> Any:
    """A single string where a list of strings is expected is a list of one."""
    return (value,) if isinstance(value, str) else value


#: One string or a list of them.
Texts = Annotated[tuple[str, ...], BeforeValidator(_one_or_many)]
#: Text that says something: stripped, not empty.
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
# Numbers are numbers: neither ``true`` nor ``"5"`` stands for one (a value from the
# environment is read as TOML first, so ``5`` there is the number).
#: A number of seconds (or any quantity) above zero (TOML's inf is no quantity).
Positive = Annotated[float, Strict(), Gt(0), AllowInfNan(False)]
#: A number of seconds (or any quantity) of zero or more.
NonNegative = Annotated[float, Strict(), Ge(0), AllowInfNan(False)]
#: A whole number of one or more.
Count = Annotated[int, Strict(), Ge(1)]
#: true or false, as TOML writes them (not ``"yes"`` or ``1``).
Flag = Annotated[bool, Strict()]


def plain(value: Any) -> Any:
    """Tables as dicts and arrays as lists, at any depth: the server hands settings over
    frozen (read-only mappings), and pydantic reads a dataclass's fields from dicts."""
    if isinstance(value, Mapping):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    return value


@functools.cache
def _adapter(cls: type) -> TypeAdapter[Any]:
    return TypeAdapter(cls)


def read_settings(cls: type[T], data: Mapping[str, Any]) -> T:
    """The settings `data` gives, as `cls`; ValueError saying what to fix otherwise."""
    known = [item.name for item in dataclasses.fields(cls)]  # type: ignore[arg-type]
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ValueError("; ".join(_unknown(name, known) for name in unknown))
    try:
        return _adapter(cls).validate_python(plain(data))  # type: ignore[no-any-return]
    except ValidationError as error:
        raise ValueError(_explained(error)) from None


def _unknown(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1)
    hint = f"did you mean {close[0]!r}?" if close else "known are " + ", ".join(sorted(known))
    return f"{SECTION}.{name}: unknown setting; {hint}"


#: pydantic's messages that name Python types, in the words of a TOML file.
_TOML_WORDS = {
    "dict_type": "Input should be a table",
    "dataclass_type": "Input should be a table",
    "model_type": "Input should be a table",
    "list_type": "Input should be an array",
    "tuple_type": "Input should be an array",
    "set_type": "Input should be an array",
    "frozen_set_type": "Input should be an array",
}


def _explained(error: ValidationError) -> str:
    """Each problem as ``backend_settings.key: what it takes (got what it was)``, the
    value shown as a configuration file writes it, never as Python."""
    problems = []
    for problem in error.errors(include_url=False):
        message = _TOML_WORDS.get(problem["type"]) or str(problem["msg"])
        message = message.removeprefix("Value error, ")
        location = [str(part) for part in problem["loc"]]
        if not location:
            problems.append(message)  # from __post_init__: the message names the keys
            continue
        value = problem.get("input")
        # A string as TOML's literal strings write it, as pydantic quotes the choices.
        given = repr(value) if isinstance(value, str) else shown(value)
        problems.append(f"{SECTION}.{'.'.join(location)}: {message} (got {given})")
    return "; ".join(problems)
