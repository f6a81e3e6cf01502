"""A name typed so that it looks the same to a reader is found like the plain name.

The attacker's (or a macOS keyboard's) ways of writing a roster name that a
reader reads unchanged: decomposed accents, invisible characters, fullwidth
and mathematical letters, letters from other scripts that look Latin, a
dotless ı, capitals, markup and HTML entities inside the word. Each family is
tested on the examples the issue names and, with Hypothesis, on every member
of the class (every invisible character, every confusable letter, every
combining mark), not only on the examples.
"""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import roster_anonymizer
from roundtable.services.anonymize import Roster, RosterEntry
from roundtable.services.anonymize.normalize import _confusables, matching_text
from roundtable.services.typed_text import is_invisible, stored_form

ROSTER = Roster((
    RosterEntry(1, "Thandiwe Dlamini", (), "", "organizer"),
    RosterEntry(2, "Zeynep Kaya", (), "", "scholar"),
    RosterEntry(3, "Jürgen Müller", (), "", "city planner"),
))
ANONYMIZER = roster_anonymizer(ROSTER)
NAMES = ("thandiwe", "dlamini", "zeynep", "kaya", "jurgen", "muller")

LOOKALIKES = {
    "decomposed accents": "Ju\u0308rgen Mu\u0308ller",
    "zero-width space": "Tha\u200bndiwe",
    "zero-width joiner": "Dlam\u200dini",
    "zero-width non-joiner": "Zey\u200cnep",
    "soft hyphen": "Tha\u00adndiwe",
    "word joiner": "Thandi\u2060we",
    "byte order mark": "Thandiwe\ufeff",
    "bidi override": "\u202eThandiwe\u202c",
    "fullwidth letters": "Ｔｈａｎｄｉｗｅ",
    "mathematical letters": "𝐓𝐡𝐚𝐧𝐝𝐢𝐰𝐞",
    "Cyrillic look-alikes": "Тhаndiwе",
    "Greek look-alikes": "Ζeynep Κaya",
    "all capitals": "THANDIWE DLAMINI",
    "dotless i": "Thandıwe",
    "combining mark on a plain letter": "Tha\u0301ndiwe",
    "strike-through mark": "Tha\u0336ndiwe",
    "emphasis inside the word": "**Tha**ndiwe",
    "underscore emphasis": "_Tha_ndiwe",
    "single star": "Tha*n*diwe",
    "strikethrough markup": "Tha~~ndiwe~~",
    "code span": "Tha`ndiwe`",
    "HTML tag": "Tha<b>ndiwe</b>",
    "HTML span with attribute": 'Tha<span class="x">ndiwe</span>',
    "link": "[Tha](https://example.org)ndiwe",
    "attribute span": "[Tha]{.x}ndiwe",
    "backslash": "Th\\andiwe",
    "backslash escape": "Th\\*andiwe",
    "decimal entity": "Th&#97;ndiwe",
    "hex entity": "Th&#x61;ndiwe",
    "named entity": "Z&eacute;ynep",
    "double-escaped entity": "Th&amp;#97;ndiwe",
    "entity without semicolon": "Th&#97ndiwe",
    "HTML comment": "Tha<!-- -->ndiwe",
    "reversed under an override written as an entity": "&#x202E;ayaK penyeZ&#x202C;",
    "override running to the end of the line": "&#8238;ewidnahT",
    "joined by underscores": "thandiwe_dlamini",
    "first name before an underscore": "zeynep_k",
}


def _survivors(text: str) -> list[str]:
    """The roster names a reader would still read in ``text`` (also right to left, as an override shows it)."""
    readable = matching_text(text).text.lower() + "\n" + matching_text(text[::-1]).text.lower()
    return [name for name in NAMES if name in readable]


@pytest.mark.parametrize("form", LOOKALIKES.values(), ids=LOOKALIKES.keys())
def test_a_lookalike_name_is_replaced_like_the_plain_name(form):
    result = ANONYMIZER.anonymize(f"At the meeting {form} said the county shares data.")

    assert _survivors(result.text) == []
    assert result.text.startswith("At the meeting ") and result.text.endswith(" said the county shares data.")


def test_the_replacement_covers_the_whole_lookalike_and_nothing_else():
    result = ANONYMIZER.anonymize("Then **Tha**ndiwe, Th&#97;ndiwe and Ｚｅｙｎｅｐ left.")

    assert result.text == "Then **an organizer, an organizer and a scholar left."


def test_stored_text_is_nfc_without_invisible_characters():
    typed = "Cafe\u0301 talk \u200bwith\u00ad a\u2060 group 👩\u200d💻\tend"

    assert stored_form(typed) == "Café talk with a group 👩\u200d💻\tend"
    assert ANONYMIZER.anonymize(typed).text == stored_form(typed)


def test_plain_text_is_its_own_matching_text():
    text = "The county (and the city) will share data; see page 4."

    assert matching_text(text).text == text


# --- the classes, not only the examples -----------------------------------------------------

INVISIBLE = [chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF and is_invisible(chr(c))]
COMBINING = [chr(c) for c in range(0x300, 0x370)] + [chr(c) for c in range(0x1AB0, 0x1AC0)] + [chr(c) for c in range(0x20D0, 0x20F0)]
LOOKS_LATIN: dict[str, list[str]] = {}
for _char, _latin in _confusables().items():
    LOOKS_LATIN.setdefault(_latin.lower(), []).append(_char)
MARKUP = ["**", "*", "~~", "`", "\\", "<b></b>", "<i>", "</em>", "<span>", "](#)", "[", "]", "{.x}", "<!--x-->"]


@st.composite
def disguised(draw, name: str = "Thandiwe") -> str:
    """``name`` with every letter possibly swapped for a look-alike and any mix of invisible
    characters, combining marks and markup between its letters."""
    out = []
    for i, letter in enumerate(name):
        choices = [c for c in LOOKS_LATIN.get(letter.lower(), []) if c.isupper() == letter.isupper()]
        if choices and draw(st.booleans()):
            letter = draw(st.sampled_from(choices))
        out.append(letter)
        if draw(st.booleans()):
            out.append(draw(st.sampled_from(COMBINING)))
        if 0 < i < len(name) - 1:
            out.append(draw(st.sampled_from(["", "", *INVISIBLE[:64], draw(st.sampled_from(INVISIBLE)), *MARKUP])))
    return "".join(out)


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(disguised())
def test_any_disguise_of_a_name_is_replaced(form):
    result = ANONYMIZER.anonymize(f"Yesterday {form} said it.")

    assert "thandiwe" not in matching_text(result.text).text.lower(), ascii(form)


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60))
def test_matching_text_maps_every_character_back_inside_the_original(text):
    matching = matching_text(text)

    for start in range(len(matching.text)):
        for end in range(start + 1, min(len(matching.text), start + 4) + 1):
            first, last = matching.to_original(start, end)
            assert 0 <= first < last <= len(text)


def test_every_invisible_character_is_gone_from_stored_text():
    typed = "a".join(INVISIBLE[::97]) + "a"

    assert set(stored_form(typed)) <= {"a", "\u200c", "\u200d"} or stored_form(typed).strip("a") == ""
    assert all(unicodedata.category(c) not in ("Cf", "Cc") for c in stored_form("x".join(INVISIBLE)) if c not in "\t\n")
