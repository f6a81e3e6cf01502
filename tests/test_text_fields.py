"""Titles, theme fields and session fields pass the one check roster fields pass: a control character or a value
longer than its column is refused with a message naming the field (on the page, in one CLI line, with the file's
line for a bundle), and nothing is saved."""

from __future__ import annotations

import subprocess
import sys

import pytest
from sqlalchemy import func, select

from roundtable.errors import ValidationError
from roundtable.models import Role, Series, Theme
from roundtable.models import Session as Meeting
from roundtable.services.bundles import import_bundle, read_bundle
from test_bundles import CODEBOOK_YAML, SERIES_YAML, SESSIONS_YAML, write_bundle

ON_SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def _state(db, series) -> tuple:
    db.expire_all()
    return (db.scalar(select(func.count(Series.id))),
            sorted((m.number, m.title, m.focus) for m in db.scalars(select(Meeting).where(Meeting.series_id == series.id))),
            sorted((t.id, t.name, t.description, tuple(t.keywords or ()), t.section)
                   for t in db.scalars(select(Theme).where(Theme.series_id == series.id))))


@ON_SQLITE
@pytest.mark.parametrize("field, value, message", [
    ("title", "T" * 5000, "A session title can be at most 300 characters (this one has 5000)"),
    ("title", "Looking\x00Ahead", "A session title cannot contain control characters"),
    ("focus", "F" * 600, "A session focus can be at most 500 characters"),
    ("focus", "What\x1bnext", "A session focus cannot contain control characters"),
], ids=["long-title", "nul-title", "long-focus", "escape-focus"])
def test_scheduling_a_session_with_a_bad_title_or_focus_says_so_and_saves_nothing(
        client, login, db, series, field, value, message):
    login(Role.FACILITATOR)
    before = _state(db, series)
    form = {"number": "9", "date": "2026-06-11", "title": "Next", "focus": "", field: value}
    page = client.post(f"/s/{series.slug}/sessions", data=form, follow_redirects=True).get_data(as_text=True)
    assert message in page and "is scheduled" not in page
    assert _state(db, series) == before


@ON_SQLITE
@pytest.mark.parametrize("title, message", [
    ("S" * 5000, "A series title can be at most 300 characters"),
    ("River\x00Valley", "A series title cannot contain control characters"),
    ("   ", "A series title is required"),
], ids=["long", "nul", "blank"])
def test_creating_a_series_with_a_bad_title_says_so_and_creates_nothing(client, login, db, series, title, message):
    login(Role.ADMIN)
    before = _state(db, series)
    response = client.post("/admin/series", data={"slug": "new-series", "title": title})
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    assert _state(db, series) == before


@ON_SQLITE
@pytest.mark.parametrize("form, message", [
    ({"name": "N" * 5000}, "A theme name can be at most 200 characters"),
    ({"name": "Hous\x00ing"}, "A theme name cannot contain control characters"),
    ({"name": "Housing", "description": "D" * 5000}, "A theme description can be at most 2000 characters"),
    ({"name": "Housing", "description": "Rent\x07"}, "A theme description cannot contain control characters"),
    ({"name": "Housing", "keywords": "rent, evic\x00tion"}, "A keyword cannot contain control characters"),
    ({"name": "Housing", "section": "S" * 500}, "A section can be at most 120 characters"),
], ids=["long-name", "nul-name", "long-description", "bell-description", "nul-keyword", "long-section"])
@pytest.mark.parametrize("change", ["add", "edit"])
def test_a_theme_with_a_bad_field_is_refused_on_the_page_and_nothing_changes(
        client, login, db, series, form, message, change):
    login(Role.FACILITATOR)
    theme = db.scalar(select(Theme).where(Theme.series_id == series.id).order_by(Theme.id))
    before = _state(db, series)
    url = f"/s/{series.slug}/codebook/themes" + ("" if change == "add" else f"/{theme.id}")
    page = client.post(url, data=form, follow_redirects=True).get_data(as_text=True)
    assert message in page and "Theme “" not in page
    assert _state(db, series) == before


@ON_SQLITE
def test_a_codebook_file_with_a_control_character_is_refused_and_changes_nothing(client, login, db, series):
    import io

    login(Role.FACILITATOR)
    before = _state(db, series)
    upload = (io.BytesIO(b'themes:\n  - name: "Hous\\0ing"\n'), "codebook.yaml")
    page = client.post(f"/s/{series.slug}/codebook/import", data={"file": upload},
                       content_type="multipart/form-data", follow_redirects=True).get_data(as_text=True)
    assert "themes[0]: a theme name cannot contain control characters" in page
    assert _state(db, series) == before


@ON_SQLITE
@pytest.mark.parametrize("file, content, message", [
    ("series.yaml", SERIES_YAML.replace("title: River Valley Roundtable", 'title: "River\\0Valley"'),
     "series.yaml, line 2: a series title cannot contain control characters"),
    ("series.yaml", SERIES_YAML.replace("funder: The Basin Fund", f"funder: {'F' * 400}"),
     "series.yaml, line 7: a funder can be at most 300 characters (this one has 400)"),
    ("series.yaml", SERIES_YAML.replace("|\n  Thanks to **everyone** who came.", '"Thanks\\a to everyone"'),
     "series.yaml, line 10: acknowledgments cannot contain control characters"),
    ("sessions.yaml", SESSIONS_YAML.replace("title: Rights", f"title: {'R' * 5000}"),
     "sessions.yaml, line 8: a session title can be at most 300 characters (this one has 5000)"),
    ("sessions.yaml", SESSIONS_YAML.replace("title: Drought", 'title: "Dro\\x1bught"'),
     "sessions.yaml, line 3: a session title cannot contain control characters"),
    ("codebook.yaml", CODEBOOK_YAML.replace("Less water for everyone.", '"Less\\0water"'),
     "codebook.yaml: themes[0] ('Water scarcity'): a theme description cannot contain control characters"),
    ("codebook.yaml", CODEBOOK_YAML.replace("name: Water rights", f"name: {'W' * 300}"),
     "codebook.yaml: themes[1]: a theme name can be at most 200 characters (this one has 300)"),
], ids=["nul-series-title", "long-funder", "bell-acknowledgments", "long-session-title", "escape-session-title",
        "nul-theme-description", "long-theme-name"])
def test_a_bundle_with_a_bad_text_field_names_file_line_and_field_and_creates_nothing(
        db, tmp_path, roundtable, file, content, message):
    path = write_bundle(tmp_path / "bad", **{file: content})
    with pytest.raises(ValidationError) as error:
        import_bundle(db, read_bundle(path), roundtable=roundtable)
    assert str(error.value) == message
    assert db.scalar(select(func.count(Series.id))) == 0


def test_the_series_import_command_refuses_a_control_character_in_one_line(tmp_path):
    path = write_bundle(tmp_path / "bad", **{"sessions.yaml": SESSIONS_YAML.replace("title: Drought", 'title: "a\\0b"')})
    env = {"ROUNDTABLE_DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite'}", "ROUNDTABLE_INSTANCE_PATH": str(tmp_path),
           "ROUNDTABLE_LOAD_PLUGINS": "", "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", "from roundtable.cli import main; main()", "series", "import", str(path)],
                          capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "Error: sessions.yaml, line 3: a session title cannot contain control characters"]

