"""Notes taken elsewhere come in through the same path as live notes."""

from __future__ import annotations

import io
import json

import docx
import pytest
from sqlalchemy import func, select

from roundtable.errors import ValidationError
from roundtable.models import Note, NoteTag
from roundtable.services.note_import import import_notes, parse_notes_file, preview_import

MARKDOWN = """\
# Session 2 notes

- Courts are the last line of defense
- María: we need lawyers in every hearing
  and interpreters too
* question: who funds this next year?
1. "We were never told" said one resident

```
code is not a note
```
---
"""


def parsed(name, text_or_bytes):
    data = text_or_bytes.encode() if isinstance(text_or_bytes, str) else text_or_bytes
    return parse_notes_file(name, data)


def test_markdown_bullets_become_notes_with_kinds_and_continuations():
    notes = parsed("notes.md", MARKDOWN)
    assert [(n.line, n.kind, n.text) for n in notes] == [
        (3, "point", "Courts are the last line of defense"),
        (4, "point", "María: we need lawyers in every hearing and interpreters too"),
        (6, "question", "who funds this next year?"),
        (7, "quote", '"We were never told" said one resident'),
    ]


def test_plain_text_is_one_note_per_line():
    notes = parsed("notes.txt", "first point\n\n  second point  \nIs this a question?\n")
    assert [(n.line, n.kind, n.text) for n in notes] == [
        (1, "point", "first point"), (3, "point", "second point"), (4, "question", "Is this a question?")]


def test_json_lines_keep_kind_speaker_and_theme():
    line = json.dumps({"text": "hello", "kind": "action", "speaker": "Mari", "theme": "Legal defense"})
    [note] = parsed("notes.jsonl", line + "\n")
    assert (note.kind, note.speaker, note.theme, note.text) == ("action", "Mari", "Legal defense", "hello")


def test_csv_needs_a_text_column_and_names_the_bad_line():
    notes = parsed("notes.csv", "text,kind\nfirst,point\n\"multi\nline\",quote\nthird,\n")
    assert [(n.line, n.kind) for n in notes] == [(2, "point"), (4, "quote"), (5, "point")]
    with pytest.raises(ValidationError, match=r"notes.csv, line 1: the header needs a 'text' column"):
        parsed("notes.csv", "body\nx\n")
    with pytest.raises(ValidationError, match=r"notes.csv, line 3: 'kind'"):
        parsed("notes.csv", "text,kind\nok,point\nbad,rumour\n")


def test_docx_paragraphs_become_notes_and_headings_are_skipped():
    document = docx.Document()
    document.add_heading("Session notes", level=1)
    document.add_paragraph("Rapid response needs more funding", style="List Bullet")
    document.add_paragraph("What about rural counties?")
    document.add_paragraph("")
    buffer = io.BytesIO()
    document.save(buffer)
    notes = parsed("notes.docx", buffer.getvalue())
    assert [(n.kind, n.text) for n in notes] == [
        ("point", "Rapid response needs more funding"), ("question", "What about rural counties?")]


@pytest.mark.parametrize(
    "name, data, message",
    [("notes.jsonl", '{"text": "ok"}\nnot json\n', "notes.jsonl, line 2: not valid JSON"),
     ("notes.jsonl", '{"kind": "point"}\n', "notes.jsonl, line 1: 'text'"),
     ("notes.pdf", "x", "unknown file type"),
     ("notes.txt", "\n\n", "no notes found"),
     ("notes.docx", "this is not a zip", "not a readable .docx")],
)
def test_bad_files_are_one_clear_error(name, data, message):
    with pytest.raises(ValidationError, match=message):
        parsed(name, data)


def test_preview_is_anonymized_and_stores_nothing(db, series, roundtable):
    meeting = series.sessions[1]
    rows = preview_import(db, meeting, parsed("notes.md", MARKDOWN), roundtable=roundtable)
    assert rows[1]["speaker_role"] == "legal advocate"
    assert rows[1]["text"] == "we need lawyers in every hearing and interpreters too"
    assert all("María" not in r["text"] for r in rows)
    assert db.scalar(select(func.count(Note.id))) == 0


def test_import_stores_anonymized_notes_once_even_when_run_twice(db, series, roundtable):
    meeting = series.sessions[1]  # scheduled: notes typed up afterwards are welcome
    notes = parsed("notes.jsonl", "\n".join([
        json.dumps({"text": "Hope van der Berg promised a review", "theme": "Legal defense"}),
        json.dumps({"text": "second", "speaker": "Kwame"}),
    ]))
    first = import_notes(db, meeting, notes, roundtable=roundtable)
    db.commit()
    again = import_notes(db, meeting, notes, roundtable=roundtable)
    db.commit()
    assert [created for _n, created in first] == [True, True]
    assert [created for _n, created in again] == [False, False]
    stored = db.scalars(select(Note).where(Note.session_id == meeting.id).order_by(Note.seq)).all()
    assert len(stored) == 2
    assert "Hope" not in stored[0].text and stored[0].text.startswith("A municipal leader")
    assert stored[1].speaker_role == "scholar"
    tag = db.scalar(select(NoteTag).where(NoteTag.note_id == stored[0].id))
    assert tag.theme.name == "Legal defense" and tag.source == "manual"


def test_notes_import_command_dry_run_prints_anonymized_notes_and_stores_nothing(runner, db, series, tmp_path):
    path = tmp_path / "notes.md"
    path.write_text(MARKDOWN, encoding="utf-8")
    result = runner.invoke(["notes", "import", series.slug, "2", str(path), "--dry-run"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert len(lines) == 4 and all("María" not in line["text"] for line in lines)
    assert db.scalar(select(func.count(Note.id))) == 0
    result = runner.invoke(["notes", "import", series.slug, "2", str(path)])
    assert result.exit_code == 0, result.output
    assert "Imported 4 notes" in result.output
    db.expire_all()
    assert db.scalar(select(func.count(Note.id))) == 4
