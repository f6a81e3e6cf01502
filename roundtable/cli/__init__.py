"""The ``roundtable`` command line (click; commands run inside the app's context).

Every feature adds its commands from its own module; the app's plugins add
theirs through ``register_commands`` when a command is looked up. User errors
are one line on stderr and exit status 2. A plain ``click.Group`` rather than
Flask's ``FlaskGroup``: the latter adds ``--app``/``--debug`` options and
extension commands (``limiter``) that mean nothing here.
"""

from __future__ import annotations

import json
import sys

import click
from flask.cli import ScriptInfo, with_appcontext
from sqlalchemy.engine import make_url

from roundtable import create_app
from roundtable.application import current_roundtable
from roundtable.cli import demo, users
from roundtable.cli.anonymize import anonymize_command
from roundtable.cli.brief import brief_group, render_command
from roundtable.cli.draft import draft_command
from roundtable.cli.keys import rotate_key_command
from roundtable.cli.notes import notes_group
from roundtable.cli.retention import purge_command
from roundtable.cli.series import series_group
from roundtable.cli.serve import serve_command
from roundtable.cli.tag import tag_command
from roundtable.errors import RoundtableError
from roundtable.plugins import describe_plugins


class RoundtableGroup(click.Group):
    """The built-in commands, then those of the app's plugins (built once per app, on first need)."""

    def plugin_commands(self, ctx: click.Context) -> dict[str, click.Command]:
        app = ctx.ensure_object(ScriptInfo).load_app()
        commands = app.extensions.get("roundtable_plugin_commands")
        if commands is None:
            group = click.Group()
            roundtable = app.extensions["roundtable"]
            roundtable.pm.hook.register_commands(roundtable=roundtable, cli=group)
            commands = app.extensions["roundtable_plugin_commands"] = group.commands
        return commands

    def get_command(self, ctx, name):
        return super().get_command(ctx, name) or self.plugin_commands(ctx).get(name)

    def list_commands(self, ctx):
        try:
            plugin_names = list(self.plugin_commands(ctx))
        except RoundtableError:  # help still lists the built-in commands when the app cannot start
            plugin_names = []
        return sorted({*super().list_commands(ctx), *plugin_names})


@click.group(cls=RoundtableGroup)
@click.version_option(package_name="roundtable")
def cli():
    """Roundtable: live anonymized notes and research briefs for unrecorded series."""


@cli.command("init")
@with_appcontext
def init_command():
    """Create or upgrade the database to the latest schema."""
    current_roundtable().database.upgrade()
    click.echo(f"Database ready: {_safe_url(current_roundtable().database.url)}")


@cli.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@with_appcontext
def plugins_command(as_json):
    """List loaded plugins, their versions and the hooks they implement."""
    rows = describe_plugins(current_roundtable())
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    width = max((len(r["name"]) for r in rows), default=4)
    click.echo(f"{'name':<{width}}  {'version':<8}  hooks")
    for r in rows:
        line = f"{r['name']:<{width}}  {r['version'] or '-':<8}  {', '.join(r['hooks'])}"
        click.echo(line + (f"  [{r['status']}]" if r["status"] else ""))


def _safe_url(url: str) -> str:
    """A database URL without its password, for messages."""
    return make_url(url).render_as_string(hide_password=True)


def _add_feature_commands(group: click.Group) -> None:
    group.add_command(serve_command)
    group.add_command(demo.demo_command)
    group.add_command(users.users_group)
    group.add_command(notes_group)
    group.add_command(series_group)
    series_group.add_command(purge_command)
    group.add_command(anonymize_command)
    group.add_command(brief_group)
    brief_group.add_command(draft_command)
    group.add_command(render_command)
    group.add_command(tag_command)
    group.add_command(rotate_key_command)


_add_feature_commands(cli)


def main(argv=None) -> None:
    """Entry point: run the CLI; turn user errors into one line and exit status 2."""
    try:
        rv = cli.main(args=argv, prog_name="roundtable", standalone_mode=False, obj=ScriptInfo(create_app=create_app))
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        click.echo(f"Error: {_one_line(exc.format_message())}", err=True)
        sys.exit(2)
    except RoundtableError as exc:
        click.echo(f"Error: {_one_line(str(exc))}", err=True)
        sys.exit(2)
    except OSError as exc:
        click.echo(f"Error: {_one_line(str(exc))}", err=True)
        sys.exit(2)
    sys.exit(rv if isinstance(rv, int) else 0)


def _one_line(message: str) -> str:
    return " ".join(message.split())
