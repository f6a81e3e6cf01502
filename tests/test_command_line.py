"""What `roundtable` shows a user at the command line: its own commands and options only, a listing with
a header, and one line (exit 2) for a plugin whose hook name is misspelt or a file that is not text."""

from __future__ import annotations

import subprocess
import sys

import pytest


def roundtable(*args, tmp_path, **env):
    return subprocess.run(
        [sys.executable, "-c", "from roundtable.cli import main; main()", *args], capture_output=True, text=True,
        env={"ROUNDTABLE_INSTANCE_PATH": str(tmp_path), "PATH": "/usr/bin:/bin",
             "ROUNDTABLE_LOAD_PLUGINS": "roster,contact_details,exporters", **env},
    )


def test_help_shows_roundtables_commands_without_flasks_options_or_the_limiter(tmp_path):
    result = roundtable("--help", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    words = result.stdout.split()
    for flask_only in ("-e", "--env-file", "-A", "--app", "--debug", "--no-debug", "limiter", "routes", "shell", "run"):
        assert flask_only not in words, flask_only
    for command in ("init", "serve", "demo", "plugins", "brief", "notes", "users"):
        assert command in words, command


def test_plugins_listing_starts_with_a_header_row(tmp_path):
    result = roundtable("plugins", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["name", "version", "hooks"]
    assert {line.split()[0] for line in lines[1:]} == {"roster", "contact_details", "exporters"}


def test_a_misspelt_hook_name_in_a_local_plugin_is_refused_in_one_line_with_exit_2(tmp_path):
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "typo.py").write_text(
        "from roundtable import hookimpl\n\n@hookimpl\ndef register_detector(roundtable, register):\n    pass\n"
    )
    result = roundtable("plugins", tmp_path=tmp_path, ROUNDTABLE_PLUGINS_DIR=str(plugins))
    assert result.returncode == 2
    assert result.stdout == "" and "Traceback" not in result.stderr
    assert result.stderr == (
        f"Error: plugin 'typo' ({plugins / 'typo.py'}) implements 'register_detector', which is not a Roundtable "
        "hook (did you mean 'register_detectors'?)\n"
    )


@pytest.mark.parametrize("command, expected", [
    (["render", "{file}", "-o", "{out}"], "Error: {file}: not UTF-8 text\n"),
    (["tag", "--codebook", "{file}", "{file}"], "Error: codebook: {file} is not UTF-8 text\n"),
    (["rotate-key", "--new-key-file", "{file}"], "Error: {file}: not UTF-8 text\n"),
])
def test_a_file_that_is_not_utf8_text_is_one_line_with_exit_2(tmp_path, command, expected):
    binary = tmp_path / "binary.bin"
    binary.write_bytes(b"\xff\xfe\x00 not text")
    names = {"file": str(binary), "out": str(tmp_path / "out.pdf")}
    result = roundtable(*(word.format(**names) for word in command), tmp_path=tmp_path)
    assert (result.returncode, result.stderr) == (2, expected.format(**names))
    assert not (tmp_path / "out.pdf").exists()


@pytest.mark.parametrize("command", [["brief", "build", "nowhere", "-o", "{out}"], ["brief", "rebuild", "nowhere"],
                                     ["series", "export", "nowhere", "{out}"], ["notes", "import", "nowhere", "1", "{file}"]])
def test_a_series_that_does_not_exist_is_one_line_with_exit_2(tmp_path, command):
    """Before, the brief commands printed their progress bar's label first."""
    notes = tmp_path / "notes.txt"
    notes.write_text("rents rose\n")
    names = {"file": str(notes), "out": str(tmp_path / "out")}
    assert roundtable("init", tmp_path=tmp_path).returncode == 0
    result = roundtable(*(word.format(**names) for word in command), tmp_path=tmp_path)
    assert (result.returncode, result.stderr) == (2, "Error: no series called 'nowhere'\n")
    assert not (tmp_path / "out").exists()
