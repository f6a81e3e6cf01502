"""A note or draft with script, event handlers and javascript: links is shown inert, in a real browser.

A real server (``roundtable serve``) and headless Chromium. The pages are loaded
with the Content-Security-Policy *bypassed*, so that escaping alone must keep
the text inert (the CSP is a second wall, tested separately: pages load with it
and without violations). Checked: no dialog fires, no script element came from
user text, no event-handler attribute or ``javascript:`` link is in the DOM,
and the hostile text is visible as text.
"""

from __future__ import annotations

import uuid
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from conftest import PASSWORD, make_series, require_service
from roundtable.live_clients import ServerProcess, free_port
from roundtable.db import Database
from roundtable.models import Brief, BriefVersion, Note, Role, Session, SessionState
from roundtable.services.accounts import create_account, grant_role
from security_support import MALICIOUS_NOTE

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--disable-background-networking", "--disable-component-update", "--no-first-run"]
MALICIOUS_BRIEF = """# Findings {#findings}

Intro <script>alert("brief")</script> and <img src=x onerror="alert('img')">.

- [click me](javascript:alert('link'))
- [data link](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)
- ![picture](javascript:alert('image'))
- <a href="javascript:alert('raw')">raw link</a>
- A span{onclick="alert('attr')" style="color:red"} with attributes
- [a fine link](https://example.org/report)

<svg onload="alert('svg')"></svg>
"""
INSPECT_DOM = """() => {
  const origin = location.origin;
  const scripts = [...document.scripts]
    .filter(s => !s.src || new URL(s.src).origin !== origin)
    .map(s => s.outerHTML.slice(0, 120));
  const handlers = [];
  for (const el of document.querySelectorAll('*')) {
    for (const a of el.attributes) {
      if (a.name.toLowerCase().startsWith('on')) handlers.push(el.tagName + '[' + a.name + ']');
    }
  }
  const badLinks = [...document.querySelectorAll('[href], [src], [action], [formaction], [xlink\\\\:href]')]
    .map(el => el.getAttribute('href') || el.getAttribute('src') || el.getAttribute('action') || el.getAttribute('formaction') || '')
    .filter(v => /^\\s*(javascript|data|vbscript):/i.test(v) && !/^data:image\\//i.test(v));
  return {scripts, handlers, badLinks, text: document.body.innerText};
}"""


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A served series with hostile notes (live session 1, closed session 2) and a hostile brief."""
    workdir = tmp_path_factory.mktemp("xss")
    url = f"sqlite:///{workdir / 'xss.sqlite'}"
    secret_key = "xss-test-secret"
    database = Database(url, secret_key=secret_key)  # the roster is encrypted with the server's key
    database.upgrade()
    with database.session() as db:
        series = make_series(db)
        for role in (Role.VIEWER, Role.NOTE_TAKER, Role.AUTHOR):
            account = create_account(db, f"{role.value}@test.example", f"Test {role.value}", PASSWORD)
            grant_role(db, account, series, role)
        live, closed = db.scalars(select(Session).where(Session.series_id == series.id).order_by(Session.number)).all()[:2]
        closed.state = SessionState.CLOSED
        closed.date = date(2026, 2, 15)
        for meeting in (live, closed):
            meeting.last_seq += 1
            db.add(Note(session_id=meeting.id, seq=meeting.last_seq, uuid=str(uuid.uuid4()), text=MALICIOUS_NOTE,
                        speaker_role='<img src=x onerror="alert(\'role\')">'))
        brief = Brief(series_id=series.id, template="report", markdown=MALICIOUS_BRIEF)
        db.add(brief)
        db.flush()
        db.add(BriefVersion(brief_id=brief.id, number=1, markdown=MALICIOUS_BRIEF, label="<b onmouseover=alert(1)>v1</b>"))
        info = {"slug": series.slug, "live": live.number, "closed": closed.number, "live_id": live.id}
    database.dispose()
    server = ServerProcess(url, free_port(), workdir, plugins="", secret_key=secret_key).start()
    try:
        yield {**info, "url": server.url}
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser():
    require_service("Chromium", Path(CHROMIUM).exists(), "apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def open_as(browser, site, email: str, bypass_csp: bool = True):
    context = browser.new_context(bypass_csp=bypass_csp)
    page = context.new_page()
    page.set_default_timeout(15000)
    dialogs, console = [], []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.on("console", lambda message: console.append(message.text))
    page.goto(site["url"] + "/auth/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda u: "/auth/login" not in u)
    return context, page, dialogs, console


def assert_inert(page, dialogs, must_show: str):
    page.wait_for_function("(s) => document.body.innerText.includes(s)", arg=must_show)
    page.mouse.move(5, 5)
    page.wait_for_timeout(300)  # give any injected handler the chance to fire
    found = page.evaluate(INSPECT_DOM)
    assert dialogs == [], f"a dialog fired: {dialogs}"
    assert found["scripts"] == [], f"script elements not from the app: {found['scripts']}"
    assert found["handlers"] == [], f"event-handler attributes in the page: {found['handlers']}"
    assert found["badLinks"] == [], f"script links in the page: {found['badLinks']}"
    return found


def test_hostile_note_is_inert_in_the_live_page(browser, site):
    context, page, dialogs, _ = open_as(browser, site, "note-taker@test.example")
    try:
        page.goto(f"{site['url']}/s/{site['slug']}/sessions/{site['live']}/")
        found = assert_inert(page, dialogs, "raw link")
        assert '<script>alert("note")</script>' in found["text"], "the note is shown as text"
    finally:
        context.close()


def test_hostile_note_arriving_live_is_inert(browser, site):
    import socketio

    from roundtable.live_clients import login_cookie

    context, page, dialogs, _ = open_as(browser, site, "viewer@test.example")
    writer = socketio.Client()
    try:
        page.goto(f"{site['url']}/s/{site['slug']}/sessions/{site['live']}/")
        page.wait_for_function("(s) => document.body.innerText.includes(s)", arg="raw link")
        writer.connect(site["url"], headers={"Cookie": login_cookie(site["url"], "note-taker@test.example")},
                       transports=["websocket"])
        text = MALICIOUS_NOTE.replace("Ends", "Arrives live")
        reply = writer.call("note:add", {"session_id": site["live_id"], "uuid": str(uuid.uuid4()), "text": text,
                                         "kind": "quote"}, timeout=15)
        assert reply.get("ok"), reply
        assert_inert(page, dialogs, "Arrives live")
    finally:
        writer.disconnect()
        context.close()


def test_hostile_note_is_inert_in_the_closed_session_page(browser, site):
    context, page, dialogs, _ = open_as(browser, site, "viewer@test.example")
    try:
        page.goto(f"{site['url']}/s/{site['slug']}/sessions/{site['closed']}/")
        assert_inert(page, dialogs, "raw link")
    finally:
        context.close()


def test_hostile_brief_is_inert_in_the_editor_preview_and_versions(browser, site):
    context, page, dialogs, _ = open_as(browser, site, "author@test.example")
    try:
        page.goto(f"{site['url']}/s/{site['slug']}/brief/report/")
        found = assert_inert(page, dialogs, "a fine link")
        assert "fine link" in found["text"]
        assert page.locator('a[href="https://example.org/report"]').count() >= 1, "safe links still work"
        # Typing more hostile text: the preview is re-rendered by the server and swapped in by script.
        with page.expect_response(lambda r: r.url.endswith("/preview")):
            page.locator("#brief-markdown").press("End")
            page.locator("#brief-markdown").type("\n\nTyped <img src=x onerror=alert('typed')> [x](javascript:alert(7))")
        page.wait_for_function("() => document.getElementById('brief-preview').innerText.includes('Typed')")
        assert_inert(page, dialogs, "Typed")
        page.goto(f"{site['url']}/s/{site['slug']}/brief/report/versions")
        assert_inert(page, dialogs, "v1")
    finally:
        context.close()


def test_hostile_note_is_inert_in_the_codebook_pages(browser, site):
    context, page, dialogs, _ = open_as(browser, site, "author@test.example")
    try:
        for path in ("/s/{slug}/codebook/", "/s/{slug}/codebook/heatmap"):
            response = page.goto(site["url"] + path.format(**site))
            assert response.status == 200, path
            page.wait_for_timeout(300)
            found = page.evaluate(INSPECT_DOM)
            assert dialogs == [] and found["scripts"] == [] and found["handlers"] == [] and found["badLinks"] == [], path
    finally:
        context.close()


@pytest.mark.parametrize(
    "email, path",
    [
        ("author@test.example", "/s/{slug}/codebook/"),
        ("note-taker@test.example", "/s/{slug}/sessions/{live}/"),
        ("viewer@test.example", "/s/{slug}/sessions/{closed}/"),
        ("author@test.example", "/s/{slug}/brief/report/"),
        ("viewer@test.example", "/s/{slug}/"),
    ],
)
def test_pages_work_under_the_csp_without_violations(browser, site, email, path):
    context, page, dialogs, console = open_as(browser, site, email, bypass_csp=False)
    try:
        page.goto(site["url"] + path.format(**site))
        page.wait_for_load_state("load")
        page.wait_for_timeout(500)
        violations = [m for m in console if "Content Security Policy" in m]
        assert violations == [], "\n".join(violations)
        assert dialogs == []
    finally:
        context.close()


def test_the_inspection_catches_an_unescaped_note(browser):
    """The checks above would fail if a page put note text into the DOM as HTML."""
    context = browser.new_context()
    page = context.new_page()
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    try:
        page.set_content(f"<html><body><p>{MALICIOUS_NOTE}</p></body></html>")
        with pytest.raises(AssertionError, match="dialog fired|script elements|event-handler"):
            assert_inert(page, dialogs, "raw link")
        found = page.evaluate(INSPECT_DOM)
        assert found["scripts"] and found["handlers"] and found["badLinks"]
    finally:
        context.close()
