"""``occi discover`` and ``occi templates``: what a server offers."""

from __future__ import annotations

from collections import Counter

import click

from pyocci.cli.endpoints import Target
from pyocci.cli.options import command_options
from pyocci.cli.output import Output, category_record, records_output
from pyocci.cli.runner import execute
from pyocci.client import OcciClient
from pyocci.client import templates as choice
from pyocci.model.category import Kind, Mixin

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
    """List the kinds, mixins and actions the server offers.

    Where two categories share a term (the network's and the network interface's
    ``up``, say), the SCHEME column tells them apart.
    """

    def work(client: OcciClient, target: Target) -> Output:
        records = []
        for category in client.discover().categories:
            if classes and category.category_class not in classes:
                continue
            record = {
                **category_record(category),
                "class": category.category_class,
                "scheme": category.scheme,
                "attributes": list(category.attributes),
            }
            if isinstance(category, Kind):
                record["parent"] = category.parent
                record["actions"] = list(category.actions)
            elif isinstance(category, Mixin):
                record["depends"] = list(category.depends)
                record["applies"] = list(category.applies)
                record["actions"] = list(category.actions)
            records.append(record)
        columns = [
            ("class", "CLASS"),
            ("term", "TERM"),
            ("location", "LOCATION"),
            ("title", "TITLE"),
        ]
        output = records_output(records, client.url, columns)
        # Two categories with one term (every standard network action is `up` or `down`)
        # are told apart by their scheme, shown where a term repeats: after the term in
        # a table, last in plain text (where the other columns keep their places).
        repeated = {t for t, n in Counter(r["term"] for r in records).items() if n > 1}
        if repeated:
            for row in output.rows:
                row["shown_scheme"] = row["scheme"] if row["term"] in repeated else ""
            output.columns.insert(2, ("shown_scheme", "SCHEME"))
            output.plain = [*(key for key, _ in columns), "shown_scheme"]
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
            found = choice.containing(found, text)
        if cores is not None or memory is not None:
            found = choice.fitting(found, cores=cores, memory=memory)
        columns = [("term", "TERM"), ("title", "TITLE")]
        if kind == "resource":
            columns += [("cores", "CORES"), ("memory", "MEMORY (GiB)")]
        records = []
        for template in found:
            record = category_record(template.mixin)
            if kind == "resource":
                record["cores"] = template.cores
                record["memory"] = template.memory
            records.append(record)
        return records_output(records, client.url, [*columns, ("location", "LOCATION")])

    execute(ctx, work)
