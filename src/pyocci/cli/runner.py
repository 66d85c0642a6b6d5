"""Running a command: on one endpoint or every site, printing results and failures.

A command hands `execute` a function of a client and its target that
returns an `Output`; `execute` builds the clients, runs it (in parallel over
sites), prints the merged output, explains each failure and sets the exit
status.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from typing import Any

import click

from pyocci.cli.endpoints import Target, run_on, targets
from pyocci.cli.messages import explain
from pyocci.cli.options import settings
from pyocci.cli.output import Output, default_output, emit, merge
from pyocci.client import InvalidInputError, OcciClient

Work = Callable[[OcciClient, Target], Output]


def execute(ctx: click.Context, work: Work) -> None:
    """Run `work` on the targets the options name; print; exit with the right status."""
    options = settings(ctx)
    style = options.get("output") or default_output()
    try:
        chosen = targets(options)
    except click.UsageError:
        raise
    except Exception as error:
        failure = explain(error)
        click.echo(failure.render(), err=True)
        ctx.exit(failure.status)

    def one(target: Target) -> Output:
        with target.client() as client:
            return work(client, target)

    several = len(chosen) > 1
    outputs: list[tuple[str, Output]] = []
    status = 0
    for target, result in run_on(chosen, one):
        if isinstance(result, BaseException):
            failure = explain(result)
            click.echo(failure.render(target.label if several else None), err=True)
            status = status or failure.status
        else:
            outputs.append((target.label, result))
    if outputs:
        emit(merge(outputs) if several else outputs[0][1], style, sys.stdout)
    ctx.exit(status)


def key_values(pairs: Iterable[str], what: str = "--attribute") -> dict[str, Any]:
    """``name=value`` pairs as a dict; InvalidInputError for a pair without ``=``."""
    values: dict[str, Any] = {}
    for pair in pairs:
        name, equals, value = pair.partition("=")
        if not equals or not name.strip():
            raise InvalidInputError(f"{what} {pair!r}: write NAME=VALUE")
        values[name.strip()] = value
    return values
