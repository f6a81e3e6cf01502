"""Series bundles: a folder that holds a whole series, to set one up, move it or archive it.

A bundle has ``series.yaml``, ``roster.csv``, ``sessions.yaml``,
``codebook.yaml`` and, optionally, ``notes.jsonl`` (see ``docs/bundles.md``).
:func:`read_bundle` validates every file before anything touches the database;
the first problem is one :class:`~roundtable.errors.ValidationError` naming the
file and the line. :func:`import_bundle` then creates the series in the
caller's transaction, with every note going through the same anonymize and
persist path as a live note. :func:`export_bundle` writes one back, notes
already anonymized.
"""

from __future__ import annotations

import json
import re
import uuid as uuid_module
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession, selectinload

from roundtable.errors import ValidationError
from roundtable.models import NOTE_KINDS, Note, NoteTag, Participant, Policy, Series, Session, SessionState, TagStatus
from roundtable.services.anonymize import authored_line, authored_text_anonymizer, fold, gate_series_export, strings_in
from roundtable.services.anonymize.roster import (RosterRow, new_participant, parse_roster_csv, refuse_roles_naming_someone,
                                                  roster_csv)
from roundtable.services.codebook import codebook_for_series, dump_codebook, load_codebook_file, save_codebook
from roundtable.services.note_import import json_objects
from roundtable.services.notes import NoteStream
from roundtable.services.typed_text import clean_line, clean_paragraphs

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,79}$")
SERIES_FIELDS = {
    "slug", "title", "subtitle", "description", "organizations", "authors", "funder", "brief_number", "policy",
    "acknowledgments", "anonymize_affiliations", "participant_count", "brief_settings",
}
SESSION_FIELDS = {"number", "date", "title", "focus", "state"}
NOTE_FIELDS = {"session", "kind", "speaker", "speaker_role", "text", "theme", "themes", "uuid"}
# Imported notes get stable ids, so importing the same bundle twice cannot duplicate a note.
_NOTE_NAMESPACE = uuid_module.UUID("0b7c1d52-3f7e-4e0a-9a55-6c2d8e1f4a10")


@dataclass
class SessionSpec:
    number: int
    title: str = ""
    date: date | None = None
    focus: str = ""
    state: SessionState = SessionState.SCHEDULED


@dataclass
class NoteSpec:
    session: int
    text: str
    kind: str = "point"
    speaker: str | None = None
    speaker_role: str | None = None
    themes: list[str] = field(default_factory=list)
    uuid: str | None = None
    line: int = 0


@dataclass
class Bundle:
    """A validated bundle, ready to import."""

    path: Path
    series: dict
    roster: list[RosterRow]
    sessions: list[SessionSpec]
    codebook: object  # roundtable.services.codebook.Codebook
    notes: list[NoteSpec] = field(default_factory=list)

    @property
    def slug(self) -> str:
        return self.series["slug"]


# --- reading ---------------------------------------------------------------------------------


def _read_text(path: Path, name: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ValidationError(f"{name}: missing from the bundle") from None
    except UnicodeDecodeError:
        raise ValidationError(f"{name}: not UTF-8 text") from None


def _load_yaml(text: str, name: str):
    """Parse YAML and remember the line of every mapping key and list item (by path)."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f", line {mark.line + 1}" if mark is not None else ""
        raise ValidationError(f"{name}{line}: not valid YAML") from None
    if node is None:
        raise ValidationError(f"{name}, line 1: the file is empty")
    lines: dict[tuple, int] = {}

    def walk(n, path):
        lines.setdefault(path, n.start_mark.line + 1)
        if isinstance(n, yaml.MappingNode):
            for key, value in n.value:
                lines[path + (key.value,)] = key.start_mark.line + 1
                walk(value, path + (key.value,))
        elif isinstance(n, yaml.SequenceNode):
            for i, value in enumerate(n.value):
                walk(value, path + (i,))

    walk(node, ())
    try:
        data = yaml.SafeLoader("").construct_document(node)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f", line {mark.line + 1}" if mark is not None else ""
        raise ValidationError(f"{name}{line}: not valid YAML") from None
    return data, lines


class _Where:
    """Builds error messages that name the file and the line of a path in it."""

    def __init__(self, name: str, lines: dict):
        self.name, self.lines = name, lines

    def error(self, path: tuple, message: str) -> ValidationError:
        probe = path
        while probe and probe not in self.lines:
            probe = probe[:-1]
        return ValidationError(f"{self.name}, line {self.lines.get(probe, 1)}: {message}")


def _string(value, where: _Where, path, label: str, required=False, max_length=300, what: str = "",
            paragraphs=False) -> str:
    """A text field of a YAML file, checked as typed ones are (``what`` names it in a message: "a funder")."""
    if value is None:
        if required:
            raise where.error(path, f"'{label}' is required")
        return ""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise where.error(path, f"'{label}' must be text")
    try:
        value = (clean_paragraphs if paragraphs else clean_line)(value, what or f"'{label}'", max_length)
    except ValidationError as exc:
        raise where.error(path, str(exc)) from None
    if required and not value:
        raise where.error(path, f"'{label}' is required")
    return value


def _string_list(value, where: _Where, path, label: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise where.error(path, f"'{label}' must be a list")
    return [_string(v, where, path + (i,), label, required=True, what=f"an item of '{label}'")
            for i, v in enumerate(value)]


def parse_series_yaml(text: str, name: str = "series.yaml") -> dict:
    data, lines = _load_yaml(text, name)
    where = _Where(name, lines)
    if not isinstance(data, dict):
        raise where.error((), "expected a mapping of fields (slug, title, ...)")
    for key in data:
        if key not in SERIES_FIELDS:
            raise where.error((key,), f"unknown field '{key}'")
    slug = _string(data.get("slug"), where, ("slug",), "slug", required=True, max_length=80)
    if not SLUG.match(slug):
        raise where.error(("slug",), "'slug' may hold only lower-case letters, digits and '-'")
    policy = _string(data.get("policy") or "role", where, ("policy",), "policy")
    if policy not in {p.value for p in Policy}:
        raise where.error(("policy",), "'policy' must be role, pseudonym or redact")
    affiliations = data.get("anonymize_affiliations", True)
    if not isinstance(affiliations, bool):
        raise where.error(("anonymize_affiliations",), "'anonymize_affiliations' must be true or false")
    count = data.get("participant_count")
    if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 0):
        raise where.error(("participant_count",), "'participant_count' must be a whole number of people")
    settings = data.get("brief_settings") or {}
    if not isinstance(settings, dict):
        raise where.error(("brief_settings",), "'brief_settings' must be a mapping (glossary, resource_rules)")
    return {
        "slug": slug,
        "title": _string(data.get("title"), where, ("title",), "title", required=True, what="a series title"),
        "subtitle": _string(data.get("subtitle"), where, ("subtitle",), "subtitle", what="a subtitle"),
        "description": _string(data.get("description"), where, ("description",), "description", max_length=20000,
                               what="a description", paragraphs=True),
        "organizations": _string_list(data.get("organizations"), where, ("organizations",), "organizations"),
        "authors": _string_list(data.get("authors"), where, ("authors",), "authors"),
        "funder": _string(data.get("funder"), where, ("funder",), "funder", what="a funder"),
        "brief_number": _string(data.get("brief_number"), where, ("brief_number",), "brief_number", max_length=80,
                                what="a brief number"),
        "policy": Policy(policy),
        "acknowledgments": _string(data.get("acknowledgments"), where, ("acknowledgments",), "acknowledgments",
                                   max_length=20000, what="acknowledgments", paragraphs=True),
        "anonymize_affiliations": affiliations,
        "participant_count": count,
        "brief_settings": settings,
    }


def parse_sessions_yaml(text: str, name: str = "sessions.yaml") -> list[SessionSpec]:
    data, lines = _load_yaml(text, name)
    where = _Where(name, lines)
    if not isinstance(data, list):
        raise where.error((), "expected a list of sessions (number, date, title, focus)")
    sessions: list[SessionSpec] = []
    seen: set[int] = set()
    for i, item in enumerate(data):
        if not isinstance(item, dict):
            raise where.error((i,), "each session must be a mapping with number, date, title, focus")
        for key in item:
            if key not in SESSION_FIELDS:
                raise where.error((i, key), f"unknown field '{key}'")
        number = item.get("number")
        if not isinstance(number, int) or isinstance(number, bool) or number < 1:
            raise where.error((i, "number"), "'number' must be a whole number from 1")
        if number in seen:
            raise where.error((i, "number"), f"session {number} is listed twice")
        seen.add(number)
        when = item.get("date")
        if isinstance(when, str):
            try:
                when = date.fromisoformat(when.strip())
            except ValueError:
                raise where.error((i, "date"), "'date' must be an ISO date like 2026-01-15") from None
        elif when is not None and not isinstance(when, date):
            raise where.error((i, "date"), "'date' must be an ISO date like 2026-01-15")
        state = _string(item.get("state") or "scheduled", where, (i, "state"), "state")
        if state not in {s.value for s in SessionState}:
            raise where.error((i, "state"), "'state' must be scheduled, live or closed")
        sessions.append(
            SessionSpec(
                number=number,
                title=_string(item.get("title"), where, (i, "title"), "title", what="a session title"),
                date=when,
                focus=_string(item.get("focus"), where, (i, "focus"), "focus", max_length=500, what="a session focus"),
                state=SessionState(state),
            )
        )
    return sorted(sessions, key=lambda s: s.number)


def parse_notes_jsonl(text: str, session_numbers, theme_names, name: str = "notes.jsonl") -> list[NoteSpec]:
    """Validate notes: each line a JSON object with session, kind, speaker, text, optional theme."""
    known_themes = {n.casefold() for n in theme_names}
    notes: list[NoteSpec] = []
    seen_uuids: dict[str, int] = {}
    for line_number, item in json_objects(text, name):

        def bad(message, line_number=line_number):
            return ValidationError(f"{name}, line {line_number}: {message}")

        for key in item:
            if key not in NOTE_FIELDS:
                raise bad(f"unknown field '{key}'")
        session = item.get("session")
        if not isinstance(session, int) or isinstance(session, bool) or session not in session_numbers:
            raise bad("'session' must be the number of a session in sessions.yaml")
        text_value = item.get("text")
        if not isinstance(text_value, str) or not text_value.strip():
            raise bad("'text' must be non-empty text")
        kind = item.get("kind") or "point"
        if kind not in NOTE_KINDS:
            raise bad(f"'kind' must be one of {', '.join(NOTE_KINDS)}")
        speaker = item.get("speaker")
        if speaker is not None and not isinstance(speaker, str):
            raise bad("'speaker' must be text or null")
        speaker_role = item.get("speaker_role")
        if speaker_role is not None and not isinstance(speaker_role, str):
            raise bad("'speaker_role' must be text or null")
        themes = item.get("themes") or []
        if not isinstance(themes, list) or not all(isinstance(t, str) for t in themes):
            raise bad("'themes' must be a list of theme names")
        if item.get("theme") is not None:
            if not isinstance(item["theme"], str):
                raise bad("'theme' must be a theme name")
            themes = [item["theme"], *themes]
        for theme in themes:
            if theme.casefold() not in known_themes:
                raise bad("'theme' is not a theme of codebook.yaml")
        note_uuid = item.get("uuid")
        if note_uuid is not None:
            try:
                note_uuid = str(uuid_module.UUID(str(note_uuid)))
            except ValueError:
                raise bad("'uuid' is not a UUID") from None
            if note_uuid in seen_uuids:
                raise bad(f"'uuid' is already used on line {seen_uuids[note_uuid]}")
            seen_uuids[note_uuid] = line_number
        notes.append(NoteSpec(session=session, text=text_value, kind=kind, speaker=speaker or None,
                              speaker_role=speaker_role or None, themes=themes, uuid=note_uuid, line=line_number))
    return notes


def _load_codebook(path: Path):
    """Parse codebook.yaml with the tagging service's own loader."""
    if not path.exists():
        raise ValidationError("codebook.yaml: missing from the bundle")
    try:
        return load_codebook_file(path)
    except ValidationError as exc:
        message = str(exc).removeprefix("codebook: ")
        raise ValidationError(f"codebook.yaml: {message}") from None


def read_bundle(path) -> Bundle:
    """Read and validate a bundle folder; nothing is written anywhere."""
    path = Path(path)
    if not path.is_dir():
        raise ValidationError(f"{path} is not a folder; a bundle is a folder with series.yaml, roster.csv, ...")
    series = parse_series_yaml(_read_text(path / "series.yaml", "series.yaml"))
    roster = parse_roster_csv(_read_text(path / "roster.csv", "roster.csv").replace("\r\n", "\n"), "roster.csv")
    people = {new_participant(0, row.name, row.aliases, row.affiliation, row.role): row.line for row in roster}
    refuse_roles_naming_someone(list(people), lambda person: f"roster.csv, line {people[person]}: ")
    sessions = parse_sessions_yaml(_read_text(path / "sessions.yaml", "sessions.yaml"))
    codebook = _load_codebook(path / "codebook.yaml")
    notes: list[NoteSpec] = []
    if (path / "notes.jsonl").exists():
        theme_names = [theme.name for theme, _parent in codebook.walk()]
        notes = parse_notes_jsonl(_read_text(path / "notes.jsonl", "notes.jsonl"),
                                  {s.number for s in sessions}, theme_names)
        roles = {r.role for r in roster} | {"participant", "facilitator"}
        for note in notes:
            if note.speaker_role is not None and note.speaker_role not in roles:
                raise ValidationError(f"notes.jsonl, line {note.line}: 'speaker_role' is not a role of roster.csv")
    return Bundle(path=path, series=series, roster=roster, sessions=sessions, codebook=codebook, notes=notes)


# --- importing -------------------------------------------------------------------------------


def import_bundle(db: DbSession, bundle: Bundle, author_id: int | None = None, *, roundtable) -> Series:
    """Create the series described by ``bundle`` in the caller's transaction (nothing is committed here).

    Everything but the roster goes through the anonymizer, as if typed: the
    series' title, subtitle and description, session titles and focus, the
    codebook (by :func:`save_codebook`) and the notes (by the note stream, with the
    application ``roundtable``'s detectors and secret).
    """
    if db.scalar(select(Series.id).where(Series.slug == bundle.slug)) is not None:
        raise ValidationError(f"series.yaml, line 1: a series with slug '{bundle.slug}' already exists")
    series = Series(**bundle.series)
    db.add(series)
    db.flush()
    for row in bundle.roster:
        db.add(new_participant(series.id, row.name, row.aliases, row.affiliation, row.role, row.consent_named))
    db.flush()
    anonymize = authored_text_anonymizer(db, series, roundtable=roundtable)
    series.title = authored_line(anonymize, series.title, "a series title", 300)
    series.subtitle = authored_line(anonymize, series.subtitle, "a subtitle", 300)
    series.description = anonymize(series.description)
    meetings = {}
    for spec in bundle.sessions:
        meeting = Session(series_id=series.id, number=spec.number, date=spec.date, state=spec.state,
                          title=authored_line(anonymize, spec.title, "a session title", 300),
                          focus=authored_line(anonymize, spec.focus, "a session focus", 500))
        db.add(meeting)
        meetings[spec.number] = meeting
    db.flush()
    saved = save_codebook(db, series, bundle.codebook, roundtable=roundtable)
    # Notes name their themes as the file does; the stored names may be anonymized.
    themes = {spec.name.casefold(): row for (spec, _parent), row in zip(bundle.codebook.walk(), saved)}

    roster_roles = {}
    for row in bundle.roster:
        for name in (row.name, *row.aliases):
            roster_roles.setdefault(_fold_name(name), row.role)
    stream = NoteStream(db, roundtable, autocommit=False)
    for spec in bundle.notes:
        meeting = meetings[spec.session]
        role = spec.speaker_role
        if role is None and spec.speaker:
            # The speaker is stored only as a role; someone not on the roster is "a participant".
            role = roster_roles.get(_fold_name(spec.speaker), "participant")
        note_uuid = spec.uuid or str(uuid_module.uuid5(_NOTE_NAMESPACE, f"{bundle.slug}:{spec.line}:{spec.text}"))
        note, _created = stream.add_note(meeting.id, note_uuid, spec.text, spec.kind, role, author_id,
                                         require_live=False)
        for theme_name in dict.fromkeys(t.casefold() for t in spec.themes):
            db.add(NoteTag(note_id=note.id, theme_id=themes[theme_name].id, source="manual", confidence=1.0,
                           status=TagStatus.ACCEPTED))
    db.flush()
    return series


def _fold_name(name: str) -> str:
    return fold(" ".join(name.split()))


# --- exporting -------------------------------------------------------------------------------


def series_to_yaml(series: Series) -> str:
    data = {
        "slug": series.slug,
        "title": series.title,
        "subtitle": series.subtitle,
        "description": series.description,
        "organizations": list(series.organizations or []),
        "authors": list(series.authors or []),
        "funder": series.funder,
        "brief_number": series.brief_number,
        "policy": series.policy.value,
        "acknowledgments": series.acknowledgments,
        "anonymize_affiliations": bool(series.anonymize_affiliations),
        "participant_count": series.participant_count,
        "brief_settings": dict(series.brief_settings or {}),
    }
    data = {k: v for k, v in data.items() if v not in ("", [], {}, None) or k in ("slug", "title", "policy")}
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def export_bundle(db: DbSession, series: Series, directory) -> Path:
    """Write ``series`` as a bundle into ``directory`` (created; must be empty). Notes are already anonymized.

    Every file but the roster (which holds the real names by design) passes the
    export gate first; nothing is written when one is refused.
    """
    directory = Path(directory)
    if directory.exists() and any(directory.iterdir()):
        raise ValidationError(f"{directory} is not empty; export into a new or empty folder")
    participants = db.scalars(select(Participant).where(Participant.series_id == series.id).order_by(Participant.id))
    meetings = list(db.scalars(select(Session).where(Session.series_id == series.id).order_by(Session.number)))
    sessions = []
    for m in meetings:
        item = {"number": m.number, "date": m.date, "title": m.title, "focus": m.focus}
        if m.state is not SessionState.SCHEDULED:
            item["state"] = m.state.value
        sessions.append({k: v for k, v in item.items() if v not in (None, "") or k == "number"})
    numbers = {m.id: m.number for m in meetings}
    notes = db.scalars(
        select(Note)
        .join(Session, Session.id == Note.session_id)
        .where(Session.series_id == series.id, Note.deleted_at.is_(None))
        .order_by(Session.number, Note.seq)
        .options(selectinload(Note.tags).selectinload(NoteTag.theme))
    )
    lines = []
    for note in notes:
        item = {"session": numbers[note.session_id], "uuid": note.uuid, "kind": note.kind,
                "speaker_role": note.speaker_role, "text": note.text}
        themes = [t.theme.name for t in note.tags
                  if t.status is TagStatus.ACCEPTED and t.theme is not None and not t.theme.retired]
        if len(themes) == 1:
            item["theme"] = themes[0]
        elif themes:
            item["themes"] = themes
        lines.append(json.dumps(item, ensure_ascii=False) + "\n")
    files = {
        "series.yaml": series_to_yaml(series),
        "sessions.yaml": yaml.safe_dump(sessions, sort_keys=False, allow_unicode=True, width=100),
        "codebook.yaml": dump_codebook(codebook_for_series(db, series, include_retired=False)),
        "notes.jsonl": "".join(lines),
    }
    for name, text in files.items():
        decoded = [json.loads(line) for line in lines] if name == "notes.jsonl" else yaml.safe_load(text)
        gate_series_export(db, series, text, values=strings_in(decoded))
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "roster.csv").write_text(roster_csv(participants), encoding="utf-8")
    for name, text in files.items():
        (directory / name).write_text(text, encoding="utf-8")
    return directory
