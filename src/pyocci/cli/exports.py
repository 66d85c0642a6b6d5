"""``occi export`` (an OS template to s3://, https:// or glance://) and ``occi image delete``.

An export is an entity like any other once made: ``occi list export`` lists
them, ``occi describe URL`` shows one, ``occi trigger URL cancel`` stops one.
"""

from __future__ import annotations

import click

from pyocci.cli.completion import complete_os_templates
from pyocci.cli.endpoints import Target
from pyocci.cli.entities import wait_options
from pyocci.cli.options import command_options
from pyocci.cli.output import Output, entities_output, records_output
from pyocci.cli.progress import wait_display
from pyocci.cli.runner import execute
from pyocci.client import OcciClient
from pyocci.client.exports import delete_image, export_image, wait_for_export


@click.command()
@click.argument("image", metavar="OS_TPL", shell_complete=complete_os_templates)
@click.argument("target", metavar="TARGET")
@click.option(
    "--format",
    "disk_format",
    metavar="FORMAT",
    default=None,
    help="Convert to this disk format (raw, qcow2) where the server can; "
    "default: the format the cloud holds the image in.",
)
@wait_options("until the image has arrived (or the export failed)")
@command_options
@click.pass_context
def export(
    ctx: click.Context,
    image: str,
    target: str,
    disk_format: str | None,
    wait: bool,
    wait_timeout: float,
) -> None:
    """Copy an OS template (an image you saved, say) to TARGET, outside the site.

    TARGET is s3://bucket/key (the site's object store), an https:// URL that
    accepts a PUT, such as a pre-signed URL of another site's store, or
    glance://SITE/NAME (an image NAME made in the Glance of a SITE the server
    knows). The server
    answers at once; the export then runs on the server: --wait follows it
    and ends with the image's URL and checksum, or the reason it failed.
    """

    def work(client: OcciClient, endpoint: Target) -> Output:
        location = export_image(client, image, target, disk_format=disk_format)
        if wait:
            label = f"{endpoint.site}:{location}" if endpoint.site else location
            with wait_display() as display:
                wait_for_export(
                    client,
                    location,
                    timeout=wait_timeout,
                    on_progress=display.export_tracker(label),
                )
        return entities_output(client.model, [client.get(location)], client.url)

    execute(ctx, work)


@click.group()
def image() -> None:
    """OS images (templates) you saved."""


@image.command(name="delete")
@click.argument("spec", metavar="OS_TPL", shell_complete=complete_os_templates)
@command_options
@click.pass_context
def delete(ctx: click.Context, spec: str) -> None:
    """Delete an image you saved (computes started from it keep running)."""

    def work(client: OcciClient, target: Target) -> Output:
        deleted = delete_image(client, spec)
        return records_output([{"id": deleted}], client.url, [("id", "DELETED")], plain=["id"])

    execute(ctx, work)
