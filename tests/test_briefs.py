"""Briefs: a series' tagged notes become a policy report or a research brief."""

from __future__ import annotations

import io
import re
import threading
import time
import uuid

import pytest
from pypdf import PdfReader
from sqlalchemy import event, func, select

from roundtable import hookimpl
from roundtable.errors import ExportBlocked
from roundtable.models import Brief, BriefVersion, Note, NoteTag, Participant, Resource, Session, TagStatus, Theme
from roundtable.services import briefs
from roundtable.services.render import split_front_matter
from roundtable import BriefSection

REPORT_ORDER = [
    "Executive Summary",
    "Key Findings",
    "Strategic Implications",
    "Introduction",
    "Key Themes",
    "Strategic Directions",
    "Unanswered Questions and Future Directions",
    "Resources and Partners",
    "Acknowledgments",
    "How This Report Was Made",
]

# (session number, theme name, kind, role, text)
NOTES = [
    (1, "Funding threats", "point", "a municipal leader", "Grant conditions are being used to force cities to cooperate with enforcement."),
    (2, "Funding threats", "point", "a legal advocate", "The grant conditions that force cooperation are unlawful and cities should sue."),
    (3, "Funding threats", "point", "a scholar", "Budget offices warn that lost public safety grants would hurt every department."),
    (1, "Federal enforcement", "point", "a community organizer", "Agents in plain clothes arrive at apartment complexes before dawn."),
    (2, "Federal enforcement", "point", "a legal advocate", "Courthouse arrests keep witnesses away from court."),
    (3, "Federal enforcement", "quote", "a municipal leader", "\u201cNobody on my block opens the door anymore.\u201d"),
    (1, "Legal defense", "point", "a legal advocate", "Universal representation changes outcomes for detained residents, see https://example.org/representation-study"),
    (1, "Legal defense", "point", "a scholar", "Detained residents with a lawyer are far more likely to win their cases."),
    (2, "Legal defense", "point", "a legal advocate", "Rapid transfers to remote detention cut families off from counsel."),
    (2, "Legal defense", "point", "a public defender", "Transfers to distant detention centers happen overnight, before a lawyer is called."),
    (3, "Legal defense", "point", "a community organizer", "Know-your-rights trainings in schools reach parents who never come to clinics."),
    (3, "Legal defense", "point", "a faith leader", "Congregations host know-your-rights trainings in several languages."),
    (2, "Legal defense", "point", "a scholar", "However, a scholar was not convinced that universal representation changes outcomes for every resident."),
    (3, "Legal defense", "point", "a legal advocate", "Hotline volunteers need training on what to say to families."),
    (1, "Legal defense", "question", "a municipal leader", "How can cities keep funding legal defense if grants are cut?"),
    (2, "Federal enforcement", "question", "a scholar", "What data do city vendors share with federal agencies?"),
    (1, "Invest in legal aid", "action", "a legal advocate", "Cities should fund universal representation for every resident facing removal."),
    (2, "Invest in legal aid", "action", "a municipal leader", "Pool city and county money for removal defense."),
    (3, "Invest in legal aid", "point", "a scholar", "Law schools could staff clinics for detained residents."),
    (3, "Invest in legal aid", "resource", "a legal advocate", "Model ordinance at https://cities.example.net/model-ordinance"),
]


def populate(db, series) -> dict[str, list[int]]:
    """Notes from NOTES, tagged by hand, plus a rejected and a suggested tag that must be ignored."""
    sessions = {s.number: s for s in db.scalars(select(Session).where(Session.series_id == series.id))}
    themes = {t.name: t for t in db.scalars(select(Theme).where(Theme.series_id == series.id))}
    seq = {n: 0 for n in sessions}
    ids: dict[str, list[int]] = {}
    for number, theme, kind, role, text in NOTES:
        seq[number] += 1
        note = Note(session_id=sessions[number].id, seq=seq[number], uuid=str(uuid.uuid4()), kind=kind,
                    text=text, speaker_role=role)
        db.add(note)
        db.flush()
        db.add(NoteTag(note_id=note.id, theme_id=themes[theme].id, source="manual"))
        ids.setdefault(theme, []).append(note.id)
    stray = Note(session_id=sessions[1].id, seq=99, uuid=str(uuid.uuid4()), kind="point",
                 text="Zebra crossings near the stadium were repainted.", speaker_role="a scholar")
    db.add(stray)
    db.flush()
    db.add(NoteTag(note_id=stray.id, theme_id=themes["Legal defense"].id, source="lexical",
                   status=TagStatus.REJECTED, confidence=0.4))
    db.add(NoteTag(note_id=stray.id, theme_id=themes["Federal enforcement"].id, source="lexical",
                   status=TagStatus.SUGGESTED, confidence=0.5))
    ids["stray"] = [stray.id]
    db.add(Resource(series_id=series.id, url="https://example.org/representation-study",
                    title="Representation Study", description="An evaluation of removal defense",
                    category="Research and Policy Organizations"))
    db.commit()
    return ids


@pytest.fixture
def filled(db, series):
    return series, populate(db, series)


def headings(markdown: str, level: int = 2) -> list[str]:
    return re.findall(rf"^{'#' * level} (.+)$", markdown, re.M)


def roster_names(db, series) -> list[str]:
    people = db.scalars(select(Participant).where(Participant.series_id == series.id))
    return [n for p in people for n in [p.name, *p.aliases]]


def test_policy_report_has_the_anatomy_sections_in_order(db, filled, roundtable):
    series, _ = filled
    document = briefs.build_brief(db, series, template="report", roundtable=roundtable)
    assert headings(document.markdown) == REPORT_ORDER
    assert headings(document.markdown, 3)[:2] == ["Federal enforcement", "Legal defense"]
    assert "Invest in legal aid" in document.markdown.split("## Strategic Directions")[1]


def test_research_brief_is_the_short_form_without_themes(db, filled, roundtable):
    series, _ = filled
    document = briefs.build_brief(db, series, template="brief", roundtable=roundtable)
    assert headings(document.markdown) == ["Overview", "Key Findings", "Strategic Implications", "Resources"]
    assert document.front_matter["kind"] == "Research Brief"
    assert document.front_matter["brief_number"] == "Research Brief No. 2026/01"
    assert document.front_matter["funder"] == "A Foundation"


def test_every_generated_bullet_keeps_the_notes_it_came_from(db, filled, roundtable):
    series, ids = filled
    document = briefs.build_brief(db, series, roundtable=roundtable)
    series_notes = {i for key, group in ids.items() if key != "stray" for i in group}
    assert document.provenance
    for bullet_id, note_ids in document.provenance.items():
        assert f"{{#{bullet_id}}}" in document.markdown
        assert note_ids and set(note_ids) <= series_notes
    sub_theme = [b for b in document.provenance if b.startswith("p-") and "Funding threats" in
                 document.markdown.split(f"{{#{b}}}")[0].rsplit("\n", 1)[-1]]
    assert sub_theme and set(document.provenance[sub_theme[0]]) == set(ids["Funding threats"])


def test_sub_themes_are_bolded_lead_ins_and_speakers_are_roles_only(db, filled, roundtable):
    series, _ = filled
    document = briefs.build_brief(db, series, roundtable=roundtable)
    assert re.search(r"^- \[\*\*Funding threats:\*\*\]\{#p-\d+-1\} ", document.markdown, re.M)
    themes = document.markdown.split("## Key Themes")[1].split("## Unanswered")[0]
    assert re.search(r"(legal advocates|a legal advocate|municipal leaders|a municipal leader)", themes, re.I)
    for name in roster_names(db, series):
        assert name not in split_front_matter(document.markdown)[1].split("## Acknowledgments")[0]


def test_theme_without_sub_themes_gets_three_to_six_bullets_with_own_lead_ins(db, filled, roundtable):
    series, _ = filled
    document = briefs.build_brief(db, series, roundtable=roundtable)
    legal = document.markdown.split("### Legal defense")[1].split("###")[0]
    bullets = re.findall(r"^- \[\*\*(.+?):\*\*\]", legal, re.M)
    generated = [b for b in bullets if b != "Where participants differed"]
    assert 3 <= len(generated) <= 6
    assert len(set(generated)) == len(generated)
    words = " ".join(text for _, theme, _, _, text in NOTES if theme == "Legal defense").lower()
    for lead in generated:
        assert any(w.lower() in words for w in re.findall(r"[A-Za-z'-]{4,}", lead))


def test_themes_show_evidence_counts_quotes_and_disagreement(db, filled, roundtable):
    series, _ = filled
    document = briefs.build_brief(db, series, roundtable=roundtable)
    enforcement = document.markdown.split("### Federal enforcement")[1].split("###")[0]
    assert "Drawn from 7 notes across 3 sessions" in enforcement
    assert "::: callout" in enforcement and "Nobody on my block opens the door anymore." in enforcement
    legal = document.markdown.split("### Legal defense")[1].split("###")[0]
    assert "participants differed" in legal


def test_links_are_inline_in_bullets_and_listed_once_under_resources(db, filled, roundtable):
    series, _ = filled
    document = briefs.build_brief(db, series, roundtable=roundtable)
    themes = document.markdown.split("## Key Themes")[1].split("## Unanswered")[0]
    assert "[Representation Study](https://example.org/representation-study)" in themes
    resources = document.markdown.split("## Resources and Partners")[1].split("## Acknowledgments")[0]
    assert resources.count("https://example.org/representation-study)") == 1
    assert resources.count("https://cities.example.net/model-ordinance)") == 1
    headings = re.findall(r"^### (.+)$", resources, re.M)
    assert "Other Links Mentioned" not in headings and len(headings) >= 2


def test_questions_feed_unanswered_questions(db, filled, roundtable):
    series, _ = filled
    document = briefs.build_brief(db, series, roundtable=roundtable)
    questions = document.markdown.split("## Unanswered Questions and Future Directions")[1].split("\n## ")[0]
    assert "How can cities keep funding legal defense if grants are cut?" in questions
    assert "What data do city vendors share with federal agencies?" in questions
    assert re.search(r"^- \[\*\*.+:\*\*\]\{#q-1\}", questions, re.M)


def test_strategic_directions_prefer_action_notes(db, filled, roundtable):
    series, _ = filled
    document = briefs.build_brief(db, series, roundtable=roundtable)
    directions = document.markdown.split("## Strategic Directions")[1].split("\n## ")[0]
    first_bullet = re.search(r"^- .+$", directions, re.M).group(0)
    assert "universal representation" in first_bullet or "removal defense" in first_bullet


def test_the_cover_credits_consenting_people(db, filled, roundtable):
    series, _ = filled
    document = briefs.build_brief(db, series, roundtable=roundtable)
    assert document.front_matter["contributors"] == ["María Núñez"]
    assert document.front_matter["anonymous_contributors"] is True


def test_methods_appendix_is_in_the_report_and_not_in_the_brief(db, filled, roundtable):
    series, _ = filled
    report = briefs.build_brief(db, series, template="report", roundtable=roundtable).markdown
    methods = briefs.split_sections(report)["methods"]
    assert "21 notes" in methods and "3 sessions" in methods
    assert "applied by hand" in methods and "lexical" in methods
    assert "roles" in methods.lower() or "role" in methods
    assert "methods" not in briefs.split_sections(briefs.build_brief(db, series, template="brief", roundtable=roundtable).markdown)


def test_rejected_and_suggested_tags_are_not_used(db, filled, roundtable):
    series, ids = filled
    document = briefs.build_brief(db, series, roundtable=roundtable)
    assert "Zebra" not in document.markdown
    assert all(ids["stray"][0] not in notes for notes in document.provenance.values())


def test_a_note_is_grouped_under_one_theme_per_section(db, filled, roundtable):
    series, ids = filled
    themes = {t.name: t for t in db.scalars(select(Theme).where(Theme.series_id == series.id))}
    note_id = ids["Legal defense"][0]
    # Coded by hand with two Key Themes and a Strategic Direction: one per section counts.
    db.add(NoteTag(note_id=note_id, theme_id=themes["Federal enforcement"].id, source="semantic", confidence=0.6))
    db.add(NoteTag(note_id=note_id, theme_id=themes["Invest in legal aid"].id, source="semantic", confidence=0.7))
    db.commit()
    context = briefs.gather_brief_context(db, series, roundtable=roundtable)
    placed = {t.name: {n.id for n in t.all_notes()} for t in context.themes}
    assert note_id in placed["Legal defense"] and note_id in placed["Invest in legal aid"]
    assert note_id not in placed["Federal enforcement"]


def test_rebuild_keeps_edited_sections_unless_forced(db, filled, roundtable):
    series, _ = filled
    brief = briefs.rebuild_brief(db, series, roundtable=roundtable)
    sections = briefs.split_sections(brief.markdown)
    edited = brief.markdown.replace(sections["introduction"],
                                    "{#introduction}\n## Introduction\n\nOur own words.\n\n")
    briefs.save_draft(db, brief, edited, roundtable=roundtable)
    assert brief.edited_sections == ["introduction"]
    briefs.rebuild_brief(db, series, roundtable=roundtable)
    assert "Our own words." in brief.markdown
    assert headings(brief.markdown) == REPORT_ORDER
    briefs.rebuild_brief(db, series, force=True, roundtable=roundtable)
    assert "Our own words." not in brief.markdown and brief.edited_sections == []


def test_two_first_opens_at_once_store_one_draft_and_the_second_gets_the_firsts(database, filled, roundtable):
    """Two tabs open a draft never built: the second looked before the first stored its draft, so its insert
    meets the first's row (waiting for its commit on PostgreSQL, for the write lock on SQLite). It must get
    the first's draft, built once: no error, no second row, no second build's versions."""
    series, _ = filled
    first, second = database.sessionmaker(), database.sessionmaker()
    inserting, errors, got = threading.Event(), [], []

    def second_inserts(_conn, _cursor, statement, *_args):
        if threading.current_thread() is opener and statement.lstrip().upper().startswith("INSERT INTO BRIEFS"):
            inserting.set()

    def open_second():
        try:
            got.append(briefs.first_draft(second, series.id, roundtable=roundtable).id)
            second.commit()
        except Exception as exc:  # surfaced below
            errors.append(exc)

    opener = threading.Thread(target=open_second)
    event.listen(database.engine, "before_cursor_execute", second_inserts)
    try:
        built = briefs.first_draft(first, series.id, roundtable=roundtable)  # stored, not yet committed
        opener.start()
        deadline = time.monotonic() + 60
        while not inserting.wait(0.05) and opener.is_alive():
            assert time.monotonic() < deadline, "the second open never tried to store a draft"
        first.commit()
        opener.join(60)
        assert not opener.is_alive() and errors == [] and got == [built.id]
        assert first.scalar(select(func.count(Brief.id))) == 1
        versions = first.scalars(select(BriefVersion.label).where(BriefVersion.brief_id == built.id)).all()
        assert versions == ["rebuilt from notes"]
    finally:
        event.remove(database.engine, "before_cursor_execute", second_inserts)
        for db in (first, second):
            db.close()


def test_merge_keeps_an_authors_own_section_where_it_was():
    old = "{#a}\n## A\n\nold a\n\n{#mine}\n## Mine\n\nmy text\n\n{#b}\n## B\n\nold b\n"
    new = "{#a}\n## A\n\nnew a\n\n{#b}\n## B\n\nnew b\n"
    merged = briefs.merge_rebuild(old, new, {"mine"})
    assert headings(merged) == ["A", "Mine", "B"]
    assert "new a" in merged and "my text" in merged and "new b" in merged
    assert briefs.merge_rebuild(old, new, {"mine"}, force=True) == new


def test_versions_are_kept_and_any_two_compare(db, filled, roundtable):
    series, _ = filled
    brief = briefs.rebuild_brief(db, series, roundtable=roundtable)
    briefs.save_draft(db, brief, brief.markdown.replace("## Acknowledgments\n\n", "## Acknowledgments\n\nThanks!\n\n"), roundtable=roundtable)
    numbers = [v.number for v in briefs.list_versions(db, brief)]
    assert numbers == sorted(numbers, reverse=True) and len(numbers) >= 2
    comparison = briefs.compare_versions(db, brief, numbers[-1], numbers[0])
    assert comparison.changed_sections == ["acknowledgments"]
    assert "+Thanks!" in comparison.unified
    assert ("+", "Thanks!") in comparison.rows


class ReplacingPlugin:
    @hookimpl
    def register_brief_sections(self, register):
        register(BriefSection("introduction", "How We Met", 40, ("report",), lambda ctx: "Our own introduction."))
        register(BriefSection("epilogue", "Epilogue", 95, ("report",), lambda ctx: f"{len(ctx.sessions)} sessions."))


def test_a_plugin_can_replace_and_add_sections(db, filled, roundtable):
    series, _ = filled
    plugin = ReplacingPlugin()
    roundtable.pm.register(plugin, name="replacing")
    try:
        markdown = briefs.build_brief(db, series, roundtable=roundtable).markdown
    finally:
        roundtable.pm.unregister(plugin)
    titles = headings(markdown)
    assert "How We Met" in titles and "Introduction" not in titles
    assert titles.index("Epilogue") == titles.index("Acknowledgments") + 1
    assert "3 sessions." in markdown


def test_export_gate_blocks_a_draft_that_names_a_participant(db, filled, roundtable):
    series, _ = filled
    brief = briefs.rebuild_brief(db, series, roundtable=roundtable)
    leaked = brief.markdown.replace("## Introduction\n\n", "## Introduction\n\nHope van der Berg said so.\n\n")
    with pytest.raises(ExportBlocked):
        briefs.export_brief(db, series, fmt="md", markdown=leaked, roundtable=roundtable)


def test_report_pdf_has_all_sections_and_no_roster_name(db, filled, roundtable):
    series, _ = filled
    data, exporter = briefs.export_brief(db, series, template="report", fmt="pdf", roundtable=roundtable)
    assert exporter.media_type == "application/pdf" and data.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(data))
    assert 6 <= len(reader.pages) <= 20  # a small series: short sections follow on (the 10-20 target is tested on full series)
    text = "\n".join(page.extract_text() for page in reader.pages)
    flat = " ".join(text.split())
    for title in REPORT_ORDER:
        assert title in flat
    assert "Harbor City Working Group" in flat and "and other anonymous contributors" in flat
    for name in roster_names(db, series):
        if name != "María Núñez":  # the one person who agreed to be named, on the cover
            assert name not in flat
    assert [o.title for o in reader.outline if not isinstance(o, list)][:3] == [
        "Harbor City Working Group", "Contents", "1 Executive Summary"]


def test_brief_build_command_writes_each_format(app, db, filled, tmp_path):
    from roundtable.cli.brief import brief_group

    series, _ = filled
    runner = app.test_cli_runner()
    for fmt in ("md", "html"):
        out = tmp_path / f"brief.{fmt}"
        result = runner.invoke(brief_group, ["build", series.slug, "--template", "brief", "--format", fmt,
                                             "-o", str(out)])
        assert result.exit_code == 0, result.output
        assert "Harbor City Working Group" in out.read_text(encoding="utf-8")
    html = (tmp_path / "brief.html").read_text(encoding="utf-8")
    assert "<script" not in html and "<link" not in html


# --------------------------------------------------------------------------- web


def test_the_page_script_s_first_build_runs_in_the_background_and_the_page_asks_until_it_is_there(
        client, login, db, filled):
    """A build takes seconds of CPU: the request that starts it answers at once (202), never holding the
    server's worker (and every live socket of the process) for the length of the build."""
    from roundtable.models import Role
    from roundtable.live_clients import wait_until

    series, _ = filled
    login(Role.AUTHOR)
    json = {"Accept": "application/json"}
    started = client.post(f"/s/{series.slug}/brief/report/build", headers=json)
    assert started.status_code == 202 and started.get_json()["built"] is False
    status = started.get_json()["status"]
    assert status.endswith("/brief/report/build/status")
    answers = []
    wait_until(lambda: answers.append(client.get(status, headers=json).get_json()) or answers[-1]["built"])
    assert all(a["error"] is None for a in answers[:-1]), answers
    db.expire_all()
    assert "## Key Themes" in briefs.get_brief(db, series, "report", create=False).markdown
    assert client.post(f"/s/{series.slug}/brief/report/build", headers=json).get_json() == {"built": True}
    page = client.get(f"/s/{series.slug}/brief/")
    assert b"brief-markdown" in page.data


def test_the_page_script_s_rebuild_runs_in_the_background_keeps_edits_and_refuses_a_second_meanwhile(
        client, login, db, filled, monkeypatch):
    """Rebuild from notes ran inside its request, holding the server's worker for the whole build: the page's
    script now gets 202 and asks the job's status; a second rebuild of the draft while one runs is refused
    with a message, not started twice."""
    import threading

    from roundtable.live_clients import wait_until
    from roundtable.models import Role

    series, _ = filled
    login(Role.AUTHOR)
    client.post(f"/s/{series.slug}/brief/report/build")
    brief = briefs.get_brief(db, series, "report", create=False)
    edited = brief.markdown.replace("## Acknowledgments\n\n", "## Acknowledgments\n\nWith thanks.\n\n")
    assert client.post(f"/s/{series.slug}/brief/report/save", data={"markdown": edited}).status_code == 302
    release, rebuild = threading.Event(), briefs.rebuild_brief

    def held_rebuild(*args, **kwargs):  # the job waits until the test has asked twice
        release.wait(60)
        return rebuild(*args, **kwargs)

    monkeypatch.setattr(briefs, "rebuild_brief", held_rebuild)
    json = {"Accept": "application/json"}
    started = client.post(f"/s/{series.slug}/brief/report/rebuild", data={}, headers=json)
    assert started.status_code == 202
    status = started.get_json()["status"]
    assert client.get(status, headers=json).get_json()["state"] in ("queued", "running")
    again = client.post(f"/s/{series.slug}/brief/report/rebuild", data={}, headers=json)
    assert again.status_code == 409 and "already being rebuilt" in again.get_json()["error"]
    form = client.post(f"/s/{series.slug}/brief/report/rebuild", data={})  # the form without script: same answer
    assert form.status_code == 302 and "already being rebuilt" in client.get(form.headers["Location"]).get_data(
        as_text=True)
    release.set()
    answers = []
    wait_until(lambda: answers.append(client.get(status, headers=json).get_json()) or answers[-1]["state"] == "done")
    assert all(a["error"] is None for a in answers), answers
    page = client.get(f"/s/{series.slug}/brief/").get_data(as_text=True)
    assert "Rebuilt from the notes; your edited sections were kept: Acknowledgments." in page
    db.expire_all()
    brief = briefs.get_brief(db, series, "report", create=False)
    assert "With thanks." in brief.markdown and brief.versions[-1].label == "rebuilt from notes"


def test_author_edits_the_draft_with_a_safe_live_preview_and_versions(client, login, db, filled):
    from roundtable.models import Role

    series, _ = filled
    login(Role.AUTHOR)
    # The first open answers at once with a page that builds the draft (its script posts the form; without
    # script, the author presses the button), and builds nothing itself.
    page = client.get(f"/s/{series.slug}/brief/")
    assert page.status_code == 200 and b'action="/s/' + series.slug.encode() + b'/brief/report/build"' in page.data
    assert b"brief-markdown" not in page.data and briefs.get_brief(db, series, "report", create=False) is None
    built = client.post(f"/s/{series.slug}/brief/report/build", data={"page": "workbench"})
    assert built.status_code == 302 and built.headers["Location"].endswith("/brief/report/workbench")
    page = client.get(f"/s/{series.slug}/brief/")
    assert page.status_code == 200 and b"brief-markdown" in page.data and b"Key Themes" in page.data
    preview = client.post(f"/s/{series.slug}/brief/report/preview",
                          json={"markdown": "## Hi\n\n<script>alert(1)</script> [x](javascript:alert(1))"})
    html = preview.get_json()["html"]
    assert "<script" not in html and "javascript:" not in html.replace("[x](javascript:alert(1))", "")
    brief = briefs.get_brief(db, series, "report", create=False)
    db.refresh(brief)
    edited = brief.markdown.replace("## Acknowledgments\n\n", "## Acknowledgments\n\nWith thanks.\n\n")
    saved = client.post(f"/s/{series.slug}/brief/report/save", data={"markdown": edited, "label": "thanks"})
    assert saved.status_code == 302
    db.refresh(brief)
    assert brief.edited_sections == ["acknowledgments"]
    compare = client.get(f"/s/{series.slug}/brief/report/versions?a=1&b=2")
    assert compare.status_code == 200 and b"With thanks." in compare.data and b"acknowledgments" in compare.data
    rebuilt = client.post(f"/s/{series.slug}/brief/report/rebuild", data={})
    assert rebuilt.status_code == 302
    db.refresh(brief)
    assert "With thanks." in brief.markdown


def test_comparing_a_version_that_does_not_exist_says_so_on_the_page(client, login, filled):
    """A 20-digit version number in the address was an OverflowError (500) on SQLite."""
    from roundtable.models import Role

    series, _ = filled
    login(Role.AUTHOR)
    for number in (99, 10**20):
        page = client.get(f"/s/{series.slug}/brief/report/versions?a=1&b={number}")
        assert page.status_code == 404 and f"no version {number} of this brief" in page.get_data(as_text=True)


def test_author_opens_the_notes_behind_a_bullet(client, login, db, filled):
    from roundtable.models import Role

    series, ids = filled
    login(Role.AUTHOR)
    client.post(f"/s/{series.slug}/brief/report/build")
    brief = briefs.get_brief(db, series, "report", create=False)
    bullet = next(b for b, notes in brief.provenance.items() if set(notes) == set(ids["Funding threats"]))
    body = client.get(f"/s/{series.slug}/brief/report/sources/{bullet}", headers={"Accept": "application/json"})
    texts = [n["text"] for n in body.get_json()["notes"]]
    assert len(texts) == 3 and any("Grant conditions" in t for t in texts)


def test_export_runs_in_the_background_with_progress_then_downloads(client, login, filled):
    import time

    from roundtable.models import Role

    series, _ = filled
    login(Role.AUTHOR)
    started = client.post(f"/s/{series.slug}/brief/brief/jobs", data={"format": "md"})
    assert started.status_code == 202
    status_url = started.get_json()["status"]
    for _ in range(100):
        job = client.get(status_url).get_json()
        if job.get("download") or job["error"]:
            break
        time.sleep(0.1)
    assert job["error"] is None and job["done"] == job["total"]
    download = client.get(job["download"])
    assert download.status_code == 200 and b"Harbor City Working Group" in download.data
    assert "attachment" in download.headers["Content-Disposition"]
    direct = client.post(f"/s/{series.slug}/brief/report/export/html")
    assert direct.status_code == 200 and direct.mimetype == "text/html"


def test_only_authors_and_above_open_the_brief_editor(client, login, filled):
    from roundtable.models import Role

    series, _ = filled
    login(Role.NOTE_TAKER)
    assert client.get(f"/s/{series.slug}/brief/").status_code == 403
    assert client.post(f"/s/{series.slug}/brief/report/export/md").status_code == 403


@pytest.mark.slow
def test_the_demo_series_yields_a_policy_report_and_a_research_brief_without_roster_names(database, db, roundtable):
    from roundtable.cli.demo import load_demo

    series = load_demo(roundtable)
    people = db.scalars(select(Participant).where(Participant.series_id == series.id)).all()
    names = [n for p in people for n in [p.name, *p.aliases] if len(n) > 3]
    consenting = {n for p in people if p.consent_named for n in [p.name, *p.aliases]}
    report, _ = briefs.export_brief(db, series.id, template="report", fmt="pdf", roundtable=roundtable)
    reader = PdfReader(io.BytesIO(report))
    assert 10 <= len(reader.pages) <= 20
    text = " ".join(" ".join(page.extract_text() for page in reader.pages).split())
    assert [t for t in REPORT_ORDER if t not in text] == []
    body = text.split("Contents", 1)[1]
    for name in names:
        if name not in consenting:
            assert name not in text, name
        else:
            assert name not in body.split("Acknowledgments")[0], name
    brief, _ = briefs.export_brief(db, series.id, template="brief", fmt="md", roundtable=roundtable)
    assert headings(brief.decode()) == ["Overview", "Key Findings", "Strategic Implications", "Resources"]


def test_an_authors_edit_is_anonymized_before_it_is_stored_but_credited_names_stay(db, series, roundtable):
    from roundtable.models import Brief
    from roundtable.services.briefs import save_draft

    brief = Brief(series_id=series.id, template="report", markdown="")
    db.add(brief)
    db.flush()
    save_draft(db, brief, "Thanks to María Núñez. Hope van der Berg said so; write to hope@city.example or call +1 415 555 0134.", roundtable=roundtable)
    db.commit()
    stored = db.get(Brief, brief.id).markdown
    assert "María Núñez" in stored  # consented to be named
    assert "Hope" not in stored and "van der Berg" not in stored
    assert "hope@city.example" not in stored and "555 0134" not in stored
    assert "A municipal leader said so" in stored


def test_a_version_label_is_anonymized_like_the_draft_and_a_bad_one_is_refused(db, series, roundtable):
    """The label an author gives a saved version is stored and shown beside the draft: it may name nobody who did
    not consent, and it passes the text-field check (it was cut at 200 characters silently, a NUL kept)."""
    from roundtable.errors import ValidationError
    from roundtable.models import Brief, BriefVersion
    from roundtable.services.briefs import save_draft

    brief = Brief(series_id=series.id, template="report", markdown="")
    db.add(brief)
    db.flush()
    save_draft(db, brief, "Text.", label="for Hope van der Berg, hope@city.example", roundtable=roundtable)
    db.commit()
    label = db.scalars(select(BriefVersion.label).where(BriefVersion.brief_id == brief.id)).one()
    assert "Hope" not in label and "hope@" not in label and label.startswith("for a municipal leader")
    for bad, message in (("v" * 201, "a version label can be at most 200 characters"),
                         ("v\x001", "a version label cannot contain control characters")):
        with pytest.raises(ValidationError, match=message):
            save_draft(db, brief, "Other text.", label=bad, roundtable=roundtable)
        db.rollback()


def _opened_as_author(client, login, db, filled, page):
    """The series, the draft version an author's ``page`` of the report shows, and the report's brief."""
    from roundtable.models import Role

    series, _ = filled
    login(Role.AUTHOR)
    client.post(f"/s/{series.slug}/brief/report/build")
    body = client.get(f"/s/{series.slug}/brief/report/{page}").get_data(as_text=True)
    opened = re.search(r'name="version" value="(\d+)"', body).group(1)
    brief = briefs.get_brief(db, series, "report", create=False)
    db.refresh(brief)
    return series, opened, brief


def test_a_second_author_saving_over_a_draft_another_saved_meanwhile_gets_a_conflict_and_keeps_their_text(
        client, login, db, filled):
    """Two authors open the same draft and edit the same section: the first save wins; the second is told so,
    nothing of theirs is stored over it, and their text is given back in the editor to merge by hand."""
    series, opened, brief = _opened_as_author(client, login, db, filled, "")
    original = brief.markdown
    first = original.replace("## Acknowledgments\n\n", "## Acknowledgments\n\nFirst author's thanks.\n\n")
    second = original.replace("## Acknowledgments\n\n", "## Acknowledgments\n\nSecond author's thanks.\n\n")
    assert client.post(f"/s/{series.slug}/brief/report/save",
                       data={"markdown": first, "version": opened}).status_code == 302
    clash = client.post(f"/s/{series.slug}/brief/report/save", data={"markdown": second, "version": opened})
    body = clash.get_data(as_text=True)
    assert clash.status_code == 409
    assert "another author saved version" in body.lower() and "was not saved" in body
    assert "Second author&#39;s thanks." in body  # their text is back in the editor, not lost
    newest = re.search(r'name="version" value="(\d+)"', body).group(1)
    assert int(newest) > int(opened)
    db.expire_all()
    assert "First author's thanks." in brief.markdown and "Second author's thanks." not in brief.markdown
    # Saving again from the conflict page (after reading the other version) is a deliberate overwrite.
    assert client.post(f"/s/{series.slug}/brief/report/save",
                       data={"markdown": second, "version": newest}).status_code == 302
    db.expire_all()
    assert "Second author's thanks." in brief.markdown


def test_workbench_changes_made_on_a_page_older_than_the_draft_are_refused_with_a_conflict(
        client, login, db, filled):
    """A bullet rewritten or a section marked reviewed from a page read before another author changed the
    draft would rewrite or approve text the author never saw."""
    series, opened, brief = _opened_as_author(client, login, db, filled, "workbench")
    edited = brief.markdown.replace("## Acknowledgments\n\n", "## Acknowledgments\n\nMeanwhile.\n\n")
    assert client.post(f"/s/{series.slug}/brief/report/save",
                       data={"markdown": edited, "version": opened}).status_code == 302
    marked = client.post(f"/s/{series.slug}/brief/report/sections/acknowledgments/status",
                         data={"status": "reviewed", "version": opened}, follow_redirects=True)
    assert "another author saved version" in marked.get_data(as_text=True).lower()
    db.expire_all()
    assert (brief.section_status or {}).get("acknowledgments") != "reviewed"
    bullet = next(k for k in brief.provenance if k.startswith("p-"))
    before = brief.markdown
    rewritten = client.post(f"/s/{series.slug}/brief/report/bullets/{bullet}",
                            data={"keep": brief.provenance[bullet][:1], "version": opened}, follow_redirects=True)
    assert "another author saved version" in rewritten.get_data(as_text=True).lower()
    db.expire_all()
    assert brief.markdown == before


def test_a_role_with_markup_reads_as_text_in_every_sentence_that_names_roles(db, filled, roundtable):
    """A role is typed text (a roster's role, a note's speaker): no sentence that names roles (Key Findings'
    'came up ... among', the summary's 'among them', thanks, a dissent) may turn its Markdown into a link or
    its HTML into markup, in the Markdown download or in the rendered HTML and PDF."""
    from roundtable.services.render import render_markdown

    series, _ = filled
    hostile = "a legal advocate [site](https://evil.example/r) <b>bold</b>"
    for note in db.scalars(select(Note).where(Note.speaker_role == "a legal advocate")):
        note.speaker_role = hostile
    for person in db.scalars(select(Participant).where(Participant.series_id == series.id)):
        person.role_label = hostile[2:]
    db.commit()

    document = briefs.build_brief(db, series, template="report", roundtable=roundtable)
    html = render_markdown(document.markdown).html

    assert "[site](" not in document.markdown and "<b>" not in document.markdown
    assert not re.search(r"<a [^>]*>site</a>", html) and "<b>bold</b>" not in html
    assert "[site](" in html and "&lt;b&gt;bold&lt;/b&gt;" in html  # shown as typed (its URL linked as a note's)


def test_a_role_that_may_not_edit_the_brief_is_told_why_and_an_author_lowered_mid_edit_saves_nothing(
        client, login, db, filled, accounts):
    """Werkzeug's "You don't have the permission to access the requested resource" said neither what the page
    needs nor what the person is; an author lowered to viewer while editing must also learn nothing was kept."""
    from roundtable.models import Role
    from roundtable.services.accounts import grant_role

    series, opened, brief = _opened_as_author(client, login, db, filled, "")
    before, versions = brief.markdown, briefs.latest_version(db, brief)
    grant_role(db, accounts[Role.AUTHOR], series, Role.VIEWER)  # a facilitator lowers them meanwhile
    db.commit()
    edited = before.replace("## Acknowledgments\n\n", "## Acknowledgments\n\nThanks to all.\n\n")
    saved = client.post(f"/s/{series.slug}/brief/report/save", data={"markdown": edited, "version": opened})
    body = saved.get_data(as_text=True)
    assert saved.status_code == 403
    assert "authors, facilitators and admins" in body and "your role in it is viewer" in body, body[-800:]
    assert "Nothing was changed" in body
    db.expire_all()
    assert brief.markdown == before and briefs.latest_version(db, brief) == versions

    for role in (Role.VIEWER, Role.NOTE_TAKER):
        client.post("/auth/logout")
        login(role)
        for page in ("", "workbench"):
            response = client.get(f"/s/{series.slug}/brief/report/{page}")
            text = response.get_data(as_text=True)
            assert response.status_code == 403 and f"your role in it is {role.value}" in text, text[-800:]
            assert "Traceback" not in text and "Nothing was changed" not in text  # a page read changes nothing


def test_a_bullet_is_never_rewritten_from_a_note_of_another_series(client, login, db, filled, roundtable):
    """A note id of another series in the form (a page edited by hand) was dropped without a word and the bullet
    rewritten from the rest; it must be refused, the draft left as it was."""
    from roundtable.live_clients import make_series

    series, opened, brief = _opened_as_author(client, login, db, filled, "workbench")
    other = make_series(db, slug="elsewhere")
    foreign = Note(session_id=other.sessions[0].id, seq=1, uuid=str(uuid.uuid4()), kind="point",
                   text="bus fares doubled in the other city")
    db.add(foreign)
    db.commit()
    bullet = next(k for k, ids in brief.provenance.items() if k.startswith("p-") and len(ids) >= 2)
    before, provenance = brief.markdown, list(brief.provenance[bullet])
    response = client.post(f"/s/{series.slug}/brief/report/bullets/{bullet}",
                           data={"keep": provenance[:1] + [foreign.id], "version": opened}, follow_redirects=True)
    page = response.get_data(as_text=True)
    message = re.search(r'<p class="flash flash-error"[^>]*>(.*?)</p>', page, re.S)
    assert message and "not a note of this series" in message.group(1), page[-1500:]
    assert not re.search(r"\d", message.group(1)), "the message shows no database id"
    db.expire_all()
    assert brief.markdown == before and brief.provenance[bullet] == provenance
