"""``occi check [URL]``: check an OCCI endpoint against the specifications.

Prints one row per check (table, plain, json or yaml), and exits 0 when
nothing failed, 1 when something did, 2 when the checks could not run (no
answer, credentials refused, no query interface) or a check could not be
carried out. See `pyocci.check`.
"""

from __future__ import annotations

import json
import sys
from typing import Any, TextIO

import click
import yaml
from rich.console import Console
from rich.status import Status
from rich.table import Table

from pyocci.check import (
    Check,
    CheckOptions,
    Outcome,
    Report,
    Result,
    SelectionError,
    all_checks,
    run_checks,
    select,
)
from pyocci.cli.endpoints import targets
from pyocci.cli.messages import INPUT, explain
from pyocci.cli.options import command_options, settings
from pyocci.cli.output import default_output
from pyocci.cli.verbose import exchange_hooks

STYLES = {
    Result.PASS: "green",
    Result.FAIL: "bold red",
    Result.WARN: "yellow",
    Result.NOT_SUPPORTED: "cyan",
    Result.SKIPPED: "dim",
    Result.ERROR: "bold magenta",
}


@click.command()
@click.argument("url", required=False)
@click.option(
    "--only",
    metavar="NAMES",
    multiple=True,
    help="Run only these checks: names, groups or patterns, comma-separated (repeatable).",
)
@click.option("--skip", metavar="NAMES", multiple=True, help="Leave these checks out (as --only).")
@click.option("--list", "list_only", is_flag=True, help="List the checks and exit.")
@click.option(
    "--os-tpl", metavar="TEMPLATE", help="OS template for computes (default: the first offered)."
)
@click.option(
    "--resource-tpl",
    metavar="TEMPLATE",
    help="Resource template for computes (default: the smallest offered).",
)
@click.option(
    "--network-address",
    metavar="CIDR",
    help="Address range for new networks, where the cloud needs one (ipnetwork mixin).",
)
@click.option(
    "--storage-size",
    type=click.FloatRange(min=0, min_open=True),
    default=1.0,
    show_default=True,
    help="GiB of new storage.",
)
@click.option(
    "--wait-timeout",
    type=click.FloatRange(min=1),
    default=300.0,
    show_default=True,
    help="Seconds to wait for an entity to reach a state, and for cleanup.",
)
@command_options
@click.pass_context
def check(
    ctx: click.Context,
    url: str | None,
    only: tuple[str, ...],
    skip: tuple[str, ...],
    list_only: bool,
    os_tpl: str | None,
    resource_tpl: str | None,
    network_address: str | None,
    storage_size: float,
    wait_timeout: float,
) -> None:
    """Check the OCCI endpoint URL against the OCCI 1.2 specifications.

    Discovery in every rendering, JSON schemas, create, read, update and
    delete of compute, storage, network and links, actions, user mixins,
    filters, paging, error statuses and OCCI 1.1 compatibility, each check
    citing the specification it holds the server to. Everything the checks
    create is deleted at the end. Exit status: 0 nothing failed, 1 failures,
    2 could not run.
    """
    options = settings(ctx)
    style = options.get("output") or default_output()
    if style == "uri-list":
        raise click.UsageError("occi check prints table, plain, json or yaml")
    try:
        chosen = select(all_checks(), only, skip)
    except SelectionError as error:
        raise click.UsageError(str(error)) from None
    if list_only:
        _print_list(chosen, style, sys.stdout)
        ctx.exit(0)
    if url:
        options = {**options, "endpoint": url, "site": None, "site_from_environment": None}
    try:
        chosen_targets = targets(options)
    except click.UsageError:
        raise
    except Exception as error:
        failure = explain(error)
        click.echo(failure.render(), err=True)
        ctx.exit(INPUT)
    if len(chosen_targets) != 1:
        raise click.UsageError("occi check checks one endpoint at a time: give one --site or URL")
    target = chosen_targets[0]
    check_options = CheckOptions(
        os_tpl=os_tpl,
        resource_tpl=resource_tpl,
        network_address=network_address,
        storage_size=storage_size,
        wait_timeout=wait_timeout,
        timeout=target.timeout,
    )
    # A spinner would tangle with the exchanges --verbose prints on the same terminal.
    progress = _Progress(len(chosen), show=not target.verbose)
    try:
        report = run_checks(
            target.endpoint,
            target.credentials,
            options=check_options,
            only=only,
            skip=skip,
            event_hooks=exchange_hooks() if target.verbose else None,
            progress=progress.update,
        )
    except Exception as error:  # credentials that cannot be used, say
        progress.stop()
        failure = explain(error)
        click.echo(failure.render(), err=True)
        ctx.exit(INPUT)
    finally:
        progress.stop()
    if report.could_not_run is None or style in ("json", "yaml"):
        print_report(report, style, sys.stdout)
    if report.could_not_run is not None:
        click.echo(f"occi: error: {report.summary_line()}", err=True)
    ctx.exit(report.exit_status)


class _Progress:
    """On a terminal, which check is running; nothing elsewhere."""

    def __init__(self, total: int, *, show: bool) -> None:
        self.total = total
        self.done = 0
        self._status: Status | None = None
        if show and sys.stderr.isatty():
            self._status = Console(stderr=True).status(f"checking (0/{total})")
            self._status.start()

    def update(self, outcome: Outcome) -> None:
        self.done += 1
        if self._status is not None:
            self._status.update(f"checking ({self.done}/{self.total}): {outcome.name} done")

    def stop(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None


def _rows(report: Report) -> list[dict[str, Any]]:
    return [
        {
            "check": outcome.name,
            "result": outcome.result.value,
            "spec": outcome.spec,
            "detail": outcome.detail,
        }
        for outcome in report.all_outcomes()
    ]


def print_report(report: Report, style: str, stream: TextIO) -> None:
    """The report in one of the styles of ``--output``."""
    if style == "json":
        stream.write(json.dumps(report.as_dict(), indent=2) + "\n")
        return
    if style == "yaml":
        stream.write(yaml.safe_dump(report.as_dict(), sort_keys=False, allow_unicode=True))
        return
    if style == "plain":
        for row in _rows(report):
            stream.write("\t".join(str(row[k]) for k in ("check", "result", "spec", "detail")))
            stream.write("\n")
        stream.write(report.summary_line() + "\n")
        return
    console = Console(file=stream, soft_wrap=False)
    table = Table(title=f"occi check {report.endpoint}")
    table.add_column("CHECK", no_wrap=True)
    table.add_column("RESULT", no_wrap=True)
    table.add_column("SPEC", overflow="fold")
    table.add_column("DETAIL", overflow="fold")
    for outcome in report.all_outcomes():
        table.add_row(
            outcome.name,
            f"[{STYLES[outcome.result]}]{outcome.result.value}[/]",
            outcome.spec,
            outcome.detail,
        )
    console.print(table)
    console.print(report.summary_line())


def _print_list(chosen: list[Check], style: str, stream: TextIO) -> None:
    records = [{"check": c.name, "title": c.title, "spec": c.spec} for c in chosen]
    if style == "json":
        stream.write(json.dumps(records, indent=2) + "\n")
    elif style == "yaml":
        stream.write(yaml.safe_dump(records, sort_keys=False))
    elif style == "plain":
        stream.writelines(f"{r['check']}\t{r['title']}\t{r['spec']}\n" for r in records)
    else:
        table = Table()
        for header in ("CHECK", "WHAT", "SPEC"):
            table.add_column(header, overflow="fold")
        for record in records:
            table.add_row(record["check"], record["title"], record["spec"])
        Console(file=stream, soft_wrap=False).print(table)
