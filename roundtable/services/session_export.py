"""One session's notes as a file to download (Markdown or CSV), after the export gate.

Notes are anonymized before they are stored; the gate still scans the whole
file before it leaves the server, as for briefs, so a roster name that slipped
into a note (or a later roster change) never reaches a download.
"""

from __future__ import annotations

import csv
import io

from sqlalchemy.orm import Session as DbSession

from roundtable.errors import ValidationError
from roundtable.models import Session, TagStatus
from roundtable.services.anonymize import download_filename, gate_series_export
from roundtable.services.briefs.markdown import escape_md
from roundtable.services.csv_cells import spreadsheet_cell
from roundtable.services.notes import NoteStream
from roundtable.services.render import render_markdown

FORMATS = {"md": "text/markdown; charset=utf-8", "csv": "text/csv; charset=utf-8"}
CSV_COLUMNS = ["seq", "time", "kind", "speaker_role", "themes", "text"]


def _rows(db: DbSession, meeting: Session) -> list[dict]:
    rows = []
    for note in NoteStream(db).notes_after(meeting.id, 0, include_deleted=False):
        themes = sorted(t.theme.name for t in note.tags if t.status is TagStatus.ACCEPTED and t.theme is not None)
        rows.append({"seq": note.seq, "time": note.created_at.strftime("%H:%M") if note.created_at else "",
                     "kind": note.kind, "speaker_role": note.speaker_role or "", "themes": "; ".join(themes),
                     "text": note.text})
    return rows


def _markdown(meeting: Session, rows: list[dict]) -> str:
    """The notes as Markdown, every typed text escaped: a viewer that renders raw HTML or images (many do) shows
    a note's ``<img src=...>`` or ``![](tracker)`` as the text it was, as the live page does."""
    title = f"Session {meeting.number}" + (f": {escape_md(meeting.title)}" if meeting.title else "")
    lines = [f"# {escape_md(meeting.series.title)} — {title}", ""]
    if meeting.date:
        lines += [meeting.date.strftime("%A, %B %-d, %Y"), ""]
    for row in rows:
        head = f"**#{row['seq']}** · {row['time']} · {row['kind']}"
        if row["speaker_role"]:
            head += f" · {escape_md(row['speaker_role'])}"
        if row["themes"]:
            head += f" · _{escape_md(row['themes'])}_"
        body = escape_md(row["text"]).replace("\n", "  \n")
        lines += [head + "  ", body, ""]
    return "\n".join(lines)


def _csv(rows: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: spreadsheet_cell(v) for k, v in row.items()})
    return out.getvalue()


def export_session_notes(db: DbSession, meeting: Session, fmt: str) -> tuple[str, str, str]:
    """``(text, mimetype, filename)`` of a session's notes; raises ExportBlocked if the gate finds an identity."""
    if fmt not in FORMATS:
        raise ValidationError(f"unknown format {fmt!r}; choose md or csv")
    rows = _rows(db, meeting)
    text = _markdown(meeting, rows) if fmt == "md" else _csv(rows)
    # A Markdown file is read rendered as often as raw: judge both.
    rendered = render_markdown(text, source_lines=True).html if fmt == "md" else None
    gate_series_export(db, meeting.series, text, html=rendered)
    return text, FORMATS[fmt], download_filename(db, meeting.series, f"session-{meeting.number}-notes.{fmt}")
