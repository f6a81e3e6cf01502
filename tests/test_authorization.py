"""The authorization matrix: every route and every socket event, called as every kind of visitor.

Routes come from the app's URL map and events from the Socket.IO server, so a
route or event added later without an access check makes these tests fail.
What each visitor should get is read from the marker the access decorators
put on every view (``roundtable.web.authorization.ACCESS_ATTR``):

- ``public``: anyone, never a server error;
- ``login``: anonymous visitors are sent to the login page;
- ``admin``: site administrators only (others: 403);
- ``series:<role>``: members of the series with at least that role; a member of
  another series gets 404 (the series' existence is not revealed), a weaker
  role 403, an anonymous visitor the login page.

A refused call never changes the database.
"""

from __future__ import annotations

import re

import pytest

from roundtable.models import Role
from roundtable.services.accounts import ROLE_RANK
from roundtable.web.authorization import ACCESS_ATTR, SOCKET_HANDLERS
from security_support import (
    IDENTITIES,
    SignedInClients,
    Snapshot,
    build_url,
    build_world,
    dump_tables,
    identity_name,
    is_login_redirect,
    socket_events,
    SOCKET_LIFECYCLE_EVENTS,
)

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


@pytest.fixture
def database_url(tmp_path):
    """The matrix is about access, not the database engine: SQLite, restored between routes."""
    return f"sqlite:///{tmp_path / 'authz.sqlite'}"


@pytest.fixture
def world(db, series, accounts):
    return build_world(db, series, accounts)


def expected(marker: str, who) -> str:
    """``allow``, ``login``, ``forbidden`` or ``hidden`` for a visitor and a view's marker."""
    if marker == "public":
        return "allow"
    if who == "anonymous":
        return "login"
    if marker == "login":
        return "allow"
    if marker == "admin":
        return "allow" if who is Role.ADMIN else "forbidden"
    if marker.startswith("series:"):
        minimum = Role(marker.split(":", 1)[1])
        if who == "outsider":
            return "hidden"
        return "allow" if ROLE_RANK[who] >= ROLE_RANK[minimum] else "forbidden"
    raise AssertionError(f"unknown access marker {marker!r}")


def _is_static(app, endpoint: str) -> bool:
    """Flask's own static-file views (the app's and blueprints'): public files only."""
    return endpoint == "static" or endpoint.endswith(".static")


class Crashed:
    """Stands for the response of a request that raised (the test app propagates exceptions)."""

    status_code = 599
    headers: dict = {}

    def __init__(self, exc: BaseException):
        self.exc = exc


def call(client, url: str, method: str):
    try:
        return client.open(url, method=method, data={})
    except Exception as exc:  # reported with the others, so one run shows every problem
        return Crashed(exc)


def check_outcome(response, outcome: str, has_slug: bool, marker_is_public: bool = False) -> str | None:
    """A complaint, or None when ``response`` is what ``outcome`` asks for."""
    status = response.status_code
    if isinstance(response, Crashed):
        return f"raised {type(response.exc).__name__}: {response.exc}"
    if status >= 500:
        return f"server error {status}"
    if outcome == "allow" and marker_is_public:
        return None
    if outcome == "login":
        if not (is_login_redirect(response) or status == 401):
            return f"anonymous visitor got {status}, not the login page"
    elif outcome == "hidden":
        if status not in ((404,) if has_slug else (403, 404)):
            return f"member of another series got {status}, not 404"
    elif outcome == "forbidden":
        if status not in ((403,) if has_slug else (403, 404)):
            return f"a too-weak role got {status}, not 403"
    elif outcome == "allow" and is_access_redirect(response):
        return f"an allowed visitor was sent to log in ({status})"
    return None


def is_access_redirect(response) -> bool:
    """The redirect an access check makes: to the login page, with the way back in ``next``."""
    return is_login_redirect(response) and "next=" in response.headers.get("Location", "")


def test_every_view_declares_who_may_call_it(app):
    missing = [
        f"{rule.rule} ({rule.endpoint})"
        for rule in app.url_map.iter_rules()
        if not _is_static(app, rule.endpoint) and not hasattr(app.view_functions[rule.endpoint], ACCESS_ATTR)
    ]
    assert missing == [], "views without an access decorator from roundtable.web.authorization: " + ", ".join(missing)


def test_every_route_answers_each_visitor_as_its_access_rule_says(app, database, accounts, world):
    clients = SignedInClients(app, accounts)
    snapshot = Snapshot(database)
    problems = []
    checked = 0
    try:
        for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
            if _is_static(app, rule.endpoint):
                continue
            marker = getattr(app.view_functions[rule.endpoint], ACCESS_ATTR, None)
            if marker is None:
                problems.append(f"{rule.rule}: no access marker")
                continue
            url = build_url(rule, world.values)
            for method in sorted(rule.methods & set(METHODS)):
                snapshot.restore()
                outcomes = {who: expected(marker, who) for who in IDENTITIES}
                refused = [who for who, outcome in outcomes.items() if outcome != "allow"]
                before = dump_tables(database.engine)
                for who in refused:
                    response = call(clients.client(who), url, method)
                    complaint = check_outcome(response, outcomes[who], "slug" in rule.arguments)
                    if complaint:
                        problems.append(f"{method} {url} as {identity_name(who)}: {complaint}")
                    checked += 1
                if refused and dump_tables(database.engine) != before:
                    problems.append(f"{method} {url}: a refused call changed the database")
                for who in IDENTITIES:
                    if outcomes[who] != "allow":
                        continue
                    snapshot.restore()
                    response = call(clients.client(who), url, method)
                    complaint = check_outcome(response, "allow", "slug" in rule.arguments, marker == "public")
                    if complaint:
                        problems.append(f"{method} {url} as {identity_name(who)}: {complaint}")
                    checked += 1
    finally:
        snapshot.close()
    assert checked > 0
    assert problems == [], "\n".join(problems)


# --- Socket.IO -------------------------------------------------------------


def socket_payload(world) -> dict:
    """A payload that names the test series in every way an event may look for it."""
    values = world.values
    return {
        "session_id": values["session_id"],
        "series": values["slug"],
        "slug": values["slug"],
        "note_id": values["note_id"],
        "uuid": values["uuid"],
        "theme_id": values["theme_id"],
        "text": "a harmless note",
        "kind": "point",
        "version": 1,
        "after": 0,
    }


def test_every_socket_event_declares_who_may_send_it(app):
    missing = [
        f"{namespace} {event}"
        for namespace, event, handler in socket_events(app)
        if event not in SOCKET_LIFECYCLE_EVENTS and not hasattr(handler, ACCESS_ATTR)
    ]
    assert missing == [], "socket events without socket_access from roundtable.web.authorization: " + ", ".join(missing)


def test_every_guarded_socket_handler_is_registered_on_each_new_app(app):
    """Handlers registered on an old server only would silently vanish from apps created later."""
    registered = {getattr(handler, "__wrapped__", handler) for _, _, handler in socket_events(app)}
    registered |= {handler for _, _, handler in socket_events(app)}
    lost = [h.__qualname__ for h in SOCKET_HANDLERS if h not in registered and h.__module__.startswith("roundtable")]
    assert lost == [], "guarded socket handlers missing from this app's server: " + ", ".join(lost)


def _socket_errors(received) -> list[dict]:
    return [m["args"][0] for m in received if m["name"] == "error" and m["args"] and isinstance(m["args"][0], dict)]


def test_every_socket_event_answers_each_visitor_as_its_access_rule_says(app, database, accounts, world):
    socketio = app.extensions["socketio"]
    clients = SignedInClients(app, accounts)
    snapshot = Snapshot(database)
    payload = socket_payload(world)
    want_code = {"login": 401, "hidden": 404, "forbidden": 403}
    problems = []
    try:
        for namespace, event, handler in socket_events(app):
            if event in SOCKET_LIFECYCLE_EVENTS:
                continue
            marker = getattr(handler, ACCESS_ATTR, None)
            if marker is None:
                problems.append(f"{event}: no access marker")
                continue
            for who in IDENTITIES:
                outcome = expected(marker, who)
                snapshot.restore()
                before = dump_tables(database.engine)
                client = socketio.test_client(app, namespace=namespace, flask_test_client=clients.client(who))
                if not client.is_connected(namespace):
                    if outcome == "allow":
                        problems.append(f"{event} as {identity_name(who)}: could not connect")
                    continue
                client.get_received(namespace)
                client.emit(event, dict(payload), namespace=namespace)
                errors = _socket_errors(client.get_received(namespace))
                client.disconnect(namespace)
                if outcome == "allow":
                    if any(e.get("code") in (401, 403) for e in errors):
                        problems.append(f"{event} as {identity_name(who)}: refused ({errors})")
                    continue
                codes = [e.get("code") for e in errors]
                if want_code[outcome] not in codes:
                    problems.append(f"{event} as {identity_name(who)}: expected error {want_code[outcome]}, got {codes}")
                if dump_tables(database.engine) != before:
                    problems.append(f"{event} as {identity_name(who)}: a refused event changed the database")
    finally:
        snapshot.close()
    assert problems == [], "\n".join(problems)


# --- the issue's role model ------------------------------------------------

# "Viewers read; note-takers write notes; authors edit briefs; facilitators manage
# sessions, roster and codebook; admins manage series." The weakest role each kind
# of change needs; a route or event guarded more weakly than this fails.
ROUTE_POLICY = [  # (URL pattern, weakest marker, what it is, whether reading needs it too)
    (re.compile(r"^/admin/"), "admin", "site administration", True),
    (re.compile(r"/retention"), "series:admin", "series retention", True),
    (re.compile(r"/(members|invites|audit)(/|$)"), "series:facilitator", "members and the audit log", True),
    (re.compile(r"/roster"), "series:facilitator", "the roster (real names)", True),
    (re.compile(r"/codebook|/themes"), "series:facilitator", "the codebook", False),
    (re.compile(r"/sessions(/<int:number>/(open|close))?$"), "series:facilitator", "sessions", False),
    (re.compile(r"/brief"), "series:author", "briefs", False),
    (re.compile(r"^/s/<slug>/"), "series:note-taker", "anything in a series", False),
]
SOCKET_POLICY = {"note:": "series:note-taker", "term:": "series:note-taker", "tag:accept": "series:author",
                 "tag:reject": "series:author", "tag:": "series:note-taker", "theme": "series:facilitator",
                 "session:open": "series:facilitator", "session:close": "series:facilitator"}
STRENGTH = ["public", "login", *(f"series:{r.value}" for r in Role), "admin"]


def _at_least(marker: str, needed: str) -> bool:
    if needed == "admin":
        return marker == "admin"
    if marker == "admin":
        return True
    return marker in STRENGTH and STRENGTH.index(marker) >= STRENGTH.index(needed)


def test_changes_need_the_role_the_issue_gives_them(app):
    too_weak = []
    for rule in app.url_map.iter_rules():
        marker = getattr(app.view_functions[rule.endpoint], ACCESS_ATTR, "public")
        changes = bool(rule.methods & {"POST", "PUT", "PATCH", "DELETE"})
        for pattern, needed, what, reads_too in ROUTE_POLICY:
            if pattern.search(rule.rule):
                if (changes or reads_too) and not _at_least(marker, needed):
                    too_weak.append(f"{rule.rule} ({marker}) {'changes' if changes else 'shows'} {what}: needs {needed}")
                break
    for _namespace, event, handler in socket_events(app):
        marker = getattr(handler, ACCESS_ATTR, "public")
        for prefix, needed in SOCKET_POLICY.items():
            if event.startswith(prefix):
                if not _at_least(marker, needed):
                    too_weak.append(f"socket {event} ({marker}): needs {needed}")
                break
    assert too_weak == [], "\n".join(too_weak)


def test_a_route_added_without_an_access_check_is_caught(app):
    """The enumeration above really sees new routes: one without a decorator is reported."""
    from flask import Blueprint

    from roundtable import create_app

    probe = create_app({**app.config, "TESTING": True})
    careless = Blueprint("careless", __name__)
    careless.add_url_rule("/s/<slug>/careless", "careless", lambda slug: "notes for anyone")
    probe.register_blueprint(careless)
    unmarked = [r.rule for r in probe.url_map.iter_rules() if not _is_static(probe, r.endpoint)
                and not hasattr(probe.view_functions[r.endpoint], ACCESS_ATTR)]
    assert unmarked == ["/s/<slug>/careless"]
    probe.extensions["roundtable"].database.dispose()


def test_an_open_socket_is_refused_on_its_next_event_once_its_role_login_or_session_ends(app, database, accounts,
                                                                                          series):
    """Each event reads the account, the session and the membership afresh: nothing of an earlier event's check
    carries over, even on a socket nobody closed (a process that missed the revocation)."""
    import uuid

    from conftest import socket_as
    from roundtable.models import Membership, Session, SessionState
    from roundtable.services.accounts import end_logins, grant_role
    from roundtable.services.notes import NoteStream

    writer = accounts[Role.NOTE_TAKER]
    live = next(s for s in series.sessions if s.state is SessionState.LIVE)
    socket = socket_as(app, writer.email)

    def add():
        return socket.emit("note:add", {"session_id": live.id, "uuid": str(uuid.uuid4()), "text": "rents rose"},
                           callback=True)

    def change(how):
        with database.session() as db:
            how(db)

    assert add()["ok"]
    change(lambda db: grant_role(db, db.get(type(writer), writer.id), db.get(type(series), series.id), Role.VIEWER))
    assert add()["code"] == 403
    change(lambda db: db.query(Membership).filter_by(account_id=writer.id).delete())
    assert add()["code"] == 404
    change(lambda db: grant_role(db, db.get(type(writer), writer.id), db.get(type(series), series.id),
                                 Role.NOTE_TAKER))
    assert add()["ok"]
    change(lambda db: NoteStream(db, None).close_session(live.id))
    assert add()["reason"] == "session-closed"
    change(lambda db: setattr(db.get(Session, live.id), "state", SessionState.LIVE))
    assert add()["ok"]
    change(lambda db: end_logins(db.get(type(writer), writer.id)))
    assert add()["code"] == 401
    socket.disconnect()
