"""Live notes are anonymized with the app's own plugins: a local detector plugin applies, a disabled one does not."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select

from conftest import PASSWORD, make_series, socket_as, sqlite_app
from roundtable.models import Note, Role
from roundtable.services.accounts import create_account, grant_role

EXAMPLE = re.search(r"<!-- example-plugin -->\n```python\n(.*?)```",
                    (Path(__file__).resolve().parent.parent / "docs" / "plugins.md").read_text(), re.S).group(1)


@pytest.fixture
def note_taker_socket(tmp_path):
    def _connect(**config):
        app = sqlite_app(tmp_path, **config)
        database = app.extensions["roundtable"].database
        with database.session() as db:
            series = make_series(db)
            grant_role(db, create_account(db, "nt@test.example", "NT", PASSWORD), series, Role.NOTE_TAKER)
            session_id = series.sessions[0].id
        socket = socket_as(app, "nt@test.example")

        def add(text):
            reply = socket.emit("note:add", {"session_id": session_id, "uuid": str(uuid.uuid4()), "text": text},
                                callback=True)
            assert reply["ok"], reply
            with database.session() as db:
                return db.scalar(select(Note.text).where(Note.id == reply["id"]))

        return add

    return _connect


def test_a_detector_from_the_apps_plugins_dir_anonymizes_live_notes(note_taker_socket, tmp_path):
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "a_numbers.py").write_text(EXAMPLE)
    add = note_taker_socket(PLUGINS_DIR=str(plugins))
    assert add("Client A123-456-789 was detained, Hope said") == "Client [redacted] was detained, a municipal leader said"


def test_a_detector_disabled_in_the_apps_config_does_not_run_on_live_notes(note_taker_socket, tmp_path):
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "a_numbers.py").write_text(EXAMPLE)
    add = note_taker_socket(PLUGINS_DIR=str(plugins), DISABLED_PLUGINS=["a_numbers"])
    assert add("Client A123-456-789 was detained, Hope said") == "Client A123-456-789 was detained, a municipal leader said"


def test_disabling_a_built_in_detector_leaves_the_floor_in_place(note_taker_socket):
    add = note_taker_socket(DISABLED_PLUGINS=["contact_details", "roster"])
    assert add("Kwame wrote from office@uni.example") == "A scholar wrote from [email]"
