"""How a live note meets the database on PostgreSQL: a note without themes commits in its own statement, so the
session row's lock is never held over a round trip, and its event, which only reads before it, runs outside a
transaction (no BEGIN, no ROLLBACK); a note with themes is stored with them in one transaction
(docs/architecture.md)."""

from __future__ import annotations

import threading
import uuid

import pytest
from sqlalchemy import event, func, select

from conftest import socket_as, statements_sent_here
from roundtable.models import Note, Role, SessionState, Theme
from roundtable.services.notes import NoteStream

pytestmark = pytest.mark.parametrize("database_url", ["postgres"], indirect=True)


def _isolation_levels(database, emit):
    """The isolation level of each statement that ``emit()`` runs, the note's insert marked, and its reply
    (the test client runs the handler in this thread; the after-save worker's reads run in another)."""
    levels = []
    here = threading.get_ident()

    def seen(connection, _cursor, statement, *_args):
        if threading.get_ident() != here:
            return
        level = connection.get_execution_options().get("isolation_level", "transaction")
        inserts = statement.lstrip().startswith(("INSERT INTO notes", "WITH taken"))
        levels.append(f"insert {level}" if inserts else level)

    event.listen(database.engine, "before_cursor_execute", seen)
    try:
        return levels, emit()
    finally:
        event.remove(database.engine, "before_cursor_execute", seen)


def test_a_live_note_without_themes_commits_alone_outside_a_transaction_and_one_with_themes_in_one(
        app, database, db, series, accounts):
    live = next(s for s in series.sessions if s.state is SessionState.LIVE)
    theme_id = db.scalars(select(Theme.id).where(Theme.series_id == series.id)).first()
    socket = socket_as(app, accounts[Role.NOTE_TAKER].email)
    assert "state" in socket.emit("session:join", {"session_id": live.id}, callback=True)

    def add(**extra):
        return lambda: socket.emit("note:add", {"session_id": live.id, "uuid": str(uuid.uuid4()),
                                                "text": "rents rose again", **extra}, callback=True)

    levels, added = _isolation_levels(database, add())
    assert added["ok"], added
    assert "insert AUTOCOMMIT" in levels and set(levels) == {"AUTOCOMMIT", "insert AUTOCOMMIT"}, levels
    levels, added = _isolation_levels(database, add(themes=[theme_id]))
    assert added["ok"], added
    assert "insert transaction" in levels and set(levels) == {"transaction", "insert transaction"}, levels
    assert len(added["note"]["tags"]) == 1


def test_a_new_live_note_is_stored_without_a_uuid_look_up_and_a_resend_still_gets_the_stored_note(
        app, database, db, series, accounts):
    # Under gevent every round trip waits for the greenlets that became ready meanwhile (at 1,000 viewers a
    # round of socket writes): the insert's unique constraint finds a resend, so a new note skips the look-up.
    live = next(s for s in series.sessions if s.state is SessionState.LIVE)
    socket = socket_as(app, accounts[Role.NOTE_TAKER].email)
    assert "state" in socket.emit("session:join", {"session_id": live.id}, callback=True)
    payload = {"session_id": live.id, "uuid": str(uuid.uuid4()), "text": "rents rose again"}
    with statements_sent_here(database.engine) as statements:
        added = socket.emit("note:add", payload, callback=True)
    assert added["ok"], added
    assert not [s for s in statements if "FROM notes" in s and "notes.uuid =" in s], statements

    again = socket.emit("note:add", payload, callback=True)  # the reply was lost: the outbox sends it again
    assert again["ok"] and (again["id"], again["seq"]) == (added["id"], added["seq"]), again
    NoteStream(db, None).close_session(live.id)
    db.commit()
    closed = socket.emit("note:add", payload, callback=True)  # again, after the session closed
    assert closed["ok"] and closed["id"] == added["id"], closed
    assert db.scalar(select(func.count()).select_from(Note).where(Note.uuid == payload["uuid"])) == 1
