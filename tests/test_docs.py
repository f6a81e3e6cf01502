"""Documentation that the code keeps honest."""

from __future__ import annotations

import re
from pathlib import Path

from roundtable import hookspecs
from conftest import make_roundtable, make_series
from roundtable.services.anonymize import Anonymizer, Roster

ROOT = Path(__file__).resolve().parent.parent
PLUGINS_DOC = (ROOT / "docs" / "plugins.md").read_text()


def hook_names():
    return sorted(name for name in dir(hookspecs) if not name.startswith("_") and hasattr(getattr(hookspecs, name), "roundtable_spec"))


def test_every_hook_has_a_section_in_the_plugin_guide():
    names = hook_names()
    assert "register_detectors" in names
    missing = [name for name in names if f"### {name}\n" not in PLUGINS_DOC]
    assert missing == []


def test_every_hook_has_a_docstring_saying_when_it_is_called():
    for name in hook_names():
        assert (getattr(hookspecs, name).__doc__ or "").strip(), name


def test_the_example_plugin_in_the_guide_loads_and_removes_a_numbers(tmp_path):
    code = re.search(r"<!-- example-plugin -->\n```python\n(.*?)```", PLUGINS_DOC, re.S).group(1)
    (tmp_path / "a_numbers.py").write_text(code)
    roundtable = make_roundtable(PLUGINS_DIR=str(tmp_path))
    assert roundtable.pm.has_plugin("a_numbers")
    detectors = roundtable.collect("register_detectors")
    assert detectors[0].name == "a_numbers"
    anonymizer = Anonymizer(Roster.from_rows([]), "role", detectors, salt=roundtable.pseudonym_salt(1))
    result = anonymizer.anonymize("Client A123-456-789 was detained")
    assert result.text == "Client [redacted] was detained"


def test_readme_quickstart_has_exactly_two_setup_commands_and_ci_runs_the_second():
    readme = (ROOT / "README.md").read_text()
    quickstart = readme.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"```bash\n(.*?)\n```", quickstart, re.S)
    assert len(commands) == 2
    assert "roundtable demo --serve" in commands[0]
    assert "pytest" in commands[1]
    assert "<!-- test-command -->" in quickstart
    assert "README.md" in (ROOT / ".ci" / "run").read_text()


def test_the_section_plugin_in_the_guide_adds_its_section_to_a_built_brief(tmp_path, database_url):
    from roundtable import create_app
    from roundtable.services.briefs import build_brief
    from test_briefs import populate

    code = re.search(r"<!-- example-section-plugin -->\n```python\n(.*?)```", PLUGINS_DOC, re.S).group(1)
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "voices.py").write_text(code)
    app = create_app({"TESTING": True, "SECRET_KEY": "docs-secret", "DATABASE_URL": database_url,
                      "INSTANCE_PATH": str(tmp_path / "instance"), "PLUGINS_DIR": str(plugins)})
    roundtable = app.extensions["roundtable"]
    roundtable.database.upgrade()
    try:
        assert roundtable.pm.has_plugin("voices")
        with roundtable.database.session() as db:
            series = make_series(db)
            populate(db, series)
            markdown = build_brief(db, series, template="report", roundtable=roundtable).markdown
        section = markdown.split("## Voices by Theme\n", 1)[1].split("\n## ", 1)[0]
        assert re.search(r"^- \*\*Legal defense:\*\* .*legal advocate \(\d+\)", section, re.M), section
        assert "Hope" not in section and "María" not in section
    finally:
        roundtable.database.dispose()


def test_every_path_in_the_architecture_feature_table_exists():
    doc = (ROOT / "docs" / "architecture.md").read_text()
    table = doc[doc.index("## Feature → file"):]
    paths = {p for p in re.findall(r"`([^`\s]+)`", table) if "/" in p or p.endswith((".py", ".toml"))}
    assert len(paths) > 50
    assert sorted(p for p in paths if not (ROOT / p).exists()) == []
