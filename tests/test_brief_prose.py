"""The report reads as prose an author would publish, on a series generated here (not the demo).

Each test names one property the brief anatomy asks of a published report.
"""

from __future__ import annotations

import random
import re
import subprocess
import uuid
from datetime import date

import pytest
from sqlalchemy import select

from roundtable.models import Note, NoteTag, Participant, Series, Session, SessionState, Theme
from roundtable.services import briefs
from roundtable.services.briefs.realize import Realizer
from roundtable.services.briefs.glossary import clean_note, expand_shorthand
from roundtable.services.briefs.resources import name_and_description
from roundtable.services.render import split_front_matter


@pytest.fixture
def database_url(tmp_path):
    """These properties do not depend on the database: SQLite only."""
    return f"sqlite:///{tmp_path / 'roundtable.sqlite'}"


REPORT_SECTIONS = ["Executive Summary", "Key Findings", "Strategic Implications", "Introduction", "Key Themes",
                   "Strategic Directions", "Unanswered Questions and Future Directions", "Resources and Partners",
                   "Acknowledgments"]
SHORTHAND_RE = re.compile(r"(?<!\w)(w/|w/o|ppl|b/c|govt|yrs?|\$\$|->)(?!\w)|\s\+\s")
DOUBLED_RE = re.compile(r"(?:described|reported|observed|emphasized|noted|held|proposed|recommended|called for)"
                        r"[^.]{0,3}:\s*(?:An?|The|One|Some|Several)\s+[\w -]{2,30}?(?::|\bsays\b|\bsaid\b)")
HIDDEN = ["Ottoline Brackwater", "Zbigniew Quillfeather", "Marisol Etxeberria-Lund"]
NAMED = ["Tamsin Okonkwo-Reyes"]

# (theme, kind, role or None, text): shorthand, speaker prefixes and links as note-takers type them.
STEMS = {
    "Housing pressure": [
        ("Evictions", "point", None, "A tenant organizer: eviction filings up ~2x yr over yr w/ most in 3 zip codes"),
        ("Evictions", "point", None, "a legal aid lawyer says ppl get 48 hrs notice -> no time to find counsel"),
        ("Evictions", "point", "legal aid lawyer", "eviction court runs 200+ cases a morning, tenants w/o lawyers lose"),
        ("Rent burden", "point", "housing researcher", "rent burden: 60% of renters pay > 40% of income"),
        ("Rent burden", "point", "tenant organizer", "rent hikes of 15% in one yr for older buildings + no repairs"),
        ("Rent burden", "point", None, "caution: rent caps alone push landlords to skip maintenance"),
        ("Funding", "point", "city official", "city housing trust fund cut by $4.5M/yr b/c of state budget"),
        ("Funding", "point", "city official", "trust fund backfilled w/ one-time $$, not sustainable"),
    ],
    "Public health access": [
        ("Clinic access", "point", "health worker", "clinic visits down 30% since Feb, ppl afraid of being asked for ID"),
        ("Clinic access", "point", "health worker", "mobile clinic in Zürich-style model reached 400 ppl in 2 mos"),
        ("Clinic access", "point", "community organizer", "the health worker pushes back: mobile clinics can't replace primary care"),
        ("Language access", "point", "community organizer", "interpreters missing at 3 of 5 clinics -> missed diagnoses"),
        ("Language access", "point", "health worker", "phone interpretation lines w/ 20 min waits, ppl hang up"),
    ],
    "Transit equity": [
        (None, "point", "transit planner", "bus routes to the industrial park cut, workers walk 40 min each way"),
        (None, "point", "community organizer", "fare capping pilot saved riders ~$30/mo on avg"),
        (None, "point", "transit planner", "tension: service frequency vs coverage, ppl disagree on which matters more"),
        (None, "point", "city official", "night shift workers have no bus after 11pm -> rideshare costs eat wages"),
        (None, "point", "transit planner", "bus lanes on 4 corridors cut travel time by 12%"),
        (None, "point", "community organizer", "riders want shelters + lighting at stops before new routes"),
    ],
    "Fund tenant legal defense": [
        (None, "action", "legal aid lawyer", "fund right-to-counsel for every tenant facing eviction w/ multi-yr contract"),
        (None, "action", "city official", "pool city + county $ for eviction defense"),
        (None, "action", "housing researcher", "track case outcomes from day 1 so council renews funding"),
        (None, "action", "tenant organizer", "train tenant volunteers to do court accompaniment"),
    ],
    "Build a transit coalition": [
        (None, "action", "transit planner", "regional transit compact w/ equal seats for riders + agencies"),
        (None, "action", "community organizer", "rider surveys in 6 langs before every route change"),
        (None, "action", "city official", "joint budget ask to the state w/ 3 neighboring cities"),
    ],
}
QUESTIONS = [
    ("Evictions", "who pays for counsel once the pilot money runs out?"),
    ("Evictions", "can the court schedule fewer cases per morning?"),
    ("Clinic access", "how do clinics prove they don't share data w/ agencies?"),
    (None, "what indicators should we track next yr to know if things improve?"),
    (None, "should transit fares be free for everyone or means-tested?"),
]
LINKS = [
    ("Evictions", "Eviction defense playbook from the Tenant Law Center: https://tenantlaw.example.org/playbook"),
    ("Rent burden", "Urban Housing Institute report on rent burden https://www.urbanhousing-institute.example.org/rent-2025"),
    ("Funding", "National Housing Trust Fund Coalition (US network of cities): https://housingtrustfunds.example.us/"),
    ("Clinic access", "ACLU know-your-rights guide for clinics: https://www.aclu.org/know-your-rights/clinics"),
    ("Language access", "Migration Policy Institute analysis of language access law https://www.migrationpolicy.org/research/language-access"),
    (None, "International network of welcoming cities (Europe and Latin America): https://welcoming-intl.example.eu/"),
    (None, "accompaniment volunteers handbook https://bit.ly/3xYzAbc"),
    (None, "Mutual aid fund for families in crisis - community support program: https://mutualaid.example.net/families"),
]


def generated_series(db, notes_per_stem: int = 3, seed: int = 5) -> Series:
    """A five-session series with a codebook, shorthand notes, links, questions and dissent."""
    rng = random.Random(seed)
    series = Series(slug=f"gen-{uuid.uuid4().hex[:6]}", title="Fair City Roundtable 2026",
                    subtitle="Housing, Health and Transit", organizations=["Fair City Lab"],
                    authors=NAMED, funder="The Lantern Foundation", brief_number="Research Brief No. 2026/07",
                    participant_count=140,
                    acknowledgments=f"Coordinated by **{NAMED[0]}** (editor) with {HIDDEN[0]} (facilitator).",
                    description="The roundtable brought together city officials, organizers and researchers.")
    db.add(series)
    db.flush()
    meetings = []
    for n in range(1, 6):
        m = Session(series_id=series.id, number=n, title=f"Session {n}", date=date(2026, n, 10),
                    focus=f"Topic {n} of the roundtable", state=SessionState.CLOSED)
        db.add(m)
        meetings.append(m)
    for name in HIDDEN:
        db.add(Participant(series_id=series.id, name=name, role_label="community organizer", consent_named=False))
    db.add(Participant(series_id=series.id, name=NAMED[0], role_label="city official", consent_named=True))
    db.flush()
    themes: dict[str, Theme] = {}
    for position, (name, section) in enumerate([("Housing pressure", "Key Themes"),
                                                ("Public health access", "Key Themes"),
                                                ("Transit equity", "Key Themes"),
                                                ("Fund tenant legal defense", "Strategic Directions"),
                                                ("Build a transit coalition", "Strategic Directions")]):
        themes[name] = Theme(series_id=series.id, name=name, section=section, position=position,
                             description=f"What participants said about {name.lower()}.")
        db.add(themes[name])
        db.flush()
        for j, sub in enumerate(dict.fromkeys(s for s, *_ in STEMS[name] if s)):
            themes[sub] = Theme(series_id=series.id, name=sub, section=section, position=j,
                                parent_id=themes[name].id)
            db.add(themes[sub])
    db.flush()
    seq = {m.id: 0 for m in meetings}

    def add(theme_name, kind, role, text):
        m = meetings[rng.randrange(5)]
        seq[m.id] += 1
        note = Note(session_id=m.id, seq=seq[m.id], uuid=str(uuid.uuid4()), kind=kind, text=text,
                    speaker_role=role)
        db.add(note)
        db.flush()
        if theme_name:
            db.add(NoteTag(note_id=note.id, theme_id=themes[theme_name].id, source="manual"))

    for top, stems in STEMS.items():
        for sub, kind, role, text in stems:
            for k in range(notes_per_stem):
                tail = ["", " in two neighborhoods", " since last winter", " per the latest survey"][k % 4]
                add(sub or top, kind, role, text + tail)
    for theme_name, text in QUESTIONS:
        add(theme_name, "question", None, text)
    for theme_name, text in LINKS:
        add(theme_name, "resource", None, text)
    db.commit()
    return series


@pytest.fixture
def generated(db):
    return generated_series(db)


def bullets(section_text: str) -> list[str]:
    return re.findall(r"^- .+$", section_text, re.M)


def test_the_report_has_the_nine_sections_in_order(db, generated, roundtable):
    markdown = briefs.build_brief(db, generated, roundtable=roundtable).markdown
    headings = re.findall(r"^## (.+)$", markdown, re.M)
    assert [h for h in headings if h in REPORT_SECTIONS] == REPORT_SECTIONS


def test_themes_and_directions_have_no_shorthand_nor_doubled_attribution(db, generated, roundtable):
    sections = briefs.split_sections(briefs.build_brief(db, generated, roundtable=roundtable).markdown)
    text = sections["key-themes"] + sections["strategic-directions"]
    assert not SHORTHAND_RE.findall(text), SHORTHAND_RE.findall(text)
    assert not DOUBLED_RE.findall(text), DOUBLED_RE.findall(text)
    assert "A tenant organizer:" not in text and "says ppl" not in text


def test_nine_in_ten_bullets_open_with_a_lead_in_of_two_to_five_words(db, generated, roundtable):
    sections = briefs.split_sections(briefs.build_brief(db, generated, roundtable=roundtable).markdown)
    found = bullets(sections["key-themes"]) + bullets(sections["strategic-directions"])
    assert len(found) >= 8
    leads = [re.match(r"- \[\*\*(.+?):\*\*\]\{#", b) for b in found]
    good = [m for m in leads if m and 2 <= len(m.group(1).split()) <= 5]
    assert len(good) / len(found) >= 0.9
    for m in filter(None, leads):
        assert not re.search(r"\b\w\b(?=\W*$)|\brich\b", m.group(1))  # no word split at "ü" ("Z" + "rich")


def test_each_bullet_cites_only_notes_whose_claims_it_carries(db, generated, roundtable):
    document = briefs.build_brief(db, generated, roundtable=roundtable)
    notes = {n.id: n for n in db.scalars(select(Note))}
    themes = briefs.split_sections(document.markdown)["key-themes"]
    for bullet_id in re.findall(r"\{#(p-\d+-\d+)\}", themes):
        line = next(b for b in bullets(themes) if f"{{#{bullet_id}}}" in b)
        for note_id in document.provenance[bullet_id]:
            prose = clean_note(notes[note_id].text)[0]
            head = " ".join(re.findall(r"[a-z]{4,}", prose.lower())[:3])
            assert head.split()[0] in line.lower(), (bullet_id, prose)


ATTRIBUTION_RE = re.compile(
    r"\b(?:(?:[Pp]articipants|[\w-]+ (?:lawyers?|organizers?|officials?|researchers?|workers?|planners?))"
    r"(?:, [\w -]+?)*(?:,? and [\w -]+?)?(?: in (?:two|three|four|five) sessions)?)"
    r" (?:described how|reported|observed|emphasized|pointed to|urged|recommended|proposed|called for)\b")


def test_attribution_is_one_per_bullet_woven_into_its_first_sentence(db, generated, roundtable):
    themes = briefs.split_sections(briefs.build_brief(db, generated, roundtable=roundtable).markdown)["key-themes"]
    for b in bullets(themes):
        if "participants differed" in b:
            continue
        body = b.split(":**]", 1)[1]
        first, *rest = re.split(r"(?<=[.?!])\s+(?=[A-Z$\d])", body.split("} ", 1)[1])
        assert len(ATTRIBUTION_RE.findall(body)) == 1, b
        assert ATTRIBUTION_RE.search(first), b
        assert not re.search(r"\b(?:described|reported|observed|emphasized)\b\s*:", body), b
        also = rest and re.match(r"(?:Participants|They) also discussed ", rest[-1])
        assert len(rest) <= 2 + bool(also), b  # a topic sentence, one or two of support, the group's other notes
    assert re.search(r"in (?:two|three|four|five) sessions (?:described how|reported|observed|emphasized)", themes)


def test_pushing_back_is_written_as_disagreement(db, generated, roundtable):
    sections = briefs.split_sections(briefs.build_brief(db, generated, roundtable=roundtable).markdown)
    assert "participants differed" in sections["key-themes"]
    assert re.search(r"pushed back|set out the positions", sections["key-themes"])


def test_counts_come_from_the_series_and_no_theme_is_left_out(db, generated, roundtable):
    sections = briefs.split_sections(briefs.build_brief(db, generated, roundtable=roundtable).markdown)
    assert "140 participants" in sections["executive-summary"]
    for name in ("Housing pressure", "Public health access", "Transit equity", "Fund tenant legal defense",
                 "Build a transit coalition"):
        assert name in sections["executive-summary"]


def test_key_findings_claim_something_other_than_each_theme_first_bullet(db, generated, roundtable):
    sections = briefs.split_sections(briefs.build_brief(db, generated, roundtable=roundtable).markdown)
    findings = [p for p in sections["key-findings"].split("\n\n") if p.startswith("[**")]
    assert len(findings) == 5
    for theme in ("Housing pressure", "Transit equity"):
        block = sections["key-themes"].split(f"### {theme}")[1]
        first = bullets(block)[0].split(": ", 2)[-1][:60]
        paragraph = next(p for p in findings if p.startswith(f"[**{theme}"))
        assert first not in paragraph


def test_every_resource_is_listed_named_from_its_note_under_three_or_more_headings(db, generated, roundtable):
    resources = briefs.split_sections(briefs.build_brief(db, generated, roundtable=roundtable).markdown)["resources"]
    for _, text in LINKS:
        url = re.search(r"https?://\S+", text).group(0)
        assert resources.count(f"({url})") == 1, url
    headings = re.findall(r"^### (.+)$", resources, re.M)
    assert len(headings) >= 3 and "Other Links Mentioned" not in headings
    assert "Municipal and Advocacy Networks (International)" in headings
    assert "**Aclu**" not in resources and "**Bit**" not in resources and "**Migrationpolicy**" not in resources
    assert "**ACLU know-your-rights guide for clinics**" in resources
    assert "**Accompaniment volunteers handbook**" in resources  # a shortened link is named by its note


def test_a_series_extends_the_resource_rules_and_the_glossary(db, generated, roundtable):
    generated.brief_settings = {"resource_rules": [{"category": "Transit Data", "match": ["handbook"]}],
                                "glossary": {"TOD": "transit-oriented development"}}
    db.add(Note(session_id=generated.sessions[0].id, seq=900, uuid=str(uuid.uuid4()), kind="point",
                text="TOD near stations", speaker_role=None))
    db.commit()
    context = briefs.gather_brief_context(db, generated, roundtable=roundtable)
    assert any(n.prose == "transit-oriented development near stations" for n in context.notes)
    resources = briefs.split_sections(briefs.build_brief(db, generated, roundtable=roundtable).markdown)["resources"]
    assert "### Transit Data" in resources


def test_acknowledgments_name_only_people_who_agreed(db, generated, roundtable):
    markdown = briefs.build_brief(db, generated, roundtable=roundtable).markdown
    acknowledgments = briefs.split_sections(markdown)["acknowledgments"]
    assert NAMED[0] in acknowledgments
    assert HIDDEN[0] not in markdown


def test_the_methods_appendix_states_only_what_happened(db, generated, roundtable):
    methods = briefs.split_sections(briefs.build_brief(db, generated, roundtable=roundtable).markdown)["methods"]
    assert "rewritten by the authors" not in methods
    assert "marked as drafts" in methods
    # Only plugins whose work is in the report: the sections, the working name detectors of the export
    # check; not drafting (no model chosen), nor suggesters (every tag here was applied by hand).
    software = re.search(r"\*\*Software\.\*\* (.+)", methods).group(1).replace("\\", "")
    assert "report_sections" in software and "roster" in software
    for idle in ("llm_drafting", "live_suggestions", "embedding_suggester", "keyword_suggester"):
        assert idle not in software


def test_the_research_brief_follows_the_short_form(db, generated, roundtable):
    document = briefs.build_brief(db, generated, template="brief", roundtable=roundtable)
    headings = re.findall(r"^## (.+)$", document.markdown, re.M)
    assert headings == ["Overview", "Key Findings", "Strategic Implications", "Resources"]
    assert document.front_matter["brief_number"] == "Research Brief No. 2026/07"
    assert document.front_matter["funder"] == "The Lantern Foundation"
    assert "theme below" not in document.markdown


def test_the_pdf_has_no_hidden_name_and_marks_unreviewed_sections(db, generated, tmp_path, roundtable):
    # The 10-20 page target is checked on the demo (tests/test_brief_layout.py) and by bench/brief_targets.py:
    # this series' 96 notes repeat 32 stems, so it fills 8 pages once no page break leaves a page half empty.
    data, _ = briefs.export_brief(db, generated, "report", "pdf", roundtable=roundtable)
    pdf = tmp_path / "r.pdf"
    pdf.write_bytes(data)
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout.lower()
    for name in HIDDEN:
        for part in name.lower().split():
            assert part not in text
    assert text.count("not yet reviewed") >= 9


def test_reviewed_sections_lose_the_draft_mark_and_author_edits_survive_a_rebuild(db, generated, roundtable):
    brief = briefs.rebuild_brief(db, generated, "report", roundtable=roundtable)
    briefs.set_section_status(db, brief, "key-findings", "reviewed")
    edited = brief.markdown.replace("## Acknowledgments\n", "## Acknowledgments\n\nOur own words.\n")
    briefs.save_draft(db, brief, edited, roundtable=roundtable)
    data, _ = briefs.export_brief(db, generated, "report", "html", markdown=brief.markdown, roundtable=roundtable)
    page = data.decode()
    sections = {"key-findings": page.split('id="key-findings"')[1].split('id="strategic-implications"')[0],
                "key-themes": page.split('id="key-themes"')[1].split('id="strategic-directions"')[0]}
    assert "not yet reviewed" not in sections["key-findings"]
    assert "not yet reviewed" in sections["key-themes"]
    brief = briefs.rebuild_brief(db, generated, "report", roundtable=roundtable)
    assert "Our own words." in brief.markdown
    assert brief.section_status.get("key-findings") == "reviewed"
    with pytest.raises(Exception):
        briefs.set_section_status(db, brief, "key-findings", "published")


def test_an_author_regenerates_one_bullet_from_the_notes_they_choose(db, generated, roundtable):
    brief = briefs.rebuild_brief(db, generated, "report", roundtable=roundtable)
    bullet_id = next(k for k in brief.provenance if k.startswith("p-") and len(brief.provenance[k]) >= 2)
    keep = brief.provenance[bullet_id][:1]
    other = next(n for n in db.scalars(select(Note)) if n.id not in brief.provenance[bullet_id]
                 and "bus lanes" in n.text)
    before = brief.markdown
    brief = briefs.regenerate_bullet(db, brief, bullet_id, keep + [other.id], roundtable=roundtable)
    assert set(brief.provenance[bullet_id]) == set(keep + [other.id])
    line = next(line for line in brief.markdown.splitlines() if f"{{#{bullet_id}}}" in line)
    assert re.search(r"(?:^|[.] )Bus lanes on 4 corridors cut travel time|\bbus lanes on 4 corridors cut travel time",
                     line)  # typed in lower case: raised only where it opens a sentence
    assert before.replace(next(x for x in before.splitlines() if f"{{#{bullet_id}}}" in x), "") \
        == brief.markdown.replace(line, "")  # nothing else changed
    key = next(k for k, t in briefs.split_sections(brief.markdown).items() if f"{{#{bullet_id}}}" in t)
    assert key in brief.edited_sections


def test_shorthand_is_never_read_inside_a_contraction():
    """The glossary's 're:' matched the end of "you're:" (found by bench/brief_targets.py on a held-out guide)."""
    assert expand_shorthand("If you're: stop, and we're: go") == "If you're: stop, and we're: go"
    assert expand_shorthand("re: the budget, ‘ppl’ said") == "regarding the budget, ‘people’ said"


def test_shorthand_is_written_out_without_changing_any_word_case():
    assert expand_shorthand("ppl w/ kids -> 2x rent, $2.1M/yr b/c govt") == \
        "people with kids, leading to 2 times rent, $2.1 million a year because government"
    assert expand_shorthand("see https://w.example.org/ppl-w/yr") == "see https://w.example.org/ppl-w/yr"
    text, role, dissent = clean_note("A municipal leader: Hope said the ICE office in Zürich moved")
    assert text == "Hope said the ICE office in Zürich moved" and role == "municipal leader" and not dissent
    assert clean_note("a tenant organizer pushes back on rent caps: they cut repairs")[2] is True


def test_months_and_federal_are_written_out_only_where_they_cannot_be_a_name():
    """'Jan' and 'Mar' are also first names: they are read as months only after a word of time or before a day
    ("demand up 3x since Jan" was left as typed in the demo's Key Findings); "fed funds" is federal money."""
    assert expand_shorthand("demand up 3x since Jan, vote Mar 3") == "demand up 3 times since January, vote March 3"
    assert expand_shorthand("all fed funds conditioned? Fed grants cut") == \
        "all federal funds conditioned? Federal grants cut"
    assert expand_shorthand("Jan said Mar was fed up") == "Jan said Mar was fed up"  # names and "fed up" kept
    assert expand_shorthand("stop retaining copies of source docs") == "stop retaining copies of source documents"


def test_resource_names_come_from_the_note_not_the_address():
    assert name_and_description("Urban Housing Institute report on rent burden https://uhi.example.org/r", \
                                "https://uhi.example.org/r")[0] == "Urban Housing Institute report on rent burden"
    name, description = name_and_description("Cities Network (international municipal network): https://c.example/",
                                             "https://c.example/")
    assert (name, description) == ("Cities Network", "International municipal network")


def test_the_workbench_shows_sources_beside_bullets_and_rewrites_one(client, login, accounts, db, generated):
    from roundtable.models import Role
    from roundtable.services.accounts import grant_role

    grant_role(db, accounts[Role.AUTHOR], generated, Role.AUTHOR)
    db.commit()
    login(Role.AUTHOR)
    client.post(f"/s/{generated.slug}/brief/report/build")
    page = client.get(f"/s/{generated.slug}/brief/report/workbench").get_data(as_text=True)
    assert "Mark reviewed" in page and re.search(r"Session \d, note \d+", page)
    assert client.get(f"/s/{generated.slug}/brief/report/").get_data(as_text=True).count("/workbench") == 1

    brief = briefs.get_brief(db, generated, "report", create=False)
    response = client.post(f"/s/{generated.slug}/brief/report/sections/key-themes/status", data={"status": "reviewed"})
    assert response.status_code == 302
    db.expire_all()
    assert brief.section_status["key-themes"] == "reviewed"

    bullet_id = next(k for k in brief.provenance if k.startswith("p-") and len(brief.provenance[k]) >= 2)
    keep = brief.provenance[bullet_id][:1]
    lanes = next(n for n in db.scalars(select(Note)) if "bus lanes" in n.text and n.id not in brief.provenance[bullet_id])
    ref = f"{db.get(Session, lanes.session_id).number}.{lanes.seq}"
    client.post(f"/s/{generated.slug}/brief/report/bullets/{bullet_id}", data={"keep": keep, "add": ref})
    db.expire_all()
    assert set(brief.provenance[bullet_id]) == {*keep, lanes.id}
    bad = client.post(f"/s/{generated.slug}/brief/report/bullets/{bullet_id}", data={"keep": keep, "add": "9.99"},
                      follow_redirects=True).get_data(as_text=True)
    assert "no note 9.99 in this series" in bad.lower()  # flashed as a sentence: "No note ..."


def test_a_word_of_a_hidden_name_never_reaches_the_report_in_any_case(db, generated, roundtable):
    """"Will" declined to be named: the modal verb "will" in a note must not carry into the prose either."""
    db.add(Participant(series_id=generated.id, name="Will Marsh", aliases=["Willy"], role_label="scholar",
                       consent_named=False))
    theme = db.scalar(select(Theme).where(Theme.series_id == generated.id, Theme.name == "Rent burden"))
    for k, text in enumerate(["rent relief will run out in June for 300 households",
                              "\u201cThe relief will be gone before the winter.\u201d",
                              "rent burden: 60% of renters pay more than 40% of income. Relief will end soon"]):
        note = Note(session_id=generated.sessions[1].id, seq=800 + k, uuid=str(uuid.uuid4()),
                    kind="quote" if k == 1 else "point", text=text, speaker_role="scholar")
        db.add(note)
        db.flush()
        db.add(NoteTag(note_id=note.id, theme_id=theme.id, source="manual"))
    db.commit()
    body = split_front_matter(briefs.build_brief(db, generated, roundtable=roundtable).markdown)[1].lower()
    assert not re.search(r"\b(will|willy|marsh)\b", body)
    assert "rent burden" in body  # the theme is still there, from its other notes
    # The Sources appendix shows whole notes: one with the word keeps its place, not its text.
    from roundtable.services.briefs.export import source_notes

    document = briefs.build_brief(db, generated, roundtable=roundtable)
    shown = [n["text"] for notes in source_notes(db, generated, document.provenance).values() for n in notes]
    assert shown and not any(re.search(r"\b(will|willy|marsh)\b", t, re.I) for t in shown)


# ---- sentence realisation: notes' fragments rewritten as sentences, case kept


@pytest.fixture(scope="module", params=["spacy", "lexical"])
def realizer(request):
    from roundtable.services.briefs.realize import Realizer
    from roundtable.services.briefs.synthesis import spacy_pipeline

    tagger = spacy_pipeline() if request.param == "spacy" else None
    if request.param == "spacy" and tagger is None:
        pytest.skip("no English spaCy model installed")
    return Realizer(frozenset({"Eastbank", "Lakeport", "Harbor"}), tagger)


@pytest.mark.parametrize("note, wanted, unwanted", [
    ("Eastbank council funded the pilot: $1.5 million for 1 year (less than asked)",
     "Eastbank council funded the pilot, with $1.5 million for 1 year", "(less than asked)"),
    ("Lakeport data office: no inventory of which city systems collect birthplace",
     "Lakeport data office had no inventory", ":"),
    ("hotline statistics February: 340 calls, 48 confirmed operations", "hotline statistics February showed 340 calls", ":"),
    ("City attorney: conditions likely unlawful", "City attorney said conditions", ":"),
    ("Family preparedness packet (multilingual): https://family-prep.example.org/packet",
     "Family preparedness packet is available at https://family-prep.example.org/packet", "multilingual"),
    ("2-year fellowship program with [name] and [name] law schools, 6 fellows", "two law schools", "[name]"),
    ("funding agreed, [name] and [name] agreed to host fellows", "funding agreed", "[name]"),
])
def test_note_fragments_become_clauses_without_note_colons_asides_or_placeholders(realizer, note, wanted, unwanted):
    clause = realizer.clause(note)
    assert wanted in clause and unwanted not in clause


def test_a_claim_whose_main_clause_holds_a_placeholder_is_left_out(realizer):
    assert realizer.clause("[name] said the fund is gone") == ""


def test_fragments_get_the_verb_they_lack(realizer):
    if realizer.tagger is None:
        assert realizer.clause("Detention transfers still the fastest-growing problem") == (
            "Detention transfers are still the fastest-growing problem")
        return
    assert realizer.clause("Detention transfers still the fastest-growing problem") == (
        "Detention transfers are still the fastest-growing problem")
    assert realizer.clause("Libraries getting asked if card records are shared").startswith("Libraries are getting")


def test_topic_sentence_weaves_attribution_in_once_and_never_lowers_a_word(realizer):
    embedded = realizer.topic_sentence("Eastbank council funded the pilot", "legal advocates in three sessions",
                                       "reported")
    assert embedded == "Legal advocates in three sessions reported that Eastbank council funded the pilot."
    trailing = realizer.topic_sentence("Expedited removal sent 4 people away within 72 hours",
                                       "legal advocates", "described")
    assert trailing == "Expedited removal sent 4 people away within 72 hours, legal advocates described."
    # A capitalized word that may be a name ("Will") is never lowered to stand mid-sentence.
    assert "Will" in realizer.topic_sentence("Will said the pilot ends", "a participant", "reported")


def test_support_joins_related_facts_in_at_most_two_sentences(realizer):
    out = realizer.support(["Staff got threatening calls", "Riverton had 45 trained responders",
                            "only about 10 are available on weekday mornings"])
    assert out == ["Staff got threatening calls.",
                   "Riverton had 45 trained responders, but only about 10 are available on weekday mornings."]


# ---- sentence classes checked on lines nobody here wrote: the Node.js TSC's public meeting minutes
# (github.com/nodejs/TSC, meetings/2015-06-17.md and 2015-07-08.md; speaker names left off) and note-like
# lines found in public GitHub files. The demo's own notes are not used here.


@pytest.mark.parametrize("note, wanted", [
    ("Phone screen done, waiting on next steps", "Phone screen is complete"),
    ("guarantors done, waiting on treasurer", "guarantors are complete"),
    ("payment done, waiting on creator", "payment is complete"),
    ("no further responses on the github issue", "there are no further responses on the github issue"),
])
def test_status_and_no_yet_fragments_become_clauses(realizer, note, wanted):
    assert wanted in realizer.clause(note)


@pytest.mark.parametrize("note, wanted", [
    ("April 2026 release scheduled May 19", "scheduled for May 19"),
    ("first release scheduled May, the 1st of 2018", "scheduled for May"),
])
def test_a_month_after_a_verb_takes_its_preposition(realizer, note, wanted):
    assert wanted in realizer.clause(note)


@pytest.mark.parametrize("note, wanted", [
    ("get feedback, comment on the issue", "called for feedback"),
    ("bring next to current, current to LTS", "recommended bringing next to current"),
    ("maintain V8 version for ourselves", "recommended maintaining"),
])
def test_instructions_become_reported_calls(realizer, note, wanted):
    topic = realizer.topic_sentence(realizer.clause(note), "legal advocates", "reported", action=True)
    assert topic.startswith(f"Legal advocates {wanted}")
    # in support, a call keeps the group as its subject rather than standing as an order
    assert realizer.support([realizer.clause(note)])[0].startswith(f"Participants also {wanted}")


def test_a_capitalized_instruction_keeps_its_case(realizer):
    topic = realizer.topic_sentence(realizer.clause("Repurpose previous node.js TSC meeting as LTS WG meeting"),
                                    "a participant", "reported", action=True)
    # an order is reported as advice (never a finding standing alone), its capital kept
    assert "Repurpose previous" in topic and "repurpos" not in topic
    assert re.match(r"Repurpose previous|A participant recommended: Repurpose previous", topic)


def test_a_bare_singular_subject_gets_an_article_only_where_no_case_changes(parsed):
    tsc = Realizer(frozenset({"Lakeport", "Joyent"}), parsed.tagger)
    assert tsc.clause("Lakeport data office had no inventory of city systems").startswith("the Lakeport data office")
    assert tsc.clause("new OpenSSL version about to be released").startswith("the new OpenSSL version")
    # a capitalized common word starts the sentence as typed: nothing goes before it
    assert tsc.clause("Policy for PR blocking was discussed").startswith("Policy")
    assert tsc.clause("funding ended in March").startswith("funding")  # a mass noun takes no article
    assert tsc.clause("public assistance ended in March").startswith("public assistance")  # an abstract noun
    assert tsc.clause("model data ordinance was introduced in March").startswith("the model data ordinance")


def test_support_joins_only_contrast_and_never_invents_a_relation(realizer):
    out = realizer.support(["Released 0.12.6 last week", "tested the security fix from last week",
                            "not much on io.js"])
    assert out[0] == "Released 0.12.6 last week."
    assert not any(w in " ".join(out) for w in ("Elsewhere", "while", "At the same time"))
    assert out[1] == "Tested the security fix from last week, but not much on io.js."


# ---- read aloud on the demo report (session four): the demo's own note lines that came out broken.
# These rules were written after reading the demo's errors (tuning on the demo), never the held-out set's.


@pytest.fixture(scope="module")
def parsed():
    """The realizer with the parse: sentence repair and articles need it, so these tests run once, with it."""
    from roundtable.services.briefs.realize import Realizer
    from roundtable.services.briefs.synthesis import spacy_pipeline

    tagger = spacy_pipeline()
    assert tagger is not None, "the English spaCy model is a test dependency (README's test command installs it)"
    return Realizer(frozenset({"Eastbank", "Lakeport", "Harbor"}), tagger)


def _prose(note: str) -> str:
    from roundtable.services.briefs.glossary import clean_note
    from roundtable.services.briefs.synthesis import compress

    return compress(clean_note(note)[0])


def _every_sentence_has_a_verb(realizer, text: str) -> None:
    for sentence in re.split(r"(?<=[.?!])\s+(?=[A-Z])", text):
        assert realizer.has_finite_verb(sentence), sentence


@pytest.mark.parametrize("note, wanted", [
    ("expedited removal expansion - ppl here < 2 yrs can be removed w/o hearing. need proof-of-presence docs ready",
     "with the expedited removal expansion, people here under 2 years can be removed"),
    ("transfers out of state w/in 24-48 hrs, we lose contact before first consult. families can't find ppl",
     "with transfers out of state within 24-48 hours, legal advocates lose contact before the first consult"),
])
def test_a_noun_phrase_before_a_clause_becomes_its_circumstance(parsed, note, wanted):
    clause = parsed.clause(_prose(note), speakers="legal advocates")
    assert clause.startswith(wanted)
    _every_sentence_has_a_verb(parsed, " ".join(parsed.support([clause])))


def test_a_statement_typed_with_a_question_mark_is_hedged_not_asked(parsed):
    clause = parsed.clause(_prose("Harbor City 311 script launched, safety calls down 30% in 2 wks? correlation unclear"))
    assert "?" not in clause
    assert re.search(r"safety calls (?:are|were) apparently down 30% in 2 weeks", clause)
    assert parsed.clause(_prose("how many ppl were detained?")).endswith("?")  # a real question stays one


def test_a_participle_head_before_a_colon_is_a_clause_and_its_verbs_keep_their_subject(parsed):
    clause = parsed.clause(_prose("model data ordinance drafted: limits collection of status/birthplace, bans sharing "
                                  "for civil immigration enforcement, annual audit"))
    assert clause.startswith("the model data ordinance was drafted")
    assert "limits collection of status/birthplace, bans sharing for civil immigration enforcement" in clause
    assert "drafted had" not in clause and "bans are" not in clause
    _every_sentence_has_a_verb(parsed, " ".join(parsed.support([clause])))


def test_a_long_noun_phrase_before_a_colon_takes_a_verb(parsed):
    clause = parsed.clause(_prose("records request for PD comms w/ federal agents: 400 pages, heavily redacted; "
                                  "shows 30+ informal contacts"))
    _every_sentence_has_a_verb(parsed, " ".join(parsed.support([clause])))


def test_disagreement_states_the_positions_not_a_theme_name(db, generated, roundtable):
    sections = briefs.split_sections(briefs.build_brief(db, generated, roundtable=roundtable).markdown)
    for name in ("key-themes", "key-findings"):
        assert not re.search(r"[Pp]articipants differed on [A-Z]", sections[name]), sections[name]
    # the "tension: ..." note holds both positions itself, and the text says so by role
    assert re.search(r"[Aa] transit planner described a tension: service frequency", sections["key-themes"])


def test_a_key_finding_opens_on_a_general_claim_and_keeps_figures_for_support(db, generated, roundtable):
    findings = briefs.split_sections(briefs.build_brief(db, generated, roundtable=roundtable).markdown)["key-findings"]
    paragraphs = [p for p in findings.split("\n\n") if p.startswith("[**")]
    assert paragraphs
    for p in paragraphs:
        claim = re.split(r"(?<=[.?!])\s+(?=[A-Z])", p.split("} ", 1)[1])[0]  # the framing, or the attributed finding
        assert not re.search(r"\d", claim), p


def test_a_key_finding_states_its_claim_once_and_copies_at_most_one_sentence_of_its_bullets(db, generated, roundtable):
    """Key Findings generalise: a claim about the theme (its description as a claim, how far it ran and what its
    bullets cover), two of support at most; not the theme's bullets chained."""
    sections = briefs.split_sections(briefs.build_brief(db, generated, roundtable=roundtable).markdown)
    bullet_text = "\n".join(line for line in (sections["key-themes"] + "\n" + sections["strategic-directions"]).splitlines()
                            if line.startswith("- "))
    paragraphs = [p for p in sections["key-findings"].split("\n\n") if p.startswith("[**")]
    assert paragraphs
    for p in paragraphs:
        body = p.split("} ", 1)[1]
        sentences = re.split(r"(?<=[.?!])\s+(?=[A-Z])", body)
        copied = [s for s in sentences if len(s.split()) > 4 and s in bullet_text]
        assert len(copied) <= 1, p
        assert len(sentences) <= 4, p
    assert any(re.search(r"The (?:theme|direction) came up in (?:all|\w+ of the) \w+ sessions, among [^.]+\.", p)
               for p in paragraphs), paragraphs


_REPORTED = re.compile(r"^.*?\b(?:described how|reported that|observed that|emphasized that|pointed to|called for|"
                       r"recommended(?: that|:)?|proposed that)\s+")


def _runs(text: str, n: int = 6) -> set[tuple[str, ...]]:
    words = re.findall(r"[\w'’$%-]+", text.lower())
    return {tuple(words[i:i + n]) for i in range(len(words) - n + 1)}


def test_a_key_finding_never_repeats_a_bullet_and_names_its_theme_idea(db, generated, roundtable):
    """A Key Finding is a claim over the theme's notes in words of its own: none of its claims (the words
    after its attribution) repeats six words running of any bullet, and its first sentence names the
    theme's idea (a word of the theme's name, description, sub-themes or bullet lead-ins)."""
    sections = briefs.split_sections(briefs.build_brief(db, generated, roundtable=roundtable).markdown)
    bullet_runs = set()
    for line in (sections["key-themes"] + "\n" + sections["strategic-directions"]).splitlines():
        if line.startswith("- "):
            bullet_runs |= _runs(_REPORTED.sub("", line.split(":**]", 1)[-1].split("} ", 1)[-1]))
    themes = {t.name: t for t in db.scalars(select(Theme).where(Theme.series_id == generated.id))}
    paragraphs = [p for p in sections["key-findings"].split("\n\n") if p.startswith("[**")]
    assert len(paragraphs) == 5
    for p in paragraphs:
        name = re.match(r"\[\*\*(.+?):\*\*\]", p).group(1)
        sentences = re.split(r"(?<=[.?!])\s+(?=[A-Z])", p.split("} ", 1)[1])
        for sentence in sentences:
            assert not _runs(_REPORTED.sub("", sentence)) & bullet_runs, (name, sentence)
        theme = themes[name]
        block = (sections["key-themes"] + sections["strategic-directions"]).split(f"### {name}\n")[1].split("\n### ")[0]
        idea = " ".join([theme.name, theme.description or ""] + [c.name for c in themes.values()
                                                                  if c.parent_id == theme.id]
                        + re.findall(r"^- \[\*\*(.+?):\*\*\]", block, re.M))
        stems = {w[:5] for w in re.findall(r"[a-z]{4,}", idea.lower())} - {"what", "parti", "said", "about"}
        assert stems & {w[:5] for w in re.findall(r"[a-z]{4,}", sentences[0].lower())}, (name, sentences[0])


def test_every_usable_note_of_a_theme_is_a_source_of_one_of_its_bullets(db, generated, roundtable):
    from roundtable.services.briefs.context import gather_brief_context
    from roundtable.services.briefs.synthesis import compress, mentions

    context = gather_brief_context(db, generated, roundtable=roundtable)
    realizer = context.realizer()
    for theme in context.themes:
        synthesis = context.synthesis(theme)
        cited = {i for b in synthesis.bullets for i in b.note_ids}
        for n in theme.all_notes():
            text = compress(n.prose or n.text)
            if n.kind in ("question", "quote", "resource") or mentions(text, context.hidden_words) or not realizer.clause(text):
                continue
            assert n.id in cited, (theme.name, n.text)


@pytest.mark.parametrize("note", ["We're volunteers doing what a 911 system does, without a 911 budget",
                                  "issues we’ve seen arise in vendor relationships"])
def test_a_contraction_of_we_is_never_glued_to_a_role(realizer, note):
    clause = realizer.clause(note, speakers="community organizers")
    assert "organizers'" not in clause and "organizers’" not in clause


def test_each_directions_key_finding_says_what_participants_called_for(db, generated, roundtable):
    """A direction's Key Finding is a claim (what participants called for, over roles and sessions), not a
    sentence about the report ("came up ... under the headings ..."), and never an order."""
    findings = briefs.split_sections(briefs.build_brief(db, generated, roundtable=roundtable).markdown)["key-findings"]
    paragraphs = {re.match(r"\[\*\*(.+?):\*\*\]", p).group(1): p.split("} ", 1)[1]
                  for p in findings.split("\n\n") if p.startswith("[**")}
    assert "under the heading" not in findings
    for name in ("Fund tenant legal defense", "Build a transit coalition"):
        first = re.split(r"(?<=[.?!])\s+(?=[A-Z])", paragraphs[name])[0]
        assert re.match(r"(?:An? |Participants|[A-Z][a-z]+ \w+s\b)[^.]* called for [a-z]", first), first
