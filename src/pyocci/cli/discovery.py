"""``occi discover`` and ``occi templates``: what a server offers."""

from __future__ import annotations

import click

from pyocci.cli.options import command_options
from pyocci.cli.output import Output
from pyocci.cli.runner import execute
from pyocci.cli.session import Target
from pyocci.client import OcciClient
from pyocci.client import templates as choice
from pyocci.model.category import Action, Kind, Mixin

CLASSES = ("kind", "mixin", "action")


@click.command()
@click.option(
    "--class",
    "classes",
    type=click.Choice(CLASSES),
    multiple=True,
    help="Show only categories of this class (repeatable).",
)
@command_options
@click.pass_context
def discover(ctx: click.Context, classes: tuple[str, ...]) -> None:
    """List the kinds, mixins and actions the server offers."""

    def work(client: OcciClient, target: Target) -> Output:
        output = Output(
            columns=[
                ("class", "CLASS"),
                ("term", "TERM"),
                ("location", "LOCATION"),
                ("title", "TITLE"),
            ]
        )
        discovery = client.discover()
        for category in discovery.categories:
            if classes and category.category_class not in classes:
                continue
            record = {
                "id": category.id,
                "class": category.category_class,
                "term": category.term,
                "scheme": category.scheme,
                "title": category.title,
                "location": getattr(category, "location", None),
                "attributes": list(category.attributes),
            }
            if isinstance(category, Kind):
                record["parent"] = category.parent
                record["actions"] = list(category.actions)
            elif isinstance(category, Mixin):
                record["depends"] = list(category.depends)
                record["applies"] = list(category.applies)
                record["actions"] = list(category.actions)
            elif isinstance(category, Action):
                pass
            output.records.append(record)
            location = record["location"]
            output.rows.append({**record, "url": client.url(location) if location else None})
        return output

    execute(ctx, work)


@click.command()
@click.argument("kind", type=click.Choice(("os", "resource")))
@click.option(
    "--match", "text", metavar="TEXT", help="Only templates whose term or title contain TEXT."
)
@click.option(
    "--cores", type=click.IntRange(min=1), help="Only resource templates with at least N cores."
)
@click.option(
    "--memory", type=click.FloatRange(min=0), help="Only resource templates with at least N GiB."
)
@command_options
@click.pass_context
def templates(
    ctx: click.Context, kind: str, text: str | None, cores: int | None, memory: float | None
) -> None:
    """List the OS templates (images) or resource templates (sizes) of the server."""
    if kind == "os" and (cores or memory is not None):
        raise click.UsageError(
            "--cores and --memory select resource templates: occi templates resource"
        )

    def work(client: OcciClient, target: Target) -> Output:
        found = client.templates(kind)
        if text:
            lowered = text.lower()
            found = [
                t for t in found if lowered in t.term.lower() or lowered in (t.title or "").lower()
            ]
        if cores is not None or memory is not None:
            fitting = [
                t
                for t in found
                if t.cores is not None
                and t.memory is not None
                and (cores is None or t.cores >= cores)
                and (memory is None or t.memory >= memory)
            ]
            if not fitting and found:
                choice.smallest(found, cores=cores, memory=memory)  # explains why
            found = sorted(fitting, key=lambda t: (t.cores, t.memory, t.term))
        columns = [("term", "TERM"), ("title", "TITLE")]
        if kind == "resource":
            columns += [("cores", "CORES"), ("memory", "MEMORY (GiB)")]
        output = Output(columns=[*columns, ("location", "LOCATION")])
        for template in found:
            record = {
                "id": template.id,
                "term": template.term,
                "title": template.title,
                "location": template.mixin.location,
            }
            if kind == "resource":
                record["cores"] = template.cores
                record["memory"] = template.memory
            output.records.append(record)
            location = template.mixin.location
            output.rows.append({**record, "url": client.url(location) if location else None})
        return output

    execute(ctx, work)
