"""The note stream: what a note-taker can rely on, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
from sqlalchemy import func, select

from roundtable.errors import Conflict, SessionClosed, ValidationError
from roundtable.models import AuditEvent, Note, Session, SessionState
from roundtable.services.notes import NoteStream, StaleEdit, note_to_dict, speaker_roles


def new_id() -> str:
    return str(uuid.uuid4())


@pytest.fixture
def live_session(db, series):
    return next(s for s in series.sessions if s.state is SessionState.LIVE)


@pytest.fixture
def stream(db, roundtable):
    return NoteStream(db, roundtable)


def test_notes_get_consecutive_sequence_numbers_in_order(stream, live_session):
    seqs = [stream.add_note(live_session.id, new_id(), f"point {i}")[0].seq for i in range(5)]
    assert seqs == [1, 2, 3, 4, 5]


def test_a_duplicate_uuid_is_stored_once_and_returns_the_stored_note(stream, db, live_session):
    note_id = new_id()
    first, created = stream.add_note(live_session.id, note_id, "the same note")
    again, created_again = stream.add_note(live_session.id, note_id, "the same note, resent")
    assert created and not created_again
    assert again.id == first.id and again.text == "the same note"
    assert db.scalar(select(func.count(Note.id))) == 1


def test_roster_names_never_reach_storage(stream, db, live_session):
    note, _ = stream.add_note(live_session.id, new_id(), "María Núñez said Hope's office will push back")
    stored = db.scalar(select(Note.text).where(Note.id == note.id))
    assert "María" not in stored and "Núñez" not in stored and "Hope" not in stored
    assert stored.startswith("A legal advocate said")
    kinds = [kind for _start, _end, kind in note.replacements]
    assert "name" in kinds
    start, end, _kind = note.replacements[0]
    assert stored[start:end] == "A legal advocate"


def test_speaker_is_a_roster_role_never_a_name(stream, db, live_session):
    assert "legal advocate" in speaker_roles(db, live_session.series_id)
    note, _ = stream.add_note(live_session.id, new_id(), "we need lawyers", "quote", "legal advocate")
    assert note.speaker_role == "legal advocate"
    with pytest.raises(ValidationError):
        stream.add_note(live_session.id, new_id(), "text", "point", "María Núñez")


@pytest.mark.parametrize(
    "text, kind, why",
    [("", "point", "empty"), ("   ", "point", "blank"), ("x" * 4001, "point", "too long"), ("ok", "rumour", "kind"),
     (42, "point", "not text")],
)
def test_bad_notes_are_refused_and_nothing_is_stored(stream, db, live_session, text, kind, why):
    with pytest.raises(ValidationError):
        stream.add_note(live_session.id, new_id(), text, kind)
    assert db.scalar(select(func.count(Note.id))) == 0


def test_a_note_id_must_be_a_uuid(stream, live_session):
    with pytest.raises(ValidationError):
        stream.add_note(live_session.id, "not-a-uuid", "text")


def test_a_uuid_of_another_session_is_refused(stream, db, series, live_session):
    other = next(s for s in series.sessions if s.id != live_session.id)
    other.state = SessionState.LIVE
    db.commit()
    note_id = new_id()
    stream.add_note(live_session.id, note_id, "first")
    with pytest.raises(Conflict):
        stream.add_note(other.id, note_id, "first")


def test_notes_cannot_be_added_before_a_session_opens(stream, series):
    scheduled = next(s for s in series.sessions if s.state is SessionState.SCHEDULED)
    with pytest.raises(SessionClosed):
        stream.add_note(scheduled.id, new_id(), "too early")


def test_an_edit_based_on_a_stale_version_is_refused_with_the_current_text(stream, live_session):
    note, _ = stream.add_note(live_session.id, new_id(), "first draft")
    edited = stream.edit_note(note.id, 1, text="second draft")
    assert (edited.text, edited.version) == ("second draft", 2)
    with pytest.raises(StaleEdit) as refused:
        stream.edit_note(note.id, 1, text="my concurrent change")
    assert refused.value.current_text == "second draft"
    assert refused.value.current_version == 2
    assert refused.value.http_status == 409
    assert stream.get_note(note.id).text == "second draft"


def test_edits_are_anonymized_too(stream, live_session):
    note, _ = stream.add_note(live_session.id, new_id(), "a point")
    edited = stream.edit_note(note.id, note.version, text="Kwame Mensah-Boateng disagreed")
    assert "Kwame" not in edited.text and "Mensah" not in edited.text


def test_deletes_are_soft_until_the_session_closes(stream, db, live_session):
    keep, _ = stream.add_note(live_session.id, new_id(), "keep me")
    gone, _ = stream.add_note(live_session.id, new_id(), "delete me")
    stream.delete_note(gone.id, gone.version)
    stream_view = [note_to_dict(n) for n in stream.notes_after(live_session.id, 0)]
    assert [(n["seq"], n["deleted"]) for n in stream_view] == [(1, False), (2, True)]
    assert stream_view[1]["text"] == ""
    purged = stream.close_session(live_session.id)
    assert purged == 1
    assert [n.id for n in stream.notes_after(live_session.id, 0)] == [keep.id]


def test_a_closed_session_is_read_only(stream, db, live_session):
    note, _ = stream.add_note(live_session.id, new_id(), "said before closing")
    stream.close_session(live_session.id, account_id=None)
    with pytest.raises(SessionClosed):
        stream.add_note(live_session.id, new_id(), "too late")
    with pytest.raises(SessionClosed):
        stream.edit_note(note.id, note.version, text="changed later")
    with pytest.raises(SessionClosed):
        stream.delete_note(note.id, note.version)
    assert db.scalar(select(AuditEvent.action).where(AuditEvent.action == "session.close")) == "session.close"


def test_a_reopened_session_continues_its_sequence(stream, live_session):
    stream.add_note(live_session.id, new_id(), "one")
    stream.close_session(live_session.id)
    stream.open_session(live_session.id)
    note, _ = stream.add_note(live_session.id, new_id(), "two")
    assert note.seq == 2


def test_notes_after_returns_only_newer_notes_in_order(stream, live_session):
    for i in range(4):
        stream.add_note(live_session.id, new_id(), f"n{i}")
    assert [n.seq for n in stream.notes_after(live_session.id, 2)] == [3, 4]


def test_concurrent_writers_get_unique_gapless_seqs_and_duplicates_stored_once(database, live_session, roundtable):
    """Six threads, each with its own database session, race on one session; half the UUIDs are shared."""
    shared = [new_id() for _ in range(10)]
    errors = []

    def write(worker):
        db = database.sessionmaker()
        try:
            stream = NoteStream(db, roundtable)
            for i in range(10):
                stream.add_note(live_session.id, shared[i], f"shared {i}")
                stream.add_note(live_session.id, new_id(), f"worker {worker} note {i}")
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            db.close()

    threads = [threading.Thread(target=write, args=(w,)) for w in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    db = database.sessionmaker()
    try:
        seqs = db.scalars(select(Note.seq).where(Note.session_id == live_session.id).order_by(Note.seq)).all()
        assert seqs == list(range(1, 10 + 60 + 1))
        assert db.get(Session, live_session.id).last_seq == 70
    finally:
        db.close()


def test_a_note_refused_by_a_close_in_between_leaves_nothing_of_its_event_stored(stream, db, database, live_session):
    """The session closed after the event read it as live, and the event wrote something before its note:
    the note is refused and the event's earlier write is not stored either (no partial write)."""
    other = database.sessionmaker()
    try:
        NoteStream(other, None).close_session(live_session.id)
    finally:
        other.close()
    db.add(AuditEvent(series_id=live_session.series_id, action="test.before-the-note", detail={}))
    db.flush()
    with pytest.raises(SessionClosed):
        stream.add_note(live_session.id, new_id(), "sent as the session closed")
    check = database.sessionmaker()
    try:
        assert check.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "test.before-the-note")) == 0
        assert check.scalar(select(func.count(Note.id))) == 0
    finally:
        check.close()


def test_a_note_and_the_writes_of_its_event_before_it_are_stored_together(stream, db, database, live_session):
    db.add(AuditEvent(series_id=live_session.series_id, action="test.before-the-note", detail={}))
    note, created = stream.add_note(live_session.id, new_id(), "stored with the event's other write")
    check = database.sessionmaker()
    try:
        assert created and check.get(Note, note.id) is not None
        assert check.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "test.before-the-note")) == 1
    finally:
        check.close()


def wait_for_a_lock(watching, pid: int, never: str, unless=lambda: False) -> None:
    """Wait (60 s at most) until PostgreSQL backend ``pid`` waits for a lock, or ``unless()`` holds."""
    from sqlalchemy import text

    deadline = time.monotonic() + 60
    while not unless() and watching.execute(text("SELECT wait_event_type FROM pg_stat_activity WHERE pid = :pid"),
                                            {"pid": pid}).scalar() != "Lock":
        watching.rollback()
        assert time.monotonic() < deadline, never
        time.sleep(0.05)


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)  # SQLite has one writer at a time
def test_an_edit_and_the_workers_change_to_the_same_note_do_not_deadlock(database, live_session, roundtable):
    """An edit locks its note, then the session row (its change number); the after-save worker storing the
    note's suggestions at the same moment must take them in the same order, or PostgreSQL kills one."""
    from sqlalchemy import text, update

    from roundtable.services.note_changes import record_change

    editing, working, watching = (database.sessionmaker() for _ in range(3))
    try:
        note, _ = NoteStream(editing, roundtable).add_note(live_session.id, new_id(), "the bus route")
        editing.commit()
        editing.execute(update(Note).where(Note.id == note.id).values(version=Note.version + 1))  # the edit's lock
        worker_pid = working.execute(text("SELECT pg_backend_pid()")).scalar()
        errors = []

        def work():
            try:
                record_change(working, [note.id])
                working.commit()
            except Exception as exc:  # surfaced below
                errors.append(exc)

        worker = threading.Thread(target=work)
        worker.start()
        wait_for_a_lock(watching, worker_pid, "the worker never waited for the edit's lock")
        record_change(editing, [note.id])
        editing.commit()
        worker.join(60)
        assert not worker.is_alive() and errors == []
    finally:
        for db in (editing, working, watching):
            db.close()


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)  # SQLite has one writer at a time
def test_an_edit_and_the_workers_stored_suggestion_on_the_same_note_do_not_deadlock(database, live_session, roundtable):
    """The worker's suggestion row refers to its note, so PostgreSQL holds a key-share lock on the note from its
    insert until the worker commits; an edit updating the note meanwhile must not then wait for that lock while
    the worker waits for the edit's (a FOR UPDATE in record_change did both, and one side was killed)."""
    from sqlalchemy import text, update

    from roundtable.models import NoteTag, TagStatus, Theme
    from roundtable.services.note_changes import record_change

    working, editing, watching = (database.sessionmaker() for _ in range(3))
    try:
        note, _ = NoteStream(working, roundtable).add_note(live_session.id, new_id(), "the bus route")
        working.commit()
        theme_id = working.scalar(select(Theme.id).where(Theme.series_id == live_session.series_id).limit(1))
        working.add(NoteTag(note_id=note.id, theme_id=theme_id, status=TagStatus.SUGGESTED, source="test",
                            confidence=0.5))
        working.flush()  # the suggestion stored, the worker's transaction still open
        editing.execute(update(Note).where(Note.id == note.id).values(version=Note.version + 1))
        editor_pid = editing.execute(text("SELECT pg_backend_pid()")).scalar()
        errors = []

        def edit():
            try:
                record_change(editing, [note.id])
                editing.commit()
            except Exception as exc:  # surfaced below
                errors.append(exc)

        editor = threading.Thread(target=edit)
        editor.start()
        # The edit either finished its change or waits for the worker's lock (the deadlock's first half).
        wait_for_a_lock(watching, editor_pid, "the edit neither finished nor waited", unless=lambda: not editor.is_alive())
        try:
            record_change(working, [note.id])
            working.commit()
        except Exception as exc:  # surfaced below
            errors.append(exc)
        editor.join(60)
        assert not editor.is_alive() and errors == []
    finally:
        for db in (working, editing, watching):
            db.close()


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)  # SQLite has one writer at a time
def test_closing_a_session_and_a_change_to_its_deleted_note_do_not_deadlock(database, live_session, roundtable):
    """A close purges the session's deleted notes; a change to one of them (the after-save worker storing
    its suggestions) locks the note, then the session row. The close must take them in the same order."""
    from sqlalchemy import text

    from roundtable.services.note_changes import record_change

    working, closing, watching = (database.sessionmaker() for _ in range(3))
    try:
        stream = NoteStream(working, roundtable)
        note, _ = stream.add_note(live_session.id, new_id(), "said and then taken back")
        stream.delete_note(note.id)
        working.execute(select(Note.id).where(Note.id == note.id).with_for_update())  # the change's first lock
        closer_pid = closing.execute(text("SELECT pg_backend_pid()")).scalar()
        errors = []

        def close():
            try:
                NoteStream(closing, roundtable).close_session(live_session.id)
            except Exception as exc:  # surfaced below
                errors.append(exc)

        closer = threading.Thread(target=close)
        closer.start()
        wait_for_a_lock(watching, closer_pid, "the close never waited for the change's lock")
        record_change(working, [note.id])
        working.commit()
        closer.join(60)
        assert not closer.is_alive() and errors == []
        assert watching.get(Session, live_session.id).state is SessionState.CLOSED
        assert watching.get(Note, note.id) is None  # purged
    finally:
        for db in (working, closing, watching):
            db.close()
