"""The export gate judges what the reader of a download sees, in every format.

A brief whose Markdown hides a name from a pattern (entities, emphasis or a
tag splitting it, front-matter string escapes, a lower-case first name that is
also an English verb) is refused as Markdown, HTML and PDF; the codebook,
heatmap, session-notes and series downloads pass the same gate. The
participant's name is never in the error.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from roundtable.errors import ExportBlocked
from roundtable.models import Participant, Role, Session, Theme
from roundtable.services import briefs
from roundtable.services.anonymize import export_findings, visible_text

CLEAN = "---\ntitle: Harbor City Working Group\nauthors: [A. Author]\n---\n\n## Findings\n\nRents rose {}.\n"

DISGUISED_BODIES = {
    "decimal entity": "after Th&#97;ndiwe spoke",
    "hex entity": "after Th&#x61;ndiwe spoke",
    "double-escaped entity": "after Th&amp;#97;ndiwe spoke",
    "phone in entities": "call 617&#45;555&#45;0142 for help",
    "emphasis splitting the name": "after **Tha**ndiwe spoke",
    "link splitting the name": "after [Tha](https://example.org)ndiwe spoke",
    "tag splitting the name": "after Tha<b>ndiwe</b> spoke",
    "zero-width space": "after Tha\u200bndiwe spoke",
    "confusable letters": "after Тhаndiwе spoke",
    "lower-case verb name": "and will stressed that the county shares data",
    "email in a link target only": "as [the organizer](mailto:thandiwe.d@city.example) said",
    "right-to-left override showing a reversed name": "after \u202eayaK penyeZ\u202c spoke",
    "right-to-left override as an entity": "after &#x202E;ayaK penyeZ&#x202C; spoke",
    "name in a file name": "see thandiwe_dlamini_notes.pdf",
    "first name in a link target": "see [her page](https://example.org/u/zeynep_k)",
}
DISGUISED_COVERS = {
    "string escape in the title": '---\ntitle: "Z\\x65ynep at the table"\n---\n\n## Findings\n\nRents rose.\n',
    "unicode escape in the authors": '---\ntitle: A brief\nauthors: ["Th\\u0061ndiwe Dlamini"]\n---\n\n## Findings\n\nRents rose.\n',
    "entity in the subtitle": "---\ntitle: A brief\nsubtitle: With Th&#97;ndiwe\n---\n\n## Findings\n\nRents rose.\n",
}


@pytest.fixture
def people(db, series):
    for name, role in (("Thandiwe Dlamini", "organizer"), ("Zeynep Kaya", "scholar"), ("Will Porter", "clerk")):
        db.add(Participant(series_id=series.id, name=name, aliases=[], affiliation="", role_label=role,
                           consent_named=False))
    db.commit()
    return series


def _drafts():
    for label, body in DISGUISED_BODIES.items():
        yield label, CLEAN.format(body)
    yield from DISGUISED_COVERS.items()


@pytest.mark.parametrize("fmt", ["md", "html", "pdf"])
@pytest.mark.parametrize("label,markdown", list(_drafts()), ids=[label for label, _ in _drafts()])
def test_a_disguised_identity_blocks_the_export_in_every_format(db, people, fmt, label, markdown, roundtable):
    with pytest.raises(ExportBlocked) as blocked:
        briefs.export_brief(db, people, fmt=fmt, markdown=markdown, roundtable=roundtable)

    message = str(blocked.value)
    assert "ndiwe" not in message and "eynep" not in message and "0142" not in message


def test_a_clean_draft_exports_and_consenting_names_may_be_credited(db, people, roundtable):
    markdown = CLEAN.format("in every session").replace("authors: [A. Author]", "authors: [María Núñez]")

    data, _ = briefs.export_brief(db, people, fmt="html", markdown=markdown, roundtable=roundtable)

    assert "María Núñez" in data.decode()


def test_the_word_will_alone_does_not_block_an_export(db, people, roundtable):
    briefs.export_brief(db, people, fmt="md", markdown=CLEAN.format("and the county will share data"), roundtable=roundtable)


def test_visible_text_is_what_a_reader_sees_and_where_links_go():
    html = ('<html><head><title>T</title><style>p{}</style></head><body><p>Tha<b>ndi</b>we</p>'
            '<a href="mailto:x@y.example">mail</a><script>var a="Zeynep"</script></body></html>')

    text = visible_text(html)

    assert "Thandiwe" in text and "mailto:x@y.example" in text and "Zeynep" not in text and "p{}" not in text


def _leak_into_storage(db, series):
    """What a database written before the write paths were anonymized may still hold."""
    theme = db.scalars(select(Theme).where(Theme.series_id == series.id)).first()
    theme.name = "Th&#97;ndiwe's plan"
    theme.description = "Raised by Tha\u200bndiwe Dlamini"
    meeting = db.scalars(select(Session).where(Session.series_id == series.id)).first()
    meeting.title = "With Kwame"
    db.commit()


@pytest.mark.parametrize("path", ["codebook/codebook.yaml", "codebook/codebook.qdc", "codebook/heatmap.svg",
                                  "sessions/1/notes.md"])
def test_every_download_passes_the_gate(client, login, db, people, path):
    _leak_into_storage(db, people)
    login(Role.VIEWER)

    response = client.get(f"/s/{people.slug}/{path}")

    assert response.status_code == 422
    assert "ndiwe" not in response.get_data(as_text=True) and "Kwame" not in response.get_data(as_text=True)


def test_the_series_export_command_refuses_a_leaking_series(runner, db, people, tmp_path):
    _leak_into_storage(db, people)

    result = runner.invoke(["series", "export", people.slug, str(tmp_path / "out")])

    assert isinstance(result.exception, ExportBlocked)  # main() makes it one line and exit 2
    assert "Kwame" not in str(result.exception) and "ndiwe" not in str(result.exception)
    assert not (tmp_path / "out").exists()


def test_findings_never_repeat_the_name():
    findings = export_findings("Met Th&#97;ndiwe.", [Participant(id=1, name="Thandiwe Dlamini", aliases=[],
                                                                 affiliation="", role_label="organizer",
                                                                 consent_named=False)])

    assert findings and "ndiwe" not in " ".join(map(str, findings))


def test_a_finding_in_the_rendered_document_names_the_line_of_the_draft_to_fix(db, people, roundtable):
    """The rendered document's own line numbers mean nothing to the author: point at the draft's line."""
    markdown = CLEAN.format("in every session") + "\nA list:\n\n- one\n- after **Tha**ndiwe spoke\n"
    line = markdown.split("\n").index("- after **Tha**ndiwe spoke") + 1

    with pytest.raises(ExportBlocked) as blocked:
        briefs.export_brief(db, people, fmt="pdf", markdown=markdown, roundtable=roundtable)

    rendered = [f for f in blocked.value.findings if f.where.startswith("as rendered")]
    assert [str(f) for f in rendered] == [f"as rendered from line {line} of the draft (name)"]
    assert "ndiwe" not in str(blocked.value)


def test_a_finding_on_the_cover_says_so(db, people, roundtable):
    markdown = "---\ntitle: Zeynep at the table\n---\n\n## Findings\n\nRents rose.\n"

    with pytest.raises(ExportBlocked) as blocked:
        briefs.export_brief(db, people, fmt="html", markdown=markdown, roundtable=roundtable)

    message = str(blocked.value)
    assert "line 2, column 8 (name)" in message  # the front matter, as written
    assert "as rendered on the cover, the contents or a running header (name)" in message
    assert "eynep" not in message


@pytest.mark.parametrize("path", ["codebook/codebook.yaml", "codebook/codebook.qdc", "codebook/heatmap.svg",
                                  "sessions/1/notes.md", "sessions/1/notes.csv"])
def test_a_download_is_not_saved_under_a_participants_name(client, login, db, people, path):
    """The series address was chosen before the roster existed and can name someone on it; the file
    name a browser saves is what its reader sees first."""
    people.slug = "kaya-interviews"
    db.commit()
    login(Role.VIEWER)

    response = client.get(f"/s/kaya-interviews/{path}")

    assert response.status_code == 200
    disposition = response.headers["Content-Disposition"]
    assert "kaya" not in disposition.lower() and f'filename="series-{people.id}-' in disposition


def test_a_brief_download_is_not_saved_under_a_participants_name(client, login, db, people):
    people.slug = "kaya-interviews"
    db.commit()
    login(Role.AUTHOR)
    client.post("/s/kaya-interviews/brief/report/build")

    response = client.post("/s/kaya-interviews/brief/report/export/md")

    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.headers["Content-Disposition"] == f'attachment; filename="series-{people.id}-report.md"'
