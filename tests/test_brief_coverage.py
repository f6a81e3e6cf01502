"""Each bullet covers its group: every substantive note of a sub-theme reaches its bullet's text and sources."""

from __future__ import annotations

import re

from roundtable.services.briefs.context import NoteItem, ThemeItem
from roundtable.services.briefs.synthesis import synthesize_theme

# Nine notes of one sub-theme, each making a point of its own (no two share their content words).
TRANSIT_NOTES = [
    "bus routes to the industrial park were cut, so workers walk 40 minutes each way",
    "fare capping pilot saved riders about $30 a month on average",
    "night shift workers have no bus after 11pm and rideshare costs eat their wages",
    "bus lanes on four corridors cut travel time by 12%",
    "riders want shelters and lighting at stops before any new routes",
    "paratransit bookings need two days notice, which rules out medical appointments",
    "school trippers overload the morning buses near the high schools",
    "transit police presence at stations keeps undocumented riders away",
    "the regional rail transfer discount expires in June without new funding",
]


def transit_theme(texts: list[str]) -> ThemeItem:
    notes = [NoteItem(id=i, text=t, kind="point", speaker_role="transit planner", session_number=1 + i % 3,
                      prose=t) for i, t in enumerate(texts, 1)]
    child = ThemeItem(id=2, name="Service cuts and fares", description="", section="Key Themes", position=0,
                      notes=notes)
    return ThemeItem(id=1, name="Transit equity", description="", section="Key Themes", position=0,
                     children=[child])


def test_a_bullet_cites_every_note_of_its_group_and_names_each_in_its_text():
    bullet, = synthesize_theme(transit_theme(TRANSIT_NOTES), {}, phrases="lexical").bullets
    assert sorted(bullet.note_ids) == list(range(1, len(TRANSIT_NOTES) + 1))
    text = bullet.text.lower()
    for note in TRANSIT_NOTES:  # each cited note is carried by a claim or named by a phrase of its own
        words = re.findall(r"[a-z]{4,}", note)
        assert sum(w in text for w in words) >= 2, note


def test_a_small_group_stays_two_or_three_sentences():
    bullet, = synthesize_theme(transit_theme(TRANSIT_NOTES[:3]), {}, phrases="lexical").bullets
    assert sorted(bullet.note_ids) == [1, 2, 3]
    assert len(re.findall(r"[.!?](?:\s|$)", bullet.text)) <= 3


def test_no_lead_in_repeats_its_heading_and_a_group_without_a_name_of_its_own_joins_the_nearest():
    texts = ["the model data ordinance limits collection of birthplace fields",
             "the model data ordinance bans sharing with federal agents",
             "the model data ordinance was introduced in Harbor City"]
    notes = [NoteItem(id=i, text=t, kind="action", speaker_role="municipal leader", session_number=i, prose=t)
             for i, t in enumerate(texts, 1)]
    theme = ThemeItem(id=1, name="Strengthen Local Data Laws", description="", section="Strategic Directions",
                      position=0, notes=notes)
    bullets = synthesize_theme(theme, {}, prefer_actions=True, phrases="spacy").bullets  # spaCy: installed here and on CI
    for bullet in bullets:
        lead = bullet.lead_in.lower()
        assert lead not in theme.name.lower() and theme.name.lower() not in lead, bullet.lead_in
    assert sorted(i for b in bullets for i in b.note_ids) == [1, 2, 3]
