"""The plugin system: entry points, local plugin folders, disabling, listing."""

from __future__ import annotations

import json
import subprocess
import sys

import click
import pytest

from roundtable import hookimpl
from roundtable.errors import PluginError
from conftest import make_roundtable
from roundtable.plugins import build_plugin_manager, describe_plugins

BUILT_INS = {"roster", "patterns", "ner", "lexical", "semantic", "live_suggestions", "report_sections", "exporters"}


def test_built_in_plugins_load_through_the_entry_point_group():
    pm = build_plugin_manager()
    names = {name for name, _ in pm.list_name_plugin()}
    assert BUILT_INS <= names


def test_plugins_command_lists_built_ins_with_versions_and_hooks_as_json():
    result = subprocess.run(
        [sys.executable, "-c", "from roundtable.cli import main; main()", "plugins", "--json"],
        capture_output=True, text=True, check=True,
    )
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert BUILT_INS <= set(rows)
    assert rows["roster"]["version"] == "0.1.0"
    assert "register_detectors" in rows["roster"]["hooks"]
    assert "register_suggesters" in rows["lexical"]["hooks"]
    assert rows["live_suggestions"]["hooks"] == ["note_saved"]


def test_a_plugin_can_be_disabled_by_name():
    pm = build_plugin_manager(disabled=["patterns"])
    assert not pm.has_plugin("patterns") and pm.has_plugin("roster")


def test_only_the_plugins_named_in_the_environment_load(monkeypatch):
    monkeypatch.setenv("ROUNDTABLE_LOAD_PLUGINS", "roster")
    names = {name for name, plugin in build_plugin_manager().list_name_plugin() if plugin is not None}
    assert names == {"roster"}


def test_local_plugins_directory_is_loaded(tmp_path):
    (tmp_path / "shout.py").write_text(
        "from roundtable import hookimpl\n"
        "import click\n"
        "@hookimpl\n"
        "def register_commands(cli):\n"
        "    @cli.command()\n"
        "    def shout():\n"
        "        click.echo('HELLO')\n"
    )
    roundtable = make_roundtable(PLUGINS_DIR=str(tmp_path))
    group = click.Group()
    roundtable.pm.hook.register_commands(roundtable=roundtable, cli=group)
    assert "shout" in group.commands
    assert any(row["name"] == "shout" for row in describe_plugins(roundtable.pm))


def test_missing_plugins_directory_is_a_clear_error(tmp_path):
    with pytest.raises(PluginError, match="does not exist"):
        build_plugin_manager(plugins_dir=str(tmp_path / "nope"))


def test_a_plugin_registered_later_comes_first_so_it_can_override():
    roundtable = make_roundtable()

    class Late:
        @hookimpl
        def register_exporters(self, register):
            register("late")

    roundtable.pm.register(Late(), name="late")
    assert roundtable.collect("register_exporters")[0] == "late"


def test_tracing_prints_hook_calls(tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", "from roundtable.application import Roundtable;"
         "Roundtable({'SECRET_KEY': 'x', 'DATABASE_URL': 'sqlite://'}).collect('register_exporters')"],
        capture_output=True, text=True, env={"ROUNDTABLE_TRACE_PLUGINS": "1", "PATH": "/usr/bin:/bin"},
    )
    assert "register_exporters" in result.stderr


def test_a_misspelt_hook_name_fails_loading_with_a_clear_message(tmp_path):
    (tmp_path / "typo.py").write_text(
        "from roundtable import hookimpl\n\n@hookimpl\ndef register_detector(roundtable, register):\n    pass\n"
    )
    with pytest.raises(PluginError, match="register_detector"):
        build_plugin_manager(plugins_dir=str(tmp_path))


def test_a_misspelt_hook_in_a_registered_plugin_object_is_refused_too():
    class Typo:
        @hookimpl
        def register_suggestor(self, roundtable, register):
            pass

    with pytest.raises(PluginError, match="register_suggestor"):
        build_plugin_manager(plugins=[Typo()])
