"""The pages a facilitator runs a series with: sessions, roster upload, note import, closed sessions."""

from __future__ import annotations

import csv
import io
import json

import pytest
from sqlalchemy import func, select

from roundtable.models import Note, Participant, Role, SessionState
from roundtable.models import Session as Meeting

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

ROSTER = "name,aliases,affiliation,role,consent\nAda Okafor,Ada,Clinic,scholar,named\n"


def test_a_facilitator_schedules_opens_and_closes_a_session(client, login, db, series):
    login(Role.FACILITATOR)
    response = client.post(f"/s/{series.slug}/sessions", data={"number": "4", "date": "2026-06-11", "title": "Next"})
    assert response.status_code == 302
    meeting = db.scalar(select(Meeting).where(Meeting.series_id == series.id, Meeting.number == 4))
    assert meeting.state is SessionState.SCHEDULED and meeting.title == "Next"
    assert client.post(f"/s/{series.slug}/sessions/4/open").status_code == 302
    db.refresh(meeting)
    assert meeting.state is SessionState.LIVE
    page = client.get(f"/s/{series.slug}/sessions/4/").get_data(as_text=True)
    assert 'id="composer"' in page and "socket.io.min.js" in page and "<script>" not in page
    client.post(f"/s/{series.slug}/sessions/4/close")
    db.refresh(meeting)
    assert meeting.state is SessionState.CLOSED


def test_a_closed_session_shows_read_only_notes_with_counts(client, login, db, series, roundtable):
    from roundtable.services.notes import NoteStream

    meeting = series.sessions[0]
    stream = NoteStream(db, roundtable)
    stream.add_note(meeting.id, "7d3c1e52-1111-4a6b-9c55-000000000001", "Who pays?", "question")
    stream.add_note(meeting.id, "7d3c1e52-1111-4a6b-9c55-000000000002", "We need lawyers", "point")
    stream.close_session(meeting.id)
    login(Role.VIEWER)
    page = client.get(f"/s/{series.slug}/sessions/1/").get_data(as_text=True)
    assert "This session is closed" in page and "2 notes" in page
    assert 'id="composer"' not in page
    assert "Who pays?" in page


def test_a_roster_upload_is_previewed_then_saved(client, login, db, series):
    login(Role.FACILITATOR)
    upload = {"file": (io.BytesIO(ROSTER.encode()), "roster.csv")}
    preview = client.post(f"/s/{series.slug}/roster/upload", data=upload, content_type="multipart/form-data")
    assert preview.status_code == 200 and "Check before saving: 1 person" in preview.get_data(as_text=True)
    assert db.scalar(select(func.count(Participant.id)).where(Participant.series_id == series.id)) == 3
    saved = client.post(f"/s/{series.slug}/roster/upload", data={"csv_text": ROSTER, "confirm": "yes"})
    assert saved.status_code == 302
    assert db.scalar(select(func.count(Participant.id)).where(Participant.series_id == series.id)) == 4


@pytest.mark.parametrize("line, message", [
    ("Ben Lu,,Office,municipal leader,maybe", "line 3: consent must be"),
    ("Ben\x00Lu,,Office,municipal leader,named", "line 3: a name cannot contain control characters"),
])
def test_a_bad_roster_names_the_line_and_saves_nothing(client, login, db, series, line, message):
    login(Role.FACILITATOR)
    csv_text = ROSTER + line + "\n"
    response = client.post(f"/s/{series.slug}/roster/upload", data={"csv_text": csv_text, "confirm": "yes"})
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert db.scalar(select(func.count(Participant.id)).where(Participant.series_id == series.id)) == 3


def test_a_role_that_names_someone_on_the_roster_is_refused_in_an_upload_and_an_edit(client, login, db, series):
    """Every member sees roles (the composer's speaker list, a note's speaker, the brief's attributions): a
    role holding a roster name or alias would show it to all of them."""
    login(Role.FACILITATOR)
    csv_text = ROSTER + "Ben Lu,,Office,assistant to Hope van der Berg,anonymous\n"
    upload = client.post(f"/s/{series.slug}/roster/upload", data={"csv_text": csv_text, "confirm": "yes"})
    assert upload.status_code == 400
    assert "Line 3: a role cannot hold a name or alias on the roster" in upload.get_data(as_text=True)
    assert db.scalar(select(func.count(Participant.id)).where(Participant.series_id == series.id)) == 3

    person = db.scalar(select(Participant).where(Participant.series_id == series.id).order_by(Participant.id))
    form = {"name": person.name, "aliases": "|".join(person.aliases), "affiliation": person.affiliation,
            "role": "Kwame's deputy"}
    page = client.post(f"/s/{series.slug}/roster/{person.id}", data=form, follow_redirects=True).get_data(as_text=True)
    assert "A role cannot hold a name or alias on the roster" in page and "Saved." not in page
    db.expire_all()
    assert person.role_label == "legal advocate"



@pytest.mark.parametrize("role", ["assistant to H\u043epe van der Berg",  # a Cyrillic o
                                  "KWAME'S DEPUTY", "Kw&#97;me's deputy", "K w a m e's deputy"])
def test_a_role_that_names_someone_in_look_alike_letters_or_markup_is_refused_too(client, login, db, series, role):
    login(Role.FACILITATOR)
    person = db.scalar(select(Participant).where(Participant.series_id == series.id).order_by(Participant.id))
    form = {"name": person.name, "aliases": "|".join(person.aliases), "affiliation": person.affiliation, "role": role}
    page = client.post(f"/s/{series.slug}/roster/{person.id}", data=form, follow_redirects=True).get_data(as_text=True)
    assert "A role cannot hold a name or alias on the roster" in page and "Saved." not in page
    db.expire_all()
    assert person.role_label == "legal advocate"

def test_the_roster_is_for_facilitators_only(client, login, series):
    login(Role.NOTE_TAKER)
    assert client.get(f"/s/{series.slug}/roster").status_code == 403


def test_note_import_page_previews_anonymized_notes_then_imports(client, login, db, series):
    login(Role.NOTE_TAKER)
    upload = {"file": (io.BytesIO("- María said the clinic is full\n- Who pays?\n".encode()), "notes.md")}
    preview = client.post(f"/s/{series.slug}/sessions/2/import", data=upload, content_type="multipart/form-data")
    page = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "2 notes from notes.md" in page
    assert "A legal advocate said the clinic is full" in page
    assert db.scalar(select(func.count(Note.id))) == 0
    parsed = page.split('name="parsed" value="')[1].split('"')[0].replace("&#34;", '"').replace("&quot;", '"')
    done = client.post(f"/s/{series.slug}/sessions/2/import", data={"parsed": json.loads(json.dumps(parsed)),
                                                                     "confirm": "yes"})
    assert done.status_code == 302
    texts = db.scalars(select(Note.text).order_by(Note.seq)).all()
    assert texts == ["A legal advocate said the clinic is full", "Who pays?"]


def test_a_bad_import_file_names_the_line_and_stores_nothing(client, login, db, series):
    login(Role.NOTE_TAKER)
    upload = {"file": (io.BytesIO(b'{"text": "ok"}\n{broken\n'), "notes.jsonl")}
    response = client.post(f"/s/{series.slug}/sessions/2/import", data=upload, content_type="multipart/form-data")
    assert response.status_code == 400
    assert "notes.jsonl, line 2: not valid JSON" in response.get_data(as_text=True)
    assert db.scalar(select(func.count(Note.id))) == 0


def test_an_author_reaches_the_brief_editor_from_the_series_page_and_the_nav(client, login, series):
    login(Role.AUTHOR)
    page = client.get(f"/s/{series.slug}/").get_data(as_text=True)
    assert "not built yet" not in page
    assert f'href="/s/{series.slug}/brief/report/"' in page and f'href="/s/{series.slug}/brief/brief/"' in page
    assert f'href="/s/{series.slug}/brief/"' in page  # the series navigation
    editor = client.get(f"/s/{series.slug}/brief/report/")
    assert editor.status_code == 200
    assert 'aria-current="page">Brief</a>' in editor.get_data(as_text=True)


def test_viewers_and_note_takers_get_no_brief_link(client, login, series):
    login(Role.NOTE_TAKER)
    page = client.get(f"/s/{series.slug}/").get_data(as_text=True)
    assert "/brief/" not in page
    assert client.get(f"/s/{series.slug}/brief/").status_code == 403


def test_a_session_downloads_as_markdown_and_csv_through_the_export_gate(client, login, series, database, roundtable):
    from roundtable.models import Participant
    from roundtable.services.notes import NoteStream

    login(Role.VIEWER)
    with database.session() as db:
        stream = NoteStream(db, roundtable)
        stream.add_note(series.sessions[0].id, "6f1c1a52-3a5e-4c55-9a7a-1f0b8c2d9e01", "=SUM(A1) clinics need lawyers")
        stream.add_note(series.sessions[0].id, "6f1c1a52-3a5e-4c55-9a7a-1f0b8c2d9e02", "Who funds interpreters?",
                        kind="question")
    md = client.get(f"/s/{series.slug}/sessions/1/notes.md")
    assert md.status_code == 200 and md.mimetype == "text/markdown"
    assert "attachment" in md.headers["Content-Disposition"]
    assert "**#2**" in md.get_data(as_text=True) and "Who funds interpreters?" in md.get_data(as_text=True)
    csv_text = client.get(f"/s/{series.slug}/sessions/1/notes.csv").get_data(as_text=True)
    assert csv_text.splitlines()[0] == "seq,time,kind,speaker_role,themes,text"
    rows = list(csv.DictReader(io.StringIO(csv_text)))
    assert rows[0]["text"] == "'=SUM(A1) clinics need lawyers"  # a formula stays text in a spreadsheet
    # An empty cell stays empty: no lone apostrophe where a note has no speaker or themes.
    assert (rows[1]["speaker_role"], rows[1]["themes"], rows[1]["text"]) == ("", "", "Who funds interpreters?")
    # A name the anonymizer could not know at the time (added to the roster later) blocks the download.
    with database.session() as db:
        db.add(Participant(series_id=series.id, name="Interpreters Guild", role_label="advocate"))
        db.commit()
    blocked = client.get(f"/s/{series.slug}/sessions/1/notes.csv")
    assert blocked.status_code == 422 and "Who funds" not in blocked.get_data(as_text=True)


def test_a_session_csv_download_imports_back_as_the_same_notes(client, login, series, database, roundtable):
    """The formula guard marks a cell as text with an apostrophe; importing the download restores what was typed."""
    from roundtable.services.note_import import parse_notes_file
    from roundtable.services.notes import NoteStream

    typed = ["=SUM(A1) clinics need lawyers", "+1 for interpreters", "-5 percent of the budget", "@ 5pm the clinic asked",
             "'twas a long night", "''=both quotes", "Who funds interpreters?"]
    with database.session() as db:
        stream = NoteStream(db, roundtable)
        for number, text in enumerate(typed, start=1):
            stream.add_note(series.sessions[0].id, f"6f1c1a52-3a5e-4c55-9a7a-1f0b8c2d9e{number:02d}", text)
    login(Role.VIEWER)
    download = client.get(f"/s/{series.slug}/sessions/1/notes.csv").get_data()
    assert [note.text for note in parse_notes_file("notes.csv", download)] == typed


@pytest.mark.parametrize("field, value, message", [
    ("name", "A" * 5000, "A name can be at most 200 characters"),
    ("name", "Ada\x00Okafor", "A name cannot contain control characters"),
    ("aliases", "Ada|" + "B" * 5000, "An alias can be at most 200 characters"),
    ("affiliation", "Clinic\x07", "An affiliation cannot contain control characters"),
    ("role", "r" * 500, "A role can be at most 120 characters"),
], ids=["long-name", "nul-name", "long-alias", "bell-affiliation", "long-role"])
def test_a_roster_edit_with_a_too_long_field_or_a_control_character_says_so_and_saves_nothing(
        client, login, db, series, field, value, message):
    login(Role.FACILITATOR)
    person = db.scalar(select(Participant).where(Participant.series_id == series.id).order_by(Participant.id))
    before = (person.name, list(person.aliases), person.affiliation, person.role_label)
    form = {"name": person.name, "aliases": "|".join(person.aliases), "affiliation": person.affiliation,
            "role": person.role_label, field: value}
    response = client.post(f"/s/{series.slug}/roster/{person.id}", data=form, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert message in page and "Saved." not in page
    db.expire_all()
    assert (person.name, list(person.aliases), person.affiliation, person.role_label) == before


def test_a_session_markdown_download_keeps_markup_in_notes_titles_and_themes_as_text(client, login, db, series,
                                                                                     roundtable):
    from markdown_it import MarkdownIt

    from roundtable.models import NoteTag, TagStatus, Theme
    from roundtable.services.notes import NoteStream

    meeting = series.sessions[0]
    meeting.title = "Intake <img src=t onerror=alert(1)>"
    theme = db.scalar(select(Theme).where(Theme.series_id == series.id).order_by(Theme.id))
    theme.name = "Access [tab](javascript:alert(2))"
    note, _ = NoteStream(db, roundtable).add_note(meeting.id, "6f1c1a52-3a5e-4c55-9a7a-1f0b8c2d9e03",
                                                  "See <img src=n onerror=alert(3)> and ![p](http://tracker.example/p.png)")
    db.add(NoteTag(note_id=note.id, theme_id=theme.id, status=TagStatus.ACCEPTED, source="manual", confidence=1.0))
    db.commit()
    login(Role.VIEWER)
    text = client.get(f"/s/{series.slug}/sessions/1/notes.md").get_data(as_text=True)
    # Read as a lenient Markdown viewer would, raw HTML on: every piece of markup stays text.
    rendered = MarkdownIt("commonmark").render(text)
    assert "<img" not in rendered and "<a " not in rendered, rendered
    for shown in ("Intake &lt;img src=t onerror=alert(1)&gt;", "Access [tab](javascript:alert(2))",
                  "See &lt;img src=n onerror=alert(3)&gt; and ![p](http://tracker.example/p.png)"):
        assert shown in rendered
