"""Retention: a full export of a series (:func:`export_series_archive`) before
:func:`purge_series_notes` removes its notes and keeps its brief."""

from __future__ import annotations

import json
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session as DbSession

from roundtable.errors import Conflict
from roundtable.models import (
    Account,
    Brief,
    BriefVersion,
    KeptTerm,
    Note,
    NoteTag,
    Participant,
    RememberedName,
    Resource,
    Series,
    Session,
    Theme,
    utcnow,
)
from roundtable.services.audit import MAX_DETAIL_STRING, record_audit
from roundtable.services.bundles import export_bundle


def brief_is_published(db: DbSession, series: Series) -> bool:
    """A brief counts as published once a version of it has been saved."""
    return bool(
        db.scalar(
            select(func.count(BriefVersion.id)).join(Brief, Brief.id == BriefVersion.brief_id).where(Brief.series_id == series.id)
        )
    )


def export_series_archive(db: DbSession, series: Series, directory: str | Path, actor: Account | None = None) -> Path:
    """Write a full export of the series as one ``.zip`` into ``directory`` and return its path.

    Inside: the series as a re-importable bundle (``roundtable.services.bundles``),
    each brief and its saved versions as Markdown under ``briefs/``, and
    ``full.json`` with every row that belongs to the series.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    name = f"{series.slug}-{utcnow().strftime('%Y%m%dT%H%M%SZ')}"
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / name
        export_bundle(db, series, root)
        briefs_dir = root / "briefs"
        briefs_dir.mkdir()
        for brief in db.scalars(select(Brief).where(Brief.series_id == series.id).order_by(Brief.id)):
            (briefs_dir / f"{brief.template}.md").write_text(brief.markdown, encoding="utf-8")
            for version in brief.versions:
                (briefs_dir / f"{brief.template}.v{version.number}.md").write_text(version.markdown, encoding="utf-8")
        (root / "full.json").write_text(
            json.dumps(series_rows(db, series), indent=1, default=str, ensure_ascii=False), encoding="utf-8"
        )
        path = directory / f"{name}.zip"
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            for file in sorted(root.rglob("*")):
                if file.is_file():
                    archive.write(file, file.relative_to(root.parent).as_posix())
    record_audit(db, actor, series, "series.export", {"file": path.name[:MAX_DETAIL_STRING]})
    return path


def series_rows(db: DbSession, series: Series) -> dict[str, list[dict]]:
    """Every row belonging to ``series``, table by table, as plain dicts."""

    def rows(model, *where):
        return [
            {c.key: getattr(obj, c.key) for c in model.__table__.columns}
            for obj in db.scalars(select(model).where(*where).order_by(model.id))
        ]

    session_ids = select(Session.id).where(Session.series_id == series.id)
    note_ids = select(Note.id).where(Note.session_id.in_(session_ids))
    brief_ids = select(Brief.id).where(Brief.series_id == series.id)
    return {
        "series": rows(Series, Series.id == series.id),
        "sessions": rows(Session, Session.series_id == series.id),
        "participants": rows(Participant, Participant.series_id == series.id),
        "themes": rows(Theme, Theme.series_id == series.id),
        "notes": rows(Note, Note.id.in_(note_ids)),
        "note_tags": rows(NoteTag, NoteTag.note_id.in_(note_ids)),
        "resources": rows(Resource, Resource.series_id == series.id),
        "kept_terms": rows(KeptTerm, KeptTerm.series_id == series.id),
        "briefs": rows(Brief, Brief.series_id == series.id),
        "brief_versions": rows(BriefVersion, BriefVersion.brief_id.in_(brief_ids)),
    }


@dataclass
class PurgeResult:
    notes: int
    tags: int
    kept_terms: int
    participants: int


def purge_series_notes(
    db: DbSession, series: Series, actor: Account | None = None, *, include_roster: bool = False, require_brief: bool = True
) -> PurgeResult:
    """Delete the notes (and their tags and kept terms) of a series, keeping its brief.

    Refused until a brief version has been saved, unless ``require_brief`` is off.
    ``include_roster`` also deletes the roster, the only table with real names.
    """
    if require_brief and not brief_is_published(db, series):
        raise Conflict("save a version of the brief before purging the notes: the brief is what remains")
    note_ids = select(Note.id).join(Session, Session.id == Note.session_id).where(Session.series_id == series.id)
    # Resources stay (they are in the brief); only their link to a note goes.
    db.execute(update(Resource).where(Resource.first_note_id.in_(note_ids)).values(first_note_id=None))
    tags = db.execute(delete(NoteTag).where(NoteTag.note_id.in_(note_ids))).rowcount
    notes = db.execute(
        delete(Note).where(Note.session_id.in_(select(Session.id).where(Session.series_id == series.id)))
    ).rowcount
    kept = db.execute(delete(KeptTerm).where(KeptTerm.series_id == series.id)).rowcount
    db.execute(delete(RememberedName).where(RememberedName.series_id == series.id))  # the sessions' name memory
    people = 0
    if include_roster:
        people = db.execute(delete(Participant).where(Participant.series_id == series.id)).rowcount
    series.purged_at = utcnow()
    db.flush()
    db.expire_all()
    record_audit(
        db, actor, series, "series.purge", {"notes": notes, "tags": tags, "kept_terms": kept, "participants": people}
    )
    return PurgeResult(notes, tags, kept, people)
