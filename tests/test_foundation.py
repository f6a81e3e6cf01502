"""The skeleton every feature stands on: app factory, database, migrations, login."""

from __future__ import annotations

import subprocess
import sys

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from roundtable import create_app
from roundtable.models import Base, Role


def test_empty_database_upgrades_to_head_and_matches_the_models(database):
    with database.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diff == []
    assert set(Base.metadata.tables) <= set(inspect(database.engine).get_table_names())


def test_default_database_is_a_sqlite_file_in_the_instance_folder(tmp_path):
    app = create_app({"INSTANCE_PATH": str(tmp_path / "inst"), "SECRET_KEY": "x"})
    app.extensions["roundtable"].database.upgrade()
    assert (tmp_path / "inst" / "roundtable.sqlite").is_file()
    app.extensions["roundtable"].database.dispose()


def test_secret_key_is_created_once_and_kept_private(tmp_path, monkeypatch):
    monkeypatch.delenv("ROUNDTABLE_SECRET_KEY", raising=False)
    first = create_app({"INSTANCE_PATH": str(tmp_path)}).config["SECRET_KEY"]
    second = create_app({"INSTANCE_PATH": str(tmp_path)}).config["SECRET_KEY"]
    assert first == second and len(first) == 64
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_pages_require_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert "/auth/login" in response.headers["Location"]


def test_member_logs_in_and_sees_their_series(client, login, series):
    login(Role.VIEWER)
    page = client.get("/").get_data(as_text=True)
    assert series.title in page
    assert client.get(f"/s/{series.slug}/").status_code == 200


def test_wrong_password_is_refused_with_a_message(client, accounts):
    response = client.post("/auth/login", data={"email": "viewer@test.example", "password": "nope"})
    assert response.status_code == 401
    assert "Wrong email or password" in response.get_data(as_text=True)


def test_outsider_cannot_tell_a_series_exists(client, login, series):
    login("outsider")
    assert client.get(f"/s/{series.slug}/").status_code == 404


def test_pages_send_a_content_security_policy_without_inline_script(client):
    csp = client.get("/auth/login").headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp


def test_init_command_creates_the_schema(runner, database):
    result = runner.invoke(["init"])
    assert result.exit_code == 0, result.output
    assert "Database ready" in result.output


def test_cli_user_error_is_one_line_and_exit_2(tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", "from roundtable.cli import main; main()", "serve", "--port", "99999"],
        capture_output=True, text=True, env={"ROUNDTABLE_INSTANCE_PATH": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("Error:")
    assert "Traceback" not in result.stderr


def test_the_database_pool_is_sized_from_the_environment_and_a_bad_size_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("ROUNDTABLE_DATABASE_POOL_SIZE", "3")
    monkeypatch.setenv("ROUNDTABLE_DATABASE_POOL_TIMEOUT", "5")
    app = create_app({"INSTANCE_PATH": str(tmp_path / "inst"), "SECRET_KEY": "x"})
    engine = app.extensions["roundtable"].database.engine
    assert (engine.pool.size(), engine.pool._max_overflow, engine.pool._timeout) == (3, 6, 5)
    assert app.extensions["roundtable_socket_turns"]._initial_value == 3
    app.extensions["roundtable"].database.dispose()
    result = subprocess.run(
        [sys.executable, "-c", "from roundtable.cli import main; main()", "init-db"], capture_output=True, text=True,
        env={"ROUNDTABLE_INSTANCE_PATH": str(tmp_path), "PATH": "/usr/bin:/bin", "ROUNDTABLE_DATABASE_POOL_SIZE": "0"},
    )
    assert (result.returncode, result.stderr) == (
        2, "Error: ROUNDTABLE_DATABASE_POOL_SIZE must be a whole number from 1 to 1000, not '0'\n")


def test_roster_names_are_encrypted_and_a_wrong_secret_key_says_so(tmp_path):
    from sqlalchemy import select, text

    from roundtable.db import Database
    from roundtable.encryption import RosterKeyError
    from roundtable.models import Participant, Series

    url = f"sqlite:///{tmp_path / 'rt.sqlite'}"
    right = Database(url, secret_key="right")
    right.upgrade()
    with right.session() as db:
        series = Series(slug="s", title="S")
        db.add(series)
        db.flush()
        db.add(Participant(series_id=series.id, name="María Núñez", aliases=["Mari"], affiliation="Law Clinic"))
    with right.session() as db:
        assert db.scalar(select(Participant.name)) == "María Núñez"
        assert "Núñez" not in db.execute(text("SELECT name FROM participants")).scalar()
    wrong = Database(url, secret_key="wrong")
    with wrong.session() as db, pytest.raises(RosterKeyError, match="SECRET_KEY"):
        db.scalar(select(Participant.name))
    right.dispose(), wrong.dispose()


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)  # SQLite has no server to end a connection
def test_a_pooled_connection_the_server_ended_while_idle_is_replaced_before_use(database, monkeypatch):
    """PostgreSQL restarted or timed out a connection while it sat in the pool: the next use reconnects
    instead of failing (the pool pings connections idle for longer than ``PING_AFTER_IDLE_S``)."""
    import roundtable.db

    with database.engine.connect() as idle, database.engine.connect() as other:
        backend = idle.execute(text("SELECT pg_backend_pid()")).scalar()
        idle.commit()
        idle.close()  # back in the pool
        other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend})
        other.commit()
    monkeypatch.setattr(roundtable.db, "PING_AFTER_IDLE_S", 0.0)
    for _ in range(3):  # every pooled connection, the ended one among them
        with database.engine.connect() as conn:
            assert conn.execute(text("SELECT 1")).scalar() == 1
