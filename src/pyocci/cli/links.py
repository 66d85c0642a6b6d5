"""``occi link`` and ``occi unlink``."""

from __future__ import annotations

import click

from pyocci.cli.completion import complete_kinds, complete_locations, complete_mixins
from pyocci.cli.endpoints import Target
from pyocci.cli.entities import deleted
from pyocci.cli.options import command_options
from pyocci.cli.output import Output, entities_output
from pyocci.cli.runner import execute, key_values
from pyocci.client import OcciClient


@click.command()
@click.argument("source", metavar="SOURCE_URL", shell_complete=complete_locations)
@click.argument("target_location", metavar="TARGET_URL", shell_complete=complete_locations)
@click.option(
    "--kind",
    metavar="KIND",
    shell_complete=complete_kinds,
    help="The link kind (default: networkinterface to a network, storagelink to a storage).",
)
@click.option(
    "--mixin",
    "mixins",
    metavar="MIXIN",
    multiple=True,
    shell_complete=complete_mixins,
    help="A mixin of the link (repeatable).",
)
@click.option(
    "-a",
    "--attribute",
    "attributes",
    metavar="NAME=VALUE",
    multiple=True,
    help="A link attribute (repeatable), e.g. occi.storagelink.deviceid=/dev/vdb.",
)
@command_options
@click.pass_context
def link(
    ctx: click.Context,
    source: str,
    target_location: str,
    kind: str | None,
    mixins: tuple[str, ...],
    attributes: tuple[str, ...],
) -> None:
    """Link a resource to another: a compute to a network or a storage."""

    def work(client: OcciClient, target: Target) -> Output:
        location = client.link(
            source, target_location, kind=kind, attributes=key_values(attributes), mixins=mixins
        )
        output = entities_output(client.model, [client.get(location)], client.url)
        output.columns.append(("target", "TARGET"))
        output.plain = ["location"]
        return output

    execute(ctx, work)


@click.command()
@click.argument(
    "locations", metavar="LINK_URL...", nargs=-1, required=True, shell_complete=complete_locations
)
@command_options
@click.pass_context
def unlink(ctx: click.Context, locations: tuple[str, ...]) -> None:
    """Delete links."""

    def work(client: OcciClient, target: Target) -> Output:
        return deleted(client, locations, client.unlink)

    execute(ctx, work)
