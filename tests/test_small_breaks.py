"""Issue 12, section 7: the smaller breaks, each as what a user can rely on."""

from __future__ import annotations

import re
import uuid
import xml.etree.ElementTree as ET

import pytest
from sqlalchemy import func, select

from roundtable.extensions import socketio
from roundtable.models import Note, Role, Theme


def _socket(app, client, session_id):
    sock = socketio.test_client(app, flask_test_client=client)
    assert sock.is_connected()
    return sock


def test_the_heatmap_svg_escapes_quotes_in_theme_names(client, login, db, series):
    from roundtable.services.heatmap import heatmap_svg, theme_session_counts

    theme = db.scalar(select(Theme).where(Theme.series_id == series.id, Theme.name == "Legal defense"))
    theme.name = 'Legal" onmouseover="alert(1)\' x=\'<b>&amp;\x07'
    db.commit()
    svg = heatmap_svg(theme_session_counts(db, series))
    root = ET.fromstring(svg)  # well-formed XML, whatever the name
    for element in root.iter():
        assert not any(name.startswith("onmouseover") or name == "x'" for name in element.attrib)
    themes = [el.attrib["data-theme"] for el in root.iter() if "data-theme" in el.attrib]
    assert 'Legal" onmouseover="alert(1)\' x=\'<b>&amp;' in themes


def _as_a_browser_reads_it(location: str):
    """Browsers drop tabs and newlines from URLs and read a backslash as a slash (WHATWG URL)."""
    from urllib.parse import urlsplit

    cleaned = re.sub(r"[\t\n\r]", "", location).strip("".join(map(chr, range(33)))).replace("\\", "/")
    return urlsplit(cleaned)


@pytest.mark.parametrize("raw", ["/%09/evil.example", "/%0a/x", "/%0d%0a/evil.example", "//evil.example",
                                 "/%5Cevil.example", "%5C%5Cevil.example", "https://evil.example/",
                                 "/%2F%2Fevil.example", "%2F%2Fevil.example", "/%00x", "%20//evil.example",
                                 "/%E2%80%8B/evil.example", "javascript:alert(1)"])
def test_login_never_redirects_off_site(client, accounts, raw):
    response = client.post(f"/auth/login?next={raw}",
                           data={"email": "viewer@test.example", "password": "correct horse battery"})
    assert response.status_code == 302
    seen = _as_a_browser_reads_it(response.headers["Location"])
    assert seen.scheme == "" and seen.netloc == "" and seen.path.startswith("/")


def test_login_keeps_a_local_next_page(client, accounts, series):
    response = client.post("/auth/login", query_string={"next": f"/s/{series.slug}/?tab=notes"},
                           data={"email": "viewer@test.example", "password": "correct horse battery"})
    assert response.headers["Location"] == f"/s/{series.slug}/?tab=notes"


def test_a_note_with_an_unknown_theme_is_not_stored(app, client, login, db, series):
    login(Role.NOTE_TAKER)
    meeting = series.sessions[0]
    sock = _socket(app, client, meeting.id)
    before = db.scalar(select(func.count()).select_from(Note))
    reply = sock.emit("note:add", {"session_id": meeting.id, "uuid": str(uuid.uuid4()), "text": "a point",
                                   "themes": [2**31 - 1]}, callback=True)
    assert reply["code"] == 404
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(Note)) == before
    assert not [m for m in sock.get_received() if m["name"] == "note:added"]


def test_editing_a_deleted_note_does_not_return_its_text(app, client, login, db, series):
    login(Role.NOTE_TAKER)
    meeting = series.sessions[0]
    sock = _socket(app, client, meeting.id)
    added = sock.emit("note:add", {"session_id": meeting.id, "uuid": str(uuid.uuid4()),
                                   "text": "the budget fell by a third"}, callback=True)
    note = added["note"]
    deleted = sock.emit("note:delete", {"session_id": meeting.id, "note_id": note["id"], "version": note["version"]},
                        callback=True)
    assert deleted["ok"]
    reply = sock.emit("note:edit", {"session_id": meeting.id, "note_id": note["id"], "version": note["version"],
                                    "text": "changed"}, callback=True)
    assert reply["code"] == 409 and reply["current"]["deleted"]
    assert "budget" not in str(reply)
    assert all("budget" not in str(m) for m in sock.get_received() if m["name"] == "error")


def test_a_failing_write_under_concurrency_logs_no_roster_name(database, series, caplog):
    """Two writers race for one note uuid; the loser's error (as the server would log it) names nobody."""
    import logging
    import threading

    from sqlalchemy.exc import SQLAlchemyError

    session_id = series.sessions[0].id
    note_uuid = str(uuid.uuid4())
    failures = []
    barrier = threading.Barrier(4)

    def write(n):
        db = database.sessionmaker()
        try:
            db.add(Note(session_id=session_id, seq=1000 + n, uuid=note_uuid, text=f"María Núñez said {n}",
                        kind="point", speaker_role="Hope van der Berg"))
            barrier.wait()
            db.commit()
        except SQLAlchemyError as exc:
            db.rollback()
            failures.append(exc)
            logging.getLogger("roundtable.test").exception("write failed")
        finally:
            db.close()

    with caplog.at_level(logging.DEBUG):
        threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert failures
    logged = caplog.text + " ".join(str(exc) for exc in failures)
    assert "Núñez" not in logged and "van der Berg" not in logged


HUGE = 10**23


@pytest.mark.parametrize("path", [f"/s/harbor-city/sessions/{HUGE}/", f"/s/harbor-city/sessions/{2**63}/",
                                  f"/s/harbor-city/sessions/{2**31}/"])
def test_huge_ids_in_urls_are_not_found(client, login, series, path):
    login(Role.ADMIN)
    assert client.get(path).status_code == 404


def test_huge_ids_in_form_urls_and_numbers_are_clear_errors(client, login, series):
    login(Role.ADMIN)
    assert client.post(f"/s/harbor-city/members/{HUGE}/remove").status_code == 404
    response = client.post("/s/harbor-city/sessions", data={"number": str(HUGE), "title": "x"})
    assert response.status_code < 500


@pytest.mark.parametrize("parsed", [
    '[{"line": 1e999, "text": "a point"}]',
    '[{"line": 1, "text": "a point", "speaker": 5}]',
    '[{"line": 1, "text": "a point", "theme": ["x"]}]',
    '[{"line": 1, "text": 7}]',
    '[{"line": 1, "text": "a \\ud800 point"}]',
    '[1]',
    '{"line": 1}',
])
def test_a_damaged_import_form_is_a_clear_error(client, login, series, parsed):
    login(Role.NOTE_TAKER)
    response = client.post("/s/harbor-city/sessions/1/import", data={"confirm": "yes", "parsed": parsed})
    assert 400 <= response.status_code < 500
    assert "damaged" in response.get_data(as_text=True) or "line 1" in response.get_data(as_text=True)


def test_a_lone_surrogate_in_a_note_gets_an_error_and_the_handler_survives(app, client, login, db, series):
    login(Role.NOTE_TAKER)
    meeting = series.sessions[0]
    sock = _socket(app, client, meeting.id)
    for text in ("half an emoji \ud83d", "\udc00 reversed", "speaker: \ud800"):
        reply = sock.emit("note:add", {"session_id": meeting.id, "uuid": str(uuid.uuid4()), "text": text},
                          callback=True)
        assert reply["code"] == 400 and "character" in reply["error"]
    reply = sock.emit("note:add", {"session_id": meeting.id, "uuid": str(uuid.uuid4()), "text": "still works 🙂"},
                      callback=True)
    assert reply["ok"] and reply["note"]["text"] == "still works 🙂"


def _sqlite_bytes(path) -> bytes:
    from pathlib import Path

    return b"".join(p.read_bytes() for p in Path(path).parent.glob(Path(path).name + "*"))


@pytest.mark.parametrize("how", ["web", "cli"])
def test_purged_note_text_is_gone_from_the_sqlite_file_and_its_wal(app, client, login, runner, db, series, accounts,
                                                                     database, how):
    from security_support import add_note, build_world

    if database.engine.dialect.name != "sqlite":
        pytest.skip("the file-level check is for SQLite; docs/security.md gives PostgreSQL's equivalent")
    build_world(db, series, accounts)
    meeting = series.sessions[0]
    secret = "Quokka-shaped budget of 7391 tenants"
    for n in range(30):
        add_note(db, meeting, f"{secret} #{n}", accounts[Role.NOTE_TAKER])
    db.commit()
    path = database.engine.url.database
    assert secret.encode() in _sqlite_bytes(path)
    db.close()  # a reader left open would hold the old pages in the WAL
    if how == "web":
        login(Role.ADMIN)
        assert client.post(f"/s/{series.slug}/retention/purge", data={"confirm": series.slug}).status_code == 302
    else:
        result = runner.invoke(["series", "purge", series.slug, "--no-archive", "--yes"])
        assert result.exit_code == 0, result.output
    db.close()
    assert secret.encode() not in _sqlite_bytes(path)
    assert b"Quokka" not in _sqlite_bytes(path)


def test_remote_images_never_reach_an_export():
    from roundtable.services.render import render_markdown, render_standalone_html

    markdown = ("# Findings\n\n![pixel](https://tracker.example/p.gif?u=1) and ![x](//tracker.example/q.png) "
                "![local](file:///etc/passwd) ![ok](data:image/png;base64,iVBORw0KGgo=)\n")
    for html in (render_markdown(markdown).html, render_standalone_html(markdown)):
        sources = re.findall(r"""(?:src|href|srcset|poster|data)\s*=\s*["']?([^"'\s>]+)""", html)
        assert "data:image/png;base64,iVBORw0KGgo=" in sources
        assert not [s for s in sources if "tracker" in s or s.startswith("file:")]
        assert "pixel" in html  # the image's text stays


def test_the_pdf_fetcher_refuses_remote_and_file_urls():
    from roundtable.services.render import safe_url_fetcher

    for url in ("https://tracker.example/p.gif", "file:///etc/passwd", "http://127.0.0.1/x", " FILE:///etc/hosts"):
        with pytest.raises(ValueError):
            safe_url_fetcher().fetch(url)


@pytest.mark.parametrize("who, path", [
    (Role.VIEWER, "/s/harbor-city/"),
    (Role.VIEWER, "/s/harbor-city/sessions/1/"),
    (Role.VIEWER, "/s/harbor-city/sessions/2/"),
    (Role.VIEWER, "/s/harbor-city/sessions/1/notes.md"),
    (Role.AUTHOR, "/s/harbor-city/brief/"),
    (Role.FACILITATOR, "/s/harbor-city/roster"),
    (Role.FACILITATOR, "/s/harbor-city/codebook/heatmap.svg"),
])
def test_pages_with_notes_names_or_briefs_are_never_cached(client, login, series, who, path):
    login(who)
    response = client.get(path, follow_redirects=True)
    assert response.status_code == 200, path
    assert "no-store" in response.headers.get("Cache-Control", "")


@pytest.mark.parametrize("guessable", ["password123", "qwertyuiop1", "Password1!", "aaaaaaaaaaaa",
                                       "viewer@test.example", "Test viewer2026"])
def test_a_guessable_password_is_refused_with_a_clear_message(client, login, guessable):
    login(Role.VIEWER)
    response = client.post("/auth/password", data={"current_password": "correct horse battery",
                                                   "new_password": guessable, "confirm_password": guessable})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "too easy to guess" in page


def test_a_passphrase_is_accepted(client, login):
    login(Role.VIEWER)
    response = client.post("/auth/password", data={"current_password": "correct horse battery",
                                                   "new_password": "a fresh 9 lantern quilt",
                                                   "confirm_password": "a fresh 9 lantern quilt"})
    assert response.status_code == 302


@pytest.mark.parametrize("value", [str(HUGE), "²", "٣", "-1", "0", " 7 "])
def test_id_lists_in_forms_take_only_database_ids(client, login, db, series, value):
    login(Role.ADMIN)
    theme = db.scalar(select(Theme).where(Theme.series_id == series.id).order_by(Theme.id))
    responses = [
        client.post(f"/s/harbor-city/codebook/themes/{theme.id}/split", data={"name": "New", "note_id": value}),
        client.post("/s/harbor-city/emergent/adopt", data={"name": "New", "note_ids": f"{value},1"}),
    ]
    assert all(r.status_code < 500 for r in responses), [r.status_code for r in responses]
