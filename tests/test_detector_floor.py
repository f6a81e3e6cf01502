"""The floor of the anonymizer holds whatever the configuration says.

Roster names and contact details are always detected: disabling the built-in
plugins that contribute them, or a roster detector that cannot be imported,
never lets a name through. A missing floor refuses notes with the reason (live
page) or exits 2 with one line (command line); it is never silently skipped.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import pytest
from sqlalchemy import select

from conftest import PASSWORD, make_series
from roundtable import create_app
from roundtable.models import Note, Role, Session
from roundtable.services.accounts import create_account, grant_role

NOTE = "Hope van der Berg said to write to hope.vdb@city.example or call +1 415 555 0199"
ROSTER_CSV = "name,aliases,affiliation,role,consent\nHope van der Berg,Hope,,municipal leader,anonymous\n"
BREAK_ROSTER = "import sys; sys.modules['roundtable_plugins.roster'] = None; "


def _app(tmp_path, disabled):
    app = create_app({
        "TESTING": True, "SECRET_KEY": "floor-secret", "DATABASE_URL": f"sqlite:///{tmp_path / 'floor.sqlite'}",
        "INSTANCE_PATH": str(tmp_path / "instance"), "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False,
        "DISABLED_PLUGINS": disabled,
    })
    database = app.extensions["roundtable"].database
    database.upgrade()
    with database.session() as db:
        series = make_series(db)
        account = create_account(db, "writer@floor.example", "Writer", PASSWORD)
        grant_role(db, account, series, Role.NOTE_TAKER)
        session_id = db.scalar(select(Session.id).where(Session.series_id == series.id, Session.number == 1))
        db.commit()
    return app, session_id


def _send(app, session_id, text=NOTE) -> dict:
    client = app.test_client()
    assert client.post("/auth/login", data={"email": "writer@floor.example", "password": PASSWORD}).status_code == 302
    socket = app.extensions["socketio"].test_client(app, flask_test_client=client)
    return socket.emit("note:add", {"session_id": session_id, "uuid": str(uuid.uuid4()), "text": text}, callback=True)


def _stored_texts(app) -> list[str]:
    with app.extensions["roundtable"].database.session() as db:
        return list(db.scalars(select(Note.text)))


@pytest.mark.parametrize("disabled", [["roster"], ["contact_details"], ["roster", "contact_details", "ner"]])
def test_disabling_the_built_in_detectors_does_not_remove_the_floor(tmp_path, disabled):
    app, session_id = _app(tmp_path, disabled)
    try:
        reply = _send(app, session_id)

        assert reply["ok"], reply
        for stored in _stored_texts(app):
            assert "Hope" not in stored and "hope.vdb" not in stored and "0199" not in stored
    finally:
        app.extensions["roundtable"].database.dispose()


def _cli(tmp_path, *args, prelude="", **env):
    roster = tmp_path / "roster.csv"
    roster.write_text(ROSTER_CSV)
    notes = tmp_path / "notes.txt"
    notes.write_text(NOTE + "\n")
    environment = {k: v for k, v in os.environ.items() if not k.startswith("ROUNDTABLE_")}
    environment.update(ROUNDTABLE_INSTANCE_PATH=str(tmp_path / "cli"), **env)
    return subprocess.run(
        [sys.executable, "-c", prelude + "from roundtable.cli import main; main()", "anonymize", "--roster", str(roster),
         *args, str(notes)],
        env=environment, capture_output=True, text=True, timeout=120,
    )


def test_the_command_line_keeps_the_floor_with_the_roster_plugin_disabled(tmp_path):
    done = _cli(tmp_path, ROUNDTABLE_DISABLED_PLUGINS="roster,contact_details")

    assert done.returncode == 0, done.stderr
    assert "Hope" not in done.stdout and "hope.vdb" not in done.stdout and "0199" not in done.stdout
    assert "a municipal leader" in done.stdout.lower()


def test_a_roster_detector_that_cannot_load_is_one_line_and_exit_2(tmp_path):
    done = _cli(tmp_path, prelude=BREAK_ROSTER, ROUNDTABLE_DISABLED_PLUGINS="roster")

    assert done.returncode == 2
    assert done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1 and "roster" in done.stderr and "Traceback" not in done.stderr


def test_a_roster_detector_that_cannot_load_refuses_notes_with_the_reason(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "roundtable_plugins.roster", None)  # what a broken install looks like to Python
    app, session_id = _app(tmp_path, ["roster"])
    try:
        reply = _send(app, session_id)

        assert reply.get("ok") is not True
        assert "roster" in reply["error"] and "refused" in reply["error"]
        assert _stored_texts(app) == []
        page = app.test_client()
        page.post("/auth/login", data={"email": "writer@floor.example", "password": PASSWORD})
        live = page.get("/s/harbor-city/sessions/1/")
        assert "notes are refused" in live.get_data(as_text=True)
    finally:
        app.extensions["roundtable"].database.dispose()
