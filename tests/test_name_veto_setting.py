"""``ROUNDTABLE_NAME_VETO``: the medium name model's veto kept out of the web server process.

The veto only drops the small model's guesses, so a process without it removes every name the veto would
remove, and more words besides. "Chalcis" (a desert) is a guess the small model makes and the medium model
vetoes: it shows which path ran.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import make_roundtable
from roundtable.live_clients import NoteClient, ServerProcess, free_port, login_cookie, prepare_database, wait_until
from roundtable.services.anonymize import Anonymizer, Roster, load_detectors

PLACE_GUESS = "We went to the desert of Chalcis last spring."


def require_veto():
    from roundtable_plugins.ner import veto_available

    if not veto_available():
        pytest.skip("medium model not installed: see roundtable[ner-md] in pyproject.toml")


def anonymized(**settings) -> str:
    roundtable = make_roundtable(**settings)
    anonymizer = Anonymizer(Roster(), "redact", load_detectors(roundtable, ner=True), salt=b"s")
    return anonymizer.anonymize(PLACE_GUESS).text


def test_batch_keeps_the_veto_out_of_the_web_server_only():
    require_veto()
    assert "Chalcis" in anonymized()  # default: everywhere
    assert "Chalcis" in anonymized(NAME_VETO="everywhere", SERVES_WEB=True)
    assert "Chalcis" in anonymized(NAME_VETO="batch")  # a batch command, an import, the bench
    assert "Chalcis" not in anonymized(NAME_VETO="batch", SERVES_WEB=True)


def test_a_bad_setting_is_one_line_and_exit_2(tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", "from roundtable.cli import main; main()", "init"], capture_output=True, text=True,
        env={"ROUNDTABLE_INSTANCE_PATH": str(tmp_path), "PATH": "/usr/bin:/bin", "ROUNDTABLE_NAME_VETO": "live"},
    )
    assert (result.returncode, result.stderr) == (2, "Error: ROUNDTABLE_NAME_VETO must be everywhere or batch, "
                                                      "not 'live'\n")


@pytest.mark.slow
def test_a_served_note_goes_without_the_veto_and_the_batch_command_keeps_it(tmp_path):
    """A real ``roundtable serve`` with ``ROUNDTABLE_NAME_VETO=batch``: the live note loses the guess (no veto
    in that process), while ``roundtable anonymize`` under the same environment still vetoes it."""
    require_veto()
    url = f"sqlite:///{tmp_path / 'veto.sqlite'}"
    people = prepare_database(url)
    server = ServerProcess(url, free_port(), tmp_path, plugins="roster,contact_details,ner",
                           extra_env={"ROUNDTABLE_NAME_VETO": "batch"}).start(timeout=180)
    writer = NoteClient(server.url, login_cookie(server.url, people["note-takers"][0]), people["session_id"], "w")
    try:
        writer.connect()
        wait_until(lambda: writer.joined.is_set())
        note_id = writer.send_note(PLACE_GUESS)
        wait_until(lambda: note_id in writer.notes, timeout=60, message="the note's broadcast")
        assert "Chalcis" not in writer.notes[note_id]["text"]
        batch = subprocess.run(
            [sys.executable, "-c", "from roundtable.cli import main; main()", "anonymize", "--ner", "--json"],
            input=PLACE_GUESS + "\n", capture_output=True, text=True, env=server.env, cwd=tmp_path, timeout=300,
        )
        assert batch.returncode == 0, batch.stderr
        assert "Chalcis" in json.loads(batch.stdout)["text"]
    finally:
        writer.disconnect()
        server.stop()
