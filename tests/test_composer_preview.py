"""The composer's preview and marked names, through the real socket handlers.

A note-taker sees what the server's anonymizer will store before sending
(``note:preview``: nothing stored, nothing sent to anyone else), and can mark a
word no detector finds (a lower-case name) as a name: it is replaced when the
note is stored, and the word itself is stored and broadcast nowhere.
"""

from __future__ import annotations

import uuid

from sqlalchemy import func, select, text

from conftest import socket_as
from roundtable.models import Note, Role, Session, SessionState

# "ana" is a person, written in lower case: no detector finds her.
TYPED = "María Núñez said ana runs the clinic's intake desk"


def _every_stored_string(database) -> str:
    """Every text column of every row of every table, as one string: nothing may hold the marked word."""
    with database.session() as db:
        bind = db.get_bind()
        from sqlalchemy import inspect

        found = []
        for table in inspect(bind).get_table_names():
            for row in db.execute(text(f'SELECT * FROM "{table}"')):
                found.extend(str(value) for value in row if value is not None)
        return "\n".join(found)


def test_preview_shows_what_a_roster_name_becomes_and_stores_and_sends_nothing(app, database, accounts, session_id):
    writer = socket_as(app, accounts[Role.NOTE_TAKER].email)
    viewer = socket_as(app, accounts[Role.VIEWER].email)
    viewer.emit("session:join", {"session_id": session_id}, callback=True)
    viewer.get_received()

    reply = writer.emit("note:preview", {"session_id": session_id, "text": TYPED}, callback=True)

    assert reply["ok"], reply
    assert reply["text"].startswith("A legal advocate said ana runs")
    assert {"from": "María Núñez", "to": "A legal advocate", "kind": "name"} in reply["changes"]
    start, end, kind = reply["replacements"][0]
    assert reply["text"][start:end] == "A legal advocate" and kind == "name"
    assert [m["name"] for m in viewer.get_received() if m["name"] != "presence"] == []
    with database.session() as db:
        assert db.scalar(select(func.count()).select_from(Note)) == 0
        assert db.get(Session, session_id).last_seq == 0


def test_a_marked_lower_case_name_shows_in_the_preview_and_is_never_stored_or_broadcast(app, database, accounts,
                                                                                       session_id):
    writer = socket_as(app, accounts[Role.NOTE_TAKER].email)
    viewer = socket_as(app, accounts[Role.VIEWER].email)
    viewer.emit("session:join", {"session_id": session_id}, callback=True)
    viewer.get_received()

    preview = writer.emit("note:preview", {"session_id": session_id, "text": TYPED, "names": ["Ana"]}, callback=True)
    assert preview["ok"], preview
    assert {"from": "ana", "to": "[name]", "kind": "person"} in preview["changes"]

    reply = writer.emit("note:add", {"session_id": session_id, "uuid": str(uuid.uuid4()), "text": TYPED + ". ANA agreed.",
                                     "names": ["Ana"]}, callback=True)

    assert reply["ok"], reply
    assert reply["note"]["text"] == "A legal advocate said [name] runs the clinic's intake desk. [name] agreed."
    broadcast = [m["args"][0] for m in viewer.get_received() if m["name"] == "note:added"]
    assert [n["text"] for n in broadcast] == [reply["note"]["text"]]
    stored = _every_stored_string(database).casefold()
    assert "ana " not in stored and "ana." not in stored and "'ana'" not in stored


def test_a_marked_name_the_note_does_not_contain_is_refused_without_repeating_it(app, database, accounts, session_id):
    writer = socket_as(app, accounts[Role.NOTE_TAKER].email)

    reply = writer.emit("note:add", {"session_id": session_id, "uuid": str(uuid.uuid4()), "text": "nothing here",
                                     "names": ["zbigniew"]}, callback=True)

    assert reply["code"] == 400 and "does not occur" in reply["error"] and "zbigniew" not in reply["error"]
    with database.session() as db:
        assert db.scalar(select(func.count()).select_from(Note)) == 0


def test_keeping_a_term_keeps_the_marked_names_replaced(app, database, accounts, session_id):
    writer = socket_as(app, accounts[Role.NOTE_TAKER].email)
    original = "We drank Dr. Pepper with ana"
    note = writer.emit("note:add", {"session_id": session_id, "uuid": str(uuid.uuid4()), "text": original,
                                    "names": ["ana"]}, callback=True)["note"]

    reply = writer.emit("term:keep", {"session_id": session_id, "note_id": note["id"], "version": note["version"],
                                      "term": "Dr. Pepper", "text": original, "names": ["ana"]}, callback=True)

    assert reply["ok"], reply
    assert reply["note"]["text"] == "We drank Dr. Pepper with [name]"


def test_an_edited_note_accepts_marked_names_as_an_added_note_does(app, database, accounts, session_id):
    writer = socket_as(app, accounts[Role.NOTE_TAKER].email)
    viewer = socket_as(app, accounts[Role.VIEWER].email)
    viewer.emit("session:join", {"session_id": session_id}, callback=True)
    note = writer.emit("note:add", {"session_id": session_id, "uuid": str(uuid.uuid4()), "text": "intake desk is slow"},
                       callback=True)["note"]
    viewer.get_received()

    reply = writer.emit("note:edit", {"session_id": session_id, "note_id": note["id"], "version": note["version"],
                                      "text": TYPED, "names": ["ana"]}, callback=True)

    assert reply["ok"], reply
    assert reply["note"]["text"] == "A legal advocate said [name] runs the clinic's intake desk"
    broadcast = [m["args"][0] for m in viewer.get_received() if m["name"] == "note:updated"]
    assert [n["text"] for n in broadcast] == [reply["note"]["text"]]
    stored = _every_stored_string(database).casefold()
    assert "ana " not in stored and "'ana'" not in stored

    refused = writer.emit("note:edit", {"session_id": session_id, "note_id": note["id"],
                                        "version": reply["note"]["version"], "text": "nothing here",
                                        "names": ["zbigniew"]}, callback=True)
    assert refused["code"] == 400 and "does not occur" in refused["error"] and "zbigniew" not in refused["error"]
    with database.session() as db:
        assert db.get(Note, note["id"]).text == reply["note"]["text"]


def test_only_note_takers_of_a_live_session_get_a_preview(app, database, db, accounts, session_id):
    viewer = socket_as(app, accounts[Role.VIEWER].email)
    assert viewer.emit("note:preview", {"session_id": session_id, "text": TYPED}, callback=True)["code"] == 403

    db.get(Session, session_id).state = SessionState.CLOSED
    db.commit()
    writer = socket_as(app, accounts[Role.NOTE_TAKER].email)
    reply = writer.emit("note:preview", {"session_id": session_id, "text": TYPED}, callback=True)
    assert reply["code"] == 409 and "closed" in reply["error"]


def test_previews_are_rate_limited_per_account(app, accounts, session_id):
    app.config.update(RATELIMIT_ENABLED=True, PREVIEWS_PER_SECOND_PER_ACCOUNT=2)
    writer = socket_as(app, accounts[Role.NOTE_TAKER].email)

    codes = [writer.emit("note:preview", {"session_id": session_id, "text": "plain words"}, callback=True).get("code")
             for _ in range(3)]

    assert codes == [None, None, 429]


def _roster(database, series_id) -> list[tuple[str, str, bool]]:
    from roundtable.models import Participant

    with database.session() as db:
        return sorted((p.name, p.role_label, p.consent_named)
                      for p in db.scalars(select(Participant).where(Participant.series_id == series_id)))


def test_a_facilitators_marks_go_on_the_roster_so_later_notes_replace_them_and_a_note_takers_do_not(
        app, database, accounts, session_id, series):
    facilitator = socket_as(app, accounts[Role.FACILITATOR].email)
    writer = socket_as(app, accounts[Role.NOTE_TAKER].email)
    before = _roster(database, series.id)

    mine = writer.emit("note:add", {"session_id": session_id, "uuid": str(uuid.uuid4()),
                                    "text": "tomasz will chair", "names": ["tomasz"]}, callback=True)
    assert mine["ok"] and mine["added_to_roster"] == []
    assert _roster(database, series.id) == before, "a note-taker's mark holds for that note only"

    note = facilitator.emit("note:add", {"session_id": session_id, "uuid": str(uuid.uuid4()),
                                         "text": "intake desk is slow"}, callback=True)["note"]
    edited = facilitator.emit("note:edit", {"session_id": session_id, "note_id": note["id"], "version": note["version"],
                                            "text": "ana says the intake desk is slow", "names": ["ana"]},
                              callback=True)
    assert edited["ok"], edited
    assert "ana " not in edited["note"]["text"]
    assert edited["added_to_roster"] == ["ana"]
    assert _roster(database, series.id) == sorted(before + [("ana", "person named in notes", False)])

    # Nobody marks her now: the roster replaces her, in any case, in anyone's note.
    later = writer.emit("note:add", {"session_id": session_id, "uuid": str(uuid.uuid4()),
                                     "text": "Ana and ana's team met the mayor"}, callback=True)
    assert later["ok"] and "ana" not in later["note"]["text"].casefold().replace("a person named in notes", "")
    again = facilitator.emit("note:add", {"session_id": session_id, "uuid": str(uuid.uuid4()),
                                          "text": "ANA agreed", "names": ["Ana"]}, callback=True)
    assert again["ok"] and again["added_to_roster"] == [], "a name on the roster is not added twice"


def test_a_marked_name_is_checked_as_a_roster_name_is_and_a_refused_one_stores_nothing(
        app, database, accounts, session_id, series):
    facilitator = socket_as(app, accounts[Role.FACILITATOR].email)
    before = _roster(database, series.id)

    refused = facilitator.emit("note:add", {"session_id": session_id, "uuid": str(uuid.uuid4()),
                                            "text": "ana will chair", "names": ["an\x07a"]}, callback=True)

    assert refused["code"] == 400 and refused["error"] == "a marked name cannot contain control characters", refused
    assert _roster(database, series.id) == before
    with database.session() as db:
        assert db.scalar(select(func.count()).select_from(Note)) == 0
    spaced = facilitator.emit("note:add", {"session_id": session_id, "uuid": str(uuid.uuid4()),
                                           "text": "Tomasz  Wo\u0301jcik will chair",
                                           "names": [" Tomasz\u00a0 Wo\u0301jcik "]}, callback=True)
    assert spaced["ok"] and spaced["added_to_roster"] == ["Tomasz Wójcik"]
    assert _roster(database, series.id) == sorted(before + [("Tomasz Wójcik", "person named in notes", False)])


def test_a_facilitators_mark_reaches_the_roster_only_from_a_text_that_holds_it(app, database, accounts, session_id,
                                                                               series):
    """Marks go on the roster because the note they were marked in holds them: an edit without text, or a
    resent note (its uuid stored already, its text not read again), cannot put other words on the roster."""
    facilitator = socket_as(app, accounts[Role.FACILITATOR].email)
    before = _roster(database, series.id)
    note_uuid = str(uuid.uuid4())
    note = facilitator.emit("note:add", {"session_id": session_id, "uuid": note_uuid, "text": "intake desk is slow"},
                            callback=True)["note"]

    kind_only = facilitator.emit("note:edit", {"session_id": session_id, "note_id": note["id"],
                                               "version": note["version"], "kind": "question",
                                               "names": ["unrelated words"]}, callback=True)
    resent = facilitator.emit("note:add", {"session_id": session_id, "uuid": note_uuid,
                                           "text": "other words entirely", "names": ["other words"]}, callback=True)

    assert kind_only["code"] == 400 and "text" in kind_only["error"], kind_only
    assert resent["ok"] and resent["added_to_roster"] == [], resent
    assert _roster(database, series.id) == before
    with database.session() as db:
        stored = db.get(Note, note["id"])
        assert (stored.kind, stored.version) == (note["kind"], note["version"])
