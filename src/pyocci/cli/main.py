"""The ``occi`` command: the group, its commands, and the entry point.

Shell completion comes from click: ``eval "$(_OCCI_COMPLETE=bash_source occi)"``
(``zsh_source``, ``fish_source`` for those shells); the values only the server
knows (kinds, templates, entity locations) from `pyocci.cli.completion`.
"""

from __future__ import annotations

import sys

import click

from pyocci import __version__
from pyocci.cli import actions, check, discovery, entities, exports, links, mixins
from pyocci.cli.messages import INPUT, explain
from pyocci.cli.options import group_options


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="occi")
@group_options
def cli() -> None:
    """occi: drive any OCCI 1.1 or 1.2 endpoint (occi-server, rOCCI, OpenStack OCCI...).

    Without --endpoint or --site, occi talks to the local occi-server at
    http://127.0.0.1:8787 (or the default site of the sites file).
    """


for command in (
    discovery.discover,
    discovery.templates,
    entities.list_,
    entities.describe,
    entities.create,
    entities.update,
    entities.delete,
    actions.trigger,
    actions.save,
    actions.resize,
    links.link,
    links.unlink,
    mixins.mixin,
    exports.export,
    exports.image,
    check.check,
):
    cli.add_command(command)


def main(argv: list[str] | None = None) -> int:
    """Run ``occi``; return the exit status (see `pyocci.cli.messages`)."""
    try:
        # Without standalone mode, click returns the status a command exits with.
        status = cli.main(args=argv, prog_name="occi", standalone_mode=False)
    except click.exceptions.Exit as done:
        return done.exit_code
    except click.Abort:
        click.echo("occi: aborted", err=True)
        return 130
    except click.ClickException as error:
        error.show()
        return INPUT if error.exit_code == 2 else error.exit_code
    except KeyboardInterrupt:
        click.echo("occi: interrupted", err=True)
        return 130
    except Exception as error:  # bad input found while building a request, say
        failure = explain(error)
        click.echo(failure.render(), err=True)
        return failure.status
    return status if isinstance(status, int) else 0


if __name__ == "__main__":
    sys.exit(main())
