"""``roundtable notes import SERIES SESSION FILE``: bring in notes taken elsewhere."""

from __future__ import annotations

import json
from pathlib import Path

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from roundtable.application import current_roundtable
from roundtable.errors import NotFound, ValidationError
from roundtable.models import Session
from roundtable.plurals import count_of
from roundtable.services.note_import import import_notes, parse_notes_file, preview_import
from roundtable.services.series import get_series


@click.group("notes")
def notes_group():
    """Work with the notes of a session."""


@notes_group.command("import")
@click.argument("series_slug", metavar="SERIES")
@click.argument("session_number", metavar="SESSION", type=int)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Print the notes as they would be stored (anonymized); store nothing.")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv", "markdown", "text", "docx"]),
              help="File format (default: from the file name).")
@with_appcontext
def import_command(series_slug, session_number, file, dry_run, fmt):
    """Import FILE (JSON Lines, CSV, Markdown, text or .docx) into session SESSION of SERIES."""
    if file.stat().st_size > 20 * 1024 * 1024:
        raise ValidationError(f"{file.name}: larger than 20 MB")
    notes = parse_notes_file(file.name, file.read_bytes(), fmt)
    with current_roundtable().database.session() as db:
        series = get_series(db, series_slug)
        meeting = db.scalar(select(Session).where(Session.series_id == series.id, Session.number == session_number))
        if meeting is None:
            raise NotFound(f"series '{series_slug}' has no session {session_number}")
        if dry_run:
            for row in preview_import(db, meeting, notes, roundtable=current_roundtable()):
                click.echo(json.dumps({k: row[k] for k in ("line", "kind", "speaker_role", "text", "theme")},
                                      ensure_ascii=False))
            click.echo(f"Dry run: {count_of(len(notes), 'note')} would be imported; nothing was stored.", err=True)
            db.rollback()
            return
        results = import_notes(db, meeting, notes, roundtable=current_roundtable())
        saved = [(note.id, series.id) for note, created in results if created]
    # Suggestions and other slow work run after the commit, as for live notes.
    roundtable = current_roundtable()
    for note_id, series_id in saved:
        roundtable.pm.hook.note_saved(roundtable=roundtable, note_id=note_id, series_id=series_id)
    skipped = len(results) - len(saved)
    click.echo(f"Imported {count_of(len(saved), 'note')} into session {session_number}"
               + (f" ({skipped} already there)." if skipped else "."))
