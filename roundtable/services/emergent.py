"""Emergent themes: what a series talks about that its codebook does not cover.

Across all sessions of a series, the notes that fit no theme well (no accepted
tag, and a best suggestion score among the weakest of the series) are clustered
by the words they share (TF-IDF over stems, cosine, average linkage). Each
cluster of at least ``min_size`` notes becomes a candidate theme, named from the
cluster's own most distinctive words, with its most representative notes (those
closest to the cluster's centre). ``adopt_candidate`` adds one to the codebook
and marks its notes as suggested for the new theme, for people to confirm.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import select

from roundtable.errors import ValidationError
from roundtable.models import Note, NoteTag, Session, TagStatus
from roundtable.services.codebook import Codebook, codebook_for_series, create_theme
from roundtable.services.note_changes import record_change
from roundtable.services.tagging import (
    _stem,
    accepted_examples,
    default_suggester_name,
    stem_words,
    suggest_per_section,
    words,
)

# Notes whose best theme score is in the weakest part of the series count as "fitting no theme".
POOR_FIT_QUANTILE = 0.35
# Groups join while their average TF-IDF cosine distance is below this (similarity above 0.15).
DISTANCE_THRESHOLD = 0.85
MIN_SIZE = 3
MAX_CANDIDATES = 6
REPRESENTATIVES = 3


@dataclass
class Candidate:
    """A proposed theme: a name from its notes' words, and the notes it gathers."""

    name: str
    description: str
    keywords: list[str]
    note_ids: list = field(default_factory=list)
    representative: list[tuple] = field(default_factory=list)  # (note id, text), best first
    sessions: list[int] = field(default_factory=list)
    cohesion: float = 0.0

    @property
    def size(self) -> int:
        return len(self.note_ids)

    def to_dict(self) -> dict:
        return {
            "name": self.name, "description": self.description, "keywords": self.keywords,
            "note_ids": self.note_ids, "size": self.size, "sessions": self.sessions,
            "cohesion": round(self.cohesion, 3),
            "representative": [{"note_id": i, "text": t} for i, t in self.representative],
        }


def poorly_fitting(best_scores, tagged, quantile: float = POOR_FIT_QUANTILE) -> list[int]:
    """Indexes of notes with no accepted tag and a best score at or below the series' ``quantile``."""
    scores = np.asarray(best_scores, dtype=float)
    if scores.size == 0:
        return []
    cut = float(np.quantile(scores, quantile))
    return [i for i, (s, t) in enumerate(zip(scores, tagged)) if not t and s <= cut]


def _surface_words(texts) -> dict[str, str]:
    """Each stem's most frequent spelling in these texts, so names read as words, not stems."""
    spellings: dict[str, Counter] = {}
    for text in texts:
        for word in words(text):
            spellings.setdefault(_stem(word), Counter())[word] += 1
    return {stem: counter.most_common(1)[0][0] for stem, counter in spellings.items()}


def cluster_notes(
    ids, texts, sessions=None, existing_names=(), min_size: int = MIN_SIZE,
    distance_threshold: float = DISTANCE_THRESHOLD, max_candidates: int = MAX_CANDIDATES,
    background=(),
) -> list[Candidate]:
    """Group notes into candidate themes; ``background`` texts sharpen which words are distinctive."""
    ids, texts = list(ids), list(texts)
    sessions = list(sessions) if sessions is not None else [None] * len(ids)
    if len(texts) < max(2, min_size):
        return []
    # lazy: the web server imports this module for its routes and keeps scikit-learn and SciPy out of its process
    from sklearn.cluster import AgglomerativeClustering
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.preprocessing import normalize

    vectorizer = TfidfVectorizer(analyzer=stem_words, sublinear_tf=True, min_df=1)
    vectorizer.fit(list(texts) + list(background))
    matrix = vectorizer.transform(texts)
    keep = np.asarray(matrix.sum(axis=1)).ravel() > 0
    if keep.sum() < max(2, min_size):
        return []
    index = np.flatnonzero(keep)
    dense = normalize(matrix[index].toarray())
    labels = AgglomerativeClustering(
        n_clusters=None, metric="cosine", linkage="average", distance_threshold=distance_threshold,
    ).fit_predict(dense)
    vocabulary = np.array(vectorizer.get_feature_names_out())
    taken = {n.casefold() for n in existing_names}
    candidates = []
    for label in set(labels):
        members = index[labels == label]
        if members.size < min_size:
            continue
        rows = dense[labels == label]
        centre = rows.mean(axis=0)
        closeness = rows @ (centre / max(np.linalg.norm(centre), 1e-12))
        order = np.argsort(-closeness)
        # Words that are frequent in the cluster and shared by several of its notes.
        present = (rows > 0).sum(axis=0)
        weight = centre * (present >= 2)
        top = [i for i in np.argsort(-weight) if weight[i] > 0][:5]
        if not top:
            continue
        spelled = _surface_words(texts[i] for i in members)
        keywords = [spelled.get(vocabulary[i], vocabulary[i]) for i in top]
        name = _name_from(keywords, taken, _common_phrase([texts[i] for i in members], keywords[:3]))
        taken.add(name.casefold())
        candidates.append(Candidate(
            name=name,
            description=f"Notes about {', '.join(keywords[:3])} that no current theme covers.",
            keywords=keywords,
            note_ids=[ids[i] for i in members[order]],
            representative=[(ids[members[j]], texts[members[j]]) for j in order[:REPRESENTATIVES]],
            sessions=sorted({sessions[i] for i in members if sessions[i] is not None}),
            cohesion=float(closeness.mean()),
        ))
    candidates.sort(key=lambda c: (-c.size * c.cohesion, c.name))
    return candidates[:max_candidates]


def _common_phrase(texts, keywords) -> str | None:
    """The two-word phrase most of the cluster's notes share ("bike lanes"), if one involves a keyword."""
    counts: Counter = Counter()
    for text in texts:
        sequence = words(text)
        counts.update({(a, b) for a, b in zip(sequence, sequence[1:]) if a != b})
    wanted = set(keywords)
    for (a, b), count in counts.most_common():
        if count < max(2, (len(texts) + 1) // 2):
            break
        if a in wanted or b in wanted:
            return f"{a} {b}"
    return None


def _name_from(keywords: list[str], taken: set[str], phrase: str | None = None) -> str:
    if phrase and phrase.capitalize().casefold() not in taken:
        return phrase.capitalize()
    for count in (2, 3, 1):
        name = " and ".join(keywords[:count]).capitalize() if count <= 2 else ", ".join(keywords[:count]).capitalize()
        if name.casefold() not in taken:
            return name
    suffix = 2
    while f"{keywords[0].capitalize()} {suffix}".casefold() in taken:
        suffix += 1
    return f"{keywords[0].capitalize()} {suffix}"


def find_emergent_themes(
    notes, codebook: Codebook, suggester_name: str = "lexical", examples=(), tagged=None, *, roundtable,
    quantile: float = POOR_FIT_QUANTILE, **cluster_options,
) -> list[Candidate]:
    """Candidate themes among ``notes`` (dicts with ``id``, ``text``, optional ``session``).

    ``tagged`` flags notes that already have an accepted tag (they fit a theme).
    """
    notes = list(notes)
    if not notes:
        return []
    tagged = list(tagged) if tagged is not None else [False] * len(notes)
    texts = [n["text"] for n in notes]
    if codebook.themes:
        # A note fits as well as the best theme of its best-fitting section.
        ranked = suggest_per_section(texts, codebook, suggester_name, examples=examples, roundtable=roundtable)
        best = [max((s.score for s in r), default=0.0) for r in ranked]
    else:
        best = [0.0] * len(notes)
    chosen = poorly_fitting(best, tagged, quantile)
    return cluster_notes(
        [notes[i]["id"] for i in chosen], [texts[i] for i in chosen],
        sessions=[notes[i].get("session") for i in chosen],
        existing_names=[t.name for t, _p in codebook.walk()], background=texts, **cluster_options,
    )


def emergent_candidates(db, series, suggester_name: str | None = None, *, roundtable, **options) -> list[Candidate]:
    """Candidate themes for a series, from the notes of all its sessions."""
    series_id = series if isinstance(series, int) else series.id
    rows = db.execute(
        select(Note.id, Note.text, Session.number)
        .join(Session, Session.id == Note.session_id)
        .where(Session.series_id == series_id, Note.deleted_at.is_(None))
        .order_by(Session.number, Note.seq)
    ).all()
    accepted = set(db.scalars(
        select(NoteTag.note_id).join(Note, Note.id == NoteTag.note_id).join(Session, Session.id == Note.session_id)
        .where(Session.series_id == series_id, NoteTag.status == TagStatus.ACCEPTED)
    ))
    notes = [{"id": i, "text": t, "session": n} for i, t, n in rows]
    codebook = codebook_for_series(db, series_id)
    name = suggester_name or default_suggester_name(roundtable)
    return find_emergent_themes(
        notes, codebook, name, examples=accepted_examples(db, series_id), roundtable=roundtable,
        tagged=[n["id"] in accepted for n in notes], **options,
    )


def adopt_candidate(
    db, series, name: str, description: str = "", keywords=(), note_ids=(), parent_id: int | None = None,
    score: float = 0.5, *, roundtable,
):
    """Add a candidate to the codebook and mark its notes as suggested for it (people confirm).

    Returns the new ``Theme``. The candidate's fields come back from the page,
    so the note ids are checked to belong to the series, and its text passes the
    anonymizer (with the application ``roundtable``'s pseudonym key) as if typed.
    """
    series_id = series if isinstance(series, int) else series.id
    if not name or not name.strip():
        raise ValidationError("a candidate needs a name")
    theme = create_theme(db, series, name, description=description, keywords=list(keywords), parent_id=parent_id,
                         roundtable=roundtable)
    valid = set(db.scalars(
        select(Note.id).join(Session, Session.id == Note.session_id)
        .where(Session.series_id == series_id, Note.id.in_([int(i) for i in note_ids]), Note.deleted_at.is_(None))
    ))
    for note_id in sorted(valid):
        db.add(NoteTag(note_id=note_id, theme_id=theme.id, source="emergent", confidence=score,
                       status=TagStatus.SUGGESTED))
    db.flush()
    record_change(db, valid)
    return theme
