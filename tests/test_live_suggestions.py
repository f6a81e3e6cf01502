"""Theme suggestions arrive live, after the note, as their own event, to the people who tag."""

from __future__ import annotations

from roundtable.live_clients import NoteClient, ServerProcess, free_port, login_cookie, prepare_database, wait_until


def test_a_saved_note_gets_theme_suggestions_as_a_separate_live_event_for_note_takers_only(tmp_path):
    url = f"sqlite:///{tmp_path / 'rt.sqlite'}"
    world = prepare_database(url, note_takers=1, viewers=1)
    server = ServerProcess(url, free_port(), tmp_path / "server", plugins="roster,contact_details,keyword_suggester,live_suggestions").start()
    try:
        writer = NoteClient(server.url, login_cookie(server.url, world["note-takers"][0]), world["session_id"])
        viewer = NoteClient(server.url, login_cookie(server.url, world["viewers"][0]), world["session_id"])
        suggested, seen_by_viewer = [], []
        writer.sio.on("note:tags", suggested.append)
        viewer.sio.on("note:tags", seen_by_viewer.append)
        writer.connect(), viewer.connect()
        try:
            wait_until(lambda: writer.joined.is_set() and viewer.joined.is_set(), message="both joined")
            note_uuid = writer.send_note("federal agencies keep up the pressure on cities")
            wait_until(lambda: note_uuid in viewer.notes, message="the note reached the viewer")
            assert viewer.notes[note_uuid]["tags"] == []  # the note itself does not wait for suggestions
            wait_until(lambda: suggested, message="suggestions arrived")
            # Anything sent to the viewer before this second note is delivered before it, on the same connection.
            later = writer.send_note("a second note")
            wait_until(lambda: later in viewer.notes, message="the second note reached the viewer")
        finally:
            writer.disconnect(), viewer.disconnect()
    finally:
        server.stop()
    assert seen_by_viewer == []  # viewers get tags once someone accepts them, not every suggestion
    event = suggested[0]
    assert event["note_id"] == viewer.notes[note_uuid]["id"]
    top = [tag for tag in event["tags"] if tag["status"] == "suggested"]
    assert top and top[0]["theme"] in ("Federal enforcement", "Funding threats"), event  # the theme or its sub-theme
    # The best theme of each codebook section, each naming its section.
    assert len({tag["section"] for tag in top}) == len(top) and top[0]["section"] == "Key Themes", event
