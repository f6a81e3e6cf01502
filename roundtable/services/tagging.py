"""Theme suggestions and tags.

Suggesters are plugins (``register_suggesters``): given note texts, a one-level
codebook and already-coded examples, each returns ranked themes with a score in
0..1. This module picks a suggester, adapts the codebook to the wanted level
(top-level themes or sub-themes), and stores the results as ``NoteTag`` rows with
status ``suggested`` that a person accepts or rejects. Accepted and manual tags
are what the brief uses; they also become the examples the suggesters learn from.

Nothing here runs on the live-note path: ``suggest_for_saved_note`` is called
from the ``note_saved`` hook, in the background.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

import snowballstemmer

from sqlalchemy import delete, select, update

from roundtable.errors import Conflict, NotFound, ValidationError
from roundtable.models import Note, NoteTag, Session, TagStatus, Theme
from roundtable.services.codebook import Codebook, codebook_for_series
from roundtable.services.note_changes import record_change
from roundtable.types import Example, Suggestion

DEFAULT_TOP = 3
LEVELS = ("top", "sub")
# How much a section's mean score counts when themes of different sections are ranked together (chosen on the
# tune sets dev and dev-extra among 0.5, 1 and 2: warm top-3 of all themes 0.764 -> 0.779 semantic, 0.737 ->
# 0.748 lexical; docs/performance.md).
SECTION_WEIGHT = 1.0


@dataclass(frozen=True)
class SectionSuggestion:
    """The best theme of one codebook section for a note, with the suggester's confidence (0..1)."""

    section: str
    theme: str
    score: float

    def to_dict(self) -> dict:
        return {"section": self.section, "theme": self.theme, "score": round(float(self.score), 4)}


# Shorthand that note-takers type, expanded before matching so "govt" meets "government".
# General English note-taking abbreviations, not fitted to any evaluation set.
ABBREVIATIONS = {
    "govt": "government", "gov": "government", "gvt": "government", "dept": "department",
    "depts": "departments", "org": "organisation", "orgs": "organisations", "mgmt": "management",
    "mgr": "manager", "mgrs": "managers", "admin": "administration", "ppl": "people",
    "uni": "university", "unis": "universities", "univ": "university", "stds": "students",
    "std": "student", "stu": "student", "studs": "students", "prof": "professor", "profs": "professors",
    "info": "information", "tech": "technology", "comms": "communications",
    "rsch": "research", "dev": "development", "devt": "development",
    "env": "environment", "enviro": "environment", "econ": "economic", "intl": "international",
    "natl": "national", "govts": "governments", "reg": "regulation", "regs": "regulations",
    "req": "requirement", "reqs": "requirements", "approx": "approximately", "esp": "especially",
    "diff": "different", "prob": "probably", "probs": "problems", "w/": "with", "w/o": "without",
    "b/c": "because", "bc": "because", "cuz": "because", "thru": "through", "tho": "though",
    "yr": "year", "yrs": "years", "mos": "months", "wk": "week", "wks": "weeks",
    "max": "maximum", "avg": "average", "eval": "evaluation", "evals": "evaluations",
    "assmt": "assessment", "qual": "qualitative", "quant": "quantitative",
    "pol": "policy", "pols": "policies", "fin": "finance", "$": "money", "$$": "money",
    "£": "money", "€": "money", "bn": "billion",
    "ed": "education", "edu": "education", "acad": "academic", "fac": "faculty", "lib": "library",
    "infra": "infrastructure", "ops": "operations", "biz": "business", "cust": "customer",
    "priv": "privacy", "pub": "public", "ngo": "non-governmental organisation",
    "ngos": "non-governmental organisations", "re": "regarding", "abt": "about", "ppt": "presentation",
    "imo": "in my opinion", "imho": "in my opinion", "tbh": "to be honest", "fyi": "for your information",
    "q": "question", "qs": "questions", "vs": "versus", "w": "with", 
    "llm": "large language model", "llms": "large language models", "genai": "generative ai",
}
_TOKEN = re.compile(r"[$£€]+|[A-Za-z]+/[A-Za-z]*|[A-Za-z0-9][A-Za-z0-9'\-]*")


def expand_abbreviations(text: str) -> str:
    """The note with common note-taking shorthand written out (case and other words kept)."""

    def expand(match: re.Match) -> str:
        word = match.group(0)
        full = ABBREVIATIONS.get(word.lower())
        return full if full is not None and full != word.lower() else word

    return _TOKEN.sub(expand, text)


_WORD = re.compile(r"[a-z][a-z0-9]+")
_stemmer = snowballstemmer.stemmer("english")


@lru_cache(maxsize=50_000)
def _stem(word: str) -> str:
    return _stemmer.stemWord(word)


def words(text: str) -> list[str]:
    """Lower-cased, shorthand-expanded words without English stop words."""
    stop = _stop_words()
    return [w for w in _WORD.findall(expand_abbreviations(text).lower()) if w not in stop]


@lru_cache(maxsize=1)
def _stop_words() -> frozenset[str]:
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS  # lazy: the live server never tokenizes

    return frozenset(ENGLISH_STOP_WORDS)


def stem_words(text: str) -> list[str]:
    """The stems of ``words(text)`` (Snowball English), for TF-IDF matching and clustering."""
    return [_stem(w) for w in words(text)]


# --- suggesters -------------------------------------------------------------------------------


def _registered_suggesters(roundtable) -> dict:
    """Every registered suggester by name (the first registered for a name wins), working or not."""
    found: dict = {}
    for suggester in roundtable.collect("register_suggesters"):
        found.setdefault(suggester.name, suggester)
    return found


def _status(suggester) -> str | None:
    status = getattr(suggester, "status", None)  # optional, documented in hookspecs.register_suggesters
    return status() if status is not None else None


def available_suggesters(roundtable) -> dict:
    """The application's working suggesters by name."""
    return {name: s for name, s in _registered_suggesters(roundtable).items() if _status(s) is None}


def unavailable_suggesters(roundtable) -> dict[str, str]:
    """Suggesters that are switched off, with the reason (for listings and errors)."""
    reasons = {name: _status(s) for name, s in _registered_suggesters(roundtable).items()}
    return {name: reason for name, reason in reasons.items() if reason}


def get_suggester(name: str, roundtable):
    """The suggester called ``name``; a clear ``ValidationError`` if unknown or unavailable."""
    suggesters = available_suggesters(roundtable)
    if name in suggesters:
        return suggesters[name]
    reason = unavailable_suggesters(roundtable).get(name)
    if reason:
        raise ValidationError(f"suggester {name!r} is unavailable: {reason}")
    known = ", ".join(sorted(suggesters)) or "none"
    raise ValidationError(f"unknown suggester {name!r}; available: {known}")


def default_suggester_name(roundtable) -> str:
    """``ROUNDTABLE_SUGGESTER`` if set, else ``semantic`` when installed, else ``lexical``."""
    wanted = os.environ.get("ROUNDTABLE_SUGGESTER")
    if wanted:
        return wanted
    return "semantic" if "semantic" in available_suggesters(roundtable) else "lexical"


def _examples_at_level(examples, codebook: Codebook, level: str) -> list[Example]:
    wanted = {n.casefold(): n for n in codebook.names(level)}
    adapted = []
    for example in examples:
        if level == "top":
            name = codebook.top_level_of(example.theme)
        else:
            name = codebook.find(example.theme).name if codebook.find(example.theme) else None
        if name is not None and name.casefold() in wanted and example.text.strip():
            adapted.append(Example(example.text, wanted[name.casefold()], example.session))
    return adapted


def suggest_themes(
    texts, codebook: Codebook, suggester_name: str = "lexical", examples=(), top: int = DEFAULT_TOP,
    level: str = "top", *, roundtable,
) -> list[list[Suggestion]]:
    """Rank themes for each text with the named suggester; the ``top`` best per text.

    ``level="top"`` names top-level themes (a sub-theme's words count for its
    parent); ``level="sub"`` names sub-themes. ``examples`` are already-coded
    notes (at either level); a suggester may learn from them.

    Within a section themes rank by the suggester's score. Across sections a
    theme's rank also counts its section's mean score for the note
    (``SECTION_WEIGHT``), because the section the note is about is easier to tell
    than the theme; each suggestion keeps the suggester's own score.
    """
    if level not in LEVELS:
        raise ValidationError(f"unknown level {level!r}: use 'top' or 'sub'")
    if top < 1:
        raise ValidationError("top must be at least 1")
    texts = list(texts)
    if not texts:
        return []
    suggester = get_suggester(suggester_name, roundtable)
    flat = codebook.flatten(level)
    if not flat.themes:
        return [[] for _ in texts]
    ranked = suggester.suggest(texts, flat, _examples_at_level(examples, codebook, level))
    if len(ranked) != len(texts):
        raise ValidationError(f"suggester {suggester_name!r} returned {len(ranked)} results for {len(texts)} notes")
    section_of = {t.name: t.section for t in flat.themes}
    section_size = Counter(section_of.values())
    result = []
    for suggestions in ranked:
        cleaned = [
            Suggestion(s.theme, min(1.0, max(0.0, float(s.score)))) for s in suggestions if s.theme in section_of
        ]
        section_mean = Counter()
        for s in cleaned:
            section_mean[section_of[s.theme]] += s.score / section_size[section_of[s.theme]]
        cleaned.sort(key=lambda s: -(s.score + SECTION_WEIGHT * section_mean[section_of[s.theme]]))
        result.append(cleaned[:top])
    return result


def suggest_per_section(
    texts, codebook: Codebook, suggester_name: str = "lexical", examples=(), level: str = "top", *, roundtable,
) -> list[list[SectionSuggestion]]:
    """For each text, the best theme of each section of the codebook, sections in codebook order.

    A report's sections restate each other (a note about secure messaging is a
    Key Theme and a Strategic Direction at once), so a note may carry one tag per
    section. A section none of whose themes the suggester scores is left out.
    """
    flat = codebook.flatten(level)
    ranked = suggest_themes(texts, codebook, suggester_name, examples=examples, top=max(1, len(flat.themes)),
                            level=level, roundtable=roundtable)
    section_of = {t.name: t.section for t in flat.themes}
    order = {section: i for i, section in enumerate(codebook.sections())}
    result = []
    for suggestions in ranked:
        best: dict[str, SectionSuggestion] = {}
        for s in suggestions:
            section = section_of[s.theme]
            best.setdefault(section, SectionSuggestion(section, s.theme, s.score))
        result.append(sorted(best.values(), key=lambda s: order[s.section]))
    return result


# --- tags in the database ---------------------------------------------------------------------


def _note(db, note_id: int) -> Note:
    note = db.get(Note, note_id)
    if note is None or note.deleted_at is not None:
        raise NotFound(f"note {note_id} not found")
    return note


def _series_id_of(db, note: Note) -> int:
    return db.get(Session, note.session_id).series_id


def _theme_in_series(db, theme_id: int, series_id: int) -> Theme:
    theme = db.get(Theme, theme_id)
    if theme is None or theme.series_id != series_id:
        raise NotFound(f"theme {theme_id} not found in this series")
    return theme


def theme_section(theme: Theme) -> str:
    """The brief section a theme belongs to (a sub-theme is in its parent's)."""
    return (theme.parent or theme).section


def tag_to_dict(tag: NoteTag) -> dict:
    """A tag as sent to the live page and returned by ``suggest_for_saved_note``."""
    return {
        "id": tag.id, "note_id": tag.note_id, "theme_id": tag.theme_id,
        "theme": tag.theme.name if tag.theme is not None else None,
        "section": theme_section(tag.theme) if tag.theme is not None else None,
        "color": tag.theme.color if tag.theme is not None else "",
        "source": tag.source, "confidence": round(float(tag.confidence), 4),
        "status": getattr(tag.status, "value", tag.status),
    }


def note_tags(db, note_id: int, include_rejected: bool = False) -> list[NoteTag]:
    stmt = select(NoteTag).where(NoteTag.note_id == note_id)
    if not include_rejected:
        stmt = stmt.where(NoteTag.status != TagStatus.REJECTED)
    return list(db.scalars(stmt.order_by(NoteTag.confidence.desc(), NoteTag.id)))


def store_suggestions(db, note_id: int, suggestions, source: str) -> list[NoteTag]:
    """Save suggestions for a note as ``suggested`` tags, replacing older suggestions.

    Every suggestion passed in is kept, however low its score (callers pass each section's best): the right
    theme often ranks first in its section with a low score, and the live page hides chips below its own
    ``SUGGESTION_FLOOR``. A theme that a person already accepted, added or rejected for this note is left as
    it is: suggestions never override a decision.
    """
    note = _note(db, note_id)
    series_id = _series_id_of(db, note)
    themes = {t.name: t for t in db.scalars(select(Theme).where(Theme.series_id == series_id))}
    existing = {t.theme_id: t for t in db.scalars(select(NoteTag).where(NoteTag.note_id == note_id))}
    wanted: dict[int, Suggestion] = {}
    for suggestion in suggestions:
        theme = themes.get(suggestion.theme)
        if theme is not None and not theme.retired:
            wanted.setdefault(theme.id, suggestion)
    # Old suggestions are replaced only while they are still suggestions, checked in each statement: since
    # they were read, a person may have accepted, rejected or removed one.
    still_suggested = NoteTag.status == TagStatus.SUGGESTED
    stored = []
    for theme_id, suggestion in wanted.items():
        tag = existing.get(theme_id)
        if tag is None:
            tag = NoteTag(note_id=note_id, theme_id=theme_id, status=TagStatus.SUGGESTED, source=source,
                          confidence=float(suggestion.score))
            db.add(tag)
        elif tag.status != TagStatus.SUGGESTED or db.execute(
                update(NoteTag).where(NoteTag.id == tag.id, still_suggested)
                .values(source=source, confidence=float(suggestion.score)),
                execution_options={"synchronize_session": False}).rowcount != 1:
            continue
        stored.append(tag)
    db.flush()
    dropped = [tag.id for theme_id, tag in existing.items() if tag.status == TagStatus.SUGGESTED
               and theme_id not in wanted]
    if dropped:
        db.execute(delete(NoteTag).where(NoteTag.id.in_(dropped), still_suggested),
                   execution_options={"synchronize_session": False})
    if stored or dropped:
        record_change(db, [note_id])
    for tag in existing.values():  # read again when next used: as the statements above left them
        db.expire(tag)
    return stored


# What an author sees when a suggestion on their page is gone from the database, or decided by someone else.
SUGGESTION_GONE = "this suggestion was replaced by newer suggestions or removed; refresh the note"
SUGGESTION_DECIDED = "this suggestion was accepted or rejected meanwhile; refresh the note"


def _tag(db, tag_id: int, series_id: int | None = None) -> NoteTag:
    tag = db.get(NoteTag, tag_id)
    if tag is None:  # ids are never reused (AUTOINCREMENT), so a missing one was removed after the page saw it
        raise Conflict(SUGGESTION_GONE)
    if series_id is not None and tag.theme.series_id != series_id:
        raise NotFound(f"tag {tag_id} not found")
    return tag


def accept_suggestion(db, tag_id: int, series_id: int | None = None) -> NoteTag:
    """Accept a suggested tag: the brief will use it and suggesters learn from it."""
    return _decide(db, tag_id, series_id, TagStatus.ACCEPTED)


def reject_suggestion(db, tag_id: int, series_id: int | None = None) -> NoteTag:
    """Reject a suggested tag; it is kept (rejected) so the same suggestion does not come back."""
    return _decide(db, tag_id, series_id, TagStatus.REJECTED)


def _decide(db, tag_id: int, series_id: int | None, status: TagStatus) -> NoteTag:
    """Set a suggestion's status with one conditional UPDATE: between reading the tag and writing it, the
    after-save worker may have replaced the note's suggestions, a note-taker removed the tag, or another
    author decided on it. An ORM flush would be a server error (the row vanished) or overwrite the other
    author's decision; here each is a :class:`Conflict` that says which."""
    tag = _tag(db, tag_id, series_id)
    decided = db.execute(update(NoteTag).where(NoteTag.id == tag.id, NoteTag.status == TagStatus.SUGGESTED)
                         .values(status=status), execution_options={"synchronize_session": False}).rowcount
    if decided != 1:
        still_there = db.scalar(select(NoteTag.id).where(NoteTag.id == tag.id)) is not None
        raise Conflict(SUGGESTION_DECIDED if still_there else SUGGESTION_GONE)
    record_change(db, [tag.note_id])
    db.expire(tag)  # read again when next used: as the statement left it
    return tag


def check_taggable(db, series_id: int, theme_id: int) -> Theme:
    """The theme, if a note of the series may be tagged with it; else :class:`NotFound` or a
    :class:`ValidationError` (retired). Checked before a note is stored with its themes."""
    theme = _theme_in_series(db, theme_id, series_id)
    if theme.retired:
        raise ValidationError(f"theme {theme.name!r} is retired; restore it before tagging")
    return theme


def add_manual_tag(db, note_id: int, theme_id: int, *, new_note: bool = False) -> NoteTag:
    """Tag a note by hand (or accept an existing suggestion for the same theme). ``new_note``: the note is
    stored in this transaction, so pages learn of it by its seq and no change number is taken."""
    note = _note(db, note_id)
    check_taggable(db, _series_id_of(db, note), theme_id)
    tag = db.scalar(select(NoteTag).where(NoteTag.note_id == note_id, NoteTag.theme_id == theme_id))
    if tag is None:
        tag = NoteTag(note_id=note_id, theme_id=theme_id)
        db.add(tag)
    tag.source = "manual"
    tag.confidence = 1.0
    tag.status = TagStatus.ACCEPTED
    db.flush()
    if not new_note:
        record_change(db, [note_id])
    return tag


def remove_tag(db, note_id: int, theme_id: int) -> bool:
    """Remove a note's tag for a theme; ``False`` if there was none."""
    tag = db.scalar(select(NoteTag).where(NoteTag.note_id == note_id, NoteTag.theme_id == theme_id))
    if tag is None:
        return False
    db.delete(tag)
    db.flush()
    record_change(db, [note_id])
    return True


def section_tags(db, series_id: int) -> dict[int, dict[str, int]]:
    """For each note, the one accepted theme it is grouped under in each section: ``{note_id: {section: theme_id}}``.

    A note may carry one tag per section, so the brief lists it once per section.
    Where a note has several accepted tags in one section (coded by hand, or
    before suggestions came per section), the most specific wins (a sub-theme
    over a theme), then a manual tag over an accepted suggestion, then the most
    confident, then the newest.
    """
    themes = {t.id: t for t in db.scalars(select(Theme).where(Theme.series_id == series_id, Theme.retired.is_(False)))}
    # Plain rows, not ORM objects: building 2,000 NoteTag objects cost a brief build about 25 ms CPU.
    tags = db.execute(
        select(NoteTag.id, NoteTag.note_id, NoteTag.theme_id, NoteTag.source, NoteTag.confidence)
        .where(NoteTag.theme_id.in_(list(themes)), NoteTag.status == TagStatus.ACCEPTED)
    ).all() if themes else []
    best: dict[int, dict[str, tuple]] = {}
    for tag in tags:
        theme = themes[tag.theme_id]
        section = (themes.get(theme.parent_id) or theme).section
        rank = (theme.parent_id is not None, tag.source == "manual", tag.confidence, tag.id)
        current = best.setdefault(tag.note_id, {}).get(section)
        if current is None or rank > current[0]:
            best[tag.note_id][section] = (rank, tag.theme_id)
    return {note_id: {section: theme_id for section, (_rank, theme_id) in per.items()} for note_id, per in best.items()}


def accepted_examples(db, series_id: int, exclude_note_id: int | None = None, limit: int = 2000) -> list[Example]:
    """Accepted and manual tags of a series as examples for the suggesters (newest first)."""
    stmt = (
        select(Note.text, Theme.name, Note.session_id)
        .join(NoteTag, NoteTag.note_id == Note.id)
        .join(Theme, Theme.id == NoteTag.theme_id)
        .where(Theme.series_id == series_id, Theme.retired.is_(False), NoteTag.status == TagStatus.ACCEPTED)
        .where(Note.deleted_at.is_(None))
        .order_by(NoteTag.id.desc())
        .limit(limit)
    )
    if exclude_note_id is not None:
        stmt = stmt.where(Note.id != exclude_note_id)
    return [Example(text, name, session) for text, name, session in db.execute(stmt)]


def suggestion_level(codebook: Codebook) -> str:
    """Live notes are tagged at sub-theme level when the codebook has sub-themes: accepting one also fits its
    parent."""
    return "sub" if any(t.children for t in codebook.themes) else "top"


def suggest_for_saved_note(db, note_id: int, series_id: int, suggester_name: str | None = None, *,
                           roundtable) -> list[dict]:
    """Compute and store the best theme of each codebook section for one saved note.

    Returns the note's tags (``tag_to_dict``: each names its ``section`` and, for a
    suggestion, its ``confidence``), which the live page shows as chips. Meant to
    be called off the request path, from a ``note_saved`` hook implementation or a
    worker. A series without themes, or a deleted note, gives ``[]``.
    """
    note = db.get(Note, note_id)
    if note is None or note.deleted_at is not None:
        return []
    codebook = codebook_for_series(db, series_id)
    if not codebook.themes:
        return []
    name = suggester_name or default_suggester_name(roundtable)
    examples = accepted_examples(db, series_id, exclude_note_id=note_id)
    [best] = suggest_per_section([note.text], codebook, name, examples=examples, level=suggestion_level(codebook),
                                 roundtable=roundtable)
    store_suggestions(db, note_id, [Suggestion(s.theme, s.score) for s in best], source=name)
    return [tag_to_dict(t) for t in note_tags(db, note_id)]
