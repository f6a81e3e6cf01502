"""Built-in detector: the names (and affiliations) of the people on a series' roster.

Every participant's display name, aliases, given name alone, surname alone
(multi-part "van der Berg", double and hyphenated surnames, each part), with
or without accents ("Nunez" for "Núñez", "Mueller" for "Müller"), in any case,
followed or not by a possessive. Names that are also ordinary words ("Hope",
"Will", "Mark") count only where they read as a name: capitalised in the middle
of a sentence, before "said" and other reporting verbs, as a possessive, as a
speaker prefix ("Hope: …") or after a title ("Dr. Will"). A name of several
parts is also found written as one word ("ThandiweDlamini"); spaced-out letters
and words cut at a line end are joined by the matching form the detector sees
(:mod:`roundtable.services.anonymize.normalize`).

All the forms of a roster are compiled into one regular expression (a trie,
so matching stays linear in the note) the first time the roster is seen.
"""

from __future__ import annotations

import functools
import re

from roundtable import Span, hookimpl
from roundtable.services.anonymize import AFFILIATION, NAME, Roster, RosterEntry, fold
from roundtable.services.anonymize.normalize import matching_text

# Words between given name and surname that belong to the surname.
PARTICLES = frozenset(
    "van von der den de del della dei degli di da das dos do du la le lo les ten ter te zu zum zur "
    "y e bin ibn bint al el ben ap st st. mac mc".split()
)
_TITLES = frozenset("mr mr. mrs mrs. ms ms. mx mx. dr dr. prof prof. professor sir dame jr jr. sr sr. ii iii iv phd".split())

# Ordinary English words that are also given names or surnames. A roster form
# in this list is matched only where it reads as a name (see module docstring).
COMMON_WORDS = frozenset(
    """
    a an as at be by do go he hi if in is it me my no of oh on or so to up us we ye
    ace add age ago aid aim air all and any are art ask bad bag ban bar bay bed bee best big bill bird bit
    black blessing bloom blue bob bond boss bow box boy brook brown buck bud bush but buy cal can cap
    car carol carpenter case chance chase cherry christian church clay cliff cloud coal cook cooper
    crane crystal cut dale dash dawn day dean dear destiny dew did die dig dot down drew dry due dusty
    dye ear earl east eve ever far fair faith fan fat fell few field fields fish fisher fit fix flint
    fly for ford forest fox frank free friend frost fry fun gain gale gay gem gene gift glass glen gold golden
    good grace grant gray green grey guy had hale hall ham harmony hart has hay heath her hill him his hit
    holly honey honor honour hope hot how hunt hunter ice ill iris iron its ivy jack jade jay jewel job joy
    just justice keen key kid king kit knight lake lamb lance land lane last law lay lee leg let lie lily
    little long lord love lucky mark marsh mason may march april june august july mercy memory mid miles
    mill miller min mint mix moon more moss much must nap near new next nice noble north not now nut oak
    odd old one our out own page pan park parker pat patience pay pearl pen penny pet pierce pin pit
    porter pot potter precious price prince promise queen rain ray red reed rice rich ridge ring river
    rivers rob rock rod rose rosy row royal ruby run rush sad sage said sam sandy saw say sea see set sharp
    she shepherd short shy sky small smith snow son song sterling still stone storm street strong sue
    summer sun sunny sunday swan sweet tan tea ten the tie tin too top toy trinity true turner two use
    van violet wade walker wall ward way weaver well wells west white who why will win winter wise wolf
    wood woods yes yet young autumn spring star hardy bishop major miles rusty frankie sonny daisy
    do le ma hu he an bo ko go ho mo ng ha al ed man wing bang ding gong hung sang sing
    ash bear birch blaze bliss brave cash chip coral dove echo ember fern flora glory haven heather journey
    jasmine lark lotus luck maple meadow misty nova ocean olive onyx opal pepper phoenix poppy raven robin
    rocky rowan saffron scarlet shadow skye sparrow stormy sugar tiger unity valor wren zen angel hazel
    candy ginger bud duke count baron marshal happy cross jolly moody pine power pride salmon
    sands speed temple thorn trout vale vine worth bay cole crane drake finch hawk heron jay nightingale
    peacock starling swallow steel stern banks bridge brooks burns chambers church cotton dean
    fields fuller gates hale hardy hope house lamb lane law love march
    mayor moss page pike pool pope rich rider rivers roach rook sage savage
    slate stark street strange stretch summers thrower towers tower wall walls
    weeks wells wild winters wood woods worthy
    """.split()
)
_MONTHS = frozenset("january february march april may june july august september october november december".split())

_SPEECH_VERBS = (
    "said|says|say|asked|asks|noted|notes|mentioned|mentions|argued|argues|added|adds|explained|explains|"
    "thinks|thought|suggested|suggests|replied|replies|pointed|agreed|agrees|disagreed|disagrees|shared|"
    "raised|raises|responded|responds|described|describes|stressed|emphasi[sz]ed|recalled|told|tells|"
    "wants|wanted|felt|feels|believes|believed|proposed|proposes|questioned|countered|observed|commented|"
    "warned|insisted|reported|presented|offered|clarified|asserted|acknowledged|admitted|confirmed|"
    "highlighted|flagged|wondered|joked|laughed|interjected|objected|urged|concluded|summari[sz]ed|"
    "from|chimed|pushed|walked|jumped"
)
_ACTION_VERBS = (
    "prefers|wants|needs|thinks|knows|feels|believes|hopes|plans|writes|sends|shares|posts|tweets|works|runs|"
    "leads|owns|lives|teaches|manages|coordinates|directs|chairs|hosts|volunteers|supports|opposes|"
    "recommends|offers|claims|reports|wonders|worries|got|gave|sent|spoke|brought|left|took|went|came|wrote|"
    "met|ran|knew|saw|showed|made|did|will|would|can|could|should|might|must|cannot|can't|won't|isn't|wasn't|"
    r"doesn't|didn't|[a-z]+ed"
)
_AFTER_CUE = re.compile(
    rf"(?:['’]s\b|\s*:|\s+[-–—]\s"
    rf"|,?\s+(?:also\s+|then\s+|later\s+|just\s+|really\s+|strongly\s+|again\s+|still\s+)?(?:{_SPEECH_VERBS})\b"
    rf"|,?\s+(?:and|&|\+|or|with|w/)\s+[A-Z][\w'’-]+|,\s*[A-Z][\w'’-]+(?:,|\s+(?:and|&)\s)"
    r"|(?:\s+[\w'’.]+){0,3}?\s*[:\-–]?\s+(?:\+?\(?\d[\d ().-]{6,}\d|[\w.+-]+@[\w-]+\.|@\w|https?://|www\.|[\w-]+\.(?:com|org|net)/))",
)
_ANY_CASE_CUE = re.compile(
    rf"(?:['’]s\b|,?\s+(?:also\s+|then\s+|later\s+|just\s+|really\s+|strongly\s+|again\s+|still\s+)?(?:{_SPEECH_VERBS})\b)",
    re.I,
)
# A present-tense verb the list does not know ("Will opens", "Mark pushes back"): a lower-case word in -s
# that is not one of the function words and plurals that follow a sentence-initial word.
_PRESENT_VERB = (
    r"(?!(?:is|was|has|does|this|its|us|as|his|hers|thus|yes|plus|less|unless|always|perhaps|sometimes|"
    r"towards|across|news|means|series|species|whereas|besides|nevertheless|afterwards)\b)[a-z]{2,}[^\Ws]s"
)
_INITIAL_AFTER_CUE = re.compile(rf"\s+(?:{_ACTION_VERBS})\b")
_INITIAL_AFTER_PRESENT_VERB = re.compile(rf"\s+{_PRESENT_VERB}\b")
_LOWER_AFTER_CUE = re.compile(r"(?:,?\s+(?:also\s+|then\s+)?(?:said|says|asked|asks|noted|mentioned|argued|added|explained|thinks|suggested|replied|told)\b)")
_TITLE_BEFORE = re.compile(r"(?:\b(?:mr|mrs|ms|mx|dr|prof|professor|councilmember|councillor|judge|rev|sister|brother|aunt|uncle|auntie)\.?\s+)$", re.I)
_MONTH_BEFORE = re.compile(r"\b(?:in|on|by|since|until|till|from|of|early|late|mid|next|last|this|every|through|before|after)\s+$", re.I)
_SEPARATOR = r"[\s_\-\u2010\u2011]+"


def _clean_tokens(name: str) -> list[str]:
    tokens = [t.strip(",") for t in name.split()]
    return [t for t in tokens if t and t.lower() not in _TITLES]


def _transliterated(text: str) -> str:
    """German/Nordic spellings without special letters: "Müller" -> "Mueller"."""
    for a, b in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("ß", "ss"), ("ø", "oe"), ("å", "aa"), ("æ", "ae"), ("œ", "oe"), ("þ", "th")):
        text = text.replace(a, b).replace(a.upper(), b.capitalize())
    return text


def name_forms(name: str) -> list[tuple[str, float]]:
    """The ways a person's name shows up in notes, with a confidence each."""
    tokens = _clean_tokens(name)
    if not tokens:
        return []
    forms = [(" ".join(tokens), 1.0)]
    if len(tokens) >= 2:
        particle_at = next((i for i in range(1, len(tokens) - 1) if tokens[i].lower() in PARTICLES), None)
        surname = tokens[particle_at:] if particle_at else tokens[-1:]
        core = [t for t in surname if t.lower() not in PARTICLES] or surname
        forms.append((" ".join(surname), 0.97))
        forms.append((" ".join(core), 0.95))
        forms.append((" ".join(tokens[:1] + core), 0.99))
        forms.append((" ".join(tokens[:1] + tokens[-1:]), 0.99))
        # Every run of two or more parts: "Núñez García", "José Núñez", "van der Berg".
        for length in range(2, len(tokens)):
            for i in range(0, len(tokens) - length + 1):
                forms.append((" ".join(tokens[i : i + length]), 0.99))
        for token in tokens:
            if token.lower() not in PARTICLES and len(token.strip(".")) >= 2 and not token.endswith("."):
                forms.append((token, 0.95))
    for token in tokens:
        if "-" in token:
            forms.extend((part, 0.9) for part in token.split("-") if len(part) >= 3)
    return forms


def _key(text: str) -> str:
    """Lookup key for a folded form or match: one space between parts, no apostrophes."""
    return " ".join(re.split(_SEPARATOR, text.replace("'", ""))).strip()


def _trie_pattern(words: list[str]) -> str:
    """A regex matching any of ``words`` (folded), longest first, spaces/hyphens interchangeable."""
    trie: dict = {}
    for word in words:
        node = trie
        for char in word:
            node = node.setdefault(char, {})
        node[""] = True

    def build(node: dict) -> str:
        ends = "" in node
        branches = []
        for char in sorted(k for k in node if k):
            if char == " ":
                atom = _SEPARATOR
            elif char == "'":
                atom = "'?"
            else:
                atom = re.escape(char)
            branches.append(atom + build(node[char]))
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        if ends:
            return "(?:" + body + ")?"
        return body

    return build(trie)


class _Form:
    __slots__ = ("ids", "kind", "confidence", "ambiguous", "case_sensitive", "month")

    def __init__(self, kind: str, confidence: float, ambiguous: bool, case_sensitive: str | None, month: bool):
        self.ids: set[int] = set()
        self.kind = kind
        self.confidence = confidence
        self.ambiguous = ambiguous
        self.case_sensitive = case_sensitive
        self.month = month


class RosterMatcher:
    """All of one roster's name and affiliation forms, compiled once."""

    def __init__(self, roster: Roster):
        self.forms: dict[str, _Form] = {}
        self._words: set[str] = set()
        for entry in roster.entries:
            self._add_person(entry)
            if roster.anonymize_affiliations and entry.affiliation:
                self._add_affiliation(entry)
        words = sorted(self._words, key=len, reverse=True)
        # An underscore joins words in file names, handles and links ("thandiwe_dlamini.pdf"): a boundary here.
        self.pattern = re.compile(r"(?<![^\W_])(?<!@)(?:" + _trie_pattern(words) + r")(?![^\W_])") if words else None

    def _add(self, surface: str, kind: str, confidence: float, participant_id: int, case_sensitive: bool = False,
             ambiguous: bool = False):
        """``ambiguous``: also an ordinary word ("Will Power" joined is "willpower"), matched where it reads as a name."""
        for variant in {surface, _transliterated(surface)}:
            folded = " ".join(re.split(_SEPARATOR, fold(matching_text(variant).text))).strip()
            key = _key(folded)
            if len(key.replace(" ", "")) < 2:
                continue
            self._words.add(folded)
            form = self.forms.get(key)
            if form is None:
                single = " " not in key
                form = self.forms[key] = _Form(
                    kind, confidence, ambiguous or (single and key in COMMON_WORDS), variant if case_sensitive else None, single and key in _MONTHS
                )
            elif kind == NAME and form.kind != NAME:
                form.kind = NAME
            form.confidence = max(form.confidence, confidence)
            form.ids.add(participant_id)

    def _add_person(self, entry: RosterEntry) -> None:
        forms = list(name_forms(entry.name))
        for alias in entry.aliases:
            forms += [(alias, 1.0)] + [f for f in name_forms(alias)[1:] if f[1] >= 0.97]
        for surface, confidence in forms:
            self._add(surface, NAME, confidence, entry.id)
            # Written as one word ("ThandiweDlamini", "thandiwedlamini"), as in handles and file names.
            parts = [p for part in surface.split() for p in part.split("-") if p]
            if len(parts) >= 2 and not all(p.lower() in PARTICLES for p in parts):
                ordinary = all(fold(p) in COMMON_WORDS or p.lower() in PARTICLES for p in parts)
                self._add("".join(parts), NAME, confidence, entry.id, ambiguous=ordinary)

    def _add_affiliation(self, entry: RosterEntry) -> None:
        affiliation = entry.affiliation
        for acronym in re.findall(r"\(([^()]{2,12})\)", affiliation):
            self._add(acronym.strip(), AFFILIATION, 0.9, entry.id, case_sensitive=acronym.strip().isupper())
        full = re.sub(r"\s*\([^()]*\)", "", affiliation).strip()
        if full:
            self._add(full, AFFILIATION, 0.95, entry.id)
        words = full.split()
        if len(words) >= 2 and words[0].lower() == "the":
            self._add(" ".join(words[1:]), AFFILIATION, 0.95, entry.id)

    def find(self, text: str, case_blind: bool = False) -> list[Span]:
        if self.pattern is None:
            return []
        folded = fold(text)
        spans = []
        for match in self.pattern.finditer(folded):
            start, end = match.span()
            form = self.forms.get(_key(match.group()))
            if form is None:
                continue
            surface = text[start:end]
            if form.case_sensitive is not None and surface != form.case_sensitive:
                continue
            if form.kind == NAME and form.ambiguous and not _reads_as_name(text, start, end, form.month, case_blind):
                continue
            if form.kind == NAME:
                title = _TITLE_BEFORE.search(text, max(0, start - 16), start)
                if title:
                    start = title.start()
            participant_id = next(iter(form.ids)) if len(form.ids) == 1 else None
            confidence = form.confidence if not form.ambiguous else min(form.confidence, 0.85)
            spans.append(Span(start, end, form.kind, confidence, "roster", participant_id))
        return spans


def _sentence_initial(text: str, start: int) -> bool:
    before = text[:start].rstrip(" \t\"'“‘([*-•>")
    return not before or before[-1] in ".!?:;\n"


def _reads_as_name(text: str, start: int, end: int, month: bool, case_blind: bool = False) -> bool:
    """Whether an ordinary word that is also someone's name is used as the name here.

    ``case_blind`` (the export gate) reads a lower-case or all-capitals word as
    the name wherever any reporting verb or a possessive follows it, since a
    published text may change case ("… as will stressed").
    """
    surface = text[start:end]
    if _TITLE_BEFORE.search(text, max(0, start - 16), start):
        return True
    if case_blind and (not surface[:1].isupper() or surface.isupper()):
        return bool(_ANY_CASE_CUE.match(text, end))
    if not surface[:1].isupper():
        return bool(_LOWER_AFTER_CUE.match(text, end))
    if surface.isupper() and len(surface) > 1:
        return False
    if _AFTER_CUE.match(text, end):
        return not (month and re.match(r"\s*\d", text[end:]))
    if _sentence_initial(text, start):
        # "Hope thanked…", "Joy prefers…": a verb right after shows a subject, not the word
        return bool(_INITIAL_AFTER_CUE.match(text, end)) or (
            not month and bool(_INITIAL_AFTER_PRESENT_VERB.match(text, end))
        )
    if month and (_MONTH_BEFORE.search(text, max(0, start - 12), start) or re.match(r"\s*\d", text[end : end + 3])):
        return False
    # Part of a capitalised phrase ("Good Will Hunting", "Hope Street"): a title, not a person.
    following = re.match(r"[ \t]+([A-Z]\w+)", text[end : end + 40])
    if following and fold(following.group(1)) in _PLACE_WORDS:
        return False
    preceding = re.search(r"([A-Z]\w*)[ \t]+$", text[max(0, start - 40) : start])
    if preceding and not _sentence_initial(text, start - len(preceding.group(0))) and fold(preceding.group(1)) in _PHRASE_STARTS:
        return False
    return True


# Capitalised words that turn a preceding name-word into a place or organisation.
_PLACE_WORDS = frozenset(
    "street st avenue ave road rd lane boulevard blvd square park place county city town village center centre "
    "church hospital school college university house hall bridge river lake valley hill heights district "
    "foundation fund project program programme act bill initiative plaza court way drive".split()
)
_PHRASE_STARTS = frozenset("new good great little saint st port fort mount mt lake cape north south east west".split())


@functools.lru_cache(maxsize=64)
def matcher_for(roster: Roster) -> RosterMatcher:
    """The compiled matcher for a roster (rosters are hashable; a changed roster compiles anew)."""
    return RosterMatcher(roster)


class RosterDetector:
    """Finds roster names and affiliations; see the module docstring.

    ``case_blind`` is the export gate's reading: see :func:`_reads_as_name`.
    """

    name = "roster"
    quick = True  # patterns only: runs in place on the live path (hookspecs.register_detectors)

    def __init__(self, case_blind: bool = False):
        self.case_blind = case_blind

    def detect(self, texts: list[str], roster: Roster) -> list[list[Span]]:
        if not roster.entries:
            return [[] for _ in texts]
        matcher = matcher_for(roster)
        return [matcher.find(text, self.case_blind) for text in texts]

    def status(self) -> str | None:
        return None


@hookimpl
def register_detectors(register):
    register(RosterDetector())
