"""``occi list``, ``describe``, ``create``, ``update`` and ``delete``."""

from __future__ import annotations

import base64
import sys
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import click

from pyocci.cli.completion import (
    complete_categories,
    complete_kinds,
    complete_locations,
    complete_mixins,
    complete_os_templates,
    complete_resource_templates,
)
from pyocci.cli.endpoints import Target
from pyocci.cli.options import command_options, settings
from pyocci.cli.output import Output, entities_output, records_output
from pyocci.cli.progress import wait_display
from pyocci.cli.runner import execute, key_values
from pyocci.client import InvalidInputError, OcciClient
from pyocci.model.entity import Entity, Resource
from pyocci.rendering.negotiation import OCCI_JSON

F = TypeVar("F", bound=Callable[..., Any])

COMPUTE = "http://schemas.ogf.org/occi/infrastructure#compute"
#: The state ``--wait`` waits for after a creation, where it is not ``active``.
READY_STATES = {"http://schemas.ogf.org/occi/infrastructure#storage": "online"}


def ready_state(kind_id: str) -> str:
    """The state of a new entity of this kind that is ready for use."""
    return READY_STATES.get(kind_id, "active")


def wait_options(waits_for: str) -> Callable[[F], F]:
    """``--wait`` (for what `waits_for` says) and ``--wait-timeout``."""

    def decorate(function: F) -> F:
        function = click.option(
            "--wait-timeout",
            type=click.FloatRange(min=0),
            default=600.0,
            show_default=True,
            help="Seconds --wait waits at most.",
        )(function)
        return click.option(
            "--wait", "wait", is_flag=True, help=f"Wait {waits_for} (shows progress)."
        )(function)

    return decorate


@click.command(name="list")
@click.argument("category", metavar="KIND|MIXIN", shell_complete=complete_categories)
@click.option(
    "--filter",
    "filters",
    metavar="CATEGORY",
    multiple=True,
    shell_complete=complete_categories,
    help="Only entities with this kind or mixin too (repeatable): a term, or part of a term "
    "or title.",
)
@click.option(
    "-a",
    "--attribute",
    "attributes",
    metavar="NAME=VALUE",
    multiple=True,
    help="Only entities with this attribute value (repeatable).",
)
@click.option(
    "--page-size", type=click.IntRange(min=1), help="Entities per page asked of the server."
)
@command_options
@click.pass_context
def list_(
    ctx: click.Context,
    category: str,
    filters: tuple[str, ...],
    attributes: tuple[str, ...],
    page_size: int | None,
) -> None:
    """List the entities of a kind (compute, storage, network...) or a mixin."""
    style = settings(ctx).get("output")

    def work(client: OcciClient, target: Target) -> Output:
        if page_size:
            client.page_size = page_size
        wanted = key_values(attributes)
        if style == "uri-list" and client.media_type != OCCI_JSON:
            # Text listings carry locations: no need to fetch every entity.
            locations = client.locations(category, filters=filters, attributes=wanted)
            return Output(
                rows=[{"url": client.url(loc), "location": loc} for loc in locations],
                columns=[("location", "LOCATION")],
            )
        found = list(client.list(category, filters=filters, attributes=wanted))
        return entities_output(client.model, found, client.url)

    execute(ctx, work)


@click.command()
@click.argument(
    "locations", metavar="URL...", nargs=-1, required=True, shell_complete=complete_locations
)
@command_options
@click.pass_context
def describe(ctx: click.Context, locations: tuple[str, ...]) -> None:
    """Show entities in full: kind, mixins, attributes, links, actions."""

    def work(client: OcciClient, target: Target) -> Output:
        found = [client.get(location) for location in locations]
        return entities_output(client.model, found, client.url, detailed=True)

    execute(ctx, work)


def _read(path: str, option: str) -> str:
    """The text of the file an option names ('-': standard input); a usage error when it
    cannot be read or is empty (sending nothing where the user meant something)."""
    if path == "-":
        text = sys.stdin.read()
        path = "standard input"
    else:
        try:
            text = Path(path).expanduser().read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            reason = getattr(error, "strerror", None) or str(error)
            raise click.BadParameter(f"cannot read {path}: {reason}", param_hint=option) from None
    if not text.strip():
        raise click.BadParameter(f"{path} is empty", param_hint=option)
    return text


@click.command()
@click.argument("kind", metavar="KIND", shell_complete=complete_kinds)
@click.option(
    "--os",
    "os_spec",
    metavar="SPEC",
    shell_complete=complete_os_templates,
    help="OS template: a term, or part of a term or title.",
)
@click.option(
    "--size",
    metavar="SPEC",
    shell_complete=complete_resource_templates,
    help="Resource template: a term, or part of a term or title.",
)
@click.option(
    "--cores", type=click.IntRange(min=1), help="The smallest resource template with N cores."
)
@click.option("--memory", type=click.FloatRange(min=0), help="... and at least N GiB of memory.")
@click.option("--title", help="occi.core.title.")
@click.option("--summary", help="occi.core.summary.")
@click.option(
    "--user-data",
    type=click.Path(dir_okay=False, allow_dash=True),
    metavar="FILE",
    help="Contextualisation (cloud-init) file; '-' reads stdin.",
)
@click.option(
    "--ssh-key", type=click.Path(dir_okay=False), metavar="FILE", help="SSH public key file."
)
@click.option(
    "--link",
    "links",
    metavar="LOCATION",
    multiple=True,
    shell_complete=complete_locations,
    help="Link to a network or storage (repeatable), e.g. /network/public.",
)
@click.option(
    "--mixin",
    "mixins",
    metavar="MIXIN",
    multiple=True,
    shell_complete=complete_mixins,
    help="Another mixin (repeatable).",
)
@click.option(
    "-a",
    "--attribute",
    "attributes",
    metavar="NAME=VALUE",
    multiple=True,
    help="An attribute (repeatable).",
)
@wait_options("until the entity is ready: active, a storage online")
@command_options
@click.pass_context
def create(
    ctx: click.Context,
    kind: str,
    os_spec: str | None,
    size: str | None,
    cores: int | None,
    memory: float | None,
    title: str | None,
    summary: str | None,
    user_data: str | None,
    ssh_key: str | None,
    links: tuple[str, ...],
    mixins: tuple[str, ...],
    attributes: tuple[str, ...],
    wait: bool,
    wait_timeout: float,
) -> None:
    """Create an entity of KIND (compute, storage, network...) and print it."""
    # Files are read once, before any site is contacted.
    user_data_text = _read(user_data, "--user-data") if user_data else None
    ssh_key_text = _read(ssh_key, "--ssh-key").strip() if ssh_key else None
    try:
        values = key_values(attributes)
    except InvalidInputError as error:
        raise click.UsageError(error.message) from None
    if summary is not None:
        values["occi.core.summary"] = summary

    encoded_user_data = (
        base64.b64encode(user_data_text.encode()).decode() if user_data_text else None
    )
    compute_only = {
        "--os": os_spec,
        "--size": size,
        "--cores": cores,
        "--memory": memory,
        "--user-data": user_data,
        "--ssh-key": ssh_key,
    }

    def work(client: OcciClient, target: Target) -> Output:
        category = client.category(kind, mixins=False)
        entity: Entity
        if category.id == COMPUTE:
            entity = client.new_compute(
                os=os_spec,
                size=size,
                cores=cores,
                memory=memory,
                title=title,
                user_data=encoded_user_data,
                ssh_key=ssh_key_text,
                links=links,
                mixins=mixins,
                attributes=values,
            )
        else:
            given = [option for option, value in compute_only.items() if value is not None]
            if given:
                raise InvalidInputError(f"{', '.join(given)}: for a compute only, not {kind}")
            entity = Resource(kind=category.id, attributes=dict(values))
            if title is not None:
                entity.title = title
            entity.mixins = [client.category(m, kinds=False).id for m in mixins]
            entity.links = [client.new_link(None, t) for t in links]
        location = client.create(entity)
        if wait:
            ready = ready_state(category.id)
            with wait_display() as display:
                created = client.wait_for(
                    location,
                    ready,
                    timeout=wait_timeout,
                    on_progress=display.tracker(_short(target, location), ready),
                )
        else:
            created = client.get(location)
        output = entities_output(client.model, [created], client.url)
        output.plain = ["location"]
        return output

    execute(ctx, work)


def _short(target: Target, location: str) -> str:
    return f"{target.site}:{location}" if target.site else location


@click.command()
@click.argument("location", metavar="URL", shell_complete=complete_locations)
@click.option("--title", help="New occi.core.title.")
@click.option(
    "--mixin",
    "mixins",
    metavar="MIXIN",
    multiple=True,
    shell_complete=complete_mixins,
    help="Add a mixin (repeatable).",
)
@click.option(
    "-a",
    "--attribute",
    "attributes",
    metavar="NAME=VALUE",
    multiple=True,
    help="Set an attribute (repeatable).",
)
@command_options
@click.pass_context
def update(
    ctx: click.Context,
    location: str,
    title: str | None,
    mixins: tuple[str, ...],
    attributes: tuple[str, ...],
) -> None:
    """Change attributes of an entity, or add mixins to it (a partial update)."""

    def work(client: OcciClient, target: Target) -> Output:
        values = key_values(attributes)
        if title is not None:
            values["occi.core.title"] = title
        if not values and not mixins:
            raise InvalidInputError("nothing to change: give --title, --attribute or --mixin")
        updated = client.update(location, attributes=values, mixins=mixins)
        return entities_output(client.model, [updated], client.url)

    execute(ctx, work)


@click.command()
@click.argument(
    "locations", metavar="URL...", nargs=-1, required=True, shell_complete=complete_locations
)
@click.option(
    "--all",
    "everything",
    is_flag=True,
    help="Allow deleting a whole collection (such as /compute/): every entity in it.",
)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation on a terminal (with --all).")
@command_options
@click.pass_context
def delete(ctx: click.Context, locations: tuple[str, ...], everything: bool, yes: bool) -> None:
    """Delete entities (a resource takes its links with it).

    A kind collection (``/compute/``, or ``/`` for everything) deletes every
    entity in it: that needs ``--all``, and on a terminal a confirmation.
    """

    def work(client: OcciClient, target: Target) -> Output:
        collections = {
            location: category
            for location in locations
            if (category := client.collection_at(location)) is not None
        }
        if collections and not everything:
            named = ", ".join(collections)
            raise InvalidInputError(
                f"{named} names a whole collection: deleting it deletes every entity in it. "
                "Add --all to do that, or name the entities to delete"
            )
        counts = {
            location: sum(1 for _ in client.locations(category))
            for location, category in collections.items()
        }
        if counts and not yes and sys.stdin.isatty():
            described = ", ".join(f"{n} in {location}" for location, n in counts.items())
            if not click.confirm(f"Delete {described}?", default=False, err=True):
                raise click.Abort
        return deleted(client, locations, client.delete, counts)

    execute(ctx, work)


def deleted(
    client: OcciClient,
    locations: Iterable[str],
    remove: Callable[[str], bool],
    counts: Mapping[str, int] | None = None,
) -> Output:
    """Delete each location with `remove` (False: accepted, the cloud still at it); the
    Output listing them. `counts` holds, for the collections among them, how many
    entities they held."""
    records = []
    for location in locations:
        done = remove(location)
        record: dict[str, Any] = {"location": location, "deleted": done}
        if counts and location in counts:
            record["entities"] = counts[location]
            record["result"] = f"deleted {counts[location]} entities"
        if not done:
            record["result"] = "accepted: the cloud is still deleting it"
        records.append(record)
    columns = [("location", "LOCATION"), ("result", "RESULT")]
    accepted = any(not r["deleted"] for r in records)
    plain = ["location", "result"] if counts or accepted else ["location"]
    return records_output(records, client.url, columns, plain=plain, result="deleted")
