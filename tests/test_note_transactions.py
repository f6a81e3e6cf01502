"""How a live note meets the database on PostgreSQL: a note without themes commits in its own statement, so the
session row's lock is never held over a round trip, and its event, which only reads before it, runs outside a
transaction (no BEGIN, no ROLLBACK); a note with themes is stored with them in one transaction
(docs/architecture.md)."""

from __future__ import annotations

import threading
import uuid

import pytest
from sqlalchemy import event, select

from conftest import socket_as
from roundtable.models import Role, SessionState, Theme

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
