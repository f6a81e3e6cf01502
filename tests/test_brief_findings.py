"""Key Findings state claims a policymaker would read: for a strategic direction, what participants called
for, aggregated over roles and sessions, in words of its own (no bullet's six-word run), never an order,
never a word's case changed, never a word of a declined name.

The lines are written for these tests (a housing and transit series), not taken from the demo.
"""

from __future__ import annotations

import re

import pytest

from roundtable.services.briefs.context import NoteItem
from roundtable.services.briefs.glossary import clean_note
from roundtable.services.briefs.findings import direction_calls, requested, word_runs
from roundtable.services.briefs.synthesis import Bullet, TextSpace


@pytest.fixture(scope="module")
def parsed():
    from roundtable.services.briefs.realize import Realizer
    from roundtable.services.briefs.synthesis import spacy_pipeline

    tagger = spacy_pipeline()
    assert tagger is not None, "the English spaCy model is a test dependency (README's test command installs it)"
    return Realizer(frozenset({"Millbrook", "Ferris"}), tagger)


def _notes(rows) -> list[NoteItem]:
    out = []
    for i, (session, role, text) in enumerate(rows, 1):
        prose, role_in_note, dissent = clean_note(text)[:3]
        out.append(NoteItem(id=i, session_number=session, kind="action", speaker_role=role or role_in_note,
                            text=text, prose=prose, dissent=dissent))
    return out


@pytest.mark.parametrize("note, wanted", [
    ("fund a standing pool of tenant lawyers w/ multi-yr contract", "a standing pool of tenant lawyers"),
    ("ask the council for a dedicated eviction defense fund", "a dedicated eviction defense fund"),
    ("push for late-night bus service on the hospital routes", "a late-night bus service"),
    ("regional fare agreement w/ equal seats for riders", "a regional fare agreement"),
    ("publish quarterly eviction filing data by zip code", "quarterly eviction filing data"),
    ("set up 211 line for tenant questions", "a 211 line"),  # a figure that is part of a name
    ("3-yr pilot of fare-free buses on 2 routes", "a 3-year pilot of fare-free buses"),
    ("where the council agrees: push a countywide tenant registry", "a countywide tenant registry"),  # after a label
])
def test_what_an_action_note_asks_for_is_its_object_as_a_noun_phrase(parsed, note, wanted):
    assert requested(clean_note(note)[0], parsed) == wanted


@pytest.mark.parametrize("note", [
    "Millbrook to publish ridership data every month",  # a proposal with its own subject: who acts matters
    "Fund Shelters Before Winter",  # typed capitalized: nothing may be lowered, so no phrase is cut from it
    "ridership fell 12% after the fare change",  # a report, not a call
    "fund it",  # no noun phrase to name
    "hire 3 caseworkers",  # a count, not a name: the call would drop what matters
    "regional transit compact w/ equal seats for riders",  # the small model reads "transit [is] compact"
])
def test_a_note_that_asks_for_nothing_nameable_gives_no_call(parsed, note):
    assert requested(clean_note(note)[0], parsed) == ""


ROWS = [
    (1, "tenant organizer", "fund a standing pool of tenant lawyers w/ multi-yr contract"),
    (2, "legal aid lawyer", "ask the council for a dedicated eviction defense fund"),
    (3, "city official", "publish quarterly eviction filing data by zip code"),
    (3, "tenant organizer", "train tenant volunteers to do court accompaniment"),
    (4, "transit planner", "push for late-night bus service on the hospital routes"),
]


def test_a_directions_claim_names_what_participants_called_for_across_roles_and_sessions(parsed):
    notes = _notes(ROWS)
    calls, members = direction_calls(notes, TextSpace(notes), realizer=parsed)
    assert 2 <= len(calls) <= 3
    assert all(c[:1].islower() for c in calls)  # mid-sentence as typed: no word's case changed
    assert len({n.session_number for n in members}) >= 2 and len({n.speaker_role for n in members}) >= 2
    assert {n.id for n in members} <= {n.id for n in notes}


def test_a_directions_claim_never_repeats_six_words_of_a_bullet(parsed):
    notes = _notes(ROWS)
    bullet = Bullet("p-1-1", "Tenant lawyers", "Tenant organizers called for a standing pool of tenant lawyers "
                    "with a multi-year contract.", [1])
    calls, _ = direction_calls(notes, TextSpace(notes), realizer=parsed, bullets=[bullet])
    written = word_runs(bullet.text)
    assert calls and all(not word_runs(f"participants called for {c} and more") & written for c in calls)
    assert "a standing pool of tenant lawyers" not in calls


def test_a_directions_claim_leaves_out_a_word_of_a_declined_name(parsed):
    notes = _notes(ROWS + [(5, "city official", "fund Ferris Hope youth passes for every student")])
    calls, members = direction_calls(notes, TextSpace(notes), hidden=frozenset({"hope"}), realizer=parsed)
    assert calls and not any("Hope" in c or "hope" in c.lower().split() for c in calls)
    assert 6 not in {n.id for n in members}


@pytest.mark.parametrize("claim, rough", [
    ("the shelter hired new caseworker last month", True),  # a bare count noun as object
    ("Worst problem is the waitlist at the shelter", True),  # a capital kept as typed: no article may go before it
    ("the tenant union got a legal memo before the hearing", False),
    ("waitlists are growing at every shelter in the county", False),
    ("eviction filings rose in three zip codes", False),
])
def test_a_claim_keeping_note_grammar_is_told_from_a_mended_one(parsed, claim, rough):
    """Key Findings choose a claim that keeps note grammar the realizer cannot mend last (Realizer.rough)."""
    assert parsed.rough(claim) is rough


def test_a_statement_under_a_direction_is_never_said_to_be_recommended(parsed):
    """A claim that recommends nothing ("The roadmap shows ...") is what a participant described, even under
    Strategic Directions; one with "should" is what they recommended. The claim's capital is kept."""
    stated = parsed.topic_sentence("The roadmap shows which problems the team will solve first", "a participant",
                                   "described", action=True)
    assert stated == "The roadmap shows which problems the team will solve first, a participant described."
    advised = parsed.topic_sentence("Teams should publish the roadmap before the first sprint", "a participant",
                                    "described", action=True)
    assert advised.endswith(", a participant recommended.") and advised.startswith("Teams should publish")


# ---- a theme's Key Finding generalises, Strategic Implications argue (lines written here: a school heat series)


@pytest.fixture
def database_url(tmp_path):
    """These properties do not depend on the database: SQLite only."""
    return f"sqlite:///{tmp_path / 'roundtable.sqlite'}"


HEAT_THEMES = [
    # (name, section, description, {sub-theme: [(session, role, note)]}) ; "" sub-theme: the theme's own notes
    ("Classroom Heat Exposure", "Key Themes", "Heat reaches classrooms before schools are ready for it.", {
        "Classroom Temperatures": [
            (1, "teacher", "classrooms on the top floor hit 92F by noon in June"),
            (2, "teacher", "kids put heads on desks after lunch, no one can focus above 85F"),
            (3, "school nurse", "nurse visits for headaches double on days over 90F"),
            (4, "teacher", "portable classrooms run hotter than the main building all afternoon"),
        ],
        "Millbrook Cooling Centers": [
            (1, "city engineer", "Millbrook opened 4 cooling centers last summer, none near the east side schools"),
            (2, "parent organizer", "families don't know the Millbrook cooling centers exist"),
            (3, "city engineer", "cooling centers close at 6pm when apartments are hottest"),
        ],
        "Water Access": [
            (2, "school nurse", "half the water fountains at the middle school are broken"),
            (3, "parent organizer", "kids are not allowed to carry water bottles in class at two schools"),
            (4, "school nurse", "refill stations cost about $3,000 each and the district has funded six"),
        ],
        "": [
            (1, "pediatrician", "heat days send more children with asthma to the clinic in every school zone"),
            (2, "school nurse", "heat days send children with asthma to the nurse in every school zone"),
            (3, "teacher", "heat days send kids with asthma home early from every school in the zone"),
            (4, "parent organizer", "the district has no heat plan, schools close only when the power fails"),
            (4, "city engineer", "the district has no heat plan and each principal decides alone"),
            (2, "teacher", "the gym is the only cool room and it is booked all day"),
            (3, "pediatrician", "children lose more water in the heat than adults notice"),
            (1, "parent organizer", "bus stops have no shade, so kids wait in the sun after school"),
        ],
    }),
    ("Family Health Burdens", "Key Themes", "Asthma, school absences and clinic visits during heat waves.", {
        "": [
            (1, "pediatrician", "asthma visits rose 30% during the July heat wave"),
            (2, "pediatrician", "asthma visits rise in every heat wave and inhalers run out"),
            (3, "school nurse", "inhalers run out at school because refills are not covered in summer"),
            (1, "parent organizer", "parents miss shifts to pick up sick kids and lose pay"),
            (2, "parent organizer", "parents lose pay when a heat day closes school at noon"),
            (4, "teacher", "attendance drops by a fifth on the hottest days"),
            (3, "pediatrician", "clinic waits reach three hours in a heat wave"),
            (4, "school nurse", "clinic waits grow long in heat waves and families give up"),
        ],
    }),
    ("Retrofit School Buildings", "Strategic Directions",
     "Fund cooling retrofits in every school before summer and publish the schedule.", {
        "": [
            (1, "city engineer", "fund heat pumps for the top floors first"),
            (2, "teacher", "publish the retrofit schedule so parents can plan"),
            (3, "school nurse", "ask the state for a school cooling fund"),
        ],
    }),
    ("Share Heat Data", "Strategic Directions", "Map heat risk by block and share it with families.", {
        "": [
            (2, "city engineer", "map classroom temperatures with cheap sensors in every school"),
            (3, "parent organizer", "text families the heat plan in their language"),
            (4, "pediatrician", "share asthma visit data with the district weekly"),
        ],
    }),
]


def heat_series(db):
    import uuid
    from datetime import date

    from roundtable.models import Note, NoteTag, Series, Session, SessionState, Theme

    series = Series(slug=f"heat-{uuid.uuid4().hex[:6]}", title="Cool Schools Forum", participant_count=40,
                    organizations=["Heat Lab"])
    db.add(series)
    db.flush()
    sessions = {}
    for n in range(1, 5):
        sessions[n] = Session(series_id=series.id, number=n, title=f"Session {n}", date=date(2026, n, 5),
                              state=SessionState.CLOSED)
        db.add(sessions[n])
    db.flush()
    seq = dict.fromkeys(sessions, 0)
    for position, (name, section, description, groups) in enumerate(HEAT_THEMES):
        theme = Theme(series_id=series.id, name=name, section=section, position=position, description=description)
        db.add(theme)
        db.flush()
        for j, (sub, rows) in enumerate(groups.items()):
            tag = theme
            if sub:
                tag = Theme(series_id=series.id, name=sub, section=section, position=j, parent_id=theme.id)
                db.add(tag)
                db.flush()
            for session, role, text in rows:
                seq[session] += 1
                note = Note(session_id=sessions[session].id, seq=seq[session], uuid=str(uuid.uuid4()),
                            kind="action" if section == "Strategic Directions" else "point", text=text,
                            speaker_role=role)
                db.add(note)
                db.flush()
                db.add(NoteTag(note_id=note.id, theme_id=tag.id, source="manual"))
    db.commit()
    return series


@pytest.fixture
def heat_report(db, roundtable):
    from roundtable.services import briefs

    return briefs.split_sections(briefs.build_brief(db, heat_series(db), roundtable=roundtable).markdown)


def _finding(sections, theme: str) -> str:
    return next(p for p in sections["key-findings"].split("\n\n") if p.startswith(f"[**{theme}:**]"))


def _sentences(paragraph: str) -> list[str]:
    body = paragraph.split("} ", 1)[1]
    return [s for s in re.split(r"(?<=[.!?])\s+(?=[A-Z])", body) if s]


def test_a_themes_key_finding_opens_with_a_claim_about_the_whole_theme(heat_report):
    """Its codebook description when that is a claim, then how far the theme ran and what its sub-themes cover,
    named by the codebook (authored text, so lowered to stand mid-sentence; a name the notes type keeps its capital)."""
    heat = _finding(heat_report, "Classroom Heat Exposure")
    first, second = _sentences(heat)[:2]
    assert first == "Heat reaches classrooms before schools are ready for it."
    assert second.startswith("Across all four sessions, ")
    for idea in ("classroom temperatures", "Millbrook cooling centers", "water access"):
        assert idea in second
    # a description that is no claim is left out; the opening is then the theme as a whole
    health = _finding(heat_report, "Family Health Burdens")
    assert _sentences(health)[0].startswith("Across all four sessions, ")
    assert "Asthma, school absences" not in health


def test_a_key_findings_support_is_two_claims_no_bullet_says(heat_report):
    """One or two claims after the opening, none sharing six words running with a bullet, no note word's case changed."""
    from roundtable.services.briefs.findings import word_runs

    bullets = heat_report["key-themes"] + heat_report["strategic-directions"]
    written = word_runs(bullets)
    notes = " ".join(text for _, _, _, groups in HEAT_THEMES for rows in groups.values() for _, _, text in rows)
    said = [set(re.findall(r"\w+", s.lower())) for s in re.split(r"(?<=[.!?])\s+", bullets)]
    for theme in ("Classroom Heat Exposure", "Family Health Burdens"):
        support = _sentences(_finding(heat_report, theme))[2 if theme.startswith("Classroom") else 1:]
        assert len(support) <= 2 and (support or theme.startswith("Family")), support  # every Family claim is said
        for sentence in support:
            claim = re.split(r" (?:described how|reported that|observed that) ", sentence)[-1]
            assert not word_runs(claim) & written, sentence
            words = set(re.findall(r"\w+", claim.lower()))
            assert all(len(words & s) < 0.8 * len(words) for s in said), sentence  # nor in other words
            for word in re.findall(r"(?<=\s)[A-Z]\w+", sentence):  # a capital mid-sentence is one the notes typed
                assert word in notes, sentence


def _points(rows) -> list[NoteItem]:
    return [NoteItem(id=i, session_number=session, kind="point", speaker_role=role, text=text, prose=text)
            for i, (session, role, text) in enumerate(rows, 1)]


def test_the_support_is_the_most_widely_shared_claim_no_bullet_says_attributed_to_those_who_made_it(parsed):
    """Three roles in three sessions said heat days send children with asthma away: that claim supports the finding
    first, attributed to the notes that repeat it; the bullet's claim is never used; a claim keeping note grammar the
    realizer cannot mend ("district has no heat plan") comes after every other."""
    from roundtable.services.briefs.findings import theme_claims

    notes = _points([
        (1, "teacher", "classrooms on the top floor hit 92F by noon in June"),
        (1, "pediatrician", "heat days send more children with asthma to the clinic"),
        (2, "school nurse", "heat days send children with asthma to the nurse's office"),
        (3, "teacher", "heat days send children with asthma home early"),
        (4, "city engineer", "district has no heat plan"),
        (3, "parent organizer", "half the water fountains at the middle school are broken"),
        (2, "teacher", "portable classrooms run hotter than the main building all afternoon"),
        (4, "teacher", "track heat days from June 1 or the board won't act"),  # an order: not a finding's support
    ])
    bullet = Bullet("p-1-1", "Classroom temperatures", "Teachers reported that classrooms on the top floor hit 92F "
                    "by noon in June.", [1])
    finding, support = theme_claims(notes, TextSpace(notes), realizer=parsed, bullets=[bullet], general=False)
    assert finding is None and len(support) == 2
    (first, makers), (second, _) = support
    assert "asthma" in first and {n.id for n in makers} == {2, 3, 4}
    assert "asthma" not in second and "heat plan" not in second and "92F" not in first + second
    assert "track heat days" not in first + second


@pytest.mark.parametrize("description, move", [
    ("Fund lasting legal defense rather than one-off pilots.", "funding lasting legal defense rather than one-off pilots"),
    ("Rebuild trust and shape public understanding through plain communication.",
     "rebuilding trust and shaping public understanding through plain communication"),
    ("Map heat risk by block and share it with families", "mapping heat risk by block and sharing it with families"),
    ("Limit what cities collect and share through audits.", "limiting what cities collect and share through audits"),
    ("Set up a regional fund for Millbrook schools.", "setting up a regional fund for Millbrook schools"),
    ("Regional coalitions across city lines.", ""),  # a phrase, not an order
    ("Cities share data too freely.", ""),  # a claim
])
def test_an_imperative_direction_is_said_as_a_move(parsed, description, move):
    from roundtable.services.briefs.findings import as_move

    assert as_move(description, parsed) == move


@pytest.mark.parametrize("name, phrase", [
    ("Know-Your-Rights Education", "know-your-rights education"),
    ("Service Access Without ID", "service access without ID"),
    ("Millbrook Cooling Centers", "Millbrook cooling centers"),  # "Millbrook" is a name the notes type
    ("Worker organizations", "worker organizations"),
])
def test_a_codebook_name_stands_mid_sentence_with_its_names_kept(parsed, name, phrase):
    from roundtable.services.briefs.findings import codebook_phrase

    assert codebook_phrase(name, parsed) == phrase


def test_strategic_implications_say_the_directions_as_moves_and_what_each_answers(heat_report):
    implications = heat_report["strategic-implications"]
    second = implications.strip().split("\n\n")[-1]
    assert "For cities and funders the notes point to two moves — funding cooling retrofits in every school " \
           "before summer and publishing the schedule; and mapping heat risk by block and sharing it with families." \
           in second
    assert "Fund cooling" not in second and "Map heat" not in second  # orders are not an argument
    assert "Between them they answer “Classroom Heat Exposure” (the first and second)." in second  # by its heading


@pytest.mark.parametrize("claim, level", [
    ("staff got threatening calls after a TV interview", 0),
    ("transfers still the fastest-growing problem", 1),  # a copula added
    ("the shelter hired caseworker", 1),  # an article added
    ("we lost the grant (again)", 1),  # "we" as the speakers, an aside left out
    ("Eastbank clinic: waits doubled, turning families away", 2),  # the label before the colon left out
])
def test_a_claim_the_realizer_mended_beyond_an_article_or_a_copula_is_told(parsed, claim, level):
    """Key Findings never take as support a claim the realizer had to rewrite: it may read wrong."""
    from roundtable.services.briefs.findings import mended

    assert mended(parsed.clause(claim, "teachers"), claim) == level, parsed.clause(claim, "teachers")


@pytest.mark.parametrize("phrase, typed, holds", [
    ("bus stops", "riders want shade at bus stops after school", True),
    ("making decisions", "parents spend the week making decisions about pickup", False),  # a verb
    ("inside school buildings", "heat builds up inside school buildings by noon", False),  # a preposition
    ("district's heat plan", "nobody has read the district's heat plan", False),  # a possessive
])
def test_an_idea_named_by_the_notes_is_a_noun_phrase_where_they_typed_it(parsed, phrase, typed, holds):
    """A theme's overview lists what its bullets cover; a bullet named by a phrase of its notes lends it only
    when it names a thing in the sentence it came from."""
    from roundtable.services.briefs.findings import _names_a_thing

    assert _names_a_thing(phrase, [typed], parsed) is holds
