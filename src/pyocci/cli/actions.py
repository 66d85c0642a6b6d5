"""``occi trigger``, ``occi save`` and ``occi resize``."""

from __future__ import annotations

import click

from pyocci.cli.completion import (
    complete_actions,
    complete_locations,
    complete_resource_templates,
)
from pyocci.cli.endpoints import Target
from pyocci.cli.entities import wait_options
from pyocci.cli.options import command_options
from pyocci.cli.output import Output, category_record, entities_output, records_output
from pyocci.cli.progress import wait_display
from pyocci.cli.runner import execute, key_values
from pyocci.client import OcciClient
from pyocci.client.validation import check_invocation
from pyocci.client.waiting import state_of
from pyocci.model.entity import Entity


def _settle(
    client: OcciClient, target: Target, location: str, state: str | None, timeout: float
) -> Entity:
    """Wait for `state` with a progress line; just read the entity when there is none."""
    if state is None:
        return client.get(location)
    label = f"{target.site}:{location}" if target.site else location
    with wait_display() as display:
        return client.wait_for(
            location, state, timeout=timeout, on_progress=display.tracker(label, state)
        )


def _next_state(client: OcciClient, entity: Entity, action_id: str) -> str | None:
    """Where an action leads the entity from its current state, per its kind's life cycle."""
    machine = client.model.state_machine(entity.kind or "")
    if machine is None:
        return None
    return machine.next_state(action_id, state_of(client.model, entity))


@click.command()
@click.argument("location", metavar="URL", shell_complete=complete_locations)
@click.argument("action", metavar="ACTION", shell_complete=complete_actions)
@click.option("--method", help="The action's method parameter (stop: graceful, acpioff, poweroff).")
@click.option(
    "-p",
    "--param",
    "params",
    metavar="NAME=VALUE",
    multiple=True,
    help="An action parameter (repeatable).",
)
@wait_options("for the state the action leads to")
@command_options
@click.pass_context
def trigger(
    ctx: click.Context,
    location: str,
    action: str,
    method: str | None,
    params: tuple[str, ...],
    wait: bool,
    wait_timeout: float,
) -> None:
    """Trigger ACTION (start, stop, restart, suspend, ...) on an entity.

    Parameters are checked against what the server's discovery says the action
    takes (names, types, allowed values, required ones) before anything is sent.
    """

    def work(client: OcciClient, target: Target) -> Output:
        parameters = key_values(params, "--param")
        if method is not None:
            parameters["method"] = method
        # The parameters against what discovery says the action takes, before any
        # request about the entity: a wrong one ends here, with what the action takes.
        chosen = client.action(location, action)
        check_invocation(chosen, parameters)
        expected = None
        if wait:
            expected = _next_state(client, client.get(location), chosen.id)
        answered = client.trigger(location, action, **parameters)
        if expected is None and answered is not None and not wait:
            entity = answered
        else:
            entity = _settle(client, target, location, expected, wait_timeout)
        return entities_output(client.model, [entity], client.url)

    execute(ctx, work)


@click.command()
@click.argument("location", metavar="URL", shell_complete=complete_locations)
@click.option("--name", help="Name of the new OS template.")
@click.option(
    "--method", type=click.Choice(("hot", "deferred")), help="hot or deferred (the default)."
)
@wait_options("until the server offers the template (the cloud has written the image)")
@command_options
@click.pass_context
def save(
    ctx: click.Context,
    location: str,
    name: str | None,
    method: str | None,
    wait: bool,
    wait_timeout: float,
) -> None:
    """Save a compute as a new OS template (image) and print the template."""

    def work(client: OcciClient, target: Target) -> Output:
        parameters = {"method": method} if method else {}
        mixin = client.save(location, name, **parameters)
        if wait:
            mixin = client.wait_for_template(mixin, timeout=wait_timeout)
        columns = [("term", "TERM"), ("title", "TITLE"), ("location", "LOCATION")]
        return records_output([category_record(mixin)], client.url, columns, plain=["term"])

    execute(ctx, work)


@click.command()
@click.argument("location", metavar="URL", shell_complete=complete_locations)
@click.option(
    "--size",
    metavar="SPEC",
    shell_complete=complete_resource_templates,
    help="The new resource template (term, or part of term/title).",
)
@click.option("--cores", type=click.IntRange(min=1), help="The smallest template with N cores.")
@click.option("--memory", type=click.FloatRange(min=0), help="... and at least N GiB of memory.")
@wait_options("until the compute is back in its state")
@command_options
@click.pass_context
def resize(
    ctx: click.Context,
    location: str,
    size: str | None,
    cores: int | None,
    memory: float | None,
    wait: bool,
    wait_timeout: float,
) -> None:
    """Give a compute another resource template."""
    if size is None and cores is None and memory is None:
        raise click.UsageError("say the new size: --size SPEC, or --cores/--memory")

    def work(client: OcciClient, target: Target) -> Output:
        before = state_of(client.model, client.get(location)) if wait else None
        entity = client.resize(location, size, cores=cores, memory=memory)
        if wait:
            entity = _settle(client, target, location, before, wait_timeout)
        return entities_output(client.model, [entity], client.url)

    execute(ctx, work)
