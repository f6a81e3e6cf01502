"""Pages rejoining a session at the same moment share one catch-up read (roundtable/web/live/catch_up.py).

Through the real socket handlers, on a real SQLite file and on PostgreSQL. The first page's read is
held just before it reaches the database (the moment a busy server is slow); the pages that rejoin
meanwhile must share the next read, each get exactly the notes it asked for (mixed ``after`` values),
see a note stored while they waited, and a page whose access ended while it waited gets nothing; a
viewer is never answered by an author's read (authors are sent theme suggestions).
"""

from __future__ import annotations

import threading
import uuid
from contextlib import contextmanager

from sqlalchemy import event, select

from conftest import PASSWORD, socket_as
from roundtable import Suggestion
from roundtable.live_clients import wait_until
from roundtable.models import Note, Role, Series, Session, Theme
from roundtable.services.accounts import create_account, grant_role
from roundtable.services.tagging import store_suggestions
from roundtable.web.live import events
from roundtable.web.revocation import close_sockets


@contextmanager
def held_note_reads(app):
    """Hold the first catch-up read of notes just before it reaches the database, until ``release`` is set;
    count every notes read."""
    engine = app.extensions["roundtable"].database.engine
    held, release, reads = threading.Event(), threading.Event(), []

    def intercept(_conn, _cursor, statement, *_args):
        if statement.lstrip().startswith("SELECT") and "FROM notes" in statement and "notes.seq >" in statement:
            reads.append(statement)
            if not held.is_set():
                held.set()
                assert release.wait(180), "the test never released the held read"

    event.listen(engine, "before_cursor_execute", intercept)
    try:
        yield held, release, reads
    finally:
        release.set()
        event.remove(engine, "before_cursor_execute", intercept)


def _viewers(db, series, count):
    made = []
    for i in range(count):
        account = create_account(db, f"viewer{i}@catch-up.example", f"Viewer {i}", PASSWORD)
        grant_role(db, account, db.get(Series, series.id), Role.VIEWER)
        made.append(account)
    db.commit()
    return made


def _join_in_thread(page, session_id, after, replies, name):
    def join():
        replies[name] = page.emit("session:join", {"session_id": session_id, "after": after}, callback=True)

    thread = threading.Thread(target=join, name=f"join-{name}")
    thread.start()
    return thread


def _add(writer, session_id, text):
    reply = writer.emit("note:add", {"session_id": session_id, "uuid": str(uuid.uuid4()), "text": text},
                        callback=True)
    assert reply["ok"], reply
    return reply["seq"]


def test_pages_rejoining_together_share_one_read_and_each_gets_exactly_what_it_asked_for(
        app, db, series, accounts, session_id):
    writer = socket_as(app, accounts[Role.NOTE_TAKER].email)
    for n in range(6):
        _add(writer, session_id, f"note {n + 1} on the housing budget")
    first, *crowd = _viewers(db, series, 4)
    pages = {account.email: socket_as(app, account.email) for account in (first, *crowd)}
    replies: dict = {}
    key = (session_id, False)
    with held_note_reads(app) as (held, release, reads):
        threads = [_join_in_thread(pages[first.email], session_id, 3, replies, first.email)]
        assert held.wait(60)
        # While the first read is held, three pages rejoin after different seqs, and a note is stored.
        for account, after in zip(crowd, (0, 2, 5)):
            threads.append(_join_in_thread(pages[account.email], session_id, after, replies, account.email))
        wait_until(lambda: events.catch_ups.waiting(key) == 3, timeout=60, message="three pages waiting")
        seventh = _add(writer, session_id, "note 7, stored while the pages waited")
        release.set()
        for thread in threads:
            thread.join(60)
        assert len(reads) == 2  # the held read, and one read for the three pages that waited

    assert seventh == 7
    assert [n["seq"] for n in replies[first.email]["notes"]][:3] == [4, 5, 6]
    for account, after in zip(crowd, (0, 2, 5)):
        reply = replies[account.email]
        assert reply["ok"] and reply["last_seq"] == 7, reply
        assert [n["seq"] for n in reply["notes"]] == list(range(after + 1, 8))
        assert reply["you"]["id"] == account.id
    for page in pages.values():
        page.disconnect()
    writer.disconnect()


def test_a_page_whose_access_ends_while_it_waits_for_a_shared_read_gets_no_notes(
        app, db, series, accounts, session_id):
    writer = socket_as(app, accounts[Role.NOTE_TAKER].email)
    for n in range(3):
        _add(writer, session_id, f"confidential note {n + 1}")
    first, removed, stays = _viewers(db, series, 3)
    pages = {account.email: socket_as(app, account.email) for account in (first, removed, stays)}
    replies: dict = {}
    with held_note_reads(app) as (held, release, _reads):
        threads = [_join_in_thread(pages[first.email], session_id, 0, replies, first.email)]
        assert held.wait(60)
        threads += [_join_in_thread(pages[a.email], session_id, 0, replies, a.email) for a in (removed, stays)]
        wait_until(lambda: events.catch_ups.waiting((session_id, False)) == 2, timeout=60,
                   message="two pages waiting")
        with app.app_context():
            close_sockets(app, removed.id)  # what revoke_sockets does in each process after a removal
        release.set()
        for thread in threads:
            thread.join(60)

    assert [n["seq"] for n in replies[stays.email]["notes"]] == [1, 2, 3]
    refused = replies[removed.email]
    assert not (refused or {}).get("notes"), refused
    assert "confidential" not in str(refused)
    assert not pages[removed.email].is_connected()
    for page in (pages[first.email], pages[stays.email]):
        page.disconnect()
    writer.disconnect()


def test_a_page_asking_after_a_read_began_is_not_answered_by_it(app, db, series, accounts, session_id):
    """A read that began before a page joined the room could miss a note sent to the room before the join:
    that page waits for the next read, which sees the note."""
    writer = socket_as(app, accounts[Role.NOTE_TAKER].email)
    _add(writer, session_id, "note 1")
    early, late = _viewers(db, series, 2)
    pages = {a.email: socket_as(app, a.email) for a in (early, late)}
    replies: dict = {}
    with held_note_reads(app) as (held, release, reads):
        threads = [_join_in_thread(pages[early.email], session_id, 0, replies, early.email)]
        assert held.wait(60)
        _add(writer, session_id, "note 2, stored while the first read was held, before the late page joined")
        threads.append(_join_in_thread(pages[late.email], session_id, 0, replies, late.email))
        wait_until(lambda: events.catch_ups.waiting((session_id, False)) == 1, timeout=60,
                   message="the late page waiting")
        release.set()
        for thread in threads:
            thread.join(60)
        assert len(reads) == 2

    assert [n["seq"] for n in replies[late.email]["notes"]] == [1, 2]
    for page in pages.values():
        page.disconnect()
    writer.disconnect()


def test_a_viewer_rejoining_beside_authors_is_never_sent_their_theme_suggestions(app, db, series, accounts, session_id):
    """Suggestions go to authors and up only: a viewer's catch-up never comes from an author's read."""
    meeting = db.get(Session, session_id)
    meeting.last_seq += 1
    note = Note(session_id=session_id, seq=meeting.last_seq, uuid=uuid.uuid4().hex, text="lawyers at the courthouse")
    db.add(note)
    db.flush()
    theme = db.scalars(select(Theme).where(Theme.series_id == series.id)).first()
    store_suggestions(db, note.id, [Suggestion(theme.name, 0.9)], source="lexical")
    db.commit()
    second_author = create_account(db, "author2@catch-up.example", "Author 2", PASSWORD)
    grant_role(db, second_author, db.get(Series, series.id), Role.AUTHOR)
    db.commit()
    author, other_author = socket_as(app, accounts[Role.AUTHOR].email), socket_as(app, second_author.email)
    viewer = socket_as(app, accounts[Role.VIEWER].email)
    replies: dict = {}
    with held_note_reads(app) as (held, release, _reads):
        threads = [_join_in_thread(author, session_id, 0, replies, "author")]
        assert held.wait(60)
        threads += [_join_in_thread(other_author, session_id, 0, replies, "other author"),
                    _join_in_thread(viewer, session_id, 0, replies, "viewer")]
        # The viewer's read is not the authors': it is not held behind the first author's.
        wait_until(lambda: events.catch_ups.waiting((session_id, True)) == 1 and "viewer" in replies, timeout=60,
                   message="the other author waiting, the viewer answered")
        release.set()
        for thread in threads:
            thread.join(60)

    for who in ("author", "other author"):
        assert [t["status"] for t in replies[who]["notes"][0]["tags"]] == ["suggested"], replies[who]
    assert replies["viewer"]["notes"][0]["tags"] == []
    assert theme.name not in str(replies["viewer"])
    for page in (author, other_author, viewer):
        page.disconnect()
