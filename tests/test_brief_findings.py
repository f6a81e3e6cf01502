"""Key Findings state claims a policymaker would read: for a strategic direction, what participants called
for, aggregated over roles and sessions, in words of its own (no bullet's six-word run), never an order,
never a word's case changed, never a word of a declined name.

The lines are written for these tests (a housing and transit series), not taken from the demo.
"""

from __future__ import annotations

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
