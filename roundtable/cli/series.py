"""``roundtable series import DIR`` and ``roundtable series export SLUG DIR``: series bundles."""

from __future__ import annotations

import click
from flask.cli import with_appcontext
from sqlalchemy import func, select

from roundtable.application import current_roundtable
from roundtable.models import AuditEvent, Note, Session
from roundtable.plurals import count_of
from roundtable.services.bundles import export_bundle, import_bundle, read_bundle
from roundtable.services.series import get_series


@click.group("series")
def series_group():
    """Create a series from a bundle folder, or write one out."""


@series_group.command("import")
@click.argument("directory", type=click.Path(file_okay=False, path_type=str))
@with_appcontext
def import_command(directory):
    """Create a series from the bundle in DIRECTORY (all or nothing)."""
    database = current_roundtable().database
    database.upgrade()
    bundle = read_bundle(directory)
    with database.session() as db:
        series = import_bundle(db, bundle, roundtable=current_roundtable())
        notes = db.scalar(select(func.count(Note.id)).join(Session).where(Session.series_id == series.id))
        click.echo(f"Imported series '{series.slug}': {count_of(len(bundle.sessions), 'session')}, "
                   f"{count_of(len(bundle.roster), 'person')} on the roster, {count_of(notes, 'note')}.")


@series_group.command("export")
@click.argument("slug")
@click.argument("directory", type=click.Path(file_okay=False, path_type=str))
@with_appcontext
def export_command(slug, directory):
    """Write the series SLUG as a bundle into DIRECTORY (notes already anonymized; the roster holds real names)."""
    with current_roundtable().database.session() as db:
        series = get_series(db, slug)
        path = export_bundle(db, series, directory)
        db.add(AuditEvent(series_id=series.id, action="series.export", detail={"via": "cli"}))
    click.echo(f"Wrote series '{slug}' to {path}")
