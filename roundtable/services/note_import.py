"""Notes taken elsewhere: read JSON Lines, CSV, Markdown, plain text or .docx into notes.

Parsing (:func:`parse_notes_file`) only reads; :func:`preview_import` shows
what would be stored after anonymization, and :func:`import_notes` stores the
notes through :class:`~roundtable.services.notes.NoteStream`, the same path as
a live note. Imported notes get ids derived from the session, line and text,
so importing the same file twice stores each note once.
"""

from __future__ import annotations

import csv
import io
import json
import re
import uuid as uuid_module
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path

import docx
from docx.opc.exceptions import PackageNotFoundError
from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from roundtable.errors import ValidationError
from roundtable.models import NOTE_KINDS, NoteTag, Session, SessionState, TagStatus, Theme
from roundtable.services.anonymize import anonymizer_for_series
from roundtable.services.anonymize.name_memory import forget_session
from roundtable.services.codebook import codebook_for_series
from roundtable.services.csv_cells import typed_cell
from roundtable.services.notes import NoteStream, clean_text, has_lone_surrogate

FORMATS = ("jsonl", "csv", "markdown", "text", "docx")
SUFFIXES = {
    ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".csv": "csv", ".md": "markdown",
    ".markdown": "markdown", ".txt": "text", ".text": "text", ".docx": "docx",
}
MAX_IMPORT_NOTES = 5000
_IMPORT_NAMESPACE = uuid_module.UUID("8f1e0a3c-52b4-4d6b-bf0e-7d9c3a1e6f22")
_BULLET = re.compile(r"^\s*(?:[-*+•‣◦–]|\d{1,3}[.)])\s+")
_KIND_PREFIX = re.compile(r"^\s*\[?(point|quote|question|action|resource|q|todo)\]?\s*[:\]]\s*", re.IGNORECASE)
_SPEAKER_PREFIX = re.compile(r"^\s*([^\W\d_][\w .'’-]{0,60}?)\s*:\s+(?=\S)")
_QUOTED = re.compile(r'^\s*["“«][^"”»]{2,}["”»]', re.DOTALL)
_KIND_ALIASES = {"q": "question", "todo": "action"}


@dataclass
class ImportedNote:
    """One note as read from a file, before anonymization (``line`` is where it was)."""

    line: int
    text: str
    kind: str = "point"
    speaker: str | None = None
    theme: str | None = None


def detect_format(filename: str) -> str:
    fmt = SUFFIXES.get(Path(filename).suffix.lower())
    if fmt is None:
        raise ValidationError(f"{Path(filename).name}: unknown file type; use .jsonl, .csv, .md, .txt or .docx")
    return fmt


def _guess_kind(text: str) -> tuple[str, str]:
    """A leading ``question:``/``action:``... prefix, a final question mark or an opening quotation set the kind."""
    match = _KIND_PREFIX.match(text)
    if match:
        word = match.group(1).lower()
        return _KIND_ALIASES.get(word, word), text[match.end():].strip()
    quoted = _QUOTED.match(text)
    if quoted:
        return "quote", text.strip()
    if text.rstrip().endswith("?"):
        return "question", text
    return "point", text


def _lines_to_notes(lines, markdown: bool) -> list[ImportedNote]:
    """One note per line or bullet; indented continuation lines join the bullet above."""
    notes: list[ImportedNote] = []
    in_fence = False
    for number, raw in lines:
        line = raw.rstrip()
        if markdown and line.lstrip().startswith("```"):
            in_fence = not in_fence
            continue
        if in_fence or not line.strip():
            continue
        if markdown and (line.lstrip().startswith("#") or re.fullmatch(r"\s*([-*_])\s*(\1\s*){2,}", line)):
            continue
        bullet = _BULLET.match(line)
        if bullet is None and notes and raw[:1] in (" ", "\t") and markdown:
            notes[-1].text += " " + line.strip()
            continue
        text = line[bullet.end():] if bullet else line
        text = text.strip()
        if markdown:
            text = text.removeprefix("> ").strip()
        if text:
            notes.append(ImportedNote(line=number, text=text))
    for note in notes:
        note.kind, note.text = _guess_kind(note.text)
    return notes


def json_objects(text: str, name: str, expected: str = "a JSON object"):
    """``(line number, object)`` for each non-blank JSON Lines line; a bad line is an error naming it."""
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line, parse_constant=_no_constant, parse_float=_finite_float)
        except (json.JSONDecodeError, RecursionError) as exc:
            raise ValidationError(f"{name}, line {number}: not valid JSON ({getattr(exc, 'msg', 'nested too deep')})") from None
        if not isinstance(item, dict):
            raise ValidationError(f"{name}, line {number}: expected {expected}")
        if _has_lone_surrogate_inside(item):
            raise ValidationError(f"{name}, line {number}: contains half a character (an unpaired UTF-16 surrogate)")
        yield number, item


def _finite_float(text: str) -> float:
    """``1e999`` would read as infinity, which no field can hold."""
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise json.JSONDecodeError(f"{text} is too large a number", text, 0)
    return value


def _no_constant(name: str):
    """``NaN`` and ``Infinity`` are not JSON; Python's reader accepts them unless told otherwise."""
    raise json.JSONDecodeError(f"{name} is not a JSON number", name, 0)


def _has_lone_surrogate_inside(value) -> bool:
    if isinstance(value, str):
        return has_lone_surrogate(value)
    if isinstance(value, dict):
        return any(_has_lone_surrogate_inside(k) or _has_lone_surrogate_inside(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_lone_surrogate_inside(v) for v in value)
    return False


def _from_jsonl(text: str, name: str) -> list[ImportedNote]:
    return [_from_fields(item, name, number)
            for number, item in json_objects(text, name, "a JSON object with a 'text' field")]


def _from_fields(item: dict, name: str, number: int) -> ImportedNote:
    text = item.get("text")
    if not isinstance(text, str) or not text.strip():
        raise ValidationError(f"{name}, line {number}: 'text' must be non-empty text")
    kind = item.get("kind") or None
    if kind is not None and kind not in NOTE_KINDS:
        raise ValidationError(f"{name}, line {number}: 'kind' must be one of {', '.join(NOTE_KINDS)}")
    speaker = item.get("speaker") or None
    theme = item.get("theme") or None
    for label, value in (("speaker", speaker), ("theme", theme)):
        if value is not None and not isinstance(value, str):
            raise ValidationError(f"{name}, line {number}: '{label}' must be text")
    if kind is None:
        kind, text = _guess_kind(text)
    return ImportedNote(line=number, text=text.strip(), kind=kind, speaker=speaker, theme=theme)


def _from_csv(text: str, name: str) -> list[ImportedNote]:
    reader = csv.DictReader(io.StringIO(text))
    try:
        fields = [f.strip().lower() for f in (reader.fieldnames or [])]
    except csv.Error as exc:
        raise ValidationError(f"{name}, line 1: not valid CSV ({exc})") from None
    if "text" not in fields and "note" not in fields:
        raise ValidationError(f"{name}, line 1: the header needs a 'text' column (optional: kind, speaker, theme)")
    reader.fieldnames = ["text" if f == "note" else f for f in fields]
    notes = []
    try:
        for row in reader:
            if not any((v or "").strip() for v in row.values() if isinstance(v, str)):
                continue
            # A session's CSV download marks formula-like cells as text; they read back as typed.
            item = {k: (typed_cell(v).strip() if isinstance(v, str) else v) for k, v in row.items() if k}
            notes.append(_from_fields(item, name, reader.line_num))
    except csv.Error as exc:
        raise ValidationError(f"{name}, line {reader.line_num}: not valid CSV ({exc})") from None
    return notes


def _from_docx(data: bytes, name: str) -> list[ImportedNote]:


    try:
        document = docx.Document(io.BytesIO(data))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise ValidationError(f"{name}: not a readable .docx file ({type(exc).__name__})") from None
    lines = []
    for number, paragraph in enumerate(document.paragraphs, start=1):
        style = (paragraph.style.name if paragraph.style is not None else "") or ""
        if style.lower().startswith(("heading", "title", "subtitle")):
            continue
        for part in paragraph.text.split("\n"):
            lines.append((number, part))
    return _lines_to_notes(lines, markdown=False)


def parse_notes_file(filename: str, data: bytes, fmt: str | None = None) -> list[ImportedNote]:
    """Read notes from the bytes of a file; errors name the file and the line (paragraph for .docx)."""
    name = Path(filename).name
    fmt = fmt or detect_format(filename)
    if fmt not in FORMATS:
        raise ValidationError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    if fmt == "docx":
        notes = _from_docx(data, name)
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ValidationError(f"{name}: not UTF-8 text") from None
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        if fmt == "jsonl":
            notes = _from_jsonl(text, name)
        elif fmt == "csv":
            notes = _from_csv(text, name)
        else:
            notes = _lines_to_notes(enumerate(text.split("\n"), start=1), markdown=fmt == "markdown")
    if not notes:
        raise ValidationError(f"{name}: no notes found")
    if len(notes) > MAX_IMPORT_NOTES:
        raise ValidationError(f"{name}: {len(notes)} notes; at most {MAX_IMPORT_NOTES} per import")
    return notes


# --- anonymize, preview, store -------------------------------------------------------------


def _note_uuid(meeting: Session, note: ImportedNote) -> str:
    return str(uuid_module.uuid5(_IMPORT_NAMESPACE, f"{meeting.id}:{note.line}:{note.text}"))


def _roster_entry(anonymizer, name: str):
    """The roster entry ``name`` refers to: a full name, an alias, or what the roster detector matches."""
    entry = anonymizer.roster.find(name)
    if entry is not None:
        return entry
    spans = anonymizer.detect_many([name])[0]
    if len(spans) == 1 and spans[0].participant_id is not None and spans[0].end - spans[0].start >= len(name.strip()):
        return anonymizer.roster.get(spans[0].participant_id)
    return None


def _speaker_and_text(anonymizer, note: ImportedNote) -> tuple[str | None, str]:
    """Split off a ``Name: text`` prefix naming someone on the roster; return (speaker role, text)."""
    speaker, text = note.speaker, note.text
    if speaker is None:
        match = _SPEAKER_PREFIX.match(text)
        if match and _roster_entry(anonymizer, match.group(1)) is not None:
            speaker, text = match.group(1), text[match.end():]
    if speaker is None:
        return None, text
    entry = _roster_entry(anonymizer, speaker)
    return (entry.role_label if entry else "participant"), text


def _prepared(db: DbSession, meeting: Session, notes: list[ImportedNote], roundtable):
    anonymizer = anonymizer_for_series(db, meeting.series, roundtable)
    theme_names = {t.name.casefold(): t for t, _p in codebook_for_series(db, meeting.series).walk()}
    for note in notes:
        if note.theme and note.theme.casefold() not in theme_names:
            raise ValidationError(f"line {note.line}: theme is not in this series' codebook")
        role, text = _speaker_and_text(anonymizer, note)
        yield note, role, text


def preview_import(db: DbSession, meeting: Session, notes: list[ImportedNote], *, roundtable) -> list[dict]:
    """What would be stored, after anonymization by the application ``roundtable``; stores nothing."""
    stream = NoteStream(db, roundtable, autocommit=False)
    rows = []
    prepared = [(note, role, clean_text(text, stream.max_length))
                for note, role, text in _prepared(db, meeting, notes, roundtable)]
    # one memory of names through the file, as the import will read it: each note learns from the ones before
    memory = stream.name_memory(anonymizer_for_series(db, meeting.series, roundtable), meeting,
                                [text for _note, _role, text in prepared])
    for note, role, text in prepared:
        anonymized = stream.anonymize(db, meeting.series, text, f"session-{meeting.id}", memory=memory)
        rows.append({"line": note.line, "kind": note.kind, "speaker_role": role, "text": anonymized.text,
                     "replacements": anonymized.replacements, "theme": note.theme})
    return rows


def import_notes(db: DbSession, meeting: Session, notes: list[ImportedNote], author_id: int | None = None,
                 *, roundtable) -> list:
    """Store the notes in the caller's transaction; returns ``[(note, created), ...]``.

    Notes go through :class:`NoteStream` exactly like live notes (the session
    need not be live: notes are often typed up afterwards). A ``theme`` becomes
    a manual tag.
    """


    stream = NoteStream(db, roundtable, autocommit=False)
    results = []
    prepared = list(_prepared(db, meeting, notes, roundtable))
    themes = {t.name.casefold(): t for t in db.scalars(select(Theme).where(Theme.series_id == meeting.series_id))}
    for note, role, text in prepared:
        try:
            stored, created = stream.add_note(meeting.id, _note_uuid(meeting, note), text, note.kind, role, author_id,
                                              require_live=False)
        except ValidationError as exc:
            raise ValidationError(f"line {note.line}: {exc}") from None
        if created and note.theme:
            db.add(NoteTag(note_id=stored.id, theme_id=themes[note.theme.casefold()].id, source="manual",
                           status=TagStatus.ACCEPTED, confidence=1.0))
        results.append((stored, created))
    if meeting.state is not SessionState.LIVE:
        forget_session(db, meeting.id)  # the import read its names together; no live note will need them
    db.flush()
    return results


def notes_to_json(notes: list[ImportedNote]) -> str:
    """Parsed notes as JSON (the web page carries them from the preview to the commit)."""
    return json.dumps([asdict(n) for n in notes], ensure_ascii=False)


def _form_note(item) -> ImportedNote:
    """One note as the preview form carries it; ``ValueError`` for anything else (the form is the user's to edit)."""
    if not isinstance(item, dict):
        raise ValueError
    line, text, kind = item.get("line"), item.get("text"), item.get("kind") or "point"
    speaker, theme = item.get("speaker"), item.get("theme")
    if isinstance(line, bool) or not isinstance(line, int) or not 0 < line < 2**31:
        raise ValueError
    if not all(isinstance(v, str) for v in (text, kind)) or not all(v is None or isinstance(v, str) for v in (speaker, theme)):
        raise ValueError
    if _has_lone_surrogate_inside(item):
        raise ValueError
    return ImportedNote(line=line, text=text, kind=kind, speaker=speaker, theme=theme)


def notes_from_json(text: str) -> list[ImportedNote]:
    try:
        items = json.loads(text)
        if not isinstance(items, list):
            raise ValueError
        notes = [_form_note(item) for item in items]
    except (ValueError, RecursionError):
        raise ValidationError("the import form was damaged; upload the file again") from None
    for note in notes:
        if note.kind not in NOTE_KINDS:
            raise ValidationError(f"line {note.line}: unknown kind")
    if not notes or len(notes) > MAX_IMPORT_NOTES:
        raise ValidationError("the import form was damaged; upload the file again")
    return notes
