"""Theme suggestions arrive live, after the note, as their own event, only to the people who can accept them."""

from __future__ import annotations

import socketio
from sqlalchemy import select

from roundtable import Suggestion
from roundtable.db import Database
from roundtable.live_clients import (PASSWORD, SECRET_KEY, NoteClient, ServerProcess, free_port, login_cookie,
                                     prepare_database, wait_until)
from roundtable.models import Role, Series, Theme
from roundtable.services.accounts import create_account, grant_role
from roundtable.services.tagging import store_suggestions


def test_a_saved_note_gets_theme_suggestions_as_a_separate_live_event_for_reviewers_only(tmp_path):
    url = f"sqlite:///{tmp_path / 'rt.sqlite'}"
    world = prepare_database(url, note_takers=1, viewers=1)
    database = Database(url, secret_key=SECRET_KEY)
    with database.session() as db:
        grant_role(db, create_account(db, "author@test.example", "Author", PASSWORD), db.scalar(select(Series)),
                   Role.AUTHOR)
    database.dispose()
    server = ServerProcess(url, free_port(), tmp_path / "server", plugins="roster,contact_details,keyword_suggester,live_suggestions").start()
    try:
        writer = NoteClient(server.url, login_cookie(server.url, world["note-takers"][0]), world["session_id"])
        viewer = NoteClient(server.url, login_cookie(server.url, world["viewers"][0]), world["session_id"])
        author = NoteClient(server.url, login_cookie(server.url, "author@test.example"), world["session_id"])
        suggested, seen_by_others = [], []
        author.sio.on("note:tags", suggested.append)
        writer.sio.on("note:tags", seen_by_others.append)
        viewer.sio.on("note:tags", seen_by_others.append)
        writer.connect(), viewer.connect(), author.connect()
        try:
            wait_until(lambda: writer.joined.is_set() and viewer.joined.is_set() and author.joined.is_set(),
                       message="all joined")
            note_uuid = writer.send_note("federal agencies keep up the pressure on cities")
            wait_until(lambda: note_uuid in viewer.notes, message="the note reached the viewer")
            assert viewer.notes[note_uuid]["tags"] == []  # the note itself does not wait for suggestions
            wait_until(lambda: suggested, message="suggestions arrived")
            # Anything sent to the others before this second note is delivered before it, on the same connection.
            later = writer.send_note("a second note")
            wait_until(lambda: later in viewer.notes and later in writer.notes, message="the second note arrived")
        finally:
            writer.disconnect(), viewer.disconnect(), author.disconnect()
    finally:
        server.stop()
    assert seen_by_others == []  # note-takers and viewers cannot accept a suggestion: they are sent none
    event = suggested[0]
    assert event["note_id"] == viewer.notes[note_uuid]["id"]
    top = [tag for tag in event["tags"] if tag["status"] == "suggested"]
    assert top and top[0]["theme"] in ("Federal enforcement", "Funding threats"), event  # the theme or its sub-theme
    # The best theme of each codebook section, each naming its section.
    assert len({tag["section"] for tag in top}) == len(top) and top[0]["section"] == "Key Themes", event


def _listener(server, email, session_id):
    """A plain python-socketio client that records every event it is sent, and its join reply."""
    client = socketio.Client(reconnection=False)
    received = []
    client.on("*", lambda event, data=None: received.append((event, data)))
    client.connect(server.url, headers={"Cookie": login_cookie(server.url, email)}, transports=["websocket"])
    joined = client.call("session:join", {"session_id": session_id, "after": 0}, timeout=15)
    assert joined["ok"], joined
    received.append(("join", joined))
    return client, received


def _suggestions_in(received) -> list[tuple[str, float]]:
    """Every suggested tag anywhere in what a client was sent, with the event that carried it."""
    found = []

    def walk(event, value):
        if isinstance(value, dict):
            if value.get("status") == "suggested":
                found.append((event, value["confidence"]))
            for item in value.values():
                walk(event, item)
        elif isinstance(value, list):
            for item in value:
                walk(event, item)

    for event, data in received:
        walk(event, data)
    return found


def test_only_authors_and_up_are_sent_suggestions_and_only_above_the_floor(tmp_path):
    """Viewers and note-takers cannot accept a suggestion: their sockets are never sent one, not in the
    catch-up, not in a note's update, not in its tag changes. Authors get those above the floor (0.35)."""
    url = f"sqlite:///{tmp_path / 'rt.sqlite'}"
    world = prepare_database(url, note_takers=1, viewers=1)
    database = Database(url, secret_key=SECRET_KEY)
    with database.session() as db:
        series = db.scalar(select(Series))
        grant_role(db, create_account(db, "author@test.example", "Author", PASSWORD), series, Role.AUTHOR)
        themes = {t.name: t.id for t in db.scalars(select(Theme).where(Theme.series_id == series.id))}
    server = ServerProcess(url, free_port(), tmp_path / "server").start()
    clients = []
    try:
        writer = NoteClient(server.url, login_cookie(server.url, world["note-takers"][0]), world["session_id"])
        clients.append(writer)
        writer.connect()
        wait_until(writer.joined.is_set, message="writer joined")
        note_uuid = writer.send_note("lawyers at the courthouse")
        wait_until(lambda: note_uuid in writer.notes, message="note stored")
        note_id = writer.notes[note_uuid]["id"]
        with database.session() as db:  # what the after-save worker stores: one sure, one below the floor
            store_suggestions(db, note_id, [Suggestion("Legal defense", 0.62), Suggestion("Federal enforcement", 0.12)],
                              "lexical")
        listeners = {}
        for who, email in (("viewer", world["viewers"][0]), ("note-taker", world["note-takers"][0]),
                           ("author", "author@test.example")):
            client, received = _listener(server, email, world["session_id"])
            clients.append(client)
            listeners[who] = received
        version = writer.notes[note_uuid]["version"]
        edited = writer.sio.call("note:edit", {"session_id": world["session_id"], "note_id": note_id,
                                               "version": version, "kind": "quote"}, timeout=15)
        tagged = writer.sio.call("tag:add", {"session_id": world["session_id"], "note_id": note_id,
                                             "theme_id": themes["Invest in legal aid"]}, timeout=15)
        assert edited["ok"] and tagged["ok"], (edited, tagged)
        listeners["note-taker (own replies)"] = [("note:edit", edited), ("tag:add", tagged)]
        wait_until(lambda: all(any(e == "note:tags" for e, _ in r) for who, r in listeners.items()
                               if not who.endswith("replies)")), message="every listener got the tag change")
    finally:
        for client in clients:
            client.disconnect()
        server.stop()
        database.dispose()
    for who in ("viewer", "note-taker", "note-taker (own replies)"):
        assert _suggestions_in(listeners[who]) == [], who
    author = _suggestions_in(listeners["author"])
    assert {event for event, _ in author} == {"join", "note:updated", "note:tags"}, author
    assert {confidence for _, confidence in author} == {0.62}, "below the floor: sent to nobody"
