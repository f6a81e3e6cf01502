"""Reviewing suggested themes on the live page: accept and reject go through the tagging service."""

from __future__ import annotations

import uuid

from sqlalchemy import event, select

from conftest import PASSWORD, make_series, socket_as, sqlite_app
from roundtable import Suggestion
from roundtable.models import NoteTag, Role, TagStatus, Theme
from roundtable.services.accounts import create_account, grant_role
from roundtable.services.tagging import store_suggestions


def test_a_note_sent_with_themes_is_stored_with_its_tags_in_one_transaction(tmp_path):
    """Never a stored note without the themes its writer chose: note and tags commit together."""
    # No live suggestions: the after-save worker's own suggestions would race the tags this test stores.
    app = sqlite_app(tmp_path, DISABLED_PLUGINS=["live_suggestions"])
    database = app.extensions["roundtable"].database
    with database.session() as db:
        series = make_series(db)
        grant_role(db, create_account(db, "nt@test.example", "NT", PASSWORD), series, Role.NOTE_TAKER)
        session_id = series.sessions[0].id
        theme_ids = [t.id for t in db.scalars(select(Theme).where(Theme.series_id == series.id))][:2]
        db.commit()
    socket = socket_as(app, "nt@test.example")
    assert "state" in socket.emit("session:join", {"session_id": session_id}, callback=True)
    socket.get_received()
    commits = []

    def count(connection):
        commits.append(connection)

    event.listen(database.engine, "commit", count)
    try:
        added = socket.emit("note:add", {"session_id": session_id, "uuid": str(uuid.uuid4()), "text": "rents rose",
                                         "themes": theme_ids}, callback=True)
    finally:
        event.remove(database.engine, "commit", count)
    assert added["ok"], added
    assert len(commits) == 1
    assert sorted(t["theme_id"] for t in added["note"]["tags"]) == sorted(theme_ids)
    [broadcast] = [e["args"][0] for e in socket.get_received() if e["name"] == "note:added"]
    assert sorted(t["theme_id"] for t in broadcast["tags"]) == sorted(theme_ids)


def test_an_author_accepts_and_rejects_the_live_suggestions_and_every_page_sees_it(tmp_path):
    """The live_suggestions plugin (lexical suggester, in the test app's after-save thread) suggests themes
    for a new note; the author's page receives them, accepts one and rejects another, and a viewer's page
    sees both decisions."""
    app = sqlite_app(tmp_path, SUGGESTER="lexical")
    database = app.extensions["roundtable"].database
    with database.session() as db:
        series = make_series(db)
        other = make_series(db, slug="elsewhere")
        grant_role(db, create_account(db, "au@test.example", "AU", PASSWORD), series, Role.AUTHOR)
        grant_role(db, create_account(db, "vi@test.example", "VI", PASSWORD), series, Role.VIEWER)
        session_id, other_session_id = series.sessions[0].id, other.sessions[0].id
        db.commit()
    socket, viewer = socket_as(app, "au@test.example"), socket_as(app, "vi@test.example")
    for page in (socket, viewer):
        assert "state" in page.emit("session:join", {"session_id": session_id}, callback=True)
    added = [socket.emit("note:add", {"session_id": session_id, "uuid": str(uuid.uuid4()), "text": text}, callback=True)
             for text in ("The legal defense clinic needs more lawyers for deportation cases",
                          "Federal immigration enforcement raids rose near the courthouse")]
    assert all(a["ok"] for a in added), added
    assert app.extensions["roundtable_after_save"].wait_until_idle(120)
    suggested = {e["args"][0]["note_id"]: e["args"][0]["tags"] for e in socket.get_received() if e["name"] == "note:tags"}
    assert set(suggested) == {a["id"] for a in added}, "the plugin suggested themes for both notes"
    assert all(tags and {t["status"] for t in tags} == {"suggested"} for tags in suggested.values()), suggested
    keep, drop = (suggested[a["id"]][0]["id"] for a in added)
    viewer.get_received()

    accepted = socket.emit("tag:accept", {"session_id": session_id, "tag_id": keep}, callback=True)
    rejected = socket.emit("tag:reject", {"session_id": session_id, "tag_id": drop}, callback=True)

    assert accepted["ok"] and rejected["ok"], (accepted, rejected)
    with database.session() as db:
        assert db.get(NoteTag, keep).status == TagStatus.ACCEPTED
        assert db.get(NoteTag, drop).status == TagStatus.REJECTED
    seen = {e["args"][0]["note_id"]: e["args"][0]["tags"] for e in viewer.get_received() if e["name"] == "note:tags"}
    assert [t["status"] for t in seen[added[0]["id"]] if t["id"] == keep] == ["accepted"]
    assert [t for t in seen[added[1]["id"]] if t["id"] == drop] == [], "a rejected suggestion leaves every page"
    wrong_session = socket.emit("tag:accept", {"session_id": other_session_id, "tag_id": keep}, callback=True)
    assert not wrong_session.get("ok")


def test_a_stale_suggestion_chip_cannot_decide_on_another_notes_tag(app, db, series, session_id):
    """A page still shows note A's suggestion after it was removed; a tag added meanwhile to note B must not
    take its id (SQLite hands the highest deleted rowid to the next insert unless the table is AUTOINCREMENT),
    so the stale click is refused and B's tag stays as it was."""
    from roundtable.services.notes import NoteStream
    from roundtable.services.tagging import add_manual_tag

    grant_role(db, create_account(db, "au@test.example", "AU", PASSWORD), series, Role.AUTHOR)
    themes = [t for t in db.scalars(select(Theme).where(Theme.series_id == series.id, Theme.parent_id.is_(None)))]
    stream = NoteStream(db, app.extensions["roundtable"])
    note_a, _ = stream.add_note(session_id, str(uuid.uuid4()), "rents rose again")
    note_b, _ = stream.add_note(session_id, str(uuid.uuid4()), "lawyers at the courthouse")
    [shown] = store_suggestions(db, note_a.id, [Suggestion(themes[0].name, 0.8)], source="lexical")
    db.commit()
    stale_id = shown.id
    socket = socket_as(app, "au@test.example")
    assert "state" in socket.emit("session:join", {"session_id": session_id}, callback=True)

    store_suggestions(db, note_a.id, [], source="lexical")  # the worker's new run suggests nothing for A
    other = add_manual_tag(db, note_b.id, themes[1].id)  # a note-taker tags B by hand
    db.commit()
    assert other.id != stale_id, "a new tag took the id of a deleted one"

    answer = socket.emit("tag:reject", {"session_id": session_id, "tag_id": stale_id}, callback=True)
    assert answer.get("code") == 409, answer
    assert "replaced by newer suggestions or removed; refresh the note" in answer["error"]
    db.expire_all()
    assert db.get(NoteTag, other.id).status == TagStatus.ACCEPTED


def test_on_a_closed_session_typing_and_deciding_on_a_suggestion_are_refused_as_closed(app, db, series, session_id):
    """After the facilitator closes the session nothing is written and nobody is told someone types: typing,
    accept and reject each answer with an error event that says the session is closed."""
    from roundtable.services.notes import NoteStream

    grant_role(db, create_account(db, "au@test.example", "AU", PASSWORD), series, Role.AUTHOR)
    grant_role(db, create_account(db, "nt@test.example", "NT", PASSWORD), series, Role.NOTE_TAKER)
    theme = db.scalar(select(Theme).where(Theme.series_id == series.id, Theme.parent_id.is_(None)))
    stream = NoteStream(db, app.extensions["roundtable"])
    note, _ = stream.add_note(session_id, str(uuid.uuid4()), "lawyers at the courthouse")
    [suggestion] = store_suggestions(db, note.id, [Suggestion(theme.name, 0.8)], source="lexical")
    db.commit()
    author, writer = socket_as(app, "au@test.example"), socket_as(app, "nt@test.example")
    for client in (author, writer):
        assert "state" in client.emit("session:join", {"session_id": session_id}, callback=True)
    stream.close_session(session_id)
    db.commit()
    author.get_received(), writer.get_received()

    answers = {"typing": writer.emit("typing", {"session_id": session_id, "typing": True}, callback=True)}
    for event in ("tag:accept", "tag:reject"):
        answers[event] = author.emit(event, {"session_id": session_id, "tag_id": suggestion.id}, callback=True)
    for event, answer in answers.items():
        assert (answer.get("ok"), answer.get("code"), answer.get("reason"), answer.get("error")) == (
            None, 409, "session-closed", "session 1 is closed; its notes are read-only"), (event, answer)
    to_author, to_writer = author.get_received(), writer.get_received()
    errors = [m["args"][0] for m in to_writer + to_author if m["name"] == "error"]
    assert sorted(e["event"] for e in errors) == ["tag:accept", "tag:reject", "typing"]
    assert all(e["error"] == "session 1 is closed; its notes are read-only" for e in errors)
    assert not [m for m in to_author if m["name"] == "typing"], "nobody is told someone types"
    db.expire_all()
    assert db.get(NoteTag, suggestion.id).status == TagStatus.SUGGESTED
