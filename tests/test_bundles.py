"""Series bundles: set a series up from a folder, move it between instances, archive it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from roundtable.cli.demo import DEMO_BUNDLE
from roundtable.db import Database
from roundtable.errors import ValidationError
from roundtable.models import Note, NoteTag, Participant, Series, SessionState, TagStatus
from roundtable.services.bundles import export_bundle, import_bundle, read_bundle
from roundtable.services.codebook import codebook_for_series, dump_codebook

SERIES_YAML = """\
slug: river-valley
title: River Valley Roundtable
subtitle: Water, land and the people between
organizations:
  - Valley Civic Lab
authors: [R. Writer]
funder: The Basin Fund
brief_number: "Brief No. 7"
policy: role
acknowledgments: |
  Thanks to **everyone** who came.
"""

ROSTER_CSV = """\
name,aliases,affiliation,role,consent
Zofia Wiśniewska-Kowal,Zosia|Zofia,River Valley Water Board,municipal leader,named
Tomás Ó Briain,Tom,Valley Farmers Union,community organizer,anonymous
"""

SESSIONS_YAML = """\
- number: 1
  date: 2026-03-02
  title: Drought
  focus: What the drought changed.
  state: closed
- number: 2
  date: 2026-04-06
  title: Rights
  focus: Who owns the water.
"""

CODEBOOK_YAML = """\
themes:
  - name: Water scarcity
    description: Less water for everyone.
    children:
      - name: Well failures
        description: Private wells running dry.
  - name: Water rights
    description: Who has a claim to water.
"""

NOTES_JSONL = [
    {"session": 1, "kind": "point", "speaker": "Zosia", "text": "Zofia said the wells failed in June", "theme": "Well failures"},
    {"session": 1, "kind": "quote", "speaker": "Someone Else", "text": "We had no water for a week"},
    {"session": 1, "kind": "question", "speaker": None, "text": "Who pays for new wells?", "theme": "Water rights"},
    {"session": 2, "kind": "action", "speaker": "Tomás Ó Briain", "text": "Tom will map the old claims"},
]


def write_bundle(directory: Path, **overrides) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    files = {
        "series.yaml": SERIES_YAML,
        "roster.csv": ROSTER_CSV,
        "sessions.yaml": SESSIONS_YAML,
        "codebook.yaml": CODEBOOK_YAML,
        "notes.jsonl": "".join(json.dumps(n, ensure_ascii=False) + "\n" for n in NOTES_JSONL),
    }
    files.update(overrides)
    for name, content in files.items():
        if content is not None:
            (directory / name).write_text(content, encoding="utf-8")
    return directory


def snapshot(db, slug: str) -> dict:
    """Everything that makes a series 'the same series', without database ids."""
    series = db.scalar(select(Series).where(Series.slug == slug))
    notes = db.scalars(select(Note).join(Note.session).where(Note.session.has(series_id=series.id))).all()
    return {
        "series": {k: getattr(series, k) for k in ("slug", "title", "subtitle", "organizations", "authors", "funder",
                                                    "brief_number", "policy", "acknowledgments")},
        "roster": [(p.name, p.aliases, p.affiliation, p.role_label, p.consent_named) for p in series.participants],
        "sessions": [(s.number, s.date, s.title, s.focus, s.state) for s in series.sessions],
        "codebook": dump_codebook(codebook_for_series(db, series)),
        "notes": sorted(
            (n.session.number, n.seq, n.uuid, n.kind, n.speaker_role, n.text,
             sorted(t.theme.name for t in n.tags if t.status is TagStatus.ACCEPTED))
            for n in notes
        ),
    }


def test_a_bundle_creates_the_whole_series_with_anonymized_notes(db, tmp_path, roundtable):
    bundle = read_bundle(write_bundle(tmp_path / "bundle"))
    series = import_bundle(db, bundle, roundtable=roundtable)
    db.commit()
    assert series.title == "River Valley Roundtable" and series.organizations == ["Valley Civic Lab"]
    assert [s.state for s in series.sessions] == [SessionState.CLOSED, SessionState.SCHEDULED]
    assert len(series.participants) == 2
    notes = db.scalars(select(Note).order_by(Note.session_id, Note.seq)).all()
    assert [n.speaker_role for n in notes] == ["municipal leader", "participant", None, "community organizer"]
    joined = " ".join(n.text for n in notes)
    for name in ("Zofia", "Zosia", "Tom ", "Tomás"):
        assert name not in joined
    tagged = db.scalars(select(NoteTag).where(NoteTag.note_id == notes[0].id)).all()
    assert [(t.theme.name, t.source, t.status) for t in tagged] == [("Well failures", "manual", TagStatus.ACCEPTED)]



def import_into_a_fresh_database(tmp_path, roundtable) -> dict:
    """Import the bundle exported to ``tmp_path / "exported"`` into a new SQLite file and snapshot its series."""
    fresh = Database(f"sqlite:///{tmp_path / 'fresh.sqlite'}", secret_key=roundtable.secret)
    fresh.upgrade()
    try:
        with fresh.session() as other:
            import_bundle(other, read_bundle(tmp_path / "exported"), roundtable=roundtable)
        with fresh.session() as other:
            return snapshot(other, "river-valley")
    finally:
        fresh.dispose()

def test_export_then_import_into_a_fresh_database_gives_the_same_series(db, tmp_path, roundtable):
    import_bundle(db, read_bundle(write_bundle(tmp_path / "bundle")), roundtable=roundtable)
    db.commit()
    before = snapshot(db, "river-valley")
    export_bundle(db, db.scalar(select(Series).where(Series.slug == "river-valley")), tmp_path / "exported")

    after = import_into_a_fresh_database(tmp_path, roundtable)
    assert after == before


def test_exported_notes_are_already_anonymized(db, tmp_path, roundtable):
    import_bundle(db, read_bundle(write_bundle(tmp_path / "bundle")), roundtable=roundtable)
    db.commit()
    export_bundle(db, db.scalar(select(Series).where(Series.slug == "river-valley")), tmp_path / "out")
    exported = (tmp_path / "out" / "notes.jsonl").read_text(encoding="utf-8")
    assert "Zofia" not in exported and "Tomás" not in exported
    assert "speaker_role" in exported and '"speaker"' not in exported


@pytest.mark.parametrize(
    "file, content, message",
    [
        ("series.yaml", SERIES_YAML.replace("policy: role", "policy: shuffle"), "series.yaml, line 9: 'policy'"),
        ("series.yaml", SERIES_YAML + "colour: blue\n", "series.yaml, line 12: unknown field 'colour'"),
        ("series.yaml", "slug: [unclosed\n", "series.yaml, line 2: not valid YAML"),
        ("roster.csv", ROSTER_CSV + "Ana Lima,,Clinic,scholar,maybe\n", "roster.csv, line 4: consent"),
        ("roster.csv", "name,role\n", "roster.csv, line 1: the header"),
        ("roster.csv", ROSTER_CSV + "Ana Lima,,Clinic,aide to Tomás Ó Briain,anonymous\n",
         "roster.csv, line 4: a role cannot hold a name or alias on the roster"),
        ("sessions.yaml", SESSIONS_YAML.replace("2026-04-06", "April 6"), "sessions.yaml, line 7: 'date'"),
        ("sessions.yaml", SESSIONS_YAML.replace("number: 2", "number: 1"), "sessions.yaml, line 6: session 1 is listed twice"),
        ("notes.jsonl", '{"session": 1, "text": "ok"}\n{"session": 9, "text": "no such session"}\n',
         "notes.jsonl, line 2: 'session'"),
        ("notes.jsonl", '{"session": 1, "text": "ok"}\n\n{"session": 1, "text": "x", "theme": "Nope"}\n',
         "notes.jsonl, line 3: 'theme'"),
        ("notes.jsonl", '{"session": 1, "text": "ok"\n', "notes.jsonl, line 1: not valid JSON"),
        ("codebook.yaml", "themes: [{description: no name}]\n", "codebook.yaml"),
        ("sessions.yaml", None, "sessions.yaml: missing"),
    ],
)
def test_a_bad_file_is_one_error_naming_file_and_line_and_nothing_is_created(db, tmp_path, file, content, message, roundtable):
    path = write_bundle(tmp_path / "bad")
    if content is None:
        (path / file).unlink()
    else:
        (path / file).write_text(content, encoding="utf-8")
    with pytest.raises(ValidationError) as error:
        import_bundle(db, read_bundle(path), roundtable=roundtable)
    assert message in str(error.value)
    assert db.scalar(select(func.count(Series.id))) == 0
    assert db.scalar(select(func.count(Participant.id))) == 0


def test_importing_a_slug_that_exists_is_refused(db, tmp_path, roundtable):
    bundle = read_bundle(write_bundle(tmp_path / "bundle"))
    import_bundle(db, bundle, roundtable=roundtable)
    db.commit()
    with pytest.raises(ValidationError, match="already exists"):
        import_bundle(db, bundle, roundtable=roundtable)


def test_series_import_and_export_commands(runner, app, tmp_path):
    path = write_bundle(tmp_path / "bundle")
    result = runner.invoke(["series", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert "river-valley" in result.output
    result = runner.invoke(["series", "export", "river-valley", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "codebook.yaml", "notes.jsonl", "roster.csv", "series.yaml", "sessions.yaml"]


def test_series_import_command_reports_a_bad_file_in_one_line(tmp_path):
    import subprocess
    import sys

    path = write_bundle(tmp_path / "bad", **{"roster.csv": ROSTER_CSV + "Ana,,x,scholar,maybe\n"})
    env = {"ROUNDTABLE_DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite'}", "ROUNDTABLE_INSTANCE_PATH": str(tmp_path),
           "ROUNDTABLE_LOAD_PLUGINS": "", "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", "from roundtable.cli import main; main()", "series", "import", str(path)],
                          capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == ["Error: roster.csv, line 4: consent must be 'named' or 'anonymous'"]


def test_the_demo_bundle_is_valid():
    bundle = read_bundle(DEMO_BUNDLE)
    assert bundle.slug and len(bundle.sessions) == 5 and bundle.roster


FORMULA_NAMES = ['=HYPERLINK("http://evil.example","Ada")', "+Ana Lima", "-Bo Chen", "@Cy Diaz", "\t=Dee Evans",
                 "'Ed Fox", "''=Flo Gray"]


def test_roster_cells_a_spreadsheet_would_run_are_text_in_the_bundle_and_import_back_the_same(db, tmp_path, roundtable):
    """A roster name (or alias, affiliation, role) starting with = + - @ or a tab, typed in the roster form or marked
    in a note by a facilitator, is a formula to whoever opens the exported roster.csv in a spreadsheet: it is
    written as text (a leading apostrophe), and the bundle imports back to the very same names."""
    from roundtable.services.anonymize.roster import add_marked_people, new_participant
    from roundtable.services.csv_cells import FORMULA_STARTS

    import_bundle(db, read_bundle(write_bundle(tmp_path / "bundle")), roundtable=roundtable)
    series = db.scalar(select(Series).where(Series.slug == "river-valley"))
    for name in FORMULA_NAMES:
        db.add(new_participant(series.id, name, aliases=["=1+1", "@alias"], affiliation="+Clinic", role="-scholar"))
    assert add_marked_people(db, series, ["@mira", "=cmd|' /C calc'!A0"]) == ["@mira", "=cmd|' /C calc'!A0"]
    db.commit()
    before = snapshot(db, "river-valley")
    assert "=Dee Evans" in [person[0] for person in before["roster"]]  # stored trimmed, as typed names are
    export_bundle(db, series, tmp_path / "exported")

    import csv
    import io

    exported = (tmp_path / "exported" / "roster.csv").read_text(encoding="utf-8")
    cells = [cell for row in csv.reader(io.StringIO(exported)) for cell in row]
    assert not [cell for cell in cells if cell.startswith(FORMULA_STARTS)]
    assert "'=HYPERLINK(\"http://evil.example\",\"Ada\")" in cells and "'@mira" in cells and "'+Clinic" in cells

    after = import_into_a_fresh_database(tmp_path, roundtable)
    assert after["roster"] == before["roster"]
