"""The name rules on their own: citations, coordination, vetoes and span edges (no model needed)."""

from __future__ import annotations

import pytest

from roundtable_plugins import name_rules


def surfaces(text, spans):
    return [text[a:b] for a, b in spans]


@pytest.mark.parametrize(
    "text, names",
    [
        ("It has a long history (Baron & Beresford 2014), but", ["Baron", "Beresford"]),
        ("speakers (Lewis, Simons, & Fennig, 2014) and Sapir’s (1971) group", ["Lewis", "Simons", "Fennig", "Sapir"]),
        ("(see for example Brieber 2014; Binderman et al., 2005)", ["Brieber", "Binderman"]),
        ("used by Marsha Kinder (1991) and", ["Marsha", "Kinder"]),
        ("by de Certeau (1984)", ["de Certeau"]),
        ("Derczynski, L., Nichols, E. and van Erp, M. (2017).", ["Derczynski, L.", "Nichols, E.", "van Erp, M."]),
    ],
)
def test_authors_in_citations_are_names(text, names):
    assert set(names) <= set(surfaces(text, name_rules.citation_names(text)))


@pytest.mark.parametrize(
    "text",
    [
        "In Figure 3 (2014) and in Table [7]",
        "the Housing Act (1996) applies",
        "in May (2020) we met",
        "WHO (2019) guidance",
    ],
)
def test_laws_months_figures_and_acronyms_before_a_year_are_not_authors(text):
    assert name_rules.citation_names(text) == []


def test_a_partner_in_and_is_a_name_unless_it_is_a_place_or_organisation_word():
    text = "data from Carrano and Biewener. Also Smith and Council"
    found = surfaces(text, name_rules.coordinated_names(text, [(text.index("Biewener"), text.index("Biewener") + 8),
                                                               (text.index("Smith"), text.index("Smith") + 5)]))
    assert found == ["Carrano"]


def test_a_guess_joined_by_and_to_a_name_after_in_is_not_read_as_a_place():
    text = "In Halvorsen and Pyle, as in Port Alder and in Tallinn and Council"
    halvorsen, pyle = (text.index("Halvorsen"), text.index("Halvorsen") + 9), (text.index("Pyle"), text.index("Pyle") + 4)
    assert name_rules.in_a_pair(text, *halvorsen) and name_rules.in_a_pair(text, *pyle)
    assert not name_rules.reads_as_a_place(text, *halvorsen, paired=True)
    assert surfaces(text, name_rules.coordinated_names(text, [pyle])) == ["Halvorsen"]  # "In" is not part of it
    port_alder = (text.index("Port Alder"), text.index("Port Alder") + 10)
    assert not name_rules.in_a_pair(text, *port_alder) and name_rules.reads_as_a_place(text, *port_alder)
    tallinn = (text.index("Tallinn"), text.index("Tallinn") + 7)
    assert not name_rules.in_a_pair(text, *tallinn)  # "and Council": an organisation word is no partner


def test_places_buildings_and_peoples_are_not_people():
    text = "we stayed at Socotra Island with the Jóola speakers"
    assert name_rules.is_not_a_person(text, 13, 27)
    assert name_rules.is_not_a_person(text, 37, 42)
    assert not name_rules.is_not_a_person("Kofi Boateng spoke", 0, 12)


def test_a_span_never_crosses_an_equals_or_plus_sign_and_loses_edge_punctuation():
    assert name_rules.clean_span("Utrecht = Leiden", 0, 16) == [(0, 7), (10, 16)]
    assert surfaces("(Ana + Ben)", name_rules.clean_span("(Ana + Ben)", 0, 11)) == ["Ana", "Ben"]
    assert surfaces("Smith, J.", name_rules.clean_span("Smith, J.", 0, 9)) == ["Smith, J."]


def test_a_span_never_crosses_a_spaced_dash_or_a_possessive_before_a_capital():
    text = "Cardio Workout - Max Burn"
    assert surfaces(text, name_rules.clean_span(text, 0, len(text))) == ["Cardio Workout", "Max Burn"]
    text = "DAB's Horace Cheung"
    assert surfaces(text, name_rules.clean_span(text, 0, len(text))) == ["DAB", "Horace Cheung"]
    assert surfaces("Dr. Okafor's team", name_rules.clean_span("Dr. Okafor's team", 0, 17)) == ["Dr. Okafor's team"]


def test_a_span_never_crosses_a_dash_with_a_space_on_one_side_and_a_guess_never_crosses_a_comma():
    text = "Seoul- Incheon , South Korea"
    assert surfaces(text, name_rules.clean_span(text, 0, 14)) == ["Seoul", "Incheon"]
    text = "past of S. F., Cal., declare"
    assert surfaces(text, name_rules.clean_span(text, 8, 18, at_commas=True)) == ["S. F.", "Cal"]
    assert surfaces("Smith, J.", name_rules.clean_span("Smith, J.", 0, 9)) == ["Smith, J."]  # a bibliography entry


def test_a_word_after_speakers_of_or_citizens_of_is_a_language_or_place_and_a_noun_after_a_pair_names_both():
    text = "where the speakers of Kujireray live"
    assert name_rules.reads_as_a_place(text, text.index("Kujireray"), text.index(" live"))
    text = "the speakers Kofi Boateng and Ana Ruiz agreed"  # "of" is required: speakers at a panel are people
    assert not name_rules.reads_as_a_place(text, text.index("Kofi"), text.index(" and"))
    text = "Barracuda and Kayangan lakes are both stunning"
    assert name_rules.is_not_a_person(text, 0, len("Barracuda"))
    assert not name_rules.is_not_a_person("Kofi and Ana Ruiz came", 0, 4)


@pytest.mark.parametrize(
    "text, guess",
    [
        ("we watched the 1998 film Velvet Harbour, twice", "Velvet Harbour"),
        ("a bar named Ti Punch Kreyol, near the ferry", "Ti Punch Kreyol"),
        ("in his last book Aquatica which he never finished", "Aquatica"),
        ("the app Moodlr. It crashed", "Moodlr"),
        ("we queued for Golestan Palace at nine", "Golestan"),  # before a building or product noun
        ("the Masjed Shah Mosque", "Masjed Shah"),
        ("she upgraded to Zorin OS last week", "Zorin"),
        ("the Paddington prequel was announced", "Paddington"),
    ],
)
def test_a_guess_beside_a_work_building_or_product_noun_names_a_thing(text, guess):
    start = text.index(guess)
    assert name_rules.names_a_thing(text, start, start + len(guess))


@pytest.mark.parametrize(
    "text, guess",
    [
        ("the book Tomasz Nowak wrote is out", "Tomasz Nowak"),  # a relative clause: the writer is a person
        ("the film Ilse directed, and the one she produced", "Ilse"),
        ("the bar Ilse runs", "Ilse"),
        ("a Kurosawa film", "Kurosawa"),  # a creator before a work noun
        ("Ingrid Park spoke first", "Ingrid"),  # a census surname after a first name
    ],
)
def test_a_person_beside_a_work_noun_is_still_a_person(text, guess):
    start = text.index(guess)
    assert not name_rules.names_a_thing(text, start, start + len(guess))


def test_a_group_noun_after_a_pair_of_two_word_names_names_both_and_so_does_speakers_of_a_pair():
    text = "the Mandinka Kelo and Mandinka Sora speakers live there"
    assert name_rules.is_not_a_person(text, text.index("Kelo"), text.index(" and"))
    text = "where the speakers of Tavoliri and Onkeba Ruhesi live"
    assert name_rules.reads_as_a_place(text, text.index("Onkeba"), text.index(" live"))
    text = "Kofi and Ana Ruiz came to the speakers' table"
    assert not name_rules.is_not_a_person(text, 0, 4)


def test_every_item_of_a_list_after_a_place_noun_is_a_place():
    text = "we could see the islands Grande Terre, Marie Galante and Les Saintes"
    assert name_rules.reads_as_a_place(text, text.index("Marie"), text.index(" and"))
    text = "the village council, Ana Ruiz and Kofi Boateng met"  # a lower-case noun is no list of places
    assert not name_rules.reads_as_a_place(text, text.index("Kofi"), text.index(" met"))
