"""A roster name spelled so that a reader still reads it: joined, letter by letter, or cut at a line end.

Each class is tested on the anonymizer (what a note stores) and on the export gate (what a brief may
contain), with ordinary text that looks similar ("U S A", "A B testing", "e-\\nmail", "J. K. Rowling")
left alone.
"""

from __future__ import annotations

import pytest

from conftest import roster_anonymizer
from roundtable.errors import ExportBlocked
from roundtable.models import Participant
from roundtable.services import briefs
from roundtable.services.anonymize import Roster, RosterEntry
from roundtable.services.anonymize.normalize import matching_text

ROSTER = Roster((
    RosterEntry(1, "Thandiwe Dlamini", (), "", "organizer"),
    RosterEntry(2, "Zeynep Kaya", ("Zee Kaya-Ozturk",), "", "scholar"),
    RosterEntry(3, "Will Porter", (), "", "clerk"),
))
ANONYMIZER = roster_anonymizer(ROSTER)
NAMES = ("thandiwe", "dlamini", "zeynep", "kaya", "ozturk", "porter")

SPELLINGS = {
    "joined, camel case": "ThandiweDlamini",
    "joined, lower case": "thandiwedlamini",
    "joined, capitals": "THANDIWEDLAMINI",
    "joined by a hyphen": "Thandiwe-Dlamini",
    "joined by a dot": "Thandiwe.Dlamini",
    "alias joined": "ZeeKayaOzturk",
    "letters spaced out": "T h a n d i w e",
    "letters dotted": "T.h.a.n.d.i.w.e",
    "letters hyphenated": "T-h-a-n-d-i-w-e",
    "surname spaced out in capitals": "D L A M I N I",
    "full name spaced out": "T h a n d i w e D l a m i n i",
    "cut by a hyphen at a line end": "Thandi-\nwe",
    "cut with indentation after the line break": "Zey-\n   nep",
    "cut with a Windows line end": "Dla-\r\nmini",
}


def _survivors(text: str) -> list[str]:
    readable = matching_text(text).text.lower()
    squeezed = "".join(ch for ch in readable if ch.isalpha())
    return [name for name in NAMES if name in readable or name in squeezed]


@pytest.mark.parametrize("form", SPELLINGS.values(), ids=SPELLINGS.keys())
def test_a_spelled_name_in_a_note_is_replaced(form):
    result = ANONYMIZER.anonymize(f"At the meeting {form} said the county shares data.")

    assert _survivors(result.text) == [], result.text
    assert result.text.startswith("At the meeting ") and result.text.endswith(" said the county shares data.")


def test_the_replacement_covers_every_letter_of_the_spelled_name():
    result = ANONYMIZER.anonymize("Then T h a n d i w e and Zey-\nnep left; ThandiweDlamini stayed.")

    assert result.text == "Then an organizer and a scholar left; an organizer stayed."


ORDINARY = [
    "The U S A and the U.K. signed; A B testing ran on the e-\nmail list.",
    "J. K. Rowling and J.K. Simmons wrote to T. S. Eliot, i.e. the poet, at 9 a.m.",
    "Plan B a week later; x-ray and co-\noperation in the well-\nknown district.",
    "The county will share data with the porters and the T-shirt shop.",
]


@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_text_that_looks_spelled_out_is_left_alone(text):
    assert ANONYMIZER.anonymize(text).text == text


# --- the export gate ------------------------------------------------------------------------

DRAFT = "---\ntitle: Harbor City Working Group\nauthors: [A. Author]\n---\n\n## Findings\n\nRents rose after {} spoke.\n"


@pytest.fixture
def people(db, series):
    for entry in ROSTER:
        db.add(Participant(series_id=series.id, name=entry.name, aliases=list(entry.aliases), affiliation="",
                           role_label=entry.role_label, consent_named=False))
    db.commit()
    return series


@pytest.mark.parametrize("fmt", ["md", "html"])
@pytest.mark.parametrize("form", SPELLINGS.values(), ids=SPELLINGS.keys())
def test_a_spelled_name_blocks_a_brief_export(db, people, roundtable, fmt, form):
    with pytest.raises(ExportBlocked) as blocked:
        briefs.export_brief(db, people, fmt=fmt, markdown=DRAFT.format(form), roundtable=roundtable)

    assert "ndiwe" not in str(blocked.value) and "nep" not in str(blocked.value)


def test_a_name_cut_between_list_lines_in_a_brief_is_blocked(db, people, roundtable):
    markdown = DRAFT.format("the organizer") + "\n- Than-\n  diwe asked for data\n"

    with pytest.raises(ExportBlocked):
        briefs.export_brief(db, people, fmt="pdf", markdown=markdown, roundtable=roundtable)


@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_text_that_looks_spelled_out_exports(db, people, roundtable, text):
    briefs.export_brief(db, people, fmt="md", markdown=DRAFT.format("the organizer") + "\n" + text + "\n",
                        roundtable=roundtable)


def test_a_joined_name_that_is_an_ordinary_word_counts_only_where_it_reads_as_a_name():
    roster = Roster((RosterEntry(1, "Will Power", (), "", "clerk"),))
    anonymizer = roster_anonymizer(roster)

    assert anonymizer.anonymize("It takes willpower to wait.").text == "It takes willpower to wait."
    assert anonymizer.anonymize("Then willpower said no.").text == "Then a clerk said no."
