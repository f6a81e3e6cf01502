"""The outbox in a real browser against a real server: every reply of the server has one outcome.

accepted: the note leaves the outbox; rate-limited or no answer: it waits and is sent again by itself
(and the notes behind it keep flowing); invalid or conflicting: it stays visible as not sent, with
Retry, Copy and Discard; unauthorized, forbidden, gone or session closed: the outbox stops and says why.
Nothing is dropped or cut without the writer seeing it.
"""

from __future__ import annotations

import json
import os
import re
import signal
import uuid

import pytest
from sqlalchemy import delete, select, update

from roundtable.live_clients import SECRET_KEY, ServerProcess, free_port, prepare_database, wait_until
from test_live_browser import browser, open_session  # noqa: F401  (the browser fixture)

pytestmark = [pytest.mark.browser, pytest.mark.slow]
DESKTOP = {"width": 1100, "height": 800}
OUTBOX = "JSON.parse(localStorage.getItem('roundtable.outbox.' + {sid}) || '[]')"


@pytest.fixture
def site(tmp_path):
    url = f"sqlite:///{tmp_path / 'outbox.sqlite'}"
    people = prepare_database(url)
    server = ServerProcess(url, free_port(), tmp_path)
    (tmp_path / "instance").mkdir(parents=True, exist_ok=True)
    # A short acknowledgement timeout and one note per second per account, so both replies happen in a test.
    (tmp_path / "instance" / "config.py").write_text("LIVE_ACK_TIMEOUT_MS = 1500\nNOTES_PER_SECOND_PER_ACCOUNT = 1\n")
    server.start()
    from roundtable.application import Roundtable

    roundtable = Roundtable({"SECRET_KEY": SECRET_KEY, "DATABASE_URL": url})  # the server's secret and database
    yield server, people, roundtable
    roundtable.database.dispose()
    server.stop()


def note_adds(page) -> list[str]:
    """Every note:add frame this page sends (observed, not changed)."""
    frames = []
    page.on("websocket", lambda ws: ws.on("framesent", lambda f: frames.append(f) if '"note:add"' in str(f) else None))
    return frames


def type_note(page, text):
    page.locator("#note-text").fill(text)
    page.keyboard.press("Enter")


def stream_texts(page):
    return page.locator("#notes .note:not(.pending) .note-text").all_inner_texts()


def hold_joins(page) -> tuple[list, callable]:
    """Route the page's socket through the test: ``session:join`` frames are held until ``release()``."""
    held, routes, holding = [], [], [True]

    def route(ws):
        server = ws.connect_to_server()
        routes.append(server)
        ws.on_message(lambda m: held.append((server, m)) if holding[0] and '"session:join"' in str(m) else server.send(m))

    def release():
        holding[0] = False
        for server, message in held:
            server.send(message)

    page.route_web_socket(re.compile(r".*/socket\.io/.*"), route)
    return held, release


def test_the_strip_says_connected_only_once_the_page_has_joined(browser, site):
    """Online meant 'the socket opened', before the join's reply: a writer (or a test) trusted a page that did
    not yet know its role, and a join answered after a role change reloaded it as a viewer's page."""
    server, people, _roundtable = site
    _ctx, writer, _errors = open_session(browser, server, people["note-takers"][0], DESKTOP)
    held, release = hold_joins(writer)
    writer.reload()
    wait_until(lambda: writer.wait_for_timeout(50) or held, message="the page's join, held")
    assert writer.locator("#connection").get_attribute("data-status") != "online"
    type_note(writer, "typed before the join was answered")
    assert "Waiting for the connection" in writer.locator("#notes .note.pending .status").inner_text()
    release()
    writer.wait_for_selector("#connection[data-status=online]")
    writer.wait_for_selector("#notes .note:not(.pending) >> text=typed before the join was answered")


def test_rate_limited_notes_wait_and_all_arrive_once_and_a_long_paste_is_refused_not_cut(browser, site):
    server, people, roundtable = site
    _ctx, writer, errors = open_session(browser, server, people["note-takers"][0], DESKTOP)
    frames = note_adds(writer)
    writer.reload()
    writer.wait_for_selector("#connection[data-status=online]")
    for i in range(4):
        type_note(writer, f"quick note {i}")
    wait_until(lambda: writer.locator("#notes .note:not(.pending)").count() == 4, message="4 notes")
    assert stream_texts(writer) == [f"quick note {i}" for i in range(4)]
    assert len(frames) > 4, "at one note per second some were refused (429) and sent again"
    assert writer.locator("#notes .note.failed").count() == 0

    writer.locator("#note-text").focus()
    writer.keyboard.insert_text("x" * 3300)  # near the limit the count shows while typing
    assert writer.locator("#note-length").inner_text() == "3,300 / 4,000"
    assert writer.locator("#note-length-message").inner_text() == ""
    writer.locator("#note-text").fill("")
    writer.keyboard.insert_text("x" * 20000)  # as a paste arrives: nothing in the page may cut it
    assert writer.locator("#note-length").inner_text() == "20,000 / 4,000"
    assert "16,000 characters over the limit of 4,000" in writer.locator("#note-length-message").inner_text()
    writer.keyboard.press("Enter")
    assert "16,000 characters over the limit of 4,000" in writer.locator("#note-length-message").inner_text()
    assert len(writer.locator("#note-text").input_value()) == 20000, "the text stays for the writer to shorten"
    assert writer.locator("#notes .note").count() == 4
    assert [e for e in errors if not e.startswith("Failed to load resource")] == []


def test_invalid_and_conflicting_notes_stay_visible_with_retry_copy_and_discard(browser, site):
    server, people, roundtable = site
    from roundtable.models import Session
    from roundtable.services.notes import NoteStream

    taken = str(uuid.uuid4())
    with roundtable.database.session() as db:  # a note id already used in another session: the server says 409
        other = db.scalar(select(Session).where(Session.number == 2))
        other.state = other.state.LIVE
        db.commit()
        NoteStream(db, roundtable).add_note(other.id, taken, "in session 2")
    sid = people["session_id"]
    waiting = [
        {"uuid": str(uuid.uuid4()), "text": "y" * 5000, "kind": "point"},           # over the limit: 400
        {"uuid": taken, "text": "same id as a note elsewhere", "kind": "point"},      # 409
        {"uuid": str(uuid.uuid4()), "text": "a good note behind them", "kind": "point"},
    ]
    context, writer, _errors = open_session(browser, server, people["note-takers"][0], DESKTOP)
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    writer.evaluate(f"localStorage.setItem('roundtable.outbox.{sid}', {json.dumps(json.dumps(waiting))})")
    writer.reload()
    writer.wait_for_selector("#notes .note:not(.pending) >> text=a good note behind them")
    failed = writer.locator("#notes .note.failed")
    wait_until(lambda: failed.count() == 2, message="two failed notes")
    assert "at most 4000 characters" in failed.nth(0).locator(".status").inner_text()
    assert "already used in another session" in failed.nth(1).locator(".status").inner_text()
    for i in range(2):
        assert failed.nth(i).locator(".failed-actions button").all_inner_texts() == ["Retry", "Copy", "Discard"]
    assert "2 notes not sent" in writer.locator("#connection").inner_text()
    failed.nth(1).locator("button >> text=Copy").click()  # the whole text, to paste elsewhere
    wait_until(lambda: writer.evaluate("navigator.clipboard.readText()") == "same id as a note elsewhere")

    writer.on("dialog", lambda dialog: dialog.accept())
    failed.nth(0).locator("button >> text=Discard").click()
    wait_until(lambda: writer.locator("#notes .note.failed").count() == 1)
    writer.reload()  # what was not discarded is still there, still saying why
    writer.wait_for_selector("#connection[data-status=online]")
    assert writer.locator("#notes .note.failed .note-text").all_inner_texts() == ["same id as a note elsewhere"]
    stored = writer.evaluate(OUTBOX.format(sid=sid))
    assert [n["uuid"] for n in stored] == [taken] and "already used" in stored[0]["failed"]


def test_a_refusing_server_stops_the_outbox_with_the_reason_and_retry_sends_again(browser, site):
    server, people, roundtable = site
    from roundtable.models import Account, Membership, Role

    _ctx, writer, _errors = open_session(browser, server, people["note-takers"][0], DESKTOP)
    frames = note_adds(writer)
    writer.reload()
    writer.wait_for_selector("#connection[data-status=online]")
    email = people["note-takers"][0]
    with roundtable.database.session() as db:
        account = db.scalar(select(Account).where(Account.email == email))
        db.execute(update(Membership).where(Membership.account_id == account.id).values(role=Role.VIEWER))
        db.commit()
    type_note(writer, "written after losing the role")
    writer.wait_for_selector("#notes .note.failed")
    assert "You may no longer write in this session." in writer.locator("#notes .note.failed .status").inner_text()
    writer.wait_for_selector("#connection[data-status=error]")  # the strip says so (set beside the note, not before it)
    writer.wait_for_timeout(3000)  # frames reach the test only inside a Playwright call: wait in one
    assert len(frames) == 1, "a refused note is not resent by itself"
    type_note(writer, "typed after the refusal")  # a new note is one new try, not a note left 'Sending…'
    wait_until(lambda: writer.locator("#notes .note.failed").count() == 2, message="second note failed")
    assert "You may no longer write" in writer.locator("#notes .note.failed >> nth=1").locator(".status").inner_text()
    writer.wait_for_timeout(3000)
    assert len(frames) == 2
    writer.on("dialog", lambda dialog: dialog.accept())
    writer.locator("#notes .note.failed >> nth=1").locator("button >> text=Discard").click()
    wait_until(lambda: writer.locator("#notes .note.failed").count() == 1)

    with roundtable.database.session() as db:  # 404: no longer a member at all
        account = db.scalar(select(Account).where(Account.email == email))
        db.execute(update(Membership).where(Membership.account_id == account.id).values(role=Role.NOTE_TAKER))
        db.commit()
    writer.locator("#notes .note.failed button >> text=Retry").click()
    writer.wait_for_selector("#notes .note:not(.pending) >> text=written after losing the role")
    assert len(frames) == 3
    writer.wait_for_selector("#connection[data-status=online]")  # delivered again: the strip says so

    with roundtable.database.session() as db:
        account = db.scalar(select(Account).where(Account.email == email))
        db.execute(delete(Membership).where(Membership.account_id == account.id))
        db.commit()
    type_note(writer, "written after leaving the series")
    writer.wait_for_selector("#notes .note.failed")
    assert "This session no longer exists." in writer.locator("#notes .note.failed .status").inner_text()

    with roundtable.database.session() as db:  # 401: the password changed elsewhere, so this login is over
        account = db.scalar(select(Account).where(Account.email == email))
        db.add(Membership(account_id=account.id, series_id=db.scalar(select(Membership.series_id).limit(1)),
                          role=Role.NOTE_TAKER))
        account.password_hash = account.password_hash + "x"
        db.commit()
    writer.locator("#notes .note.failed button >> text=Retry").click()
    wait_until(lambda: "log in again" in writer.locator("#notes .note.failed .status").inner_text())
    assert "written after leaving the series" in writer.locator("#notes .note.failed .note-text").inner_text()


def test_a_note_without_an_answer_is_sent_again_by_itself_and_the_queue_keeps_flowing(browser, site):
    server, people, _roundtable = site
    _ctx, writer, _errors = open_session(browser, server, people["note-takers"][0], DESKTOP)
    joins = []
    writer.on("websocket", lambda ws: ws.on("framesent", lambda f: joins.append(f) if '"session:join"' in str(f) else None))
    type_note(writer, "before the freeze")
    writer.wait_for_selector("#notes .note:not(.pending) >> text=before the freeze")
    for pid in server.pids():  # the server hangs: the socket stays open, no reply comes
        os.kill(pid, signal.SIGSTOP)
    try:
        type_note(writer, "sent into silence")
        writer.wait_for_selector("#notes .note.pending .status >> text=No answer yet")
        type_note(writer, "typed behind it")
    finally:
        for pid in server.pids():
            os.kill(pid, signal.SIGCONT)
    wait_until(lambda: writer.locator("#notes .note:not(.pending)").count() == 3, message="3 notes")
    assert stream_texts(writer) == ["before the freeze", "sent into silence", "typed behind it"]
    assert writer.locator("#notes .note.pending").count() == 0

    server.kill()  # a restart: the page rejoins from the last note it has, not from 0
    # Offline seen before the restart: once the server is back the page may be online again before a check.
    writer.wait_for_selector("#connection[data-status=offline]")
    joined_before = len(joins)
    server.start()
    # Playwright hands over frame events only while the test is inside one of its calls: wait in one.
    wait_until(lambda: writer.wait_for_timeout(50) or len(joins) > joined_before, message="the rejoin after the restart")
    assert '"after":3' in str(joins[joined_before]), joins[joined_before]


def test_notes_pending_when_the_session_closes_fail_with_the_reason_and_survive_a_reload(browser, site):
    server, people, roundtable = site
    from roundtable.services.notes import NoteStream

    _ctx, writer, _errors = open_session(browser, server, people["note-takers"][0], DESKTOP)
    server.kill()
    writer.wait_for_selector("#connection[data-status=offline]")
    type_note(writer, "typed while the server was away")
    with roundtable.database.session() as db:
        NoteStream(db, roundtable).close_session(people["session_id"])
    server.start()
    writer.wait_for_selector("#notes .note.failed")
    assert "The session was closed before the server had this note." in writer.locator("#notes .note.failed").inner_text()
    assert writer.locator("#notes .note.failed button").all_inner_texts() == ["Copy", "Discard"]

    writer.reload()  # the closed session's page still shows what this device could not send
    unsent = writer.locator("#unsent-notes .note")
    unsent.wait_for()
    assert "typed while the server was away" in unsent.inner_text()
    assert "closed before the server had this note" in unsent.inner_text()
    writer.on("dialog", lambda dialog: dialog.accept())
    unsent.locator("button >> text=Discard").click()
    assert writer.locator("#unsent").is_hidden()


def uncovered(page, locator) -> bool:
    """The element is in the window and nothing (the sticky composer, say) lies over its middle."""
    return locator.evaluate("""el => { const r = el.getBoundingClientRect();
        if (r.top < 0 || r.bottom > innerHeight) return false;
        const top = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
        return top !== null && el.contains(top); }""")


def test_at_phone_width_a_note_failed_by_the_close_keeps_its_discard_in_view_also_after_a_reload(browser, site):
    """A long stream: the failed note grew (reason, Copy, Discard) under the sticky composer, and a reload opened
    the closed session's page where the browser had left it, thousands of pixels below the unsent notes."""
    server, people, roundtable = site
    from roundtable.services.notes import NoteStream

    with roundtable.database.session() as db:
        stream = NoteStream(db, roundtable)
        for i in range(30):
            stream.add_note(people["session_id"], str(uuid.uuid4()), f"an earlier note, number {i + 1}")
        db.commit()
    context, writer, _errors = open_session(browser, server, people["note-takers"][0], {"width": 390, "height": 760})
    writer.locator("#notes .note >> nth=29").wait_for()
    context.set_offline(True)
    writer.wait_for_selector("#connection:not([data-status=online])")
    type_note(writer, "typed while offline as the session closed")
    writer.wait_for_selector("#notes .note.pending")
    with roundtable.database.session() as db:
        NoteStream(db, roundtable).close_session(people["session_id"])
    context.set_offline(False)
    discard = writer.locator("#notes .note.failed button >> text=Discard")
    discard.wait_for()
    wait_until(lambda: uncovered(writer, discard), message="the failed note's Discard uncovered, above the composer")

    writer.reload()
    unsent = writer.locator("#unsent-notes .note")
    unsent.wait_for()
    wait_until(lambda: uncovered(writer, unsent.locator("button >> text=Discard")),
               message="the unsent note in view after a reload")


def test_a_theme_change_without_an_answer_is_checked_with_the_server_once_the_page_rejoins(browser, site):
    """The note kept a theme the server never stored: its refetch failed on the dead connection too, and a
    rejoin fetches only newer notes, so the picker's change stayed on the page until a refresh."""
    server, people, roundtable = site
    from roundtable.services.notes import NoteStream

    with roundtable.database.session() as db:  # never changed since stored: a rejoin has no reason to fetch it again
        NoteStream(db, roundtable).add_note(people["session_id"], str(uuid.uuid4()), "a note to tag")
    _ctx, writer, _errors = open_session(browser, server, people["note-takers"][0], DESKTOP)
    note = writer.locator("#notes .note:not(.pending)").filter(has_text="a note to tag")
    note.wait_for()
    for pid in server.pids():  # the connection is dead: nothing comes back, nothing is stored
        os.kill(pid, signal.SIGSTOP)
    try:
        note.hover()
        note.locator("button[data-action=tag]").click()
        writer.locator("#theme-picker").wait_for()
        writer.keyboard.type("Federal")
        writer.keyboard.press("Enter")
        writer.keyboard.press("Escape")
        note.locator(".chip >> text=Federal enforcement").wait_for()  # shown at once, not yet confirmed
        message = note.locator(".note-message")
        message.wait_for()
        assert "did not answer" in message.inner_text()
    finally:
        server.kill()  # the stopped server never stored the theme
    writer.wait_for_selector("#connection[data-status=offline]")
    server.start()
    writer.wait_for_selector("#connection[data-status=online]")
    wait_until(lambda: note.locator(".chip >> text=Federal enforcement").count() == 0,
               message="the note shows its themes as the server has them after the rejoin")
    assert "now shows what the server has" in note.locator(".note-message").inner_text()
