"""Revocation seen from an open live page in a real browser: the page reacts at once.

A member removed while the page is open stops receiving notes and is left with
the page their account may still open (here a 404); a note-taker lowered to
viewer while writing loses the composer and keeps reading. Real Chromium, a
real server, the facilitator acting over HTTP like a browser. A page that was
offline when the change happened reacts when it reconnects; an export started
before the change cannot be fetched after it.
"""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from roundtable.db import Database
from roundtable.models import Account, Membership, Role, Series
from roundtable.services.accounts import end_logins, grant_role
from roundtable.live_clients import SECRET_KEY, NoteClient, login_cookie, wait_until
from test_live_browser import browser, open_session  # noqa: F401  (the browser fixture)
from test_revocation import Browser, _account_id

pytestmark = [pytest.mark.browser, pytest.mark.slow]
DESKTOP = {"width": 1100, "height": 800}


def _writer(server, people, clients) -> NoteClient:
    client = NoteClient(server.url, login_cookie(server.url, people["note-takers"][0]), people["session_id"])
    client.connect()
    clients.append(client)
    assert client.joined.wait(60)
    return client


def _write(writer: NoteClient, text: str) -> None:
    note = writer.send_note(text)
    wait_until(lambda: note in writer.notes and writer.notes[note]["seq"] > 0, message="the writer's note stored")


def _received_notes(page) -> list[str]:
    """The text of every ``note:added`` frame this page receives from now on (observed, not changed)."""
    frames: list[str] = []
    page.on("websocket", lambda ws: ws.on(
        "framereceived", lambda frame: frames.append(str(frame)) if '"note:added"' in str(frame) else None))
    return frames


def _mark_page(page) -> None:
    """A flag that lives as long as this document: gone once the page reloads or leaves."""
    page.evaluate("window.__beforeRevocation = true")


def _page_was_replaced(page) -> bool:
    try:
        return page.evaluate("window.__beforeRevocation !== true")
    except Exception:  # navigating right now
        return False


def test_a_removed_viewers_open_page_leaves_the_session_and_receives_no_more_notes(browser, revocation_site):
    server, people, url, clients = revocation_site
    writer = _writer(server, people, clients)
    _ctx, page, errors = open_session(browser, server, people["viewers"][0], DESKTOP)
    frames = _received_notes(page)
    _write(writer, "before the removal")
    page.wait_for_selector("#notes .note-text:has-text('before the removal')")
    _mark_page(page)

    facilitator = Browser(server.url, people["facilitator"])
    removed = facilitator.post(f"/s/harbor-city/members/{_account_id(url, people['viewers'][0])}/remove")
    assert removed.status_code == 302

    wait_until(lambda: _page_was_replaced(page), message="the removed viewer's page to reload")
    page.wait_for_load_state()
    assert page.locator("#notes").count() == 0, "the reloaded page is no longer the session"
    assert "404" in page.content() or "not found" in page.content().lower()
    received = len(frames)
    _write(writer, "after the removal")
    page.wait_for_timeout(2000)
    assert len(frames) == received, "a removed member's page received a note written after the removal"
    assert "after the removal" not in page.content()


def test_a_note_taker_lowered_to_viewer_loses_the_composer_and_keeps_reading(browser, revocation_site):
    server, people, url, clients = revocation_site
    writer = _writer(server, people, clients)
    email = people["note-takers"][1]
    _ctx, page, errors = open_session(browser, server, email, DESKTOP)
    assert page.locator("#note-text").is_visible()
    _mark_page(page)

    facilitator = Browser(server.url, people["facilitator"])
    lowered = facilitator.post(f"/s/harbor-city/members/{_account_id(url, email)}/role", {"role": "viewer"})
    assert lowered.status_code == 302

    wait_until(lambda: _page_was_replaced(page), message="the lowered note-taker's page to reload")
    page.wait_for_selector("#connection[data-status=online]")
    assert page.locator("#note-text").count() == 0 and page.locator("#composer").count() == 0
    text = f"read by a viewer {uuid.uuid4().hex[:6]}"
    _write(writer, text)
    page.wait_for_selector(f"#notes .note-text:has-text('{text}')")


def test_pages_that_were_offline_during_the_change_react_when_they_reconnect(browser, revocation_site):
    """The server could not tell them (it was down, or the laptop asleep): the next connection does."""
    server, people, url, _clients = revocation_site
    viewer = open_session(browser, server, people["viewers"][0], DESKTOP)[1]
    writer = open_session(browser, server, people["note-takers"][0], DESKTOP)[1]
    logged_out = open_session(browser, server, people["note-takers"][1], DESKTOP)[1]
    for page in (viewer, writer, logged_out):
        _mark_page(page)

    server.kill()
    database = Database(url, secret_key=SECRET_KEY)
    with database.session() as db:
        accounts = {a.email: a for a in db.scalars(select(Account))}
        series = db.scalar(select(Series))
        db.delete(db.scalar(select(Membership).filter_by(account_id=accounts[people["viewers"][0]].id)))
        grant_role(db, accounts[people["note-takers"][0]], series, Role.VIEWER)
        end_logins(accounts[people["note-takers"][1]])
    database.dispose()
    server.start()

    for page, who in ((viewer, "removed viewer"), (writer, "lowered note-taker"), (logged_out, "logged-out account")):
        wait_until(lambda: _page_was_replaced(page), timeout=60, message=f"the {who}'s page to reload")
        page.wait_for_load_state()
    assert viewer.locator("#notes").count() == 0
    writer.wait_for_selector("#connection[data-status=online]")
    assert writer.locator("#note-text").count() == 0
    assert "/auth/login" in logged_out.url


@pytest.mark.parametrize("change", ["lowered", "removed"])
def test_an_export_started_before_losing_access_cannot_be_fetched_after(client, login, db, series, accounts, change):
    """The job finishes in the background, but its file goes only to someone who may still export."""
    author = login(Role.AUTHOR)
    client.get(f"/s/{series.slug}/brief/report/")
    started = client.post(f"/s/{series.slug}/brief/report/jobs", data={"format": "md"})
    assert started.status_code == 202
    status_url = started.get_json()["status"]
    wait_until(lambda: client.get(status_url).get_json()["stage"] in ("ready", "failed"), message="the export job")

    membership = db.scalar(select(Membership).filter_by(account_id=author.id, series_id=series.id))
    if change == "lowered":
        membership.role = Role.VIEWER
    else:
        db.delete(membership)
    db.commit()

    assert client.get(status_url).status_code in (403, 404)
    assert client.get(status_url + "/download").status_code in (403, 404)
