"""Bad values swept through the client against a real server, in every rendering: whether
the client refuses them before sending or the server does, the message speaks OCCI, never
Python (``not float 1.5``, ``not dict {...}``, ``NoneType``), and nothing is an
unexpected error."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

import pytest

from e2e.server import RunningServer
from pyocci.cli.messages import SERVER, explain
from pyocci.client import ClientError, OcciClient
from pyocci.model.entity import Resource

PYTHON_TYPE_NAMES = re.compile(r"\b(dict|float|int|str|NoneType|list|bool|tuple|bytes|set)\b")

#: Values of every sort a caller of the library (or -a NAME=VALUE) may pass.
BAD_VALUES: tuple[Any, ...] = (
    True,
    1.5,
    -7,
    10**30,
    math.inf,
    -math.inf,
    math.nan,
    "abc",
    "",
    "1.5",
    "inf",
    [1, "x"],
    {"a": 1},
    b"bytes",
    {1, 2},
    object(),
)
RENDERINGS = ("application/occi+json", "text/plain", "text/occi")
STORAGE = "http://schemas.ogf.org/occi/infrastructure#storage"


class Sweep:
    """Runs attempts and keeps the messages that fail the rules."""

    def __init__(self) -> None:
        self.failures = 0
        self.wrong: list[str] = []

    def attempt(self, what: str, action: Callable[[], object]) -> None:
        try:
            action()
        except ClientError as error:
            self.failures += 1
            failure = explain(error)
            text = failure.render()
            if PYTHON_TYPE_NAMES.search(text):
                self.wrong.append(f"{what}: {text}")
            elif failure.status == SERVER and " 500 " in text:
                self.wrong.append(f"{what}: the server failed: {text}")
        except Exception as error:  # anything else reaches the CLI as "a bug"
            self.wrong.append(f"{what}: unexpected {explain(error).render()}")


@pytest.mark.parametrize("rendering", RENDERINGS)
def test_bad_values_get_messages_in_occi_words(server: RunningServer, rendering: str) -> None:
    sweep = Sweep()
    with OcciClient(server.url, media_type=rendering) as occi:
        compute = occi.create(occi.new_compute(os="debian", size="small"))
        storage = occi.create(Resource(kind=STORAGE, attributes={"occi.storage.size": 1}))
        try:
            for name in occi.model.attribute_definitions(
                "http://schemas.ogf.org/occi/infrastructure#compute"
            ):
                for value in BAD_VALUES:
                    attributes = {name: value}
                    sweep.attempt(
                        f"create {name}={value!r}",
                        lambda a=attributes: occi.create(
                            occi.new_compute(os="debian", size="small", attributes=a)
                        ),
                    )
                    sweep.attempt(
                        f"update {name}={value!r}",
                        lambda a=attributes: occi.update(compute, attributes=a),
                    )
            for value in BAD_VALUES:
                for location, action, parameter in (
                    (compute, "stop", "method"),
                    (compute, "save", "name"),
                    (compute, "stop", "org.example.unknown"),
                    (storage, "resize", "size"),
                ):
                    sweep.attempt(
                        f"{action} {parameter}={value!r}",
                        lambda loc=location, act=action, p=parameter, v=value: occi.trigger(
                            loc, act, **{p: v}
                        ),
                    )
                sweep.attempt(
                    f"filter occi.compute.cores={value!r}",
                    lambda v=value: list(
                        occi.list("compute", attributes={"occi.compute.cores": v})
                    ),
                )
        finally:
            occi.delete(compute)
            occi.delete(storage)
    assert not sweep.wrong, "\n".join(sweep.wrong[:20])
    assert sweep.failures > 200  # the sweep did sweep
