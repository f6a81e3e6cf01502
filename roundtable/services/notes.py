"""The note stream of a session: add, edit, delete and read notes, open and close sessions.

This is the live path, so it does the least work possible: validate,
anonymize, persist. Broadcasting and the ``note_saved`` hook belong to the
caller (``roundtable.web.live``), after the commit.

Guarantees:

- A note is identified by its client-generated UUID; adding the same UUID
  twice returns the stored note and stores nothing new, also when two
  processes race (the unique constraint decides, the loser reads the winner).
- Each session hands out sequence numbers 1, 2, 3... with one atomic
  ``UPDATE sessions SET last_seq = last_seq + 1 ... RETURNING last_seq``, which
  also checks that the session is live, so a note can never slip into a
  session that was just closed. On PostgreSQL the same statement stores the
  note (``WITH taken AS (UPDATE ...) INSERT INTO notes ... SELECT``), and a
  live note without themes, in an event that wrote nothing before it (its
  caller says so: ``commit_alone``), commits in that statement on a connection
  of its own, so the session row's lock is released inside PostgreSQL, never
  held over a round trip.
- An edit names the version it was based on; a stale edit is refused with
  :class:`StaleEdit`, which carries the current text and version.
- Deletes are soft while the session is live, so every client sees them; they
  are purged when the session closes.
"""

from __future__ import annotations

import uuid as uuid_module
from collections.abc import Sequence
from datetime import datetime, timezone

from sqlalchemy import delete, insert, literal, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session as DbSession
from sqlalchemy.orm import make_transient_to_detached, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from roundtable import note_trace
from roundtable.errors import Conflict, NotFound, RoundtableError, SessionClosed, ValidationError
from roundtable.models import (
    NOTE_KINDS,
    Account,
    AuditEvent,
    Membership,
    Note,
    NoteTag,
    Participant,
    Role,
    Series,
    Session,
    SessionState,
    TagStatus,
)
from roundtable.services.anonymize import AnonymizedText, Anonymizer, anonymizer_and_memory, anonymizer_for_series
from roundtable.services.anonymize.name_memory import NameMemory, forget_session, memory_key, remember_statement, remembered_digests
from roundtable.services.anonymize.normalize import matching_text
from roundtable.services.typed_text import clean_line, stored_form
from roundtable.services.note_changes import record_change
from roundtable.services.tagging import add_manual_tag, check_taggable, tag_to_dict

DEFAULT_MAX_NOTE_LENGTH = 4000
# Words a note-taker may mark as names in one note (lower-case and unusual names no detector finds).
MAX_MARKED_NAMES = 20
# Speaker roles a note-taker may pick besides the roster's own role labels.
GENERIC_SPEAKER_ROLES = ("participant", "facilitator")


class StaleEdit(Conflict):
    """An edit or delete based on an old version; carries the note as it is now."""

    def __init__(self, note: Note):
        self.note_id = note.id
        # A deleted note's text is gone for everyone: the conflict must not bring it back.
        self.deleted = note.deleted_at is not None
        self.current_text = None if self.deleted else note.text
        self.current_version = note.version
        what = "deleted" if self.deleted else f"changed (now version {note.version})"
        super().__init__(f"this note was {what} by someone else; your edit was not saved")


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def clean_uuid(value) -> str:
    """The canonical form of a client UUID, or a ValidationError."""
    try:
        return str(uuid_module.UUID(str(value)))
    except (ValueError, TypeError, AttributeError):
        raise ValidationError("note id must be a UUID") from None


def has_lone_surrogate(text: str) -> bool:
    """A JSON ``\\ud83d`` without its pair decodes to a string no database can store as UTF-8."""
    return any("\ud800" <= c <= "\udfff" for c in text)


def clean_text(text, max_length: int = DEFAULT_MAX_NOTE_LENGTH) -> str:
    """A note's text as it is stored: NFC, no invisible characters, Unix newlines, trimmed."""
    if not isinstance(text, str):
        raise ValidationError("note text must be a string")
    if "\x00" in text:
        raise ValidationError("a note cannot contain NUL characters")
    if has_lone_surrogate(text):
        raise ValidationError("a note cannot contain half a character (an unpaired UTF-16 surrogate)")
    text = stored_form(text.replace("\r\n", "\n").replace("\r", "\n")).strip()
    if not text:
        raise ValidationError("a note cannot be empty")
    if len(text) > max_length:
        raise ValidationError(f"a note can be at most {max_length} characters (this one has {len(text)})")
    return text


def clean_kind(kind) -> str:
    kind = kind or "point"
    if kind not in NOTE_KINDS:
        raise ValidationError(f"unknown note kind {kind!r}; use one of {', '.join(NOTE_KINDS)}")
    return kind


def speaker_roles(db: DbSession, series_id: int) -> list[str]:
    """The roles a note may be attributed to: the roster's role labels plus generic ones."""
    roles = db.scalars(
        select(Participant.role_label).where(Participant.series_id == series_id).distinct()
    ).all()
    ordered = sorted({r for r in roles if r})
    return ordered + [r for r in GENERIC_SPEAKER_ROLES if r not in ordered]


def note_takers(db: DbSession, series_id: int, session_id: int) -> list[dict]:
    """Everyone who may write in the series or wrote in this session, by account: the page gives each a colour."""
    writers = select(Membership.account_id).where(
        Membership.series_id == series_id, Membership.role != Role.VIEWER)
    authors = select(Note.author_id).where(Note.session_id == session_id)
    rows = db.execute(
        select(Account.id, Account.display_name).where(Account.id.in_(writers) | Account.id.in_(authors))
        .order_by(Account.id)
    ).all()
    return [{"id": account_id, "name": name} for account_id, name in rows]


def clean_marked_names(names) -> list[str]:
    """The words a note-taker marked as names, trimmed, without repeats; a ValidationError for anything else."""
    if names is None:
        return []
    if not isinstance(names, (list, tuple)) or len(names) > MAX_MARKED_NAMES:
        raise ValidationError(f"marked names must be a list of at most {MAX_MARKED_NAMES} words")
    cleaned: list[str] = []
    for name in names:
        name = clean_line(name, "a marked name", 100)  # the check of a roster name (a facilitator's marks go there)
        if not name:
            raise ValidationError("a marked name cannot be empty")
        if name.casefold() not in {n.casefold() for n in cleaned}:
            cleaned.append(name)
    return cleaned


def not_live_message(meeting: Session) -> str:
    """What a write to a session that is not live is told: closed, or not opened yet."""
    if meeting.state is SessionState.CLOSED:
        return f"session {meeting.number} is closed; its notes are read-only"
    return f"session {meeting.number} has not been opened yet"


class NoteStream:
    """Reads and writes the notes of sessions through one database session.

    With ``autocommit=True`` (the live path) every write is committed before it
    returns, so the caller may acknowledge and broadcast right away. With
    ``autocommit=False`` (imports) the caller owns the transaction. Writing
    needs the application ``roundtable``: notes are anonymized with the
    series' pipeline of its detectors and secret. Reading does not.
    """

    def __init__(self, db: DbSession, roundtable=None, *, autocommit: bool = True,
                 max_length: int = DEFAULT_MAX_NOTE_LENGTH):
        self.db = db
        self.roundtable = roundtable
        self.autocommit = autocommit
        self.max_length = max_length

    def anonymize(self, db: DbSession, series: Series, text: str, session_key: str,
                  marked: Sequence[str] = (), speaker_role: str | None = None,
                  memory: NameMemory | None = None) -> AnonymizedText:
        """The series' anonymization of ``text`` with the application's detectors and secret (and ``memory``, the
        session's names: :meth:`name_memory`)."""
        if self.roundtable is None:
            raise TypeError("this NoteStream was made without the application, so it can read notes but not write them")
        return anonymizer_for_series(db, series, self.roundtable).anonymize(
            text, session_key, clean_marked_names(marked), speaker_role=speaker_role, memory=memory)

    def name_memory(self, anonymizer: Anonymizer, meeting: Session, texts: Sequence[str]) -> NameMemory | None:
        """The session's memory of names (:mod:`roundtable.services.anonymize.name_memory`) as far as ``texts``
        need it: the digests of their own words, read in one indexed query. ``None`` when no detector of
        ``anonymizer`` would use it (no name model), and then no query. A note being stored or previewed reads
        the memory with the roster instead (:func:`anonymizer_and_memory`, no round trip of its own)."""
        if not anonymizer.remembers_names:
            return None
        memory = anonymizer.name_memory(memory_key(self.roundtable.secret), meeting.id)
        wanted = set().union(*(memory.lookup_digests(matching_text(stored_form(text)).text) for text in texts))
        memory.digests = remembered_digests(self.db, meeting.id, wanted)
        return memory

    def _anonymize_note(self, meeting: Session, text: str, marked, speaker_role) -> AnonymizedText:
        """A note being stored, anonymized with the session's memory of names, which keeps its new names."""
        if self.roundtable is None:
            raise TypeError("this NoteStream was made without the application, so it can read notes but not write them")
        anonymizer, memory = anonymizer_and_memory(self.db, meeting, self.roundtable, [text])
        anonymized = anonymizer.anonymize(text, self._session_key(meeting), clean_marked_names(marked),
                                          speaker_role=speaker_role, memory=memory)
        self._remember(meeting, memory)
        return anonymized

    def _remember(self, meeting: Session, memory: NameMemory | None) -> None:
        """Store the names ``memory`` learned from a note being stored (digests only); nothing when none are new."""
        if memory is None or not memory.learned:
            return
        statement = remember_statement(self.db, meeting.id, meeting.series_id, memory.learned)
        if not self.autocommit:
            self.db.execute(statement)
            return
        # In a statement of its own: the note's insert may commit alone on another connection (commit_alone)
        own = self.db.connection()
        if self.db.get_bind().dialect.name == "postgresql" and own.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
            with self.db.get_bind().connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.execute(statement)
            return
        own.execute(statement)
        self.db.commit()

    def preview_note(self, session_id: int, text, marked: Sequence[str] = (), speaker_role=None) -> dict:
        """What ``text`` would be stored as in a live session, and which words each replacement replaces.

        For the composer's preview: nothing is stored or sent to anyone else. The
        ``changes`` echo the writer's own words back to the writer only.
        """
        text = clean_text(text, self.max_length)
        meeting = self.get_session(session_id)
        if meeting.state is not SessionState.LIVE:
            raise SessionClosed(not_live_message(meeting))
        speaker_role = self._clean_speaker_role(meeting.series_id, speaker_role)
        anonymizer, memory = anonymizer_and_memory(self.db, meeting, self.roundtable, [text])
        result = anonymizer.anonymize(text, self._session_key(meeting), clean_marked_names(marked), speaker_role,
                                      memory=memory)
        changes = [{"from": text[span.start:span.end], "to": result.text[start:end], "kind": kind}
                   for span, (start, end, kind) in zip(result.spans, result.replacements)]
        return {"text": result.text, "replacements": [list(r) for r in result.replacements], "changes": changes}

    # --- reading ---------------------------------------------------------------------------

    def get_session(self, session_id: int) -> Session:
        meeting = self.db.get(Session, session_id)
        if meeting is None:
            raise NotFound("no such session")
        return meeting

    def get_note(self, note_id: int) -> Note:
        note = self.db.get(Note, note_id)
        if note is None:
            raise NotFound("no such note")
        return note

    def notes_after(self, session_id: int, seq: int = 0, include_deleted: bool = True,
                    changes_after: int | None = None, before: int | None = None) -> list[Note]:
        """Notes of a session with a sequence number above ``seq`` (and below ``before``: a page filling a
        hole), or, with ``changes_after``, changed after that change number (:mod:`.note_changes`); in
        order, tags loaded."""
        newer = Note.seq > int(seq)
        if before is not None:
            newer = newer & (Note.seq < int(before))
        if changes_after is not None:
            newer = newer | (Note.change_seq > int(changes_after))
        query = (
            select(Note)
            .where(Note.session_id == session_id, newer)
            .order_by(Note.seq)
            .options(selectinload(Note.tags).selectinload(NoteTag.theme))
        )
        if not include_deleted:
            query = query.where(Note.deleted_at.is_(None))
        return list(self.db.scalars(query))

    # --- writing ---------------------------------------------------------------------------

    def add_note(self, session_id: int, uuid, text, kind="point", speaker_role=None, author_id=None,
                 *, require_live: bool = True, marked: Sequence[str] = (), themes: Sequence[int] = (),
                 commit_alone: bool = False) -> tuple[Note, bool]:
        """Store a note; return ``(note, created)``. A known UUID returns the stored note and ``False``.

        ``require_live=False`` lets imports fill scheduled or closed sessions. ``marked``: words the
        note-taker marked as names; they are replaced like any name and are stored nowhere.
        ``themes``: ids of themes the writer chose; the note is stored with them, in the same
        transaction, or not at all (a retired or unknown theme refuses the note).
        ``commit_alone``: the caller's transaction has written nothing (the live ``note:add``), so a note
        without themes may commit in its own statement on a connection of its own (PostgreSQL); otherwise it
        commits with whatever the transaction wrote before it, so a refused note never leaves half an event.
        """
        note_uuid = clean_uuid(uuid)
        if commit_alone and self.autocommit:
            # The live path looks a note's uuid up only when storing it fails (the unique constraint, or a session
            # closed since the first send): under gevent every round trip waits for the greenlets that became
            # ready meanwhile, at 1,000 viewers a round of socket writes. A resend is anonymized again, and dropped.
            try:
                return self._add_new(session_id, note_uuid, text, kind, speaker_role, author_id, require_live,
                                     marked, themes, commit_alone)
            except RoundtableError:
                existing = self._by_uuid(note_uuid)
                if existing is None:
                    raise
                return self._same_session(existing, session_id), False
        existing = self._by_uuid(note_uuid)
        if existing is not None:
            return self._same_session(existing, session_id), False
        return self._add_new(session_id, note_uuid, text, kind, speaker_role, author_id, require_live, marked, themes,
                             commit_alone)

    def _add_new(self, session_id, note_uuid, text, kind, speaker_role, author_id, require_live, marked, themes,
                 commit_alone) -> tuple[Note, bool]:
        """Check, anonymize and store a note whose uuid was not stored when looked up (if it is by now, the
        unique constraint says so and the stored note is returned)."""
        text = clean_text(text, self.max_length)
        kind = clean_kind(kind)
        meeting = self.get_session(session_id)
        if require_live and meeting.state is not SessionState.LIVE:
            raise SessionClosed(not_live_message(meeting))
        speaker_role = self._clean_speaker_role(meeting.series_id, speaker_role)
        for theme_id in themes:
            check_taggable(self.db, meeting.series_id, theme_id)
        anonymized = self._anonymize_note(meeting, text, marked, speaker_role)
        note_trace.mark(note_uuid, "anonymized")
        if self.autocommit:
            return self._insert_committed(meeting, note_uuid, anonymized, kind, speaker_role, author_id, require_live,
                                          themes, commit_alone)
        # The caller owns the transaction (an import): a UUID stored concurrently
        # by someone else makes the whole import fail rather than half-succeed.
        return self._insert(meeting, note_uuid, anonymized, kind, speaker_role, author_id, require_live, themes), True

    def edit_note(self, note_id: int, base_version: int, text=None, kind=None, speaker_role=None,
                  marked: Sequence[str] = ()) -> Note:
        """Change a note's text, kind or speaker role; refuse with :class:`StaleEdit` if ``base_version`` is old.

        ``marked``: words the note-taker marked as names in ``text``.
        """
        if marked and text is None:
            raise ValidationError("marked names need the note's text: send the text they were marked in")
        note = self.get_note(note_id)
        meeting = self._live_session_of(note)
        values: dict = {}
        if speaker_role is not None:
            values["speaker_role"] = self._clean_speaker_role(meeting.series_id, speaker_role or None)
        if text is not None:
            speaker = values["speaker_role"] if "speaker_role" in values else note.speaker_role
            anonymized = self._anonymize_note(meeting, clean_text(text, self.max_length), marked, speaker)
            values["text"] = anonymized.text
            values["replacements"] = anonymized.replacements
        if kind is not None:
            values["kind"] = clean_kind(kind)
        if not values:
            raise ValidationError("nothing to change")
        return self._versioned_update(note, base_version, values)

    def delete_note(self, note_id: int, base_version: int | None = None) -> Note:
        """Soft-delete a note (purged when the session closes)."""
        note = self.get_note(note_id)
        self._live_session_of(note)
        if note.deleted_at is not None:
            return note
        version = note.version if base_version is None else base_version
        return self._versioned_update(note, version, {"deleted_at": _utcnow()})

    # --- session states --------------------------------------------------------------------

    def open_session(self, session_id: int, account_id: int | None = None) -> Session:
        """Make a session live (also re-opens a closed one)."""
        meeting = self.get_session(session_id)
        if meeting.state is not SessionState.LIVE:
            meeting.state = SessionState.LIVE
            self.db.add(AuditEvent(account_id=account_id, series_id=meeting.series_id, action="session.open",
                                   detail={"session": meeting.number}))
        self._flush_or_commit()
        return meeting

    def close_session(self, session_id: int, account_id: int | None = None) -> int:
        """Close a session: read-only from now on; soft-deleted notes are purged. Returns how many were purged."""
        meeting = self.get_session(session_id)
        # The deleted notes' rows first, in id order, then the session's, as every change to a note takes them
        # (note_changes.record_change): a change to a deleted note (its suggestions stored) holds the note and
        # waits for the session row, and a close that held the session row and then purged that note deadlocked.
        self.db.execute(select(Note.id).where(Note.session_id == session_id, Note.deleted_at.is_not(None))
                        .order_by(Note.id).with_for_update())
        # Then close with a conditional UPDATE so a note racing the close either
        # got its seq before (and is kept) or sees the session closed.
        self.db.execute(
            update(Session).where(Session.id == session_id).values(state=SessionState.CLOSED)
            .execution_options(synchronize_session=False)
        )
        purged = self.db.execute(
            delete(Note).where(Note.session_id == session_id, Note.deleted_at.is_not(None))
            .execution_options(synchronize_session=False)
        ).rowcount
        forget_session(self.db, session_id)  # no note is anonymized in a closed session: its names go
        self.db.add(AuditEvent(account_id=account_id, series_id=meeting.series_id, action="session.close",
                               detail={"session": meeting.number, "purged_notes": purged}))
        self._flush_or_commit()
        self.db.refresh(meeting)
        return purged

    # --- internals -------------------------------------------------------------------------

    def _by_uuid(self, note_uuid: str) -> Note | None:
        return self.db.scalar(select(Note).where(Note.uuid == note_uuid))

    @staticmethod
    def _same_session(note: Note, session_id: int) -> Note:
        if note.session_id != session_id:
            raise Conflict("this note id is already used in another session")
        return note

    @staticmethod
    def _session_key(meeting: Session) -> str:
        return f"session-{meeting.id}"

    def _clean_speaker_role(self, series_id: int, role) -> str | None:
        if role in (None, ""):
            return None
        if not isinstance(role, str) or role not in speaker_roles(self.db, series_id):
            raise ValidationError("speaker must be one of the roster's roles")
        return role

    def _live_session_of(self, note: Note) -> Session:
        meeting = note.session
        if meeting.state is not SessionState.LIVE:
            raise SessionClosed(not_live_message(meeting))
        return meeting

    def _taking_seq(self, session_id: int, require_live: bool):
        """``UPDATE sessions SET last_seq = last_seq + 1 ... RETURNING last_seq``: the next seq, taken under the
        session row's lock (held until the note commits), only from a live session unless imports say so."""
        stmt = update(Session).where(Session.id == session_id)
        if require_live:
            stmt = stmt.where(Session.state == SessionState.LIVE)
        return (stmt.values(last_seq=Session.last_seq + 1).returning(Session.last_seq)
                .execution_options(synchronize_session=False))

    def _insert(self, meeting, note_uuid, anonymized, kind, speaker_role, author_id, require_live,
                themes=(), *, commit: bool = False, commit_alone: bool = False) -> Note:
        """Store the note with the next seq (and its themes); ``commit``: commit it too (``commit_alone``: in
        its own statement, when it has no themes; see :meth:`add_note`)."""
        now = _utcnow()
        note = Note(session_id=meeting.id, uuid=note_uuid, kind=kind, text=anonymized.text,
                    speaker_role=speaker_role, replacements=anonymized.replacements, author_id=author_id,
                    version=1, change_seq=0, created_at=now, updated_at=now, deleted_at=None)
        if self.db.get_bind().dialect.name == "postgresql":
            if commit and commit_alone and not themes:
                self._insert_taking_seq(note, require_live, alone=True)
                set_committed_value(note, "tags", [])
                return note  # committed by its own statement, and this session has nothing else to commit
            self._insert_taking_seq(note, require_live, alone=False)
        else:  # SQLite has no UPDATE in a WITH; its one writer at a time makes the two statements as good
            note.seq = self.db.execute(self._taking_seq(meeting.id, require_live)).scalar()
            if note.seq is None:
                raise SessionClosed("this session is closed; its notes are read-only")
            self.db.add(note)
            self.db.flush()
        if themes:
            for theme_id in themes:
                add_manual_tag(self.db, note.id, theme_id, new_note=True)
        else:
            set_committed_value(note, "tags", [])  # a new note has none: no read to find that out
        if commit:
            self.db.commit()
        return note

    def _insert_taking_seq(self, note: Note, require_live: bool, alone: bool) -> None:
        """Take the seq and store ``note`` in one statement (PostgreSQL). Under gevent every round trip lets
        the process's other sockets run first, and with the session row's lock held over three (seq, insert,
        commit) the next note of the session waited behind it for most of its latency (measured in
        docs/performance.md). ``alone``: the statement is its own transaction (:meth:`_committing_alone`), so
        PostgreSQL releases the lock before its reply leaves; else the lock is held until the caller commits."""
        taken = self._taking_seq(note.session_id, require_live).cte("taken")
        table = Note.__table__
        columns = ["session_id", "uuid", "kind", "text", "speaker_role", "replacements", "author_id", "version",
                   "change_seq", "created_at", "updated_at", "deleted_at"]
        stmt = insert(Note).from_select(
            [*columns, "seq"],
            select(*(literal(getattr(note, c), type_=table.c[c].type) for c in columns), taken.c.last_seq),
        ).returning(Note.id, Note.seq)
        row = self._committing_alone(stmt) if alone else self.db.execute(stmt).one_or_none()
        if row is None:
            raise SessionClosed("this session is closed; its notes are read-only")
        note.id, note.seq = row
        make_transient_to_detached(note)  # stored: known to the session as loaded, not to be inserted again
        self.db.add(note)

    def _committing_alone(self, stmt):
        """Run ``stmt`` as a transaction of its own: on this session's connection if it is in SQLAlchemy's
        ``AUTOCOMMIT`` mode already (:func:`roundtable.db.without_transaction`), else on a connection of its own
        in that mode, this session's transaction left as it is (only for a transaction that has written
        nothing: ``commit_alone`` in :meth:`add_note`)."""
        own = self.db.connection()
        if own.get_execution_options().get("isolation_level") == "AUTOCOMMIT":
            return own.execute(stmt).one_or_none()
        with self.db.get_bind().connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            return connection.execute(stmt).one_or_none()

    def _insert_committed(self, meeting, note_uuid, anonymized, kind, speaker_role, author_id, require_live,
                          themes=(), commit_alone=False):
        session_id = meeting.id
        try:
            note = self._insert(meeting, note_uuid, anonymized, kind, speaker_role, author_id, require_live, themes,
                                commit=True, commit_alone=commit_alone)
        except IntegrityError:
            # Stored already: a resend on the live path, or another process between our look-up and our insert.
            self.db.rollback()
            existing = self._by_uuid(note_uuid)
            if existing is None:
                raise
            return self._same_session(existing, session_id), False
        except BaseException:
            self.db.rollback()
            raise
        return note, True

    def _versioned_update(self, note: Note, base_version, values: dict) -> Note:
        if not isinstance(base_version, int) or isinstance(base_version, bool):
            raise ValidationError("version must be a number")
        values = dict(values, version=Note.version + 1, updated_at=_utcnow())
        changed = self.db.execute(
            update(Note)
            .where(Note.id == note.id, Note.version == base_version, Note.deleted_at.is_(None),
                   Note.session_id.in_(select(Session.id).where(Session.state == SessionState.LIVE)))
            .values(**values)
            .execution_options(synchronize_session=False)
        ).rowcount
        if changed != 1:
            if self.autocommit:
                self.db.rollback()
            self.db.refresh(note)
            if note.session.state is not SessionState.LIVE:
                raise SessionClosed(not_live_message(note.session))
            raise StaleEdit(note)
        record_change(self.db, [note.id])
        self._flush_or_commit()
        self.db.refresh(note)
        return note

    def _flush_or_commit(self) -> None:
        if self.autocommit:
            self.db.commit()
        else:
            self.db.flush()


def note_to_dict(note: Note) -> dict:
    """A note as sent to browsers and clients (deleted notes carry no text)."""
    deleted = note.deleted_at is not None
    return {
        "id": note.id,
        "uuid": note.uuid,
        "session_id": note.session_id,
        "seq": note.seq,
        "kind": note.kind,
        "text": "" if deleted else note.text,
        "speaker_role": note.speaker_role,
        "replacements": [] if deleted else list(note.replacements or []),
        "version": note.version,
        "change": note.change_seq or 0,
        "author_id": note.author_id,
        "created_at": _iso_utc(note.created_at),
        "deleted": deleted,
        "tags": [] if deleted else [tag_to_dict(t) for t in note.tags if t.status is not TagStatus.REJECTED],
    }


def _iso_utc(moment: datetime | None) -> str | None:
    """ISO 8601 with its offset (SQLite hands back naive datetimes; they are UTC)."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.isoformat()
