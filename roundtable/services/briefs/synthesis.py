"""Synthesis: from a theme's notes to bullets, quotes, disagreements and open questions.

Deterministic and offline: notes are grouped by similarity, each group
becomes one bullet with a lead-in naming its idea, attributed to roles only.
"""

from __future__ import annotations

import difflib
import functools
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from roundtable.services.briefs.markdown import URL_RE, escape_md, md_link, note_markdown, url_key, url_label
from roundtable.services.briefs.prose import (
    _DISCOURSE_RE,
    _VERBS,
    article,
    attribution,
    capitalize_first,
    join_words,
    normalize_role,
    reported,
    stop_words,
    title_case,
    trim_sentence,
)

if TYPE_CHECKING:
    from roundtable.services.briefs.context import BriefContext, NoteItem, ThemeItem

CONTRAST_RE = re.compile(
    r"\b(disagree\w*|pushed back|push back|skeptic\w*|however|on the other hand|not convinced|"
    r"cautioned|countered|opposed|objected|warned against|questioned whether|in contrast|"
    r"by contrast|unconvinced|doubt\w*)\b",
    re.I,
)


@dataclass
class Bullet:
    """A generated bullet: a bolded lead-in, a synthesized paragraph, its source notes."""

    id: str
    lead_in: str
    text: str
    note_ids: list[int]
    sessions: list[int] = field(default_factory=list)


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


class TextSpace:
    """TF-IDF vectors of a set of notes, fitted once and shared by every step of a theme."""

    def __init__(self, notes: list[NoteItem]):
        self.notes = notes
        self.index = {n.id: i for i, n in enumerate(notes)}
        self.matrix = None
        self._ngrams = None
        self._vocab = None
        if notes:
            _, self.matrix = _vectorize([n.text for n in notes])

    def rows(self, notes: list[NoteItem]):
        if self.matrix is None:
            return None
        return self.matrix[[self.index[n.id] for n in notes]]

    def ngram_space(self):
        if self._ngrams is None:
            from sklearn.feature_extraction.text import TfidfVectorizer

            vec = TfidfVectorizer(analyzer=phrases, sublinear_tf=True)
            try:
                self._ngrams = vec, vec.fit_transform([n.text for n in self.notes])
            except ValueError:
                self._ngrams = None, None
        return self._ngrams

    def lead_in(self, group: list[NoteItem], others: list[NoteItem] | None = None, avoid=()) -> str:
        """A 1-3 word lead-in drawn from the group's own words (distinctive phrases)."""
        vec, matrix = self.ngram_space()
        if vec is None:
            return "Further Points"
        if self._vocab is None:
            self._vocab = vec.get_feature_names_out()
        vocab = self._vocab
        in_group = {n.id for n in group}
        rest_ids = [self.index[n.id] for n in (others if others is not None else self.notes) if n.id not in in_group]
        sub = matrix[[self.index[n.id] for n in group]]
        score = np.asarray(sub.mean(axis=0)).ravel()
        if rest_ids:
            score = score - 0.5 * np.asarray(matrix[rest_ids].mean(axis=0)).ravel()
        doc_freq = np.asarray((sub > 0).sum(axis=0)).ravel()
        lengths = np.fromiter((t.count(" ") + 1 for t in vocab), dtype=float, count=len(vocab))
        need = min(2, len(group))
        score = np.where(doc_freq >= need, score * (1 + 0.3 * (lengths - 1)), score * 0.3)
        taken = {a.lower() for a in avoid}
        order = [i for i in np.argsort(-score)[:60] if score[i] > 0 and vocab[i] not in taken]
        if not order:
            return "Further Points"
        # 1. a phrase several notes of the group share; 2. the best phrase of its most central note.
        for i in order:
            if " " in vocab[i] and doc_freq[i] >= need:
                return title_case(vocab[i])
        rows = self.rows(group)
        if rows is not None and len(group) > 1:
            central_row = self.index[group[central_order(rows)[0]].id]
        else:
            central_row = self.index[group[0].id]
        in_central = set(matrix[central_row].indices)
        for i in order:
            if " " in vocab[i] and i in in_central:
                return title_case(vocab[i])
        return title_case(vocab[order[0]])


_WORD_RE = re.compile(r"[a-z][a-z'-]*[a-z]|[a-z]")


_WEAK_EXTRA = {"should", "could", "would", "can", "need", "needs", "make", "said", "says",
                              "think", "like", "just", "really", "also", "ppl", "people", "thing", "things",
                              "scholar", "scholars", "advocate", "advocates", "leader", "leaders", "organizer",
                              "organizers", "participant", "participants", "convinced", "agreed", "disagreed",
                              "noted", "argued", "raised", "point", "getting", "worse", "better"}


_LINKING = {"of", "and", "for", "to", "in", "on", "with", "without"}


# Words that turn a phrase into a clause ("cities should pool"): never inside a lead-in.
_CLAUSE = {"should", "could", "would", "can", "must", "will", "may", "might", "was", "were", "is", "are",
           "not", "did", "does", "do", "has", "have", "had", "be", "been", "can't", "won't", "don't",
           "isn't", "aren't", "doesn't", "didn't", "cannot"}


@functools.lru_cache(maxsize=1)
def weak_words() -> frozenset[str]:
    return stop_words() | _WEAK_EXTRA


def phrases(text: str) -> list[str]:
    """Candidate lead-in phrases: 1-3 word runs that neither start nor end with a weak word."""
    _WEAK = weak_words()
    words = _WORD_RE.findall(URL_RE.sub(" ", text).lower().replace("’", "'"))
    out = []
    for i, w in enumerate(words):
        if w in _WEAK or len(w) < 3:
            continue
        for n in range(1, 4):
            if i + n > len(words):
                break
            last = words[i + n - 1]
            if last in _CLAUSE or (n == 3 and words[i + 1] in _WEAK and words[i + 1] not in _LINKING):
                break
            if n > 1 and (last in _WEAK or len(last) < 3):
                continue
            out.append(" ".join(words[i : i + n]))
    return out


def _vectorize(texts: list[str], ngrams=(1, 1)):
    from sklearn.feature_extraction.text import TfidfVectorizer

    vec = TfidfVectorizer(stop_words="english", ngram_range=ngrams, sublinear_tf=True, min_df=1)
    try:
        matrix = vec.fit_transform(texts)
    except ValueError:  # only stop words
        return None, None
    return vec, matrix


def central_order(matrix, boosts: np.ndarray | None = None) -> list[int]:
    """Indices ranked by cosine similarity to the group's centroid (TF-IDF rows are unit length)."""
    centroid = np.asarray(matrix.mean(axis=0)).ravel()
    scores = np.asarray(matrix @ centroid).ravel()
    if boosts is not None:
        scores = scores + boosts
    return list(np.argsort(-scores, kind="stable"))


def pick_central(notes: list[NoteItem], matrix, prefer_actions=False, count=2, dup=0.55):
    """The ``count`` most central notes, each with the near-duplicates merged into it."""
    if len(notes) == 1 or matrix is None:
        return [(n, [n]) for n in notes[:count]]
    boosts = None
    if prefer_actions:
        boosts = np.array([0.25 if n.kind == "action" else 0.0 for n in notes])
    order = central_order(matrix, boosts)
    sims = (matrix @ matrix.T).toarray()
    candidates = [i for i in order if notes[i].kind != "question"] or order[:1]
    chosen: list[int] = []
    for i in candidates:
        if len(chosen) == count:
            break
        if not chosen or sims[i, chosen].max() < dup:
            chosen.append(i)
    # Every other note joins the chosen note it is a near-duplicate of (for provenance).
    to_chosen = sims[:, chosen]
    nearest = to_chosen.argmax(axis=1)
    merged = {c: [c] for c in chosen}
    for i in range(len(notes)):
        if i not in merged and to_chosen[i, nearest[i]] >= dup:
            merged[chosen[nearest[i]]].append(i)
    return [(notes[c], [notes[m] for m in merged[c]]) for c in chosen]


def synthesize_group(
    bullet_id: str,
    lead_in: str,
    notes: list[NoteItem],
    titles: dict[str, str],
    prefer_actions: bool = False,
    verb_offset: int = 0,
    space: TextSpace | None = None,
    lowercase_ok: set[str] | None = None,
) -> Bullet:
    """One bullet from a group of notes: central notes, duplicates merged, roles, links."""
    space = space or TextSpace(notes)
    picks = pick_central(notes, space.rows(notes), prefer_actions=prefer_actions)
    sentences = []
    used_links: set[str] = set()
    first_who = None
    for k, (note, merged) in enumerate(picks):
        who = attribution(merged)
        if k == 0:
            first_who = who
        elif who == first_who:
            who = "others"
        verb = _VERBS[(verb_offset + k) % len(_VERBS)]
        sentence = reported(verb, who, note.text, titles, lowercase_ok)
        merged_sessions = {m.session_number for m in merged}
        if k == 0 and len(merged_sessions) > 1:
            sentence = sentence.rstrip(".") + f" (a point raised in {len(merged_sessions)} sessions)."
        sentences.append(sentence)
        used_links.update(url_key(u) for u in note.links)
    extra = []
    for n in notes:
        for u in n.links:
            if url_key(u) not in used_links and len(extra) < 3:
                used_links.add(url_key(u))
                extra.append(md_link(titles.get(url_key(u)) or url_label(u), u))
    if extra:
        sentences.append(f"See {join_words(extra)}.")
    sessions = sorted({n.session_number for n in notes})
    return Bullet(bullet_id, lead_in, " ".join(sentences), [n.id for n in notes], sessions)


def group_by_similarity(notes: list[NoteItem], k: int, matrix=None) -> list[list[NoteItem]]:
    """Split notes into ``k`` groups of similar notes (k-means on TF-IDF), largest first."""
    if len(notes) <= k:
        return [[n] for n in notes]
    if matrix is None:
        _, matrix = _vectorize([n.text for n in notes])
    if matrix is None:
        return [notes]
    from sklearn.cluster import KMeans

    labels = KMeans(n_clusters=k, n_init=1, random_state=0, max_iter=100).fit_predict(matrix)
    groups: dict[int, list[NoteItem]] = {}
    for n, label in zip(notes, labels):
        groups.setdefault(int(label), []).append(n)
    return sorted(groups.values(), key=lambda g: (-len(g), g[0].id))


def bullets_wanted(note_count: int) -> int:
    return max(1, min(6, max(3, round(note_count / 6)), note_count))


def synthesize_theme(theme: ThemeItem, titles: dict[str, str], prefer_actions=False,
                     lowercase_ok: set[str] | None = None) -> ThemeSynthesis:
    """Bullets for a theme: one per sub-theme, or 3-6 groups of similar notes."""
    all_notes = theme.all_notes()
    notes = [n for n in all_notes if n.kind != "question"]
    space = TextSpace(notes)
    bullets: list[Bullet] = []
    lead_of: dict[int, str] = {}
    children = [c for c in theme.children if any(n.kind != "question" for n in c.notes)]
    if children:
        groups = [(c.name, [n for n in c.notes if n.kind != "question"]) for c in children]
        in_children = {n.id for _, g in groups for n in g}
        own = [n for n in notes if n.id not in in_children]
        if len(own) >= 2:
            groups.append((space.lead_in(own), own))
    elif notes:
        clusters = group_by_similarity(notes, bullets_wanted(len(notes)), space.matrix)
        groups = []
        for g in clusters:
            groups.append((space.lead_in(g, avoid=[lead for lead, _ in groups]), g))
    else:
        groups = []
    for i, (lead, group) in enumerate(groups, 1):
        bullets.append(synthesize_group(f"p-{theme.id}-{i}", lead, group, titles, prefer_actions,
                                        verb_offset=i, space=space, lowercase_ok=lowercase_ok))
        for n in group:
            lead_of.setdefault(n.id, lead)
    return ThemeSynthesis(
        theme=theme,
        bullets=bullets,
        quotes=pick_quotes(all_notes),
        note_count=len(all_notes),
        session_count=len({n.session_number for n in all_notes}),
        framing=trim_sentence(theme.description) if theme.description else "",
        disagreement=find_disagreement(theme, space, titles, lead_of, lowercase_ok),
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


def find_disagreement(theme: ThemeItem, space: TextSpace, titles: dict[str, str],
                      lead_of: dict[int, str], lowercase_ok: set[str] | None = None) -> Bullet | None:
    """A "participants differed on ..." bullet when a note pushes back on a similar one."""
    notes = space.notes
    if len(notes) < 2 or space.matrix is None:
        return None
    dissent = np.array([bool(CONTRAST_RE.search(n.text)) for n in notes])
    if not dissent.any() or dissent.all():
        return None
    d_idx, o_idx = np.flatnonzero(dissent), np.flatnonzero(~dissent)
    sims = (space.matrix[d_idx] @ space.matrix[o_idx].T).toarray()
    i, j = np.unravel_index(int(np.argmax(sims)), sims.shape)
    if sims[i, j] < 0.08:
        return None
    d, other = notes[d_idx[i]], notes[o_idx[j]]
    topic = (lead_of.get(d.id) or lead_of.get(other.id) or space.lead_in([d, other])).lower()
    text = (
        f"Participants differed on {escape_md(topic)}. "
        f"{reported('held', attribution([other]), other.text, titles, lowercase_ok)} "
        f"{dissent_sentence(d, titles, lowercase_ok)}"
    )
    return Bullet(f"p-{theme.id}-d", "Where Participants Differed", text, [other.id, d.id],
                  sorted({other.session_number, d.session_number}))


def first_question(text: str) -> str:
    """The note's first question ("Who decides? ..." -> "Who decides?"), or the note as a question."""
    text = " ".join(text.split())
    m = re.search(r"[^?]{12,}?\?+", text)
    question = m.group(0).strip() if m else trim_sentence(text, 220).rstrip(".!…") + "?"
    return capitalize_first(re.sub(r"\?+$", "?", question))


def dissent_sentence(note: NoteItem, titles: dict[str, str], lowercase_ok: set[str] | None = None) -> str:
    """The pushing-back note, attributed unless it already says who disagreed."""
    text = _DISCOURSE_RE.sub("", note.text.strip())
    first = text.split(" ", 1)[0].lower()
    if first in ("a", "an", "some", "others", "several", "many", "one", "another", "two", "few"):
        return f"Not everyone agreed: {note_markdown(trim_sentence(text), titles)}"
    return reported("countered", attribution([note]), text, titles, lowercase_ok)


def question_topics(context: BriefContext, limit: int = 5) -> list[Bullet]:
    """Question notes grouped into bolded topics with one or two open questions each."""
    questions = context.notes_by_kind.get("question", [])
    if not questions:
        return []
    theme_of: dict[int, str] = {}
    for t in context.themes:
        for n in t.all_notes():
            theme_of.setdefault(n.id, t.name)
    space = TextSpace(questions)
    groups = group_by_similarity(questions, min(limit, len(questions)), space.matrix)
    used_topics: set[str] = set()
    titles = context.resource_titles()
    bullets = []
    for i, group in enumerate(groups, 1):
        names = Counter(theme_of[n.id] for n in group if n.id in theme_of).most_common(1)
        topic = names[0][0] if names and names[0][0] not in used_topics else ""
        if not topic:
            topic = space.lead_in(group)
        used_topics.add(topic)
        matrix = space.rows(group)
        order = central_order(matrix) if matrix is not None else range(len(group))
        asked = []
        for j in order:
            text = first_question(group[j].text)
            if all(difflib.SequenceMatcher(None, text, a).ratio() < 0.8 for a in asked):
                asked.append(text)
            if len(asked) == 2:
                break
        body = " ".join(note_markdown(capitalize_first(a), titles) for a in asked)
        bullets.append(Bullet(f"q-{i}", topic, body, [n.id for n in group],
                              sorted({n.session_number for n in group})))
    return bullets
