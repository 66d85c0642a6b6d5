"""``occi mixin define|associate|remove``: user mixins (tags) and their members."""

from __future__ import annotations

import click

from pyocci.cli.completion import complete_kinds, complete_locations, complete_mixins
from pyocci.cli.endpoints import Target
from pyocci.cli.options import command_options
from pyocci.cli.output import Output, category_record, records_output
from pyocci.cli.runner import execute
from pyocci.client import OcciClient

_COLUMNS = [("term", "TERM"), ("location", "LOCATION"), ("result", "RESULT")]


@click.group()
def mixin() -> None:
    """Define user mixins (tags), and give them to entities or take them away."""


@mixin.command()
@click.argument("term")
@click.option("--scheme", help="The mixin's scheme, ending in '#' (default: one of the endpoint).")
@click.option("--title", help="A title.")
@click.option("--location", help="Its collection path (default: chosen by the server).")
@click.option(
    "--depends",
    metavar="MIXIN",
    multiple=True,
    shell_complete=complete_mixins,
    help="A mixin it depends on (repeatable).",
)
@click.option(
    "--applies",
    metavar="KIND",
    multiple=True,
    shell_complete=complete_kinds,
    help="A kind it applies to (repeatable).",
)
@command_options
@click.pass_context
def define(
    ctx: click.Context,
    term: str,
    scheme: str | None,
    title: str | None,
    location: str | None,
    depends: tuple[str, ...],
    applies: tuple[str, ...],
) -> None:
    """Define a user mixin TERM."""

    def work(client: OcciClient, target: Target) -> Output:
        defined = client.define_mixin(
            term, scheme=scheme, title=title, location=location, depends=depends, applies=applies
        )
        record = category_record(defined)
        return records_output([record], client.url, _COLUMNS, plain=["location"], result="defined")

    execute(ctx, work)


@mixin.command()
@click.argument("name", metavar="MIXIN", shell_complete=complete_mixins)
@click.argument(
    "locations", metavar="URL...", nargs=-1, required=True, shell_complete=complete_locations
)
@command_options
@click.pass_context
def associate(ctx: click.Context, name: str, locations: tuple[str, ...]) -> None:
    """Give entities the mixin MIXIN (a term, id or location)."""

    def work(client: OcciClient, target: Target) -> Output:
        client.associate(name, locations)
        return _members(client, name, locations, "associated")

    execute(ctx, work)


@mixin.command()
@click.argument("name", metavar="MIXIN", shell_complete=complete_mixins)
@click.argument("locations", metavar="[URL...]", nargs=-1, shell_complete=complete_locations)
@command_options
@click.pass_context
def remove(ctx: click.Context, name: str, locations: tuple[str, ...]) -> None:
    """Take MIXIN from the entities named; with none named, delete the mixin itself."""

    def work(client: OcciClient, target: Target) -> Output:
        if locations:
            client.dissociate(name, locations)
            return _members(client, name, locations, "dissociated")
        category = client.category(name, kinds=False)
        client.remove_mixin(category.id)
        record = {**category_record(category), "removed": True}
        return records_output([record], client.url, _COLUMNS, plain=["term"], result="removed")

    execute(ctx, work)


def _members(client: OcciClient, name: str, locations: tuple[str, ...], result: str) -> Output:
    category = client.category(name, kinds=False)
    records = [
        {"mixin": category.id, "term": category.term, "location": location, "result": result}
        for location in locations
    ]
    columns = [("term", "MIXIN"), ("location", "LOCATION"), ("result", "RESULT")]
    return records_output(records, client.url, columns, plain=["location"])
