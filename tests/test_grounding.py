"""Grounding: a drafted sentence may only name what its source notes name."""

from __future__ import annotations

import pytest

from roundtable.services.grounding import Sources, check_grounding

NOTES = Sources(
    "- (session 1, a legal advocate) Universal representation changed outcomes for 1,200 detained residents "
    "in Harbor City, see https://www.example.org/representation-study/.\n"
    "- (session 3, a municipal leader) \u201cNobody on my block opens the door anymore.\u201d Three cities joined."
)


@pytest.mark.parametrize("drafted", [
    "Advocates said representation changed outcomes for 1200 detained residents.",
    "In Harbor City, universal representation changed outcomes, as the study at "
    "http://example.org/representation-study shows.",
    'A municipal leader said "nobody on my block opens the door anymore".',
    "Three cities joined, and in session 3 a municipal leader described fear.",
    "Representation changed outcomes for 3 cities' residents.",
])
def test_paraphrase_that_names_only_what_the_notes_name_passes(drafted):
    assert check_grounding(drafted, NOTES).problems == []


@pytest.mark.parametrize("drafted, problem", [
    ("Representation changed outcomes for 1,300 residents.", "number not in the notes: 1,300"),
    ("Four cities joined the effort.", "number not in the notes: Four"),
    ("Residents in Springfield lost counsel.", "name not in the notes: Springfield"),
    ("The ACLU funded the study.", "name not in the notes: ACLU"),
    ("See https://example.com/other for details.", "web address not in the notes: https://example.com/other"),
    ('A leader said "the city will never cooperate".', "quotation not in the notes: “the city will never cooperate”"),
])
def test_an_invented_number_name_address_or_quotation_fails(drafted, problem):
    assert problem in check_grounding(drafted, NOTES).problems


def test_a_title_case_lead_in_is_not_read_as_names_but_its_acronyms_and_numbers_are():
    assert check_grounding("Representation Changes Outcomes", NOTES, title=True).grounded
    assert not check_grounding("Representation in 40 Cities", NOTES, title=True).grounded
    assert not check_grounding("What DHS Wants", NOTES, title=True).grounded


def test_curly_quotes_dashes_and_case_are_normalized_on_both_sides():
    assert check_grounding("\u201cNOBODY on my block opens the door anymore\u201d \u2014 a leader said.", NOTES).grounded


def test_a_text_about_something_else_fails_even_without_names_or_numbers():
    copied = ("Participants described families who go to great lengths to get online, from lines outside the "
              "library before it opens to students doing homework in parking lots for the wifi.")
    assert any(p.startswith("off its notes") for p in check_grounding(copied, NOTES).problems)
    assert not check_grounding("Homework Needs Home Internet", NOTES, title=True).grounded


def test_a_section_is_grounded_in_the_bullets_not_in_the_prompts_instructions(db, series, roundtable):
    """The small model once echoed the section prompt's instructions, which then counted as its sources."""
    from roundtable.services.briefs import model_prose
    from roundtable.services.briefs import gather_brief_context

    context = gather_brief_context(db, series, "report", roundtable=roundtable)
    echo = model_prose.section_prompt(context, "strategic-implications", "Strategic Implications")
    assert model_prose.load_prompt("section").template.split("{")[0].strip() in echo
    assert not check_grounding(echo.split("Points from the report")[0], model_prose.section_sources(context)).grounded
