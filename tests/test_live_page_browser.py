"""The live page as people see it, in Chromium at desktop and phone width: where it opens, what stays in
view, who sees what, and the search, filter and download of the stream."""

from __future__ import annotations

import csv
import os
import re
from contextlib import contextmanager
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select

from roundtable.application import Roundtable
from roundtable.live_clients import PASSWORD, SECRET_KEY, wait_until
from roundtable.models import Account, Note, Role, Series, Theme
from roundtable.services.accounts import create_account, grant_role
from roundtable.services.notes import NoteStream
from roundtable.services.tagging import store_suggestions
from roundtable.types import Suggestion
from test_live_browser import DESKTOP, PHONE, browser, open_session, served  # noqa: F401  (the browser fixture)

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@contextmanager
def database_at(url):
    """A session on the live database at ``url``, with the server's secret: for what someone else does."""
    roundtable = Roundtable({"SECRET_KEY": SECRET_KEY, "DATABASE_URL": url})
    try:
        with roundtable.database.session() as db:
            yield roundtable, db
    finally:
        roundtable.database.dispose()


def behind_the_page(server):
    """The server's database, for a change another person makes while the page is open."""
    return database_at(server.env["ROUNDTABLE_DATABASE_URL"])


def _earlier_notes_and_reviewers(url, people):
    """Forty notes by the second note-taker, two suggestions on the newest, an author and a facilitator."""
    with database_at(url) as (roundtable, db):
        writer = db.scalar(select(Account).where(Account.email == people["note-takers"][1]))
        stream = NoteStream(db, roundtable)
        legal = db.scalar(select(Theme).where(Theme.name == "Legal defense"))
        for i in range(40):
            stream.add_note(people["session_id"], str(uuid.uuid4()), f"earlier note number {i + 1}",
                            "question" if i % 4 == 0 else "point", "scholar" if i % 3 == 0 else None, writer.id,
                            themes=[legal.id] if i % 5 == 0 else [])
        # Two suggestions on the newest note: one the suggester is fairly sure of, one below the floor (0.35).
        newest = db.scalar(select(Note).order_by(Note.seq.desc()).limit(1))
        store_suggestions(db, newest.id, [Suggestion("Legal defense", 0.62), Suggestion("Federal enforcement", 0.12)],
                          "lexical")
        series = db.scalar(select(Series))
        for role in (Role.AUTHOR, Role.FACILITATOR):
            grant_role(db, create_account(db, f"{role.value}@test.example", role.value.title(), PASSWORD), series, role)
        db.commit()


@pytest.fixture
def site(tmp_path):
    with served(tmp_path, _earlier_notes_and_reviewers) as (server, people, _url):
        yield server, people


def in_view(page, selector) -> bool:
    box = page.locator(selector).bounding_box()
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= page.viewport_size["height"] + 1


def test_at_phone_width_the_page_opens_at_the_newest_note_with_the_composer_and_status_in_view(browser, site):
    server, people = site
    _ctx, writer, errors = open_session(browser, server, people["note-takers"][0], PHONE)
    writer.locator("#notes .note >> nth=39").wait_for()
    wait_until(lambda: in_view(writer, "#notes .note >> nth=39"), message="newest note in view")
    assert in_view(writer, "#composer") and in_view(writer, "#connection")
    sticky = writer.locator("#live-status").bounding_box()["height"] + writer.locator("#composer").bounding_box()["height"]
    assert sticky / PHONE["height"] <= 0.25, sticky
    assert writer.locator("h1").inner_text() == "Session 1 · Session 1"

    _ctx2, viewer, viewer_errors = open_session(browser, server, people["viewers"][0], PHONE)
    writer.locator("#note-text").type("the viewer sees this being typed")
    viewer.wait_for_selector("#typing >> text=Writer 0 is typing…")
    assert viewer.locator("#presence").inner_text() == "Taking notes: Writer 0 · 2 people here"

    server.kill()  # offline: said at the top of the screen, without scrolling
    viewer.wait_for_selector("#connection[data-status=offline]")
    assert in_view(viewer, "#connection")
    assert "Offline" in viewer.locator("#connection").inner_text()
    server.start()
    viewer.wait_for_selector("#connection[data-status=online]")
    expected = ("Failed to load resource", "WebSocket connection to")  # the browser's own words for the outage
    assert [e for e in errors + viewer_errors if not e.startswith(expected)] == []


def test_the_stream_is_searched_and_filtered_and_downloads_as_markdown(browser, site, tmp_path):
    server, people = site
    _ctx, viewer, errors = open_session(browser, server, people["viewers"][0], DESKTOP)
    viewer.locator("#notes .note >> nth=39").wait_for()
    assert viewer.locator("#notes .writer").first.get_attribute("aria-label") == "Written by Writer 1"
    viewer.locator("#stream-filters [name=q]").fill("NUMBER 1")  # every word, any case: 1, 10-19, 21, 31
    wait_until(lambda: viewer.locator("#notes .note:visible").count() == 13)
    assert viewer.locator("#filter-count").inner_text() == "Showing 13 of 40 notes"
    viewer.locator("#stream-filters [name=kind]").select_option("question")
    wait_until(lambda: viewer.locator("#notes .note:visible .note-text").all_inner_texts()
               == ["earlier note number 1", "earlier note number 13", "earlier note number 17",
                  "earlier note number 21"])
    viewer.locator("#stream-filters [name=q]").fill("")
    viewer.locator("#stream-filters [name=kind]").select_option("")
    viewer.locator("#stream-filters [name=speaker]").select_option("scholar")
    wait_until(lambda: viewer.locator("#notes .note:visible").count() == 14)
    viewer.locator("#stream-filters [name=speaker]").select_option("")
    viewer.locator("#stream-filters [name=theme]").select_option(label="Legal defense")
    wait_until(lambda: viewer.locator("#notes .note:visible .note-text").all_inner_texts()
               == [f"earlier note number {n}" for n in (1, 6, 11, 16, 21, 26, 31, 36)])
    viewer.locator("#stream-filters button[type=reset]").click()
    wait_until(lambda: viewer.locator("#notes .note:visible").count() == 40)

    with viewer.expect_download() as download:
        viewer.locator(".downloads a >> text=Markdown").click()
    path = tmp_path / "notes.md"
    download.value.save_as(path)
    text = path.read_text()
    assert text.startswith("# Harbor City Working Group — Session 1") and "earlier note number 40" in text
    assert viewer.locator(".detection-off").count() == 0, "the install notice is for facilitators and admins"
    assert viewer.locator("#composer").count() == 0
    assert [e for e in errors if not e.startswith("Failed to load resource")] == []


def test_the_tag_picker_opens_beside_its_button_without_covering_the_note(browser, site):
    server, people = site
    _ctx, writer, _errors = open_session(browser, server, people["note-takers"][0], DESKTOP)
    note = writer.locator("#notes .note >> nth=38")
    note.wait_for()
    note.hover()
    note.locator("button[data-action=tag]").click()
    picker = writer.locator("#theme-picker")
    picker.wait_for()
    p, n, b = picker.bounding_box(), note.bounding_box(), note.locator("button[data-action=tag]").bounding_box()
    overlaps = not (p["y"] >= n["y"] + n["height"] or p["y"] + p["height"] <= n["y"])
    assert not overlaps, (p, n)
    assert abs((p["x"] + p["width"]) - (b["x"] + b["width"])) < 2, "right-aligned with its button"
    assert 0 <= p["y"] and p["y"] + p["height"] <= DESKTOP["height"]
    writer.keyboard.press("Escape")

    _ctx, phone, _errors = open_session(browser, server, people["note-takers"][0], PHONE)  # same at phone width
    note = phone.locator("#notes .note >> nth=38")
    note.wait_for()
    note.locator("button[data-action=tag]").click()
    picker = phone.locator("#theme-picker")
    picker.wait_for()
    p, n = picker.bounding_box(), note.bounding_box()
    assert p["y"] >= n["y"] + n["height"] or p["y"] + p["height"] <= n["y"], (p, n)
    assert 0 <= p["x"] and p["x"] + p["width"] <= PHONE["width"] and 0 <= p["y"]


def test_at_phone_width_a_viewer_downloads_the_session_as_csv_and_the_tab_has_an_icon(browser, site, tmp_path):
    server, people = site
    _ctx, viewer, errors = open_session(browser, server, people["viewers"][0], PHONE)
    viewer.locator("#notes .note >> nth=39").wait_for()
    viewer.evaluate("window.scrollTo(0, 0)")
    link = viewer.locator(".downloads a >> text=CSV")
    assert link.is_visible(), "the download is on the page at phone width too"
    with viewer.expect_download() as download:
        link.click()
    path = tmp_path / "notes.csv"
    download.value.save_as(path)
    rows = path.read_text().splitlines()
    assert rows[0] == "seq,time,kind,speaker_role,themes,text" and len(rows) == 41
    # Note 2 has no speaker and no theme: its cells are empty, not a spreadsheet's text mark (').
    assert next(csv.reader([rows[2]]))[3:] == ["", "", "earlier note number 2"]
    assert download.value.suggested_filename == "harbor-city-session-1-notes.csv"
    icon = viewer.evaluate("document.querySelector('link[rel~=icon]').href")
    answer = viewer.request.get(icon)
    assert answer.status == 200 and answer.headers["content-type"].startswith("image/svg+xml")
    assert viewer.request.get(server.url + "/favicon.ico").status == 200  # browsers that ask for it anyway
    _ctx, facilitator, _errors = open_session(browser, server, "facilitator@test.example", PHONE)
    assert facilitator.locator(".topbar nav").bounding_box()["height"] < 30, "six links: one scrolling row"
    assert [e for e in errors if not e.startswith("Failed to load resource")] == []


def test_suggested_themes_show_only_to_those_who_can_accept_them_and_only_above_the_floor(browser, site):
    server, people = site
    pages = {email: open_session(browser, server, email, DESKTOP)
             for email in ("author@test.example", "facilitator@test.example", people["note-takers"][0],
                           people["viewers"][0])}
    for email, (_ctx, page, _errors) in pages.items():
        newest = page.locator("#notes .note >> nth=39")
        newest.wait_for()
        shown = newest.locator(".chip.suggested .chip-name").all_inner_texts()
        assert shown == (["Legal defense"] if email.startswith(("author", "facilitator")) else []), (email, shown)

    # At desktop width too the page opens at the newest note, composer and status strip in view; Close session
    # sits in the strip, for facilitators only.
    _ctx, writer, _errors = pages[people["note-takers"][0]]
    wait_until(lambda: in_view(writer, "#notes .note >> nth=39"), message="newest note in view")
    assert in_view(writer, "#composer") and in_view(writer, "#live-status")
    _ctx, facilitator, _errors = pages["facilitator@test.example"]
    assert in_view(facilitator, "#live-status .close-session button")
    assert [page.locator(".close-session").count() for _c, page, _e in pages.values()] == [0, 1, 0, 0]

    _ctx, author, errors = pages["author@test.example"]
    suggestion = author.locator("#notes .note >> nth=39").locator(".chip.suggested")
    assert "62%" in suggestion.get_attribute("title")
    suggestion.locator("button[aria-label='Accept theme Legal defense']").click()
    _ctx, viewer, _errors = pages[people["viewers"][0]]  # accepted, it is a theme everyone sees
    viewer.wait_for_selector("#notes .note >> nth=39 >> .chip:not(.suggested) >> text=Legal defense")

    writer.locator("#note-text").fill("a note from the other note-taker")  # each note-taker has a colour
    writer.keyboard.press("Enter")
    viewer.wait_for_selector("#notes .note >> nth=40 >> text=a note from the other note-taker")
    colour = "(n) => getComputedStyle(n).getPropertyValue('--writer-color')"
    mine, theirs = (viewer.locator(f"#notes .note >> nth={i}") for i in (40, 39))
    assert mine.locator(".writer").get_attribute("aria-label") == "Written by Writer 0"
    assert theirs.locator(".writer").get_attribute("aria-label") == "Written by Writer 1"
    assert mine.evaluate(colour) and theirs.evaluate(colour) and mine.evaluate(colour) != theirs.evaluate(colour)
    assert [e for e in errors if not e.startswith("Failed to load resource")] == []


def _inside(inner, outer) -> bool:
    return (inner["x"] >= outer["x"] - 0.5 and inner["x"] + inner["width"] <= outer["x"] + outer["width"] + 0.5
            and inner["y"] >= outer["y"] - 0.5 and inner["y"] + inner["height"] <= outer["y"] + outer["height"] + 0.5)


def _apart(a, b) -> bool:
    return (a["x"] + a["width"] <= b["x"] or b["x"] + b["width"] <= a["x"]
            or a["y"] + a["height"] <= b["y"] or b["y"] + b["height"] <= a["y"])


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_every_kind_chip_is_in_view_and_the_typing_line_covers_no_note(browser, site, tmp_path, viewport):
    server, people = site
    _ctx, writer, errors = open_session(browser, server, people["note-takers"][0], viewport)
    _ctx2, other, _errors2 = open_session(browser, server, people["note-takers"][1], viewport)
    writer.locator("#notes .note >> nth=39").wait_for()
    speaker = writer.locator("#speaker-role").bounding_box()
    composer = writer.locator("#composer").bounding_box()
    for chip in writer.locator("#kinds .kind").all():
        box = chip.bounding_box()
        assert _inside(box, composer) and _apart(box, speaker), (chip.inner_text(), box, speaker)
        assert 0 <= box["x"] and box["x"] + box["width"] <= viewport["width"]
    writer.locator("#kinds .kind >> text=resource").click()  # reachable with a tap, nothing on top of it
    assert writer.locator("input[name=kind][value=resource]").is_checked()

    other.locator("#note-text").type("typing where the writer can see it")
    writer.wait_for_selector("#typing >> text=Writer 1 is typing…")
    typing, strip = writer.locator("#typing").bounding_box(), writer.locator("#live-status").bounding_box()
    assert _inside(typing, strip), (typing, strip)
    assert writer.locator("#typing").is_visible()
    writer.screenshot(path=str(tmp_path / f"typing-{viewport['width']}.png"))
    if os.environ.get("ROUNDTABLE_SCREENSHOT_DIR"):
        writer.screenshot(path=str(Path(os.environ["ROUNDTABLE_SCREENSHOT_DIR"]) / f"live-typing-{viewport['width']}.png"))
    assert [e for e in errors if not e.startswith("Failed to load resource")] == []


def test_accepting_a_suggestion_the_worker_replaced_says_so_on_the_page_and_shows_the_current_themes(browser, site):
    server, _people = site
    _ctx, author, errors = open_session(browser, server, "author@test.example", DESKTOP)
    newest = author.locator("#notes .note >> nth=39")
    newest.locator(".chip.suggested >> text=Legal defense").wait_for()
    with behind_the_page(server) as (roundtable, db):  # the worker's new run after an edit, not yet on this page
        note = db.scalar(select(Note).order_by(Note.seq.desc()).limit(1))
        store_suggestions(db, note.id, [Suggestion("Federal enforcement", 0.7)], "lexical")
    newest.locator("button[aria-label='Accept theme Legal defense']").click()
    message = newest.locator(".note-message")
    message.wait_for()
    assert "replaced by newer suggestions or removed" in message.inner_text()
    assert message.get_attribute("role") == "alert"
    newest.locator(".chip.suggested >> text=Federal enforcement").wait_for(timeout=10000)  # the note's themes now
    assert newest.locator(".chip >> text=Legal defense").count() == 0
    assert [e for e in errors if not e.startswith("Failed to load resource")] == []


def test_close_session_asks_first_and_a_cancel_leaves_the_session_live(browser, site):
    """One tap at the top of a phone closed the session for everyone (and failed every note still on its way)."""
    server, people = site
    _ctx, facilitator, errors = open_session(browser, server, "facilitator@test.example", PHONE)
    questions, answers = [], [False, True]
    facilitator.on("dialog", lambda d: (questions.append(d.message), d.accept() if answers.pop(0) else d.dismiss()))
    facilitator.locator(".close-session button").click()
    wait_until(lambda: questions, message="asked before closing")
    assert "for everyone" in questions[0]
    facilitator.wait_for_timeout(500)
    assert facilitator.locator("#state-badge").text_content() == "live"
    assert facilitator.locator("#note-text").is_enabled()
    facilitator.locator(".close-session button").click()
    facilitator.wait_for_selector("text=Session 1 is closed; its notes are read-only.")
    assert len(questions) == 2
    assert [e for e in errors if not e.startswith("Failed to load resource")] == []


def test_at_phone_width_accept_and_reject_are_targets_a_thumb_can_tell_apart(browser, site):
    """WCAG 2.2 target size: at least 24 by 24 px each, so a tap meant for accept does not reject."""
    server, _people = site
    _ctx, author, errors = open_session(browser, server, "author@test.example", PHONE)
    chip = author.locator("#notes .note >> nth=39").locator(".chip.suggested")
    chip.wait_for()
    accept, reject = (chip.locator(f"button[aria-label='{verb} theme Legal defense']").bounding_box()
                      for verb in ("Accept", "Reject"))
    for box in (accept, reject):
        assert box["width"] >= 24 and box["height"] >= 24, box
    assert _apart(accept, reject)
    assert [e for e in errors if not e.startswith("Failed to load resource")] == []


def test_deleting_a_note_someone_changed_meanwhile_says_so_and_shows_their_version(browser, site):
    """The delete was refused (409) and the page said nothing: the writer thought the note was gone."""
    server, people = site
    _ctx, writer, errors = open_session(browser, server, people["note-takers"][0], DESKTOP)
    newest = writer.locator("#notes .note >> nth=39")
    newest.wait_for()
    with behind_the_page(server) as (roundtable, db):  # another note-taker's edit, not yet on this page
        note = db.scalar(select(Note).order_by(Note.seq.desc()).limit(1))
        NoteStream(db, roundtable).edit_note(note.id, note.version, text="earlier note number 40, corrected")
        db.commit()
    writer.on("dialog", lambda d: d.accept())
    newest.hover()
    newest.locator("button[data-action=delete]").click()
    message = newest.locator(".note-message")
    message.wait_for()
    assert "changed this note meanwhile" in message.inner_text() and message.get_attribute("role") == "alert"
    newest.locator(".note-text >> text=earlier note number 40, corrected").wait_for(timeout=10000)
    assert "deleted" not in newest.get_attribute("class")
    assert [e for e in errors if not e.startswith("Failed to load resource")] == []


def test_a_theme_the_server_refuses_is_not_left_on_the_note_and_the_page_says_why(browser, site):
    """The picker showed a theme at once and ignored the server's refusal: the note kept a theme it never had."""

    server, people = site
    _ctx, writer, errors = open_session(browser, server, people["note-takers"][0], DESKTOP)
    note = writer.locator("#notes .note >> nth=38")
    note.wait_for()
    with behind_the_page(server) as (roundtable, db):  # an author retires the theme; this page still lists it
        db.scalar(select(Theme).where(Theme.name == "Federal enforcement")).retired = True
        db.commit()
    note.hover()
    note.locator("button[data-action=tag]").click()
    writer.locator("#theme-picker").wait_for()
    writer.keyboard.type("Federal")
    writer.keyboard.press("Enter")
    writer.keyboard.press("Escape")
    message = note.locator(".note-message")
    message.wait_for()
    assert "retired" in message.inner_text() and message.get_attribute("role") == "alert"
    wait_until(lambda: note.locator(".chip >> text=Federal enforcement").count() == 0,
               message="the refused theme leaves the note")
    assert [e for e in errors if not e.startswith("Failed to load resource")] == []


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_a_note_scrolled_under_the_composer_does_not_show_through_the_kind_chips(browser, site, tmp_path, viewport):
    """The composer faded in over the stream: a note's text ran through the kind chips' row, hard to read."""
    from PIL import Image

    server, people = site
    _ctx, writer, errors = open_session(browser, server, people["note-takers"][0], viewport)
    writer.locator("#notes .note >> nth=39").wait_for()
    # Written on another page: this one shows it once (its own note would come twice, reply and broadcast, and
    # the second could scroll the page back to the newest note after the scroll below).
    _ctx2, other, _errors2 = open_session(browser, server, people["note-takers"][1], viewport)
    other.locator("#note-text").fill("a long dark line of text to scroll under the composer " * 6)
    other.keyboard.press("Enter")
    text = writer.locator("#notes .note >> nth=40").locator(".note-text")
    text.filter(has_text="a long dark line").wait_for()
    row = writer.locator("#kinds")
    # Scroll up until the note's first line sits in the middle of the chips' row.
    writer.evaluate("([t, r]) => window.scrollBy(0, t.getBoundingClientRect().top + 8 - r.getBoundingClientRect().top"
                    " - r.getBoundingClientRect().height / 2)", [text.element_handle(), row.element_handle()])
    line, box = text.bounding_box(), row.bounding_box()
    assert line["y"] < box["y"] + box["height"] / 2 < line["y"] + line["height"], (line, box)
    path = tmp_path / "kinds.png"
    writer.screenshot(path=str(path), clip=box)
    chips = [c.bounding_box() for c in writer.locator("#kinds .kind").all()]
    picture = Image.open(path).convert("RGB")
    scale = picture.width / box["width"]
    background = (246, 245, 241)
    through = 0
    for x in range(picture.width):
        for y in range(picture.height):
            px, py = box["x"] + x / scale, box["y"] + y / scale
            if any(c["x"] - 1 <= px <= c["x"] + c["width"] + 1 and c["y"] - 1 <= py <= c["y"] + c["height"] + 1
                   for c in chips):
                continue
            if max(abs(a - b) for a, b in zip(picture.getpixel((x, y)), background)) > 12:
                through += 1
    assert through == 0, f"{through} pixels of the note show between the chips (see {path})"
    assert [e for e in errors if not e.startswith("Failed to load resource")] == []


def test_at_phone_width_how_many_people_are_here_stays_readable_beside_close_session(browser, site):
    """The strip cut its text at the end: 'Taking notes: Writer 0, Facilit…' hid how many people were here."""
    server, people = site
    _ctx, _writer, _errors = open_session(browser, server, people["note-takers"][0], PHONE)
    _ctx, facilitator, errors = open_session(browser, server, "facilitator@test.example", PHONE)
    presence = facilitator.locator("#presence")
    wait_until(lambda: "2 people here" in presence.inner_text(), message="both people in the strip")
    shown = facilitator.evaluate("""(p) => {
        const walker = document.createTreeWalker(p, NodeFilter.SHOW_TEXT);
        let node;
        while ((node = walker.nextNode()) && node.data.indexOf("2 people here") < 0) {}
        const range = document.createRange();
        const at = node.data.indexOf("2 people here");
        range.setStart(node, at);
        range.setEnd(node, at + "2 people here".length);
        const r = range.getBoundingClientRect(), box = p.getBoundingClientRect();
        return { left: r.left, right: r.right, boxLeft: box.left, boxRight: box.right };
    }""", presence.element_handle())
    assert shown["boxLeft"] - 0.5 <= shown["left"] and shown["right"] <= shown["boxRight"] + 0.5, shown
    close = facilitator.locator(".close-session button").bounding_box()
    assert shown["right"] <= close["x"], (shown, close)
    assert [e for e in errors if not e.startswith("Failed to load resource")] == []


def test_log_out_is_set_like_the_account_links_beside_it(browser, site):
    """'Log out' (a form button) was larger and coloured unlike 'Password' next to it, at every width."""
    server, people = site
    _ctx, viewer, errors = open_session(browser, server, people["viewers"][0], PHONE)
    style = "(n) => { const s = getComputedStyle(n); return [s.fontSize, s.color]; }"
    assert (viewer.locator(".account button[type=submit]").evaluate(style)
            == viewer.locator(".account a.account-link").first.evaluate(style))
    assert [e for e in errors if not e.startswith("Failed to load resource")] == []


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_the_newest_note_stays_above_the_composer_when_a_message_makes_the_composer_taller(browser, site, viewport):
    """A too-long note's message grew the composer over the newest note (a failed note's Retry, Copy and Discard
    were hidden under it)."""
    server, people = site
    _ctx, writer, errors = open_session(browser, server, people["note-takers"][0], viewport)
    newest = writer.locator("#notes .note >> nth=39")
    newest.wait_for()
    above = lambda: (newest.bounding_box()["y"] + newest.bounding_box()["height"]  # noqa: E731
                     <= writer.locator("#kinds").bounding_box()["y"] + 0.5)
    wait_until(above, message="the newest note above the kind chips when the page opens")
    writer.locator("#note-text").focus()
    writer.keyboard.insert_text("z" * 4200)
    writer.locator("#note-length-message").filter(has_text="over the limit").wait_for()
    wait_until(above, message="the newest note above the kind chips once the composer is taller")
    assert [e for e in errors if not e.startswith("Failed to load resource")] == []


def strip_parts_apart(page) -> dict:
    """The strip's connection, count of people and Close session: on screen, none drawn over another."""
    boxes = {part: page.locator(part).bounding_box()
             for part in ("#connection", "#presence .present-count", ".close-session button")}
    for part, box in boxes.items():
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= page.viewport_size["width"] + 0.5, (
            part, box)
    a, b, c = boxes.values()
    for one, other in ((a, b), (a, c), (b, c)):  # side by side or one above the other, never on top
        apart = (one["x"] + one["width"] <= other["x"] + 0.5 or other["x"] + other["width"] <= one["x"] + 0.5
                 or one["y"] + one["height"] <= other["y"] + 0.5 or other["y"] + other["height"] <= one["y"] + 0.5)
        assert apart, boxes
    return boxes


def test_at_phone_width_a_long_connection_message_wraps_and_close_session_stays_on_screen(browser, site):
    """Offline with notes waiting, the strip's one row ran past the right edge: 'Close session' and how many
    people are here were drawn over each other, and the message itself was cut. A passing message (a note on
    its way) is cut short instead of changing the strip's height with every note."""
    server, _people = site
    context, facilitator, _errors = open_session(browser, server, "facilitator@test.example", PHONE)
    held = []

    def hold_notes(ws):
        server_side = ws.connect_to_server()
        ws.on_message(lambda m: held.append(m) if '"note:add"' in str(m) else server_side.send(m))

    facilitator.route_web_socket(re.compile(r".*/socket\.io/.*"), hold_notes)
    facilitator.reload()
    facilitator.wait_for_selector("#connection[data-status=online]")
    one_row = facilitator.locator("#live-status").bounding_box()["height"]
    facilitator.locator("#note-text").fill("a note on its way")
    facilitator.keyboard.press("Enter")
    facilitator.wait_for_selector("#connection >> text=1 note waiting")
    strip_parts_apart(facilitator)
    assert facilitator.locator("#live-status").bounding_box()["height"] == one_row

    context.set_offline(True)
    facilitator.wait_for_selector("#connection[data-status=offline]")
    facilitator.locator("#note-text").fill("a note typed offline")
    facilitator.keyboard.press("Enter")
    facilitator.wait_for_selector("#connection >> text=2 notes waiting")
    strip_parts_apart(facilitator)
    label = facilitator.locator("#connection .label")
    assert label.evaluate("n => n.scrollWidth <= n.clientWidth + 1"), "the connection message is cut"
    assert in_view(facilitator, "#connection") and in_view(facilitator, "#composer")


def test_a_closed_sessions_open_button_has_no_stray_rule_under_it(browser, site):
    """The closed page put its Reopen (or Open) button in the live page's sticky status strip: at desktop width
    the strip, as wide as the button, drew a short rule under it above the header's own."""
    server, _people = site
    _ctx, facilitator, errors = open_session(browser, server, "facilitator@test.example", DESKTOP)
    facilitator.goto(server.url + "/s/harbor-city/sessions/2/")
    holder = facilitator.locator("#session-readonly form:has(button.primary)").locator("xpath=..")
    assert holder.evaluate("n => getComputedStyle(n).borderBottomWidth") == "0px"
    assert holder.evaluate("n => getComputedStyle(n).position") == "static"
    assert [e for e in errors if not e.startswith("Failed to load resource")] == []
