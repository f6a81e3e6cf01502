"""The plugin system: built-ins by module name, entry points, local plugin folders, disabling, listing."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import click
import pytest

from roundtable import __version__, hookimpl
from roundtable.errors import PluginError
from conftest import make_roundtable
from roundtable.plugins import DEFAULT_PLUGINS, build_plugin_manager, describe_plugins

ROOT = Path(__file__).resolve().parent.parent

BUILT_INS = {"roster", "contact_details", "ner", "keyword_suggester", "embedding_suggester", "live_suggestions", "report_sections", "exporters"}


def test_built_in_plugins_load_by_module_name_from_the_default_list_not_from_entry_points():
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"].get("entry-points", {}).get("roundtable", {})
    assert not [name for name, module in declared.items() if module.startswith("roundtable_plugins")]
    assert {module.rsplit(".", 1)[1] for module in DEFAULT_PLUGINS} == BUILT_INS | {"llm_drafting"}
    pm = build_plugin_manager()
    names = {name for name, _ in pm.list_name_plugin()}
    assert BUILT_INS <= names


def test_third_party_plugins_come_from_the_entry_point_group_and_stale_built_in_entries_are_ignored(
    tmp_path, monkeypatch
):
    """An install made before the built-ins left the entry points (an old editable install) still lists
    them, some under old names: each built-in loads once, from DEFAULT_PLUGINS, and a real third-party
    entry point loads with its distribution's version."""
    (tmp_path / "shout_plugin.py").write_text(
        "from roundtable import hookimpl\n\n@hookimpl\ndef register_exporters(register):\n    pass\n"
    )
    dist = tmp_path / "old_roundtable-0.0.9.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: old-roundtable\nVersion: 0.0.9\n")
    (dist / "entry_points.txt").write_text(
        "[roundtable]\nroster = roundtable_plugins.roster\nlexical = roundtable_plugins.lexical\n"
        "shout = shout_plugin\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    roundtable = make_roundtable()
    pm = roundtable.pm
    names = [name for name, plugin in pm.list_name_plugin() if plugin is not None]
    assert sorted(names) == sorted(set(names))
    assert "lexical" not in names and "keyword_suggester" in names and "shout" in names
    modules = [getattr(plugin, "__name__", "") for _, plugin in pm.list_name_plugin()]
    assert modules.count("roundtable_plugins.roster") == 1
    rows = {row["name"]: row for row in describe_plugins(roundtable)}
    assert rows["shout"]["version"] == "0.0.9" and rows["roster"]["version"] == __version__


def test_plugins_command_lists_built_ins_with_versions_and_hooks_as_json():
    result = subprocess.run(
        [sys.executable, "-c", "from roundtable.cli import main; main()", "plugins", "--json"],
        capture_output=True, text=True, check=True,
    )
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert BUILT_INS <= set(rows)
    assert rows["roster"]["version"] == "0.1.0"
    assert "register_detectors" in rows["roster"]["hooks"]
    assert "register_suggesters" in rows["keyword_suggester"]["hooks"]
    assert rows["live_suggestions"]["hooks"] == ["note_saved"]


def test_a_plugin_can_be_disabled_by_name():
    pm = build_plugin_manager(disabled=["contact_details"])
    assert not pm.has_plugin("contact_details") and pm.has_plugin("roster")


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
    assert any(row["name"] == "shout" for row in describe_plugins(roundtable))


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


def test_a_built_in_plugin_can_still_be_disabled_by_its_old_name_with_a_one_line_notice(caplog):
    pm = build_plugin_manager(disabled=["patterns", "semantic"])
    assert not pm.has_plugin("contact_details") and not pm.has_plugin("embedding_suggester")
    assert pm.has_plugin("keyword_suggester")
    notices = [r.getMessage() for r in caplog.records if r.name == "roundtable.plugins"]
    assert "plugin 'patterns' is now called 'contact_details'; use the new name" in notices
    assert "plugin 'semantic' is now called 'embedding_suggester'; use the new name" in notices


def test_only_loading_plugins_by_their_old_names_works_too(monkeypatch):
    monkeypatch.setenv("ROUNDTABLE_LOAD_PLUGINS", "roster,lexical")
    names = {name for name, plugin in build_plugin_manager().list_name_plugin() if plugin is not None}
    assert names == {"roster", "keyword_suggester"}


def test_a_plugin_author_finds_hookimpl_and_every_hook_type_in_the_package_root():
    """The core, the built-ins and a third party use the very same classes, defined once."""
    import roundtable
    from roundtable.services import anonymize, briefs, tagging
    from roundtable_plugins import exporters

    for name in ("hookimpl", "Span", "Suggestion", "Example", "BriefSection", "BriefDocument", "Exporter",
                 "Roster", "Codebook", "BriefContext"):
        assert hasattr(roundtable, name), name
    assert anonymize.Span is roundtable.Span and tagging.Suggestion is roundtable.Suggestion
    assert briefs.BriefSection is roundtable.BriefSection and briefs.BriefDocument is roundtable.BriefDocument
    assert all(type(e) is roundtable.Exporter for e in exporters.EXPORTERS)
    assert roundtable.Roster is anonymize.Roster


def test_a_plugin_says_why_it_is_off_through_the_plugin_status_hook():
    class NeedsAModel:
        @hookimpl
        def plugin_status(self, roundtable):
            return f"off: no model in {roundtable.settings['DATABASE_URL']}"

    class Works:
        @hookimpl
        def register_exporters(self, register):
            pass

    roundtable = make_roundtable(plugins=[])
    roundtable.pm.register(NeedsAModel(), name="needs-a-model")
    roundtable.pm.register(Works(), name="works")
    rows = {row["name"]: row for row in describe_plugins(roundtable)}
    assert rows["needs-a-model"]["status"].startswith("off: no model in sqlite")
    assert rows["works"]["status"] is None
    assert "plugin_status" in rows["needs-a-model"]["hooks"]


def test_a_plugin_status_function_without_hookimpl_is_not_read():
    """The status is a hook: a bare module function of that name is not a protocol anyone reads."""

    class Bare:
        @staticmethod
        def plugin_status():
            return "off"

        @hookimpl
        def register_exporters(self, register):
            pass

    roundtable = make_roundtable(plugins=[Bare()])
    assert [row["status"] for row in describe_plugins(roundtable)] == [None]


def test_a_switched_off_suggester_is_named_with_its_reason():
    from roundtable.errors import ValidationError
    from roundtable.services.tagging import get_suggester

    class Off:
        name = "fancy"

        def status(self):
            return "fancy suggester off: install fancy"

    class Plugin:
        @hookimpl
        def register_suggesters(self, register):
            register(Off())

    with pytest.raises(ValidationError, match="suggester 'fancy' is unavailable: fancy suggester off: install fancy"):
        get_suggester("fancy", make_roundtable(plugins=[Plugin()]))
