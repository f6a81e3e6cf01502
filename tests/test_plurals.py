"""Counts read as English on every page and in the CLI: "1 person", "1 note", never "1 people"."""

from __future__ import annotations

import re
from pathlib import Path

from roundtable.plurals import count_of

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
# A number printed straight before a plural noun: "{{ preview|length }} people" says "1 people" for one.
COUNT_THEN_PLURAL = re.compile(r"\{\{[^{}]*\}\}\s+(people|notes|sessions|themes|bullets|hours|tags|members)\b")


def test_count_of_says_one_thing_or_many_things():
    assert count_of(1, "person") == "1 person"
    assert count_of(2, "person") == "2 people"
    assert count_of(0, "note") == "0 notes"
    assert count_of(1, "note") == "1 note"
    assert count_of(1200, "note") == "1,200 notes"
    assert count_of(2, "kept term") == "2 kept terms"
    assert count_of(3, "entry") == "3 entries"
    assert count_of(2, "note waiting", "notes waiting") == "2 notes waiting"


def test_no_template_prints_a_count_before_a_fixed_plural():
    found = [f"{path.relative_to(TEMPLATES)}: {m.group(0)}"
             for path in sorted(TEMPLATES.rglob("*.html")) for m in COUNT_THEN_PLURAL.finditer(path.read_text())]
    assert found == []


def test_the_series_page_and_roster_say_one_person(client, login, db, series):
    from roundtable.models import Participant, Role
    from sqlalchemy import delete, select

    keep = db.scalars(select(Participant.id).where(Participant.series_id == series.id)).first()
    db.execute(delete(Participant).where(Participant.series_id == series.id, Participant.id != keep))
    db.commit()
    login(Role.FACILITATOR)
    show = client.get(f"/s/{series.slug}/").get_data(as_text=True)
    assert "1 person ·" in show and "1 people" not in show
    roster = client.get(f"/s/{series.slug}/roster").get_data(as_text=True)
    assert "1 person</h2>" in roster


def test_the_command_line_counts_one_imported_note_as_one_note(runner, series, tmp_path):
    path = tmp_path / "one.txt"
    path.write_text("The only note of the day\n", encoding="utf-8")
    dry = runner.invoke(["notes", "import", series.slug, "2", str(path), "--dry-run"])
    assert "Dry run: 1 note would be imported" in dry.output, dry.output
    result = runner.invoke(["notes", "import", series.slug, "2", str(path)])
    assert result.exit_code == 0 and "Imported 1 note into session 2." in result.output, result.output
