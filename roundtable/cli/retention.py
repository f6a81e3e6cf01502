"""``roundtable series purge``: export a series, then delete its notes and keep its brief."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext

from roundtable.application import current_roundtable
from roundtable.plurals import count_of
from roundtable.services.retention import export_series_archive, purge_series_notes
from roundtable.services.series import get_series


@click.command("purge")
@click.argument("slug")
@click.option("--archive", "archive_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Write a full export of the series into this folder first.")
@click.option("--no-archive", is_flag=True, help="Purge without writing an export (not recommended).")
@click.option("--include-roster", is_flag=True, help="Also delete the roster: the real names of participants.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@with_appcontext
def purge_command(slug, archive_dir, no_archive, include_roster, yes):
    """Delete the notes of series SLUG once a brief version is saved; the brief stays."""
    if archive_dir is None and not no_archive:
        raise click.UsageError("give --archive DIR to export the series first, or --no-archive")
    with current_roundtable().database.session() as db:
        series = get_series(db, slug)
        if not yes:
            click.confirm(f"Delete every note of {series.title} for good?", abort=True)
        if archive_dir is not None:
            path = export_series_archive(db, series, archive_dir)
            db.commit()
            click.echo(f"Exported {series.slug} to {path}")
        result = purge_series_notes(db, series, include_roster=include_roster)
        click.echo(
            f"Purged {count_of(result.notes, 'note')}, {count_of(result.tags, 'tag')}, "
            f"{count_of(result.kept_terms, 'kept term')}"
            + (f", {count_of(result.participants, 'roster entry')}" if include_roster else "")
            + "; the brief is kept."
        )
    current_roundtable().database.erase_deleted()
