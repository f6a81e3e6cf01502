"""Shared fixtures: a real app on a real database (SQLite always, PostgreSQL when configured).

``ROUNDTABLE_TEST_DATABASE_URL`` adds a PostgreSQL run of every database test;
each test gets its own schema. ``ROUNDTABLE_TEST_REDIS_URL`` enables the Redis
tests. With ``CI=true`` a missing service is a failure, never a skip.
"""

from __future__ import annotations

import os
import uuid
from datetime import date

import pytest
from argon2 import PasswordHasher
from argon2.profiles import CHEAPEST
from flask.cli import ScriptInfo
from sqlalchemy import create_engine, text

from roundtable import create_app
from roundtable.db import Database, normalize_url
from roundtable.models import Participant, Policy, Role, Series, Session, SessionState, Theme
from roundtable.services.accounts import create_account, grant_role

ON_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
PASSWORD = "correct horse battery"


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
    app.extensions["roundtable_db"].upgrade()
    yield app
    worker = app.extensions.get("roundtable_after_save")
    if worker is not None:  # suggestions still being computed must not race the schema's removal
        assert worker.wait_until_idle()
    app.extensions["roundtable_db"].dispose()


@pytest.fixture
def database(app) -> Database:
    return app.extensions["roundtable_db"]


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


def make_series(db, slug="harbor-city", policy=Policy.ROLE) -> Series:
    """A small fictional series: three sessions, a roster, a two-level codebook."""
    series = Series(
        slug=slug,
        title="Harbor City Working Group",
        subtitle="Test series",
        organizations=["Civic Lab"],
        authors=["A. Author"],
        funder="A Foundation",
        brief_number="Research Brief No. 2026/01",
        policy=policy,
    )
    db.add(series)
    db.flush()
    for n, month in enumerate((1, 2, 3), start=1):
        db.add(
            Session(
                series_id=series.id,
                number=n,
                title=f"Session {n}",
                date=date(2026, month, 15),
                focus=f"focus of session {n}",
                state=SessionState.LIVE if n == 1 else SessionState.SCHEDULED,
            )
        )
    roster = [
        ("María Núñez", ["Mari"], "Harbor City Law Clinic", "legal advocate", True),
        ("Hope van der Berg", ["Hope"], "Office of the Mayor", "municipal leader", False),
        ("Kwame Mensah-Boateng", [], "Riverside University", "scholar", False),
    ]
    for name, aliases, affiliation, role_label, consent in roster:
        db.add(
            Participant(
                series_id=series.id,
                name=name,
                aliases=aliases,
                affiliation=affiliation,
                role_label=role_label,
                consent_named=consent,
            )
        )
    enforcement = Theme(series_id=series.id, name="Federal enforcement", description="Pressure from federal agencies on cities.", position=0)
    legal = Theme(series_id=series.id, name="Legal defense", description="Lawyers and due process for residents.", position=1)
    db.add_all([enforcement, legal])
    db.flush()
    db.add(Theme(series_id=series.id, parent_id=enforcement.id, name="Funding threats", description="Grants withheld.", position=0))
    db.add(Theme(series_id=series.id, name="Invest in legal aid", description="Fund representation.", section="Strategic Directions", position=2))
    db.flush()
    return series


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
