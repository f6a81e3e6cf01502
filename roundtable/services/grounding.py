"""Grounding: may a machine-drafted sentence stand on its source notes?

A language model writes fluent prose and, sometimes, facts nobody said. The
check here is deliberately narrow and strict: every *checkable* token of a
drafted text (numbers, proper nouns, web addresses, quoted phrases) must also
appear in the text the model was given. Paraphrase passes; an invented figure,
place, organization, link or quotation does not. Both sides are normalized
first (Unicode NFKC, curly quotes and dashes folded, case folded, thousands
separators dropped) so that "1,200" matches "1200" and “safe” matches "safe".

One more rule catches a small model that copies the prompt's worked example
or drifts off topic, which the token checks alone would let through: at least
half of a text's content words (one of a lead-in's) must come from the notes,
compared on their first five letters so that inflections match.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from urllib.parse import urlsplit

URL_RE = re.compile(r"(?:https?://|www\.)[^\s<>\"'\]\[)(]+", re.I)
NUMBER_RE = re.compile(r"(?<![\w.])[$€£]?\d[\d,]*(?:\.\d+)?%?")
QUOTE_RE = re.compile(r"\"([^\"]{3,}?)\"")
WORD_RE = re.compile(r"[^\W\d_][\w'’-]*", re.U)
SENTENCE_START_RE = re.compile(r"(?:^|[.!?:;]\s+|\n\s*|[-*]\s+|\*\*\s*)$")
NUMBER_WORDS = {
    "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
    "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "twenty": 20, "thirty": 30,
    "forty": 40, "fifty": 50, "hundred": 100, "hundreds": 100, "thousand": 1000, "thousands": 1000,
    "million": 1_000_000, "millions": 1_000_000, "dozen": 12, "dozens": 12,
}
# Capitalized words that are not names even in the middle of a sentence.
NOT_NAMES = frozenset({"i", "i'm", "i've", "i'd", "i'll", "ok"})
MIN_SHARED_WORDS = 0.5
_FOLD = str.maketrans({"“": '"', "”": '"', "„": '"', "«": '"', "»": '"', "‘": "'", "’": "'",
                       "–": "-", "—": "-", "‐": "-", "\u00a0": " "})


def normalize(text: str) -> str:
    """NFKC, folded quotes and dashes, collapsed spaces; case is kept (see :func:`fold`)."""
    text = unicodedata.normalize("NFKC", text or "").translate(_FOLD)
    return re.sub(r"\s+", " ", text).strip()


def fold(text: str) -> str:
    return normalize(text).casefold()


def url_key(url: str) -> str:
    """A web address without scheme, ``www.``, trailing punctuation or slash, case-folded host."""
    url = url.rstrip(".,;:!?'\")")
    if not re.match(r"https?://", url, re.I):
        url = "http://" + url
    parts = urlsplit(url)
    host = parts.netloc.lower().removeprefix("www.")
    return (host + parts.path.rstrip("/") + (f"?{parts.query}" if parts.query else "")).casefold()


def number_key(token: str) -> str:
    return token.replace(",", "").lstrip("$€£").rstrip("%").rstrip(".")


@dataclass
class Sources:
    """What the model was given, indexed for the checks."""

    text: str
    folded: str = field(init=False)
    words: set[str] = field(init=False)
    numbers: set[str] = field(init=False)
    urls: set[str] = field(init=False)

    def __post_init__(self):
        norm = normalize(self.text)
        self.folded = norm.casefold()
        self.urls = {url_key(u) for u in URL_RE.findall(norm)}
        without_urls = URL_RE.sub(" ", norm)
        self.words = {w.casefold().strip("'-") for w in WORD_RE.findall(without_urls)}
        self.numbers = {number_key(n) for n in NUMBER_RE.findall(without_urls)}
        self.numbers |= {str(NUMBER_WORDS[w]) for w in self.words if w in NUMBER_WORDS}


@dataclass
class GroundingResult:
    problems: list[str]

    @property
    def grounded(self) -> bool:
        return not self.problems


def check_grounding(drafted: str, sources: Sources | str, title: bool = False) -> GroundingResult:
    """Every number, proper noun, URL and quoted phrase of ``drafted`` must be in ``sources``.

    ``title``: the text is a lead-in in title case, where a capital is no sign of
    a name (acronyms are still checked).
    """
    if isinstance(sources, str):
        sources = Sources(sources)
    text = normalize(drafted)
    problems: list[str] = []

    for url in URL_RE.findall(text):
        if url_key(url) not in sources.urls:
            problems.append(f"web address not in the notes: {url}")
    text = URL_RE.sub(" ", text)

    for quoted in QUOTE_RE.findall(text):
        if fold(quoted).strip(" .,;:") not in sources.folded:
            problems.append(f"quotation not in the notes: “{quoted}”")

    for token in NUMBER_RE.findall(text):
        if number_key(token) not in sources.numbers:
            problems.append(f"number not in the notes: {token}")
    for word in WORD_RE.findall(text):
        value = NUMBER_WORDS.get(word.casefold())
        if value and str(value) not in sources.numbers:
            problems.append(f"number not in the notes: {word}")

    for match in WORD_RE.finditer(text):
        word = match.group(0)
        if not _looks_like_name(word, text[: match.start()], title):
            continue
        if word.casefold().strip("'-") not in sources.words and word.casefold() not in NOT_NAMES:
            problems.append(f"name not in the notes: {word}")
    content = [w.casefold() for w in WORD_RE.findall(text) if len(w) >= 4 and w.casefold() not in _stop_words()]
    if content:
        stems = {w[:5] for w in sources.words}
        shared = sum(w[:5] in stems for w in content) / len(content)
        if (title and shared == 0) or (not title and shared < MIN_SHARED_WORDS):
            problems.append(f"off its notes: {shared:.0%} of its content words are in them")
    return GroundingResult(list(dict.fromkeys(problems)))


@lru_cache(maxsize=1)
def _stop_words() -> frozenset[str]:
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS  # lazy: the web server keeps scikit-learn out

    return frozenset(ENGLISH_STOP_WORDS)


def _looks_like_name(word: str, before: str, title: bool = False) -> bool:
    """A capitalized word not at the start of a sentence, or an acronym anywhere."""
    if len(word) >= 2 and word.isupper():
        return True
    if title or not word[:1].isupper():
        return False
    return not SENTENCE_START_RE.search(before)
