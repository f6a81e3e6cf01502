"""Rules that find and bound people's names where the statistical model is weak.

Pure functions on text and ``(start, end)`` character spans, used by the
``ner`` detector around the spaCy model:

- :func:`citation_names` finds authors in author–year citations ("as Sapir
  (1971) argues", "(Lewis, Simons, & Fennig, 2014)", "Carrano & Biewener
  [7]", "Lewis et al."), and "Surname, G." bibliography entries;
- :func:`coordinated_names` extends a found name to its partner in "X and Y"
  ("Carrano and Biewener": both);
- :func:`is_not_a_person` vetoes model guesses that read as a place, a
  building, a work or a people/language ("Socotra Island", "the Jóola
  speakers");
- :func:`clean_span` trims punctuation and never lets a span cross "=" or "+".

Only capitalised words are ever taken: lower-case names are left to the
note-taker (see docs/anonymization.md).
"""

from __future__ import annotations

import re

# One surname: a capitalised word, possibly with a particle or an apostrophe ("de Certeau", "O'Brien", "L'Enfant").
_PARTICLE = r"(?:(?:[Dd]e|[Dd]el|[Dd]ella|[Dd]i|[Dd]a|[Dd]u|[Vv]an|[Vv]on|[Dd]er|[Dd]en|[Ll]e|[Ll]a|[Bb]in|[Ii]bn|[Aa]l)[ -])?"
_WORD = r"[^\W\d_](?:[\w'’-]*\w)?"
_SURNAME = rf"{_PARTICLE}{_WORD}"
_YEAR = r"(?:1[5-9]\d\d|20\d\d)[a-z]?|n\.\s?d\.|in press|forthcoming"
_AUTHOR_SEP = r"(?:,\s*|\s+)(?:&|and)\s+|,\s*"
_AUTHORS = rf"{_SURNAME}(?:(?:{_AUTHOR_SEP}){_SURNAME}){{0,5}}(?:\s+et\s+al\.?)?"

# "(Lewis, Simons, & Fennig, 2014; Bassène 2007)": each part of a bracket that ends in a year.
_BRACKET = re.compile(rf"\(([^()]*?(?:{_YEAR})[^()]*)\)")
_CITATION_PART = re.compile(rf"^(?:(?:see(?: also)?|e\.\s?g\.|cf\.|i\.\s?e\.|for example|for instance|as in|after|in|by)[,:]?\s+)*"
                            rf"({_AUTHORS})['’]?s?,?\s*(?:{_YEAR})(?:[,;:]?\s*(?:pp?\.\s*)?[\d–-]+)?\s*$", re.I)
# "Sapir's (1971)", "Marsha Kinder (1991)", "Carrano & Biewener [7]", "Lewis et al. (2014)".
_NARRATIVE = re.compile(rf"((?:{_SURNAME}\s+)?{_AUTHORS})['’]?s?\s*(?:\((?:{_YEAR})[^()]{{0,20}}\)|\[\d+(?:[,–-]\s*\d+)*\])")
_CITATION_CUE_BEFORE = re.compile(r"\b(?:by|following|see|cf\.|per|according to|after|with)\s+$", re.I)
_CITATION_VERB_AFTER = re.compile(
    r"[\s,]*(?:also\s+)?(?:argues|argued|shows|showed|shown|finds|found|notes|noted|suggests|suggested|describes|"
    r"described|claims|claimed|reports|reported|writes|wrote|proposes|proposed|observes|observed|defines|defined|"
    r"states|stated|demonstrates|demonstrated|points|pointed|contends|concludes|concluded|calls|called|uses|used|"
    r"identifies|identified|explains|explained|emphasi[sz]es|emphasi[sz]ed|notes|discusses|discussed)\b"
)
_ET_AL = re.compile(rf"({_SURNAME})\s+et\s+al\b")
# "Derczynski, L., Nichols, E. and van Erp, M. (2017)": surname and initials.
_BIBLIOGRAPHY = re.compile(rf"({_SURNAME}),\s+((?:[A-Z]\.\s?-?){{1,3}})(?=[\s,;(]|$)")
# A line that starts "Surname, Given." or "Surname, Given Middle," in a reference list with a year.
_REFERENCE_LINE = re.compile(rf"^\s*(?:[-*•]\s+|\d+\.\s+)?({_SURNAME}),\s+({_WORD}(?:\s+{_WORD})?)(?=[.,]|\s\()", re.M)

# Words that are never a cited author although they stand before a year.
_NOT_AUTHORS = frozenset(
    """
    a an and the of in on at by for from to with as see also eg cf ie et al table tables figure figures fig section
    chapter appendix act acts bill law code decree order regulation directive treaty convention report survey census
    plan policy program programme strategy project study index version edition vol volume no number page pp
    january february march april may june july august september october november december spring summer autumn
    fall winter since until before after between during circa about around early late mid
    agreement accord declaration summit conference olympics games election war crisis revolution
    """.split()
)

# Words after a capitalised phrase that make it a people, a language or a place rather than a person.
_GROUP_NOUNS = frozenset(
    "language languages speakers speaker people peoples dialect dialects community communities nation nations "
    "tribe tribes village villages area areas region regions territory territories country countries land lands "
    "culture descent ancestry districts islands lakes rivers mountains valleys neighbourhoods neighborhoods".split()
)
# Words inside a phrase that make it a place, a building, an organisation or a work.
_PLACE_WORDS = frozenset(
    """
    port fort island islands isle river lake mountain mount mt bay beach coast valley desert peninsula county province
    district state city town village square street st road avenue ave boulevard lane bridge park hotel hostel
    airport airlines airline airways station castle palace mosque church cathedral temple synagogue museum gallery
    library university college school hospital clinic institute centre center hall tower market bazaar gate
    garden gardens stadium theatre theater club company corporation inc ltd llc group bank foundation society
    association agency department ministry council committee court parliament army navy police party union
    act law bill programme program scheme fund
    shuttle spacecraft telescope satellite rover magazine journal newspaper podcast festival expo awards
    lodge reserve cemetery marae mall arena air workout grammar gospel
    """.split()
    # the same words in other languages, census names left out ("Sierra", "Monte", "Loma" are people's names too)
    + """
    terre anse morne pointe baie île ile rivière riviere mont montagne plage lac étang etang quartier faubourg col côte
    vallée bois forêt río rio playa lago cerro puerto bahía bahia isla ciudad laguna cordillera calle praia ilha serra
    ponte isola castello palazzo strasse straße platz kirche meydan maidan midan masjed masjid bazar souk wadi jebel
    jabal qasr dasht jalan kampung kampong utara selatan barat timur pulau gunung danau sungai kota maunga whare
    """.split()
)
# A capitalised word before a guess that makes it the name of a vessel, an operation or a storm ("Shuttle Columbia").
_NAMED_THING_BEFORE = re.compile(r"\b(?:Shuttle|Operation|HMS|USS|RMS|Spacecraft|Rover|Probe|Mission|Hurricane|Storm|"
                                 r"Typhoon|Cyclone|Ship|Vessel|Project|Magazine)\s+$")


TITLE = re.compile(r"(?:Mr|Mrs|Ms|Mx|Dr|Prof|Professor|Rev|Judge|Justice|Mayor|Councillor|Councilor|Councilmember|"
                   r"Senator|Rep|Commissioner|Sir|Dame)\.?\s+(?=[A-Z])")


def _is_capitalised(word: str) -> bool:
    word = word.lstrip("'’")
    for prefix in ("de ", "del ", "della ", "di ", "da ", "du ", "van ", "von ", "der ", "den ", "le ", "la ",
                   "bin ", "ibn ", "al ", "de-", "al-"):
        if word.lower().startswith(prefix):
            word = word[len(prefix):]
            break
    return word[:1].isupper()


def _author_spans(text: str, start: int, authors: str) -> list[tuple[int, int]]:
    """The surnames in a matched author list, as spans of ``text`` (``authors`` begins at ``start``)."""
    spans = []
    for match in re.finditer(_SURNAME, authors):
        word = match.group()
        if word.lower() in _NOT_AUTHORS or word.lower() in ("et", "al", "and") or not _is_capitalised(word):
            continue
        if word.isupper() and len(word) > 1:
            continue  # an acronym ("WHO 2019"), not an author
        word_end = start + match.end() - len(re.search(r"(['’]s?)?$", word).group())
        spans.append((start + match.start(), word_end))
    return spans


def citation_names(text: str) -> list[tuple[int, int]]:
    """Authors' surnames in author–year and numbered citations, and bibliography entries."""
    spans: list[tuple[int, int]] = []
    for bracket in _BRACKET.finditer(text):
        offset = bracket.start(1)
        for part in re.finditer(r"[^;]+", bracket.group(1)):
            match = _CITATION_PART.match(part.group().strip())
            if match:
                lead = len(part.group()) - len(part.group().lstrip())
                spans += _author_spans(text, offset + part.start() + lead + match.start(1), match.group(1))
    for match in _NARRATIVE.finditer(text):
        authors = match.group(1)
        start = match.start(1)
        # the pattern may take a word before the names ("of Sapir's (1971)"): drop leading ordinary words
        while True:
            first = re.match(rf"({_SURNAME})\s+", authors)
            if not first or (_is_capitalised(first.group(1)) and first.group(1).lower() not in _NOT_AUTHORS) \
                    or re.fullmatch(_PARTICLE, first.group()):
                break
            start += first.end()
            authors = authors[first.end():]
        words = [w for w in re.findall(_SURNAME, authors) if w.lower() not in ("et", "al", "and")]
        if not words or any(w.lower().strip("'’s") in _NOT_AUTHORS or w.lower() in _PLACE_WORDS for w in words):
            continue  # "the Housing Act (1996)", "Figure 3 [7]"
        # "Match Point (2005)" is a film: a name before a year or "[7]" needs a sign that it is an author
        paired = len(words) >= 2 and re.search(r"&|\band\b|,", authors)
        possessive = bool(re.search(r"['’]s?\s*[(\[]", match.group()))
        cued = _CITATION_CUE_BEFORE.search(text, max(0, start - 20), start) or _CITATION_VERB_AFTER.match(text, match.end())
        if not (paired or possessive or "et al" in authors or (cued and len(words) <= 2)):
            continue
        if start > 0 and text[start - 1].isalnum():
            continue
        spans += _author_spans(text, start, authors)
    for match in _ET_AL.finditer(text):
        spans += _author_spans(text, match.start(1), match.group(1))
    for match in _BIBLIOGRAPHY.finditer(text):
        if match.group(2).replace(" ", "") in ("D.C.", "U.S.", "U.K.", "N.Y.", "L.A.", "B.C."):
            continue  # "Washington, D.C."
        if _is_capitalised(match.group(1)) and match.group(1).lower() not in _NOT_AUTHORS:
            spans.append((match.start(1), match.start(2) + len(match.group(2).rstrip())))
    for match in _REFERENCE_LINE.finditer(text):
        line_end = text.find("\n", match.start())
        line = text[match.start(): None if line_end < 0 else line_end]
        if re.search(_YEAR, line) and all(_is_capitalised(w) for w in (match.group(1), match.group(2))) \
                and match.group(1).lower() not in _NOT_AUTHORS:
            spans.append((match.start(1), match.end(2)))
    return sorted(set(spans))


_PAIR = re.compile(rf"(?<![\w'’])({_WORD})\s*(?:&|and)\s+({_WORD})(?![\w'’])")


def unknown_pairs(text: str, known_words: frozenset[str]) -> list[tuple[int, int]]:
    """ "Carrano & Biewener", "Carrano and Biewener": two capitalised words the model never saw, joined."""
    found = []
    for match in _PAIR.finditer(text):
        words = [match.group(1), match.group(2)]
        if all(w.lower().removesuffix("'s").removesuffix("’s") not in known_words for w in words) \
                and _partner_ok(words, known_words):
            for k in (1, 2):
                end = match.end(k) - len(re.search(r"(['’]s?)?$", match.group(k)).group())
                found.append((match.start(k), end))
    return found


def repeated_names(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Every other capitalised occurrence of a one-word name already found in the same text ("Beresford")."""
    words = {text[a:b] for a, b in spans if " " not in text[a:b] and len(text[a:b]) > 2 and _is_capitalised(text[a:b])}
    if not words:
        return []
    pattern = re.compile(r"(?<![\w'’-])(" + "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
                         + r")(?![\w-])")
    taken = set(spans)
    return [m.span(1) for m in pattern.finditer(text) if m.span(1) not in taken]


def named_again(text: str, names: list[tuple[int, int]], english: frozenset[str]) -> list[tuple[int, int]]:
    """Where one part of a full name found in the text is used alone ("Ines Varga ... the council thanked
    Varga"): the last word, and the first unless it is an English word; a part that is an English word ("Law",
    "Hurt") only where it does not open a sentence."""
    parts = set()
    for a, b in names:
        words = list(re.finditer(_WORD, text[a:b]))
        if len(words) < 2:
            continue
        last, first = words[-1].group(), words[0].group()
        for word in (last,) if first.lower() in english else (first, last):
            if len(word) > 2 and _is_capitalised(word) and not word.isupper():
                parts.add(word)
    if not parts:
        return []
    pattern = re.compile(r"(?<![\w'’-])(" + "|".join(re.escape(w) for w in sorted(parts, key=len, reverse=True))
                         + r")(?![\w-])")
    return [m.span(1) for m in pattern.finditer(text)
            if not any(a < m.end(1) and m.start(1) < b for a, b in names)
            and not (m.group(1).lower() in english and sentence_start(text, m.start(1)))]


_COORDINATED_AFTER = re.compile(rf"^(\s*(?:,\s*)?(?:&|and)\s+)({_WORD}(?:\s+{_WORD})?)")
_COORDINATED_BEFORE = re.compile(rf"({_WORD}(?:\s+{_WORD})?)(\s*,?\s*(?:&|and)\s+)$")


def coordinated_names(text: str, spans: list[tuple[int, int]], known_words: frozenset[str] = frozenset()
                      ) -> list[tuple[int, int]]:
    """Partners of found names in "X and Y" / "X & Y": "Carrano and Biewener" gives both.

    Only a capitalised word (or two) that is not an ordinary word, a place or
    organisation word, and not the start of a sentence counts as a partner.
    """
    found = []
    taken = set(spans)
    for start, end in spans:
        after = _COORDINATED_AFTER.match(text[end:end + 60])
        if after:
            words = after.group(2).split()
            # "Smith and Jones Ltd": the partner runs into an organisation
            if _partner_ok(words, known_words):
                a = end + len(after.group(1))
                found.append((a, a + len(after.group(2))))
        before = _COORDINATED_BEFORE.search(text[max(0, start - 60):start])
        if before:
            words = before.group(1).split()
            if len(words) == 2 and (not _is_capitalised(words[0]) or words[0].lower() in _NOT_AUTHORS):
                words = words[1:]  # "in Halvorsen and Pyle", "In Halvorsen and Pyle"
            b = start - len(before.group(2)) - len(" ".join(words))
            # at a sentence start only a word the model never saw ("Carrano and Biewener studied")
            if _partner_ok(words, known_words) and (not sentence_start(text, b) or _unknown(words, known_words)):
                found.append((b, start - len(before.group(2))))
    return [s for s in found if s not in taken]


def _unknown(words, known_words) -> bool:
    return bool(known_words) and any(w.lower() not in known_words for w in words)


def _partner_ok(words: list[str], known_words: frozenset[str]) -> bool:
    if not words or not all(_is_capitalised(w) and w[1:] != w[1:].upper() or len(w) == 1 for w in words):
        return False
    lowered = [w.lower().strip("'’") for w in words]
    return not any(w in _NOT_AUTHORS or w in _PLACE_WORDS or w in _GROUP_NOUNS for w in lowered)


def sentence_start(text: str, start: int) -> bool:
    """Whether ``start`` opens a sentence, a line or a list item."""
    before = text[:start].rstrip(" \t\"'“‘([*-•>")
    return not before or before[-1] in ".!?:\n"


_PLACE_BEFORE = re.compile(r"\b(?:the|in|near|at)\s+$", re.I)
_PAIRED_AFTER = re.compile(rf"['’]?s?\s*(?:&|and)\s+({_WORD})")
_PAIRED_BEFORE = re.compile(rf"(?<![\w'’])({_WORD})\s*(?:&|and)\s+$")


def in_a_pair(text: str, start: int, end: int, known_words: frozenset[str] = frozenset()) -> bool:
    """Whether a span is joined by "and" or "&" to one capitalised word that may be a name ("Halvorsen and Pyle",
    "Okafor and Lindqvist's"): not an ordinary, place or organisation word (see :func:`coordinated_names`)."""
    after = _PAIRED_AFTER.match(text, end, end + 60)
    before = _PAIRED_BEFORE.search(text, max(0, start - 60), start)
    return any(match is not None and _partner_ok([match.group(1)], known_words) for match in (after, before))
# "the villages Brin and Djibonker", "the village of Banjal", "the town of Hadibo".
_PLACE_NOUN_BEFORE = re.compile(
    r"\b(?:villages?|towns?|city|cities|islands?|regions?|districts?|provinces?|rivers?|kingdoms?|capital|"
    r"municipalit(?:y|ies)|neighbou?rhoods?|suburbs?|states?|counties|county|[Qq]uarters?)\s+"
    r"(?:of\s+|called\s+|named\s+|known\s+as\s+(?:the\s+)?)?"
    r"((?:[^\W\d_][\w'’-]*(?:\s+[^\W\d_][\w'’-]*){0,2}(?:\s*,\s*|\s+(?:and|or|&)\s+))*)$")


# "the speakers of Kujireray", "the language of Essil", "citizens of Antigua": a language, a people or a place.
# "of" is required: "the speakers Maria Núñez and Tom Ode" are people.
_SPEAKERS_OF_BEFORE = re.compile(r"\b(?:speakers|languages?|dialects?|inhabitants|residents|citizens|natives)\s+of\s+"
                                 r"(?:[^\W\d_][\w'’-]*\s+(?:and|or|&)\s+)?$", re.I)


def reads_as_a_place(text: str, start: int, end: int, paired: bool = False) -> bool:
    """A model guess after "the", "in", "near" or "at" and not a possessive ("in Port Alder", "the Louvre"), unless
    ``paired`` (joined by "and" to another name: "in Halvorsen and Pyle" cites a case, see :func:`in_a_pair`); or
    after a place noun ("the villages Brin and Djibonker") or "speakers of", paired or not."""
    if re.match(r"['’]s?\b", text[end:end + 2]):
        return False
    listed = _PLACE_NOUN_BEFORE.search(text, max(0, start - 60), start)
    # "the islands Grande Terre, Marie Galante and …": every item of the list is capitalised
    if listed and not all(_is_capitalised(w) for w in re.findall(r"[^\W\d_][\w'’-]*", listed.group(1))
                          if w not in ("and", "or")):
        listed = None
    return bool(not paired and _PLACE_BEFORE.search(text, max(0, start - 8), start) or listed
                or _SPEAKERS_OF_BEFORE.search(text, max(0, start - 50), start))


# A lower-case work, product or venue noun right before a guess ("the 1969 film Easy Rider", "a nightclub named Bik
# Kreyol"): the guess is its title. Only when the guess then ends its clause (punctuation, "which", a preposition):
# "the book Maria wrote" is a relative clause, and Maria its writer.
_THING_NOUN_BEFORE = re.compile(
    r"\b(?:film|movie|documentary|book|novel|memoir|album|song|single|show|series|sitcom|drama|comedy|musical|opera|"
    r"play|poem|painting|magazine|newspaper|journal|podcast|blog|site|website|app|software|browser|game|brand|band|"
    r"nightclub|club|bar|restaurant|cafe|café|hotel|ship|boat|toys?|product)\s+(?:(?:called|named|titled|entitled)\s+)?"
    r"[\"“]?$")
_CLAUSE_ENDS_AFTER = re.compile(r"[\"”]?\s*(?:$|[,.;:!?()\[\]&]|(?:which|in|of|by|for|from|at|on)\b)")
# A building or product noun right after a guess ("Ali Qapu Palace", "Linux OS", "the Kingsman prequel"). No census
# surname is listed ("Park", "Church", "Temple" are people's names too), nor a work noun a creator's name comes
# before ("a Spielberg film").
_THING_NOUN_AFTER = re.compile(
    r"\s+(?:Palace|Mosque|Cathedral|Museum|Gallery|Tower|Bridge|Airport|Station|Hotel|Lodge|Reserve|Square|Market|"
    r"Bazaar|Mall|Stadium|Arena|Theatre|Theater|Library|University|Gardens|Cemetery|Marae|"
    r"OS|prequel|sequel|franchise|trilogy|spinoff|browser|app|apps|software|plugin|console)\b")


def names_a_thing(text: str, start: int, end: int) -> bool:
    """A guess named by a work, product or building noun beside it: "the film Easy Rider,", "Ali Qapu Palace"."""
    if _THING_NOUN_AFTER.match(text, end):
        return True
    return bool(_THING_NOUN_BEFORE.search(text, max(0, start - 40), start) and _CLAUSE_ENDS_AFTER.match(text, end))


def is_not_a_person(text: str, start: int, end: int) -> bool:
    """A model guess that reads as a place, building, organisation, work or people ("Socotra Island")."""
    words = [w.lower().strip("'’.") for w in text[start:end].split()]
    if any(w in _PLACE_WORDS for w in words):
        return True
    # "Barracuda and Kayangan lakes": the noun after a pair names both
    following = re.match(r"(?:\s+(?:and|or|&)\s+[^\W\d_][\w'’-]*)?(?:\s+[A-Z][\w'’-]*)?[\s-]*([A-Za-z]+)",
                         text[end:end + 60])
    if following and following.group(1).lower() in _GROUP_NOUNS:
        return True
    return bool(_NAMED_THING_BEFORE.search(text, max(0, start - 14), start))


# What no name crosses: "=", "+", "|", "/", a line break, a dash with a space on either side ("Seoul- Incheon"),
# a possessive before a capital; and for a guess, a comma ("S. F., Cal.").
_NO_NAME_CROSSES = re.compile(r"[=+|/\n]|\s[–—-]|[–—-]\s|['’]s\s+(?=[A-Z])")
_NO_GUESS_CROSSES = re.compile(_NO_NAME_CROSSES.pattern + r"|,\s")
_EDGE = "\"'“”‘’()[]{}<>.,;:!?*-–—=+/\\|"


def clean_span(text: str, start: int, end: int, at_commas: bool = False) -> list[tuple[int, int]]:
    """Trim punctuation from both ends; split at "=", "+", "|", "/", line breaks, a dash with a space beside it
    and a possessive before a capitalised word ("DAB's Horace Cheung"), which no name crosses; ``at_commas``
    (a model's guess, not a bibliography entry "Smith, J.") at a comma too."""
    pieces = []
    crosses = _NO_GUESS_CROSSES if at_commas else _NO_NAME_CROSSES
    cuts = [(m.start(), m.end()) for m in crosses.finditer(text, start, end)]
    for a, b in zip([start] + [cut_end for _, cut_end in cuts], [cut_start for cut_start, _ in cuts] + [end]):
        while a < b and (text[a].isspace() or text[a] in _EDGE):
            a += 1
        while b > a and (text[b - 1].isspace() or text[b - 1] in _EDGE and not _initial_dot(text, b)):
            b -= 1
        if a < b:
            pieces.append((a, b))
    return pieces


def _initial_dot(text: str, end: int) -> bool:
    """ "J." in "Smith, J." keeps its dot."""
    return text[end - 1] == "." and end >= 2 and text[end - 2].isupper() and (end < 3 or not text[end - 3].isalpha())
