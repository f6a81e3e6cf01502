"""The live page in a real browser: two people, one stream; a note typed while the server is down arrives once;
a writer keeps a word that was replaced by mistake."""

from __future__ import annotations

import gc
import os
from contextlib import contextmanager
from pathlib import Path

import pytest

from conftest import require_service
from roundtable.live_clients import PASSWORD, SECRET_KEY, ServerProcess, free_port, prepare_database

pytestmark = [pytest.mark.browser, pytest.mark.slow]
CHROMIUM = "/usr/bin/chromium"
PHONE = {"width": 390, "height": 760}
DESKTOP = {"width": 1280, "height": 820}


@pytest.fixture
def browser():
    require_service("Chromium", Path(CHROMIUM).exists(), f"install Debian's chromium ({CHROMIUM})")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        require_service("Playwright", False, "pip install playwright")
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--disable-background-networking", "--disable-component-update", "--no-first-run"],
        )
        yield browser
        browser.close()
    gc.collect()


@contextmanager
def served(tmp_path, prepare=None):
    """A live server on a fresh SQLite file with prepare_database's series and people: ``(server, people, url)``.
    ``prepare(url, people)`` adds what a test file needs before the server starts."""
    url = f"sqlite:///{tmp_path / 'live.sqlite'}"
    people = prepare_database(url)
    if prepare is not None:
        prepare(url, people)
    server = ServerProcess(url, free_port(), tmp_path).start()
    try:
        yield server, people, url
    finally:
        server.stop()


@pytest.fixture
def site(tmp_path):
    with served(tmp_path) as (server, people, _url):
        yield server, people


def open_session(browser, server, email, viewport):
    context = browser.new_context(viewport=viewport)
    context.set_default_timeout(90_000)  # a wait ends as soon as its element shows; a loaded CI machine is slow
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.goto(server.url + "/auth/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.goto(server.url + "/s/harbor-city/sessions/1/")
    page.wait_for_selector("#connection[data-status=online]")
    return context, page, errors


def test_a_note_typed_in_one_browser_appears_in_the_other(browser, site, tmp_path):
    server, people = site
    _ctx_a, writer, writer_errors = open_session(browser, server, people["note-takers"][0], {"width": 1280, "height": 820})
    _ctx_b, reader, reader_errors = open_session(browser, server, people["note-takers"][1], {"width": 390, "height": 760})

    box = writer.locator("#note-text")
    writer.select_option("#speaker-role", "legal advocate")
    box.click()
    writer.keyboard.press("Alt+t")  # theme picker: filter, Enter toggles, Escape returns to the note
    writer.keyboard.type("legal def")
    writer.keyboard.press("Enter")
    writer.keyboard.press("Escape")
    box.type("María Núñez said the clinic needs two more lawyers")
    writer.keyboard.press("Enter")
    writer.keyboard.press("Alt+2")
    box.type("We were never told where they took him")
    writer.keyboard.press("Enter")
    writer.keyboard.press("Alt+3")
    box.type("Who funds interpreters next year?")
    writer.keyboard.press("Shift+Enter")
    box.type("(asked twice)")
    writer.keyboard.press("Enter")

    notes = reader.locator("#notes .note:not(.pending)")
    notes.nth(2).wait_for()
    texts = notes.locator(".note-text").all_inner_texts()
    assert texts[0] == "A legal advocate said the clinic needs two more lawyers"
    assert "María" not in " ".join(texts)
    assert texts[2] == "Who funds interpreters next year?\n(asked twice)"
    assert reader.locator("#notes .note").nth(1).get_attribute("class").split()[1] == "kind-quote"
    assert reader.locator("#notes .note mark.replaced").first.inner_text() == "A legal advocate"
    first = reader.locator("#notes .note").first
    assert first.locator(".speaker").inner_text() == "legal advocate"
    assert first.locator(".chip .chip-name").all_inner_texts() == ["Legal defense"]
    writer.wait_for_selector("#notes .note:not(.pending) >> nth=2")
    assert writer.locator("#notes .note.pending").count() == 0
    assert "Writer 0" in reader.locator("#presence").inner_text()

    writer.locator("#note-text").click()
    writer.screenshot(path=str(tmp_path / "live-session.png"))
    reader.screenshot(path=str(tmp_path / "live-session-phone.png"))
    if os.environ.get("ROUNDTABLE_SCREENSHOT_DIR"):
        target = Path(os.environ["ROUNDTABLE_SCREENSHOT_DIR"])
        target.mkdir(parents=True, exist_ok=True)
        writer.screenshot(path=str(target / "live-session.png"))
        reader.screenshot(path=str(target / "live-session-phone.png"))
    assert (tmp_path / "live-session.png").stat().st_size > 10_000
    problems = [e for e in writer_errors + reader_errors if not e.startswith("Failed to load resource")]
    assert problems == []


def test_a_note_typed_while_the_server_is_down_survives_closing_the_tab_and_arrives_once(browser, site):
    server, people = site
    context, writer, _errors = open_session(browser, server, people["note-takers"][0], {"width": 1100, "height": 800})
    server.kill()
    writer.wait_for_selector("#connection[data-status=offline]")
    writer.locator("#note-text").type("typed during the outage")
    writer.keyboard.press("Enter")
    pending = writer.locator("#notes .note.pending")
    pending.wait_for()
    # Honest about where it is: queued on this device, not being sent.
    assert pending.locator(".status").inner_text() == "Waiting for the connection; sends when it is back"
    writer.close()  # the laptop lid closes; the note waits in localStorage

    server.start()
    page = context.new_page()
    page.goto(server.url + "/s/harbor-city/sessions/1/")
    page.wait_for_selector("#notes .note:not(.pending)")
    assert page.locator("#notes .note").count() == 1

    _ctx2, other, _errors2 = open_session(browser, server, people["viewers"][0], {"width": 800, "height": 600})
    other.wait_for_selector("#notes .note")
    assert other.locator("#notes .note .note-text").all_inner_texts() == ["typed during the outage"]
    assert page.evaluate("localStorage.getItem('roundtable.outbox.' + document.getElementById('live').dataset.sessionId)") == "[]"


def test_the_writer_keeps_a_word_that_was_replaced_by_mistake(browser, site, tmp_path):
    server, people = site
    # A soft drink after a title reads as a person: a false positive the writer may keep.
    _ctx, writer, errors = open_session(browser, server, people["note-takers"][0], {"width": 1100, "height": 800})
    writer.locator("#note-text").type("We drank Dr. Pepper with Hope")
    writer.keyboard.press("Enter")
    keep = writer.locator("#notes .note:not(.pending) mark.replaced[data-action=keep]")
    keep.first.wait_for()
    label = keep.first.get_attribute("aria-label")
    assert "Pepper" in label and "Hope" not in label

    questions = []
    writer.on("dialog", lambda dialog: (questions.append(dialog.message), dialog.accept()))
    keep.first.focus()
    writer.keyboard.press("Enter")
    writer.wait_for_selector("#notes .note .note-text >> text=Pepper with")

    assert len(questions) == 1 and "Pepper" in questions[0]
    assert writer.locator("#notes mark.replaced").all_inner_texts() == ["a municipal leader"]
    _ctx2, other, _errors2 = open_session(browser, server, people["note-takers"][1], {"width": 800, "height": 600})
    other.wait_for_selector("#notes .note")
    assert other.locator("#notes .note .note-text").all_inner_texts() == ["We drank Dr. Pepper with a municipal leader"]
    assert other.locator("#notes mark[data-action=keep]").count() == 0, "only the writer's browser knows the original"
    assert [e for e in errors if not e.startswith("Failed to load resource")] == []


def test_a_note_stored_but_never_sent_live_is_fetched_by_the_page_that_saw_a_later_one(browser, site):
    """A process that stored seq 1 and died before sending it: the page gets seq 2 live, sees the hole, and
    fetches seq 1 (and rejoins after 2, not after 0, once it has both)."""
    import uuid

    from roundtable.db import Database
    from roundtable.live_clients import NoteClient, login_cookie, wait_until
    from roundtable.models import Note, Session

    server, people = site
    _context, page, errors = open_session(browser, server, people["viewers"][0], {"width": 1000, "height": 700})
    database = Database(server.env["ROUNDTABLE_DATABASE_URL"], secret_key=SECRET_KEY)
    try:
        with database.session() as db:
            meeting = db.get(Session, people["session_id"])
            meeting.last_seq += 1
            db.add(Note(session_id=meeting.id, seq=meeting.last_seq, uuid=str(uuid.uuid4()), text="stored, never sent"))
    finally:
        database.dispose()
    writer = NoteClient(server.url, login_cookie(server.url, people["note-takers"][0]), people["session_id"]).connect()
    try:
        wait_until(lambda: writer.joined.is_set())
        writer.send_note("sent live")
        page.locator("#notes .note").nth(1).wait_for(timeout=40000)  # the page waits 10-15 s for a late send
    finally:
        writer.disconnect()
    assert page.locator("#notes .note .note-text").all_inner_texts() == ["stored, never sent", "sent live"]
    assert errors == []
