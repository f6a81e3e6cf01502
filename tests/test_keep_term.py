"""A note-taker undoes a false positive on purpose ("keep 'Berlin'") and it holds for the series."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from conftest import PASSWORD
from roundtable.models import AuditEvent, KeptTerm, Note, Participant, Role, Session

# "Berlin" is the surname of someone on the roster, so the city is replaced too: a false positive.
ORIGINAL = "We met in Berlin with Hope"


@pytest.fixture
def session_id(db, series):
    db.add(Participant(series_id=series.id, name="Lena Berlin", aliases=[], affiliation="", role_label="organizer"))
    db.commit()
    return db.scalar(select(Session.id).where(Session.series_id == series.id, Session.number == 1))


def _socket_as(app, account):
    client = app.test_client()
    assert client.post("/auth/login", data={"email": account.email, "password": PASSWORD}).status_code == 302
    return app.extensions["socketio"].test_client(app, flask_test_client=client)


def _add(socket, session_id, text=ORIGINAL) -> dict:
    reply = socket.emit("note:add", {"session_id": session_id, "uuid": str(uuid.uuid4()), "text": text}, callback=True)
    assert reply["ok"], reply
    return reply["note"]


def _keep(socket, session_id, note, term="Berlin", text=ORIGINAL) -> dict:
    return socket.emit("term:keep", {"session_id": session_id, "note_id": note["id"], "version": note["version"],
                                     "term": term, "text": text}, callback=True)


def _stored(database, note_id) -> Note:
    with database.session() as db:
        return db.get(Note, note_id)


def test_kept_term_is_restored_in_the_note_and_stays_for_later_notes(app, database, accounts, session_id):
    writer = _socket_as(app, accounts[Role.NOTE_TAKER])
    viewer = _socket_as(app, accounts[Role.VIEWER])
    viewer.emit("session:join", {"session_id": session_id}, callback=True)
    note = _add(writer, session_id)
    assert "Berlin" not in note["text"] and len(note["replacements"]) == 2

    reply = _keep(writer, session_id, note)

    assert reply["ok"], reply
    assert reply["note"]["text"].startswith("We met in Berlin with ")
    assert "Hope" not in reply["note"]["text"] and len(reply["note"]["replacements"]) == 1
    stored = _stored(database, note["id"])
    assert "Berlin" in stored.text and "Hope" not in stored.text and stored.version == note["version"] + 1
    updates = [m["args"][0] for m in viewer.get_received() if m["name"] == "note:updated"]
    assert updates and updates[-1]["text"] == reply["note"]["text"]
    later = _add(writer, session_id, "Back from Berlin, Hope said it went well")
    assert "Berlin" in later["text"] and "Hope" not in later["text"]
    with database.session() as db:
        kept = db.scalars(select(KeptTerm)).all()
        assert [(k.term, k.created_by_id) for k in kept] == [("Berlin", accounts[Role.NOTE_TAKER].id)]
        audit = db.scalars(select(AuditEvent).where(AuditEvent.action == "term.kept")).one()
        assert "Berlin" not in str(audit.detail)


def test_only_the_author_of_a_note_can_keep_a_term_in_it(app, database, accounts, session_id):
    note = _add(_socket_as(app, accounts[Role.NOTE_TAKER]), session_id)
    colleague = _socket_as(app, accounts[Role.FACILITATOR])

    reply = _keep(colleague, session_id, note)

    assert reply["code"] == 403 and "author" in reply["error"]
    assert "Berlin" not in _stored(database, note["id"]).text
    with database.session() as db:
        assert db.scalars(select(KeptTerm)).all() == []


def test_a_term_that_is_not_in_the_text_is_refused(app, database, accounts, session_id):
    writer = _socket_as(app, accounts[Role.NOTE_TAKER])
    note = _add(writer, session_id)

    reply = _keep(writer, session_id, note, term="Paris")

    assert reply["code"] == 400 and "does not occur" in reply["error"]
    errors = [m["args"][0] for m in writer.get_received() if m["name"] == "error"]
    assert errors and errors[-1]["code"] == 400
    with database.session() as db:
        assert db.scalars(select(KeptTerm)).all() == []


def test_a_stale_version_keeps_nothing(app, database, accounts, session_id):
    writer = _socket_as(app, accounts[Role.NOTE_TAKER])
    note = _add(writer, session_id)
    assert writer.emit("note:edit", {"session_id": session_id, "note_id": note["id"], "version": note["version"],
                                     "kind": "quote"}, callback=True)["ok"]

    reply = _keep(writer, session_id, note)

    assert reply["code"] == 409 and reply["current"]["version"] == note["version"] + 1
    with database.session() as db:
        assert db.scalars(select(KeptTerm)).all() == []


def test_a_viewer_cannot_keep_terms(app, database, accounts, session_id):
    note = _add(_socket_as(app, accounts[Role.NOTE_TAKER]), session_id)

    reply = _keep(_socket_as(app, accounts[Role.VIEWER]), session_id, note)

    assert reply["code"] == 403
    with database.session() as db:
        assert db.scalars(select(KeptTerm)).all() == []
