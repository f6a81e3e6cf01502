"""Hardening: CSRF, cookies, CSP, rate limits, size limits, audit without note text, retention."""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import func, select

from conftest import PASSWORD, make_series, socket_as
from roundtable import create_app
from roundtable.errors import Conflict, RateLimited
from roundtable.models import AuditEvent, Brief, BriefVersion, KeptTerm, Note, NoteTag, Participant, Role, Session
from roundtable.services.audit import record_audit
from roundtable.services.retention import export_series_archive, purge_series_notes
from roundtable.services.accounts import create_account, grant_role
from roundtable.services.ratelimit import AccountRateLimiter
from roundtable.web.errors import CSP
from security_support import (
    add_note,
    build_world,
    dump_tables,
)

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
SECRET_NOTE = "Confidential remark about the shelter budget"


@pytest.fixture
def make_app(tmp_path):
    """An app with production-like settings (CSRF and rate limits on), a series and one account per role."""
    made = []

    def _make(**overrides):
        config = {
            "SECRET_KEY": "hardening-secret",
            "DATABASE_URL": f"sqlite:///{tmp_path / f'hard{len(made)}.sqlite'}",
            "INSTANCE_PATH": str(tmp_path / f"instance{len(made)}"),
            "RATELIMIT_STORAGE_URI": "memory://",
        }
        config.update(overrides)
        app = create_app(config)
        database = app.extensions["roundtable"].database
        database.upgrade()
        with database.session() as db:
            series = make_series(db)
            for role in Role:
                account = create_account(db, f"{role.value}@test.example", role.value, PASSWORD, is_admin=role is Role.ADMIN)
                if role is not Role.ADMIN:
                    grant_role(db, account, series, role)
        made.append(app)
        return app

    yield _make
    for app in made:
        app.extensions["roundtable"].database.dispose()


def csrf_token_from(page: str) -> str:
    return re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)


# --- CSRF ------------------------------------------------------------------


def test_form_without_csrf_token_is_refused_with_a_clear_message(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    response = client.post("/auth/login", data={"email": "viewer@test.example", "password": PASSWORD})
    assert response.status_code == 400
    assert "Reload the page and try again" in response.get_data(as_text=True)
    token = csrf_token_from(client.get("/auth/login").get_data(as_text=True))
    response = client.post("/auth/login", data={"email": "viewer@test.example", "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302


def test_script_requests_pass_csrf_with_the_header_from_the_meta_tag(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    token = csrf_token_from(client.get("/auth/login").get_data(as_text=True))
    client.post("/auth/login", data={"email": "viewer@test.example", "password": PASSWORD, "csrf_token": token})
    assert client.get("/").status_code == 200
    token = csrf_token_from(client.get("/").get_data(as_text=True))
    assert client.post("/auth/logout", headers={"X-CSRFToken": "wrong"}).status_code == 400
    assert client.get("/").status_code == 200, "still logged in after the forged request"
    assert client.post("/auth/logout", headers={"X-CSRFToken": token}).status_code == 302
    assert client.get("/").status_code == 302


def test_every_state_changing_route_refuses_a_request_without_csrf_token(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    token = csrf_token_from(client.get("/auth/login").get_data(as_text=True))
    client.post("/auth/login", data={"email": "admin@test.example", "password": PASSWORD, "csrf_token": token})
    before = dump_tables(app.extensions["roundtable"].database.engine)
    unprotected = []
    for rule in app.url_map.iter_rules():
        for method in rule.methods & {"POST", "PUT", "PATCH", "DELETE"}:
            args = {name: (1 if name != "slug" else "harbor-city") for name in rule.arguments}
            args = {k: ("x" if k == "token" else v) for k, v in args.items()}
            url = rule.build(args, append_unknown=False)[1]
            response = client.open(url, method=method, data={"anything": "1"})
            if response.status_code != 400 or "Reload the page" not in response.get_data(as_text=True):
                unprotected.append(f"{method} {url} -> {response.status_code}")
    assert unprotected == []
    assert dump_tables(app.extensions["roundtable"].database.engine) == before


# --- cookies and headers -----------------------------------------------------


def test_session_cookie_is_httponly_samesite_and_secure_when_configured(make_app):
    app = make_app(WTF_CSRF_ENABLED=False, SESSION_COOKIE_SECURE=True)
    response = app.test_client().post("/auth/login", data={"email": "viewer@test.example", "password": PASSWORD})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" in cookie


def test_every_page_sends_a_content_security_policy_without_inline_script(client, login, series):
    assert "'unsafe-inline'" not in CSP and "'unsafe-eval'" not in CSP
    login(Role.FACILITATOR)
    for url in ("/auth/login", "/", f"/s/{series.slug}/", f"/s/{series.slug}/members", "/no-such-page"):
        response = client.get(url)
        assert response.headers["Content-Security-Policy"] == CSP, url
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["X-Content-Type-Options"] == "nosniff"


INLINE_PATTERNS = {
    "inline <script> (give it a src= in static/js/)": re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I),
    "style= attribute (use a class in static/css/)": re.compile(r"<[^>]+\sstyle\s*=", re.I),
    "<style> element": re.compile(r"<style[\s>]", re.I),
    "on...= event handler attribute": re.compile(r"<[^>]+\son[a-z]+\s*=", re.I),
    "javascript: URL": re.compile(r"javascript:", re.I),
}
# Templates rendered for print or download, never served under the page CSP.
NOT_SERVED_AS_PAGES = {"brief/brief.html", "brief/report.html", "brief/_head.html", "brief/_cover.html", "brief/_toc.html"}


def test_templates_use_no_inline_script_or_style_the_csp_would_block():
    offenders = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        name = path.relative_to(TEMPLATES).as_posix()
        text = path.read_text(encoding="utf-8")
        for what, pattern in INLINE_PATTERNS.items():
            if what.startswith(("<style>", "style=")) and name in NOT_SERVED_AS_PAGES:
                continue
            for match in pattern.finditer(text):
                line = text.count("\n", 0, match.start()) + 1
                offenders.append(f"templates/{name}:{line}: {what}")
    assert offenders == [], "\n".join(offenders)


def test_socket_connection_from_another_site_is_refused(client):
    handshake = "/socket.io/?EIO=4&transport=polling"
    assert client.get(handshake, headers={"Origin": "http://localhost"}).status_code == 200
    assert client.get(handshake, headers={"Origin": "https://evil.example"}).status_code == 400


# --- rate limits -------------------------------------------------------------


def test_repeated_login_attempts_for_one_email_get_429_with_a_message(make_app):
    app = make_app(WTF_CSRF_ENABLED=False, RATELIMIT_ENABLED=True)
    client = app.test_client()
    statuses = [
        client.post("/auth/login", data={"email": "viewer@test.example", "password": "wrong guess"}).status_code
        for _ in range(11)
    ]
    assert statuses[:10] == [401] * 10
    assert statuses[10] == 429
    response = client.post("/auth/login", data={"email": "viewer@test.example", "password": PASSWORD})
    assert response.status_code == 429
    assert "Too many attempts" in response.get_data(as_text=True)
    assert response.headers["Retry-After"]
    # Colleagues at the same venue (same address) still log in.
    other = client.post("/auth/login", data={"email": "author@test.example", "password": PASSWORD})
    assert other.status_code == 302


def test_invite_links_are_rate_limited(make_app):
    app = make_app(WTF_CSRF_ENABLED=False, RATELIMIT_ENABLED=True)
    client = app.test_client()
    statuses = [client.get(f"/auth/invite/guess-{n}").status_code for n in range(31)]
    assert statuses[:30] == [404] * 30
    assert statuses[30] == 429


def test_account_rate_limit_counts_each_account_separately():
    limiter = AccountRateLimiter("memory://")
    for _ in range(5):
        limiter.hit(1, "note", 5)
    with pytest.raises(RateLimited, match="at most 5 per 1 second per account"):
        limiter.hit(1, "note", 5)
    limiter.hit(2, "note", 5)  # a colleague on the same network is not affected
    limiter.hit(1, "export", "3/minute")  # another action has its own budget


def test_account_rate_limit_uses_redis_when_configured():
    import os

    from conftest import require_service

    url = os.environ.get("ROUNDTABLE_TEST_REDIS_URL")
    require_service("Redis", bool(url), "set ROUNDTABLE_TEST_REDIS_URL")
    first, second = AccountRateLimiter(url), AccountRateLimiter(url)  # two server processes
    key = f"redis-test-{os.getpid()}"
    assert all(first.allow(key, "note", 4) for _ in range(2))
    assert all(second.allow(key, "note", 4) for _ in range(2))
    assert not first.allow(key, "note", 4)


def test_account_rate_limiter_follows_the_app_storage():
    assert AccountRateLimiter.from_config({"RATELIMIT_STORAGE_URI": "memory://"}).storage_uri == "memory://"
    redis = AccountRateLimiter.from_config({"RATELIMIT_STORAGE_URI": "memory://", "REDIS_URL": "redis://localhost:1/0"})
    assert redis.storage_uri == "redis://localhost:1/0"


# --- size limits -------------------------------------------------------------


def test_too_large_upload_gets_a_clear_413_page(make_app):
    app = make_app(WTF_CSRF_ENABLED=False, MAX_UPLOAD_BYTES=1024 * 1024)
    client = app.test_client()
    big = {"email": "x", "password": "y" * (1024 * 1024 + 10)}
    response = client.post("/auth/login", data=big)
    assert response.status_code == 413
    assert "files may be at most 1 MB" in response.get_data(as_text=True)
    response = client.post("/auth/login", data=big, headers={"Accept": "application/json"})
    assert response.status_code == 413 and "at most 1 MB" in response.get_json()["error"]


def test_too_large_roster_file_gets_a_clear_413_page(make_app):
    # Kept under the size at which the form parser spools to a temporary file.
    app = make_app(WTF_CSRF_ENABLED=False, MAX_UPLOAD_BYTES=100 * 1024)
    client = app.test_client()
    client.post("/auth/login", data={"email": "facilitator@test.example", "password": PASSWORD})
    roster = io.BytesIO(b"name,role\n" + b"A Person,participant\n" * 10000)
    response = client.post("/s/harbor-city/roster/upload", data={"file": (roster, "roster.csv")})
    assert response.status_code == 413
    assert "files may be at most 100 KB" in response.get_data(as_text=True)


# --- audit -------------------------------------------------------------------


def test_audit_log_refuses_note_text_and_long_strings(db, series):
    with pytest.raises(ValueError, match="never holds note text"):
        record_audit(db, None, series, "note.delete", {"text": "anything"})
    with pytest.raises(ValueError, match="too long"):
        record_audit(db, None, series, "note.delete", {"reason": "x" * 500})
    with pytest.raises(ValueError, match="plain value"):
        record_audit(db, None, series, "note.delete", {"ids": [1, 2]})


def test_sensitive_actions_are_audited_without_note_text(client, login, db, series, accounts, tmp_path):
    build_world(db, series, accounts)
    meeting = db.scalar(select(Session).where(Session.series_id == series.id, Session.number == 1))
    add_note(db, meeting, SECRET_NOTE)
    db.commit()
    login(Role.ADMIN)
    client.post(f"/s/{series.slug}/members/{accounts[Role.VIEWER].id}/role", data={"role": "author"})
    assert client.post(f"/s/{series.slug}/retention/export").status_code == 200
    client.post(f"/s/{series.slug}/retention/purge", data={"confirm": series.slug})
    events = db.scalars(select(AuditEvent).where(AuditEvent.series_id == series.id)).all()
    actions = {e.action for e in events}
    assert {"role.change", "series.export", "series.purge", "invite.create"} <= actions
    logged = json.dumps([e.detail for e in events]) + " ".join(e.action for e in events)
    assert SECRET_NOTE not in logged and "shelter" not in logged
    assert all(e.account_id == accounts[Role.ADMIN].id for e in events if e.action.startswith("series."))


# --- retention ---------------------------------------------------------------


def test_purge_deletes_notes_and_tags_and_keeps_the_brief(db, series, accounts):
    build_world(db, series, accounts)
    db.add(KeptTerm(series_id=series.id, term="Berlin"))
    db.commit()
    result = purge_series_notes(db, series, accounts[Role.ADMIN])
    db.commit()
    assert result.notes == 1 and result.tags == 1 and result.kept_terms == 1
    assert db.scalar(select(func.count(Note.id))) == 0
    assert db.scalar(select(func.count(NoteTag.id))) == 0
    brief = db.scalar(select(Brief).where(Brief.series_id == series.id))
    assert "Kept after purge" in brief.markdown
    assert db.scalar(select(func.count(BriefVersion.id))) == 1
    assert db.scalar(select(func.count(Participant.id)).where(Participant.series_id == series.id)) == 3
    assert series.purged_at is not None


def test_purge_is_refused_until_a_brief_version_is_saved(db, series, accounts):
    meeting = db.scalar(select(Session).where(Session.series_id == series.id, Session.number == 1))
    add_note(db, meeting, "a note")
    db.commit()
    with pytest.raises(Conflict, match="save a version of the brief"):
        purge_series_notes(db, series, accounts[Role.ADMIN])
    assert db.scalar(select(func.count(Note.id))) == 1


def test_purge_button_needs_the_typed_short_name_and_can_remove_the_roster(client, login, db, series, accounts):
    build_world(db, series, accounts)
    login(Role.ADMIN)
    page = client.get(f"/s/{series.slug}/retention").get_data(as_text=True)
    assert "Purge notes" in page and "all 1 note of the series" in page
    refused = client.post(f"/s/{series.slug}/retention/purge", data={"confirm": "yes"})
    assert refused.status_code == 400 and "to confirm the purge" in refused.get_data(as_text=True)
    assert db.scalar(select(func.count(Note.id))) == 1
    done = client.post(f"/s/{series.slug}/retention/purge", data={"confirm": series.slug, "include_roster": "yes"})
    assert done.status_code == 302
    assert db.scalar(select(func.count(Note.id))) == 0
    assert db.scalar(select(func.count(Participant.id)).where(Participant.series_id == series.id)) == 0
    assert db.scalar(select(func.count(Brief.id))) == 1


def test_facilitator_cannot_export_or_purge(client, login, db, series, accounts):
    build_world(db, series, accounts)
    login(Role.FACILITATOR)
    assert client.post(f"/s/{series.slug}/retention/export").status_code == 403
    assert client.post(f"/s/{series.slug}/retention/purge", data={"confirm": series.slug}).status_code == 403
    assert db.scalar(select(func.count(Note.id))) == 1


def test_export_archive_holds_the_bundle_the_briefs_and_every_row(db, series, accounts, tmp_path):
    build_world(db, series, accounts)
    path = export_series_archive(db, series, tmp_path / "archive", actor=accounts[Role.ADMIN])
    with zipfile.ZipFile(path) as archive:
        names = {Path(n).relative_to(Path(n).parts[0]).as_posix() for n in archive.namelist()}
        full = json.loads(archive.read(next(n for n in archive.namelist() if n.endswith("full.json"))))
    assert {"series.yaml", "roster.csv", "sessions.yaml", "codebook.yaml", "notes.jsonl"} <= names
    assert {"briefs/report.md", "briefs/report.v1.md", "full.json"} <= names
    assert len(full["notes"]) == 1 and len(full["note_tags"]) == 1 and len(full["brief_versions"]) == 1


def test_purge_command_writes_the_archive_first_then_purges(runner, db, series, accounts, tmp_path):
    build_world(db, series, accounts)
    refused = runner.invoke(["series", "purge", series.slug, "--yes"])
    assert refused.exit_code == 2 and "--archive" in refused.output
    result = runner.invoke(["series", "purge", series.slug, "--archive", str(tmp_path / "keep"), "--yes"])
    assert result.exit_code == 0, result.output
    assert "Purged 1 note," in result.output
    assert len(list((tmp_path / "keep").glob("harbor-city-*.zip"))) == 1
    db.expire_all()
    assert db.scalar(select(func.count(Note.id))) == 0
    assert db.scalar(select(func.count(Brief.id))) == 1


def test_closing_a_session_deleting_a_note_and_exporting_a_brief_are_audited(app, client, login, db, series, accounts):
    world = build_world(db, series, accounts)
    brief = db.scalar(select(Brief).where(Brief.series_id == series.id))
    brief.markdown = "# Brief\n\nNothing identifying here.\n"
    db.commit()
    note = db.scalar(select(Note))
    facilitator = login(Role.FACILITATOR)

    socket = app.extensions["socketio"].test_client(app, flask_test_client=client)
    reply = socket.emit("note:delete", {"session_id": world.values["session_id"], "note_id": note.id,
                                        "version": note.version}, callback=True)
    assert reply.get("ok"), reply
    socket.disconnect()
    assert client.post(f"/s/{series.slug}/sessions/1/close").status_code == 302
    exported = client.post(f"/s/{series.slug}/brief/report/export/md")

    events = db.scalars(select(AuditEvent).where(AuditEvent.series_id == series.id).order_by(AuditEvent.id)).all()
    logged = {e.action: e for e in events}
    assert logged["note.delete"].detail == {"session_id": world.values["session_id"], "note_id": note.id, "version": 1}
    assert logged["session.close"].detail == {"number": 1}
    assert logged["session.close"].account_id == facilitator.id
    if exported.status_code == 200:
        assert logged["brief.export"].detail == {"template": "report", "fmt": "md"}
    else:
        assert "brief.export" not in logged, "a refused export is not logged as one"
    assert "funding is at risk" not in json.dumps([e.detail for e in events])


def test_rate_limits_are_shared_through_redis_when_configured(tmp_path):
    import os

    from conftest import require_service

    url = os.environ.get("ROUNDTABLE_TEST_REDIS_URL")
    require_service("Redis", bool(url), "set ROUNDTABLE_TEST_REDIS_URL")
    app = create_app({"SECRET_KEY": "x", "INSTANCE_PATH": str(tmp_path), "REDIS_URL": url,
                      "DATABASE_URL": f"sqlite:///{tmp_path / 'r.sqlite'}"})
    assert app.config["RATELIMIT_STORAGE_URI"] == url
    assert app.extensions["roundtable_account_limiter"].storage_uri == url
    app.extensions["roundtable"].database.dispose()


def _live_session_id(app) -> int:
    with app.extensions["roundtable"].database.session() as db:
        return db.scalar(select(Session.id).where(Session.number == 1))


def test_notes_per_second_are_limited_per_account_not_per_network(make_app):
    import uuid

    app = make_app(WTF_CSRF_ENABLED=False, RATELIMIT_ENABLED=True, NOTES_PER_SECOND_PER_ACCOUNT=3)
    session_id = _live_session_id(app)
    first, second = socket_as(app, "note-taker@test.example"), socket_as(app, "author@test.example")

    def add(client, text="a point"):
        return client.emit("note:add", {"session_id": session_id, "uuid": str(uuid.uuid4()), "text": text},
                           callback=True)

    # Attempts count, valid or not; empty notes are refused fast, so the burst fits in one second.
    burst = [add(first, text="") for _ in range(3)] + [add(first)]
    assert [r["code"] for r in burst[:3]] == [400, 400, 400]
    assert burst[3]["code"] == 429 and "per account" in burst[3]["error"]
    errors = [m["args"][0] for m in first.get_received() if m["name"] == "error"]
    assert errors and errors[-1]["code"] == 429
    assert add(second).get("ok"), "a colleague on the same network still writes"
    with app.extensions["roundtable"].database.session() as db:
        assert db.scalar(select(func.count(Note.id))) == 1


def test_overlong_note_is_refused_with_a_clear_error_and_not_saved(make_app):
    import uuid

    app = make_app(WTF_CSRF_ENABLED=False, MAX_NOTE_LENGTH=100)
    client = socket_as(app, "note-taker@test.example")
    reply = client.emit("note:add", {"session_id": _live_session_id(app), "uuid": str(uuid.uuid4()), "text": "x" * 101},
                        callback=True)
    assert reply["code"] == 400 and "100" in reply["error"]
    with app.extensions["roundtable"].database.session() as db:
        assert db.scalar(select(func.count(Note.id))) == 0


def test_tag_events_are_rate_limited_per_account(make_app):
    app = make_app(WTF_CSRF_ENABLED=False, RATELIMIT_ENABLED=True, TAGS_PER_SECOND_PER_ACCOUNT=3)
    session_id = _live_session_id(app)
    client = socket_as(app, "note-taker@test.example")
    replies = [client.emit("tag:add", {"session_id": session_id, "note_id": 2**31 - 1, "theme_id": 1}, callback=True)
               for _ in range(4)]
    assert [r["code"] for r in replies[:3]] == [400, 400, 400]
    assert replies[3]["code"] == 429


def test_brief_exports_are_rate_limited_per_account(make_app):
    app = make_app(WTF_CSRF_ENABLED=False, RATELIMIT_ENABLED=True, EXPORT_RATE_LIMIT="3 per minute")
    client = app.test_client()
    assert client.post("/auth/login", data={"email": "author@test.example", "password": PASSWORD}).status_code == 302
    codes = [client.post("/s/harbor-city/brief/report/jobs", data={"format": "bogus"}).status_code for _ in range(4)]
    codes += [client.post("/s/harbor-city/brief/report/export/bogus").status_code]
    assert codes[:3] != [429] * 3 and codes[3] == 429 and codes[4] == 429
