"""Helpers shared by the security tests: a populated world, table dumps, snapshots, logged-in clients."""

from __future__ import annotations

import sqlite3
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone

from sqlalchemy import select, text
from werkzeug.routing import IntegerConverter

from conftest import PASSWORD, make_series
from roundtable.models import (
    Base,
    Brief,
    BriefVersion,
    Note,
    NoteTag,
    Participant,
    Resource,
    Role,
    Session,
    Theme,
)
from roundtable.services.invites import create_invite
from roundtable.services.accounts import grant_role

IDENTITIES = ("anonymous", "outsider", *Role)



MALICIOUS_NOTE = (
    'Ends <script>alert("note")</script> then <img src=x onerror="alert(1)"> and '
    '[click me](javascript:alert(2)) and <a href="javascript:alert(3)">raw link</a> '
    "<svg onload=alert(4)></svg>"
)


def identity_name(who) -> str:
    return who.value if isinstance(who, Role) else who


def add_note(db, meeting: Session, text_value: str, author=None) -> Note:
    meeting.last_seq += 1
    note = Note(
        session_id=meeting.id,
        seq=meeting.last_seq,
        uuid=str(uuid.uuid4()),
        text=text_value,
        author_id=author.id if author else None,
    )
    db.add(note)
    db.flush()
    return note


@dataclass
class World:
    """Real rows for every kind of URL argument, in the test series and in a second series."""

    series: object
    other: object
    values: dict = field(default_factory=dict)


def build_world(db, series, accounts) -> World:
    """Give ``series`` a note, a tag, a resource, a brief with a version and an invite; the outsider gets its own series."""
    other = make_series(db, slug="other-series")
    grant_role(db, accounts["outsider"], other, Role.FACILITATOR)
    meeting = db.scalar(select(Session).where(Session.series_id == series.id, Session.number == 1))
    note = add_note(db, meeting, "The city attorney said funding is at risk.", accounts[Role.NOTE_TAKER])
    theme = db.scalar(select(Theme).where(Theme.series_id == series.id).order_by(Theme.id))
    db.add(NoteTag(note_id=note.id, theme_id=theme.id))
    db.add(Resource(series_id=series.id, url="https://example.org/guide", title="Guide", first_note_id=note.id))
    brief = Brief(series_id=series.id, template="report", markdown="# Brief\n\nKept after purge.\n")
    db.add(brief)
    db.flush()
    version = BriefVersion(brief_id=brief.id, number=1, markdown=brief.markdown, label="first")
    db.add(version)
    invite = create_invite(db, accounts[Role.FACILITATOR], series, Role.VIEWER)
    participant = db.scalar(select(Participant).where(Participant.series_id == series.id).order_by(Participant.id))
    db.commit()
    values = {
        "slug": series.slug,
        "series": series.slug,
        "number": 1,
        "session_number": 1,
        "session": 1,
        "session_id": meeting.id,
        "meeting_id": meeting.id,
        "note_id": note.id,
        "uuid": note.uuid,
        "note_uuid": note.uuid,
        "theme_id": theme.id,
        "tag_id": note.tags[0].id if note.tags else 1,
        "account_id": accounts[Role.VIEWER].id,
        "member_id": accounts[Role.VIEWER].id,
        "invite_id": invite.invite.id,
        "token": "not-a-real-token",
        "brief_id": brief.id,
        "template": "report",
        "version": 1,
        "version_id": version.id,
        "participant_id": participant.id,
        "resource_id": db.scalar(select(Resource.id).where(Resource.series_id == series.id)),
        "filename": "css/app.css",
        "format": "html",
        "exporter": "html",
        "fmt": "html",
    }
    return World(series=series, other=other, values=values)


def build_url(rule, values: dict) -> str:
    """``rule`` with every argument filled from ``values`` (by name), else 1 for numbers and "x" for text."""
    args = {}
    for name in rule.arguments:
        if name in values:
            args[name] = values[name]
        elif isinstance(rule._converters.get(name), IntegerConverter):
            args[name] = 1
        else:
            args[name] = "x"
    return rule.build(args, append_unknown=False)[1]


def dump_tables(engine) -> dict:
    """Every row of every table, in a stable order, to compare a database before and after."""
    out = {}
    with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            order = ", ".join(c.name for c in table.primary_key.columns) or "1"
            out[table.name] = [tuple(row) for row in conn.execute(text(f"SELECT * FROM {table.name} ORDER BY {order}"))]
    return out


class Snapshot:
    """A copy of a SQLite database file, put back in milliseconds with the backup API."""

    def __init__(self, database):
        self.database = database
        self.path = database.engine.url.database
        self.copy = sqlite3.connect(":memory:", check_same_thread=False)
        database.engine.dispose()
        with sqlite3.connect(self.path) as live:
            live.backup(self.copy)

    def restore(self) -> None:
        self.database.engine.dispose()
        live = sqlite3.connect(self.path)
        try:
            self.copy.backup(live)
        finally:
            live.close()

    def close(self) -> None:
        self.copy.close()


class SignedInClients:
    """One logged-in test client per identity; cookies are put back before each use,
    so a logout or password change in one call does not leak into the next."""

    def __init__(self, app, accounts):
        self.app = app
        self.cookies = {}
        for who in IDENTITIES:
            if who == "anonymous":
                continue
            client = app.test_client()
            response = client.post("/auth/login", data={"email": accounts[who].email, "password": PASSWORD})
            assert response.status_code == 302, f"{who} could not log in"
            self.cookies[who] = client.get_cookie("session").value

    def client(self, who):
        client = self.app.test_client()
        if who != "anonymous":
            client.set_cookie("session", self.cookies[who])
        return client


def is_login_redirect(response) -> bool:
    return response.status_code in (301, 302, 303) and "/auth/login" in response.headers.get("Location", "")


def now() -> datetime:
    return datetime.now(timezone.utc)


SOCKET_LIFECYCLE_EVENTS = {"connect", "disconnect"}


def socket_events(app):
    """(namespace, event, handler) for every event the app's Socket.IO server handles."""
    server = app.extensions["socketio"].server
    found = []
    for namespace, handlers in server.handlers.items():
        for event, handler in handlers.items():
            found.append((namespace, event, handler))
    for namespace, handler_object in server.namespace_handlers.items():
        for name in dir(handler_object):
            if name.startswith("on_"):
                found.append((namespace, name[3:], getattr(handler_object, name)))
    return found
