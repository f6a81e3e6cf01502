"""Shared fixtures: a real app on a real database (SQLite always, PostgreSQL when configured).

``ROUNDTABLE_TEST_DATABASE_URL`` adds a PostgreSQL run of every database test;
each test gets its own schema. ``ROUNDTABLE_TEST_REDIS_URL`` enables the Redis
tests. With ``CI=true`` a missing service is a failure, never a skip.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
import uuid

import pytest
from argon2 import PasswordHasher
from argon2.profiles import CHEAPEST
from flask.cli import ScriptInfo
from sqlalchemy import create_engine, event, select, text

from roundtable import create_app
from roundtable.application import Roundtable
from roundtable.db import Database, normalize_url
from roundtable.models import Role, Session
from roundtable.live_clients import PASSWORD, SECRET_KEY, ServerProcess, free_port, make_series, prepare_database
from roundtable.services.accounts import create_account, grant_role
from roundtable.services.anonymize import Anonymizer, Roster, load_detectors

ON_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require_service(name: str, available: bool, why: str) -> None:
    """Skip a test whose service is missing, except on CI where that is a failure."""
    if available:
        return
    if ON_CI:
        pytest.fail(f"{name} is required on CI: {why}")
    pytest.skip(f"{name} not available: {why}")


def _postgres_url() -> str | None:
    return os.environ.get("ROUNDTABLE_TEST_DATABASE_URL")


@pytest.fixture(autouse=True)
def private_instance_folder(monkeypatch, tmp_path):
    """Commands run in-process or as subprocesses keep their secret key and SQLite file in the test's folder."""
    monkeypatch.setenv("ROUNDTABLE_INSTANCE_PATH", str(tmp_path / "cli-instance"))


# Where the threads of a Socket.IO client and of NoteClient run (connection, reconnection, join, flush).
_CLIENT_THREAD_MODULES = ("socketio.client", "socketio.base_client", "engineio.client", "roundtable.live_clients")


def _client_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate()
            if (getattr(getattr(t, "_target", None), "__module__", None) or "").startswith(_CLIENT_THREAD_MODULES)}


@pytest.fixture(autouse=True)
def no_client_thread_outlives_its_test():
    """A client thread left running (a reconnect loop to a server the test stopped) would act in later
    tests: its reconnect jitter draws from the global ``random`` while Hypothesis draws an example."""
    before = _client_threads()
    yield
    deadline = time.monotonic() + 30  # a closing thread needs a turn on the CPU: on a loaded machine, seconds
    while (left := _client_threads() - before) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not left, f"client threads still running after the test: {sorted(t.name for t in left)}"


@pytest.fixture(autouse=True)
def fast_password_hashing():
    """Real argon2 with its cheapest parameters: the default costs 0.3 s a hash, too slow for hundreds of logins."""
    from roundtable.services import accounts

    production = accounts._hasher
    accounts._hasher = PasswordHasher.from_parameters(CHEAPEST)
    try:
        yield
    finally:
        accounts._hasher = production


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request, tmp_path):
    """A fresh, empty database: a SQLite file, or a private schema in PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'roundtable.sqlite'}"
        return
    base = _postgres_url()
    require_service("PostgreSQL", bool(base), "set ROUNDTABLE_TEST_DATABASE_URL")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(normalize_url(base), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    try:
        yield f"{base}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def app(database_url, tmp_path):
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret",
            "DATABASE_URL": database_url,
            "INSTANCE_PATH": str(tmp_path / "instance"),
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_ENABLED": False,
        }
    )
    app.extensions["roundtable"].database.upgrade()
    yield app
    worker = app.extensions.get("roundtable_after_save")
    if worker is not None:  # suggestions still being computed must not race the schema's removal
        assert worker.wait_until_idle()
    app.extensions["roundtable"].database.dispose()


def sqlite_app(tmp_path, **config):
    """A migrated test app on a fresh SQLite file in ``tmp_path``, for a test that needs its own settings
    (``config`` adds to or overrides the test ones: plugins, the suggester)."""
    app = create_app({"TESTING": True, "SECRET_KEY": "test-secret", "WTF_CSRF_ENABLED": False,
                      "RATELIMIT_ENABLED": False, "INSTANCE_PATH": str(tmp_path / "inst"),
                      "DATABASE_URL": f"sqlite:///{tmp_path / 'rt.sqlite'}", **config})
    app.extensions["roundtable"].database.upgrade()
    return app


@pytest.fixture
def roundtable(app) -> Roundtable:
    """The test app's application object, which services and hooks receive."""
    return app.extensions["roundtable"]


def make_roundtable(plugins=None, **settings) -> Roundtable:
    """An application object without a web app or a database file: for tests of plugins and services
    that need no stored data. ``plugins`` replace the default ones."""
    return Roundtable({"SECRET_KEY": "test-secret", "DATABASE_URL": "sqlite://", **settings}, plugins=plugins)


def roster_anonymizer(roster: Roster, mode: str = "role") -> Anonymizer:
    """The anonymizer of a session with ``roster`` and the rule detectors only (no name model):
    for tests of what the roster rules alone find."""
    roundtable = make_roundtable()
    return Anonymizer(roster, mode, load_detectors(roundtable, ner=False), salt=roundtable.pseudonym_salt(1))


@pytest.fixture
def database(roundtable) -> Database:
    return roundtable.database


@pytest.fixture
def db(database):
    """A SQLAlchemy session on the app's database; committed by the test when it wants."""
    session = database.sessionmaker()
    yield session
    session.rollback()
    session.close()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    """Invoke ``roundtable`` commands against this app."""
    from roundtable.cli import cli

    class Runner:
        def invoke(self, args, **kwargs):
            return app.test_cli_runner().invoke(cli, args, obj=ScriptInfo(create_app=lambda: app), **kwargs)

    return Runner()


@pytest.fixture
def series(db):
    series = make_series(db)
    db.commit()
    return series


@pytest.fixture
def accounts(db, series):
    """One account per role in ``series`` (emails ``<role>@test.example``) plus an outsider."""
    made = {}
    for role in Role:
        account = create_account(db, f"{role.value}@test.example", f"Test {role.value}", PASSWORD, is_admin=role is Role.ADMIN)
        if role is not Role.ADMIN:
            grant_role(db, account, series, role)
        made[role] = account
    made["outsider"] = create_account(db, "outsider@test.example", "Outsider", PASSWORD)
    db.commit()
    return made


@pytest.fixture
def login(client, accounts):
    """``login(Role.NOTE_TAKER)`` logs the test client in with that role."""

    def _login(who):
        email = accounts[who].email
        response = client.post("/auth/login", data={"email": email, "password": PASSWORD})
        assert response.status_code == 302, response.data
        return accounts[who]

    return _login


@pytest.fixture
def session_id(db, series) -> int:
    """The id of session 1 of ``series``."""
    return db.scalar(select(Session.id).where(Session.series_id == series.id, Session.number == 1))


def add_facilitator(url: str) -> str:
    """A facilitator of the one series in the database at ``url``; returns the email."""
    from roundtable.models import Series

    database = Database(url, secret_key=SECRET_KEY)
    with database.session() as db:
        account = create_account(db, "facilitator@test.example", "Facilitator", PASSWORD)
        grant_role(db, account, db.query(Series).one(), Role.FACILITATOR)
    database.dispose()
    return "facilitator@test.example"


@pytest.fixture
def revocation_site(tmp_path):
    """A served series with two note-takers, a viewer and a facilitator: ``(server, people, url, clients)``;
    the NoteClients a test appends to ``clients`` are disconnected before the server stops."""
    url = f"sqlite:///{tmp_path / 'live.sqlite'}"
    people = prepare_database(url, note_takers=2, viewers=1)
    people["facilitator"] = add_facilitator(url)
    server = ServerProcess(url, free_port(), tmp_path / "server").start()
    clients = []
    try:
        yield server, people, url, clients
    finally:
        for client in clients:
            client.disconnect()
        server.stop()


@contextlib.contextmanager
def statements_sent_here(engine):
    """The SQL statements this thread sends to ``engine`` inside the block, whitespace folded (the test
    client runs a socket handler in the test's thread; the after-save worker's reads run in another)."""
    statements: list[str] = []
    here = threading.get_ident()

    def seen(_connection, _cursor, statement, *_args):
        if threading.get_ident() == here:
            statements.append(" ".join(statement.split()))

    event.listen(engine, "before_cursor_execute", seen)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", seen)


def socket_as(app, email: str):
    """A Socket.IO test client logged in as ``email`` (password ``PASSWORD``)."""
    client = app.test_client()
    assert client.post("/auth/login", data={"email": email, "password": PASSWORD}).status_code == 302
    return app.extensions["socketio"].test_client(app, flask_test_client=client)
