"""How a live note meets the database on PostgreSQL: a note without themes commits in its own statement, on a
connection of its own, so the session row's lock is never held over a round trip (docs/architecture.md)."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import event, select

from conftest import socket_as
from roundtable.models import Role, SessionState, Theme

pytestmark = pytest.mark.parametrize("database_url", ["postgres"], indirect=True)


def _note_inserts(database, emit):
    """The isolation level of each ``INSERT INTO notes`` that ``emit()`` runs, and its reply."""
    levels = []

    def seen(connection, _cursor, statement, *_args):
        if statement.lstrip().startswith(("INSERT INTO notes", "WITH taken")):
            levels.append(connection.get_execution_options().get("isolation_level", "transaction"))

    event.listen(database.engine, "before_cursor_execute", seen)
    try:
        return levels, emit()
    finally:
        event.remove(database.engine, "before_cursor_execute", seen)


def test_a_live_note_without_themes_commits_alone_and_one_with_themes_in_the_events_transaction(
        app, database, db, series, accounts):
    live = next(s for s in series.sessions if s.state is SessionState.LIVE)
    theme_id = db.scalars(select(Theme.id).where(Theme.series_id == series.id)).first()
    socket = socket_as(app, accounts[Role.NOTE_TAKER].email)
    assert "state" in socket.emit("session:join", {"session_id": live.id}, callback=True)

    def add(**extra):
        return lambda: socket.emit("note:add", {"session_id": live.id, "uuid": str(uuid.uuid4()),
                                                "text": "rents rose again", **extra}, callback=True)

    levels, added = _note_inserts(database, add())
    assert added["ok"], added
    assert levels == ["AUTOCOMMIT"]
    levels, added = _note_inserts(database, add(themes=[theme_id]))
    assert added["ok"], added
    assert levels == ["transaction"]
    assert len(added["note"]["tags"]) == 1
