"""A page that was offline catches up on everything others changed meanwhile, through either server process.

Two ``roundtable serve`` processes share PostgreSQL and Redis. One page goes offline; through the other
process someone removes a theme, accepts a suggestion, deletes a note and adds one. Back online, the page
shows each change without a reload, and every note once.
"""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from roundtable.live_clients import NoteClient, ServerProcess, free_port, login_cookie, prepare_database, wait_until
from test_live_browser import browser, open_session  # noqa: F401  (the browser fixture)
from test_live_page_browser import database_at
from test_scaleout import shared_services  # noqa: F401  (a PostgreSQL schema of its own and Redis)

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]
DESKTOP = {"width": 1100, "height": 800}


def _notes_to_change(url, people) -> dict[str, int]:
    """Three notes: one tagged by hand, one with a suggestion, one to delete; their ids by text."""
    from roundtable.models import Note, Theme
    from roundtable.services.notes import NoteStream
    from roundtable.services.tagging import Suggestion, store_suggestions

    with database_at(url) as (roundtable, db):
        stream = NoteStream(db, roundtable)
        legal = db.scalar(select(Theme).where(Theme.name == "Legal defense"))
        stream.add_note(people["session_id"], str(uuid.uuid4()), "a note tagged by hand", themes=[legal.id])
        suggested, _ = stream.add_note(people["session_id"], str(uuid.uuid4()), "a note with a suggestion")
        store_suggestions(db, suggested.id, [Suggestion("Federal enforcement", 0.8)], "lexical")
        stream.add_note(people["session_id"], str(uuid.uuid4()), "a note to delete")
        db.commit()
        return {n.text: n.id for n in db.scalars(select(Note))}


def test_a_page_back_online_shows_the_theme_changes_and_deletes_others_made_through_the_other_server(
        browser, shared_services, tmp_path):  # noqa: F811
    database_url, redis_url = shared_services
    people = prepare_database(database_url, authors=1)
    ids = _notes_to_change(database_url, people)
    one = ServerProcess(database_url, free_port(), tmp_path / "one", redis_url=redis_url)
    two = ServerProcess(database_url, free_port(), tmp_path / "two", redis_url=redis_url)
    other = None
    try:
        one.start()
        two.start()
        context, page, errors = open_session(browser, one, people["note-takers"][0], DESKTOP)
        notes = page.locator("#notes .note")
        wait_until(lambda: notes.count() == 3, message="the three notes")
        tagged = notes.filter(has_text="a note tagged by hand")
        tagged.locator(".chip >> text=Legal defense").wait_for()

        context.set_offline(True)
        page.wait_for_selector("#connection[data-status=offline]")
        other = NoteClient(two.url, login_cookie(two.url, people["authors"][0]), people["session_id"]).connect()
        wait_until(other.joined.is_set, message="the author on the other server joined")
        sid = people["session_id"]
        suggestion = next(n for n in other.notes.values() if n["text"] == "a note with a suggestion")["tags"][0]
        for event, payload in (("tag:remove", {"note_id": ids["a note tagged by hand"], "theme_id": _theme_id(
                                    database_url, "Legal defense")}),
                               ("tag:accept", {"tag_id": suggestion["id"]}),
                               ("note:delete", {"note_id": ids["a note to delete"], "version": 1})):
            reply = other.sio.call(event, {"session_id": sid, **payload}, timeout=30)
            assert reply["ok"], (event, reply)
        other.send_note("a note added meanwhile")
        wait_until(lambda: not other.outbox, message="the other author's note stored")
        page.locator("#note-text").fill("typed while offline")
        page.keyboard.press("Enter")

        context.set_offline(False)
        page.wait_for_selector("#connection[data-status=online]")
        wait_until(lambda: tagged.locator(".chip >> text=Legal defense").count() == 0,
                   message="the removed theme is gone from the note")
        notes.filter(has_text="a note with a suggestion").locator(".chip >> text=Federal enforcement").wait_for()
        page.locator("#notes .note.deleted").wait_for()
        wait_until(lambda: page.locator("#notes .note:not(.pending)").count() == 5, message="five notes")
        texts = page.locator("#notes .note .note-text").all_inner_texts()
        assert texts == ["a note tagged by hand", "a note with a suggestion", "Note deleted.",
                         "a note added meanwhile", "typed while offline"], texts
        # Chromium itself logs the reconnection attempts it refused while offline.
        assert [e for e in errors if not e.startswith("Failed to load resource")
                and "ERR_INTERNET_DISCONNECTED" not in e] == []
    finally:
        if other is not None:
            other.disconnect()
        one.stop()
        two.stop()


def _theme_id(url, name: str) -> int:
    from roundtable.models import Theme

    with database_at(url) as (_roundtable, db):
        return db.scalar(select(Theme.id).where(Theme.name == name))
