"""Text helpers for prose: roles, plurals, lists, sentences, reported speech.

Everything here keeps the words of a note as they were typed (case
included); attribution is by role only, never by name.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from typing import TYPE_CHECKING, Iterable

from roundtable.services.briefs.markdown import note_markdown

if TYPE_CHECKING:
    from roundtable.services.briefs.context import NoteItem

_VERBS = ("noted", "emphasized", "observed", "pointed out", "stressed", "argued")


_SMALL_WORDS = {"and", "or", "of", "the", "a", "an", "in", "on", "for", "to", "with", "at", "by"}


@functools.lru_cache(maxsize=1)
def stop_words() -> frozenset[str]:
    """scikit-learn's English stop words, imported on first use (scikit-learn is slow to import)."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return frozenset(ENGLISH_STOP_WORDS)


def normalize_role(role: str | None) -> str:
    role = (role or "").strip().strip("[]").lower()
    for article in ("a ", "an ", "the "):
        if role.startswith(article):
            role = role[len(article) :]
    return role or "participant"


def pluralize(noun: str) -> str:
    words = noun.split()
    if not words:
        return noun
    last = words[-1]
    if last.endswith("y") and len(last) > 1 and last[-2] not in "aeiou":
        last = last[:-1] + "ies"
    elif last.endswith(("s", "sh", "ch", "x", "z")):
        last += "es"
    elif last == "person":
        last = "people"
    else:
        last += "s"
    return " ".join(words[:-1] + [last])


def article(noun: str) -> str:
    return ("an " if noun[:1].lower() in "aeiou" else "a ") + noun


def join_words(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    if len(items) == 2:
        return f"{items[0]} and {items[1]}"
    return ", ".join(items[:-1]) + f", and {items[-1]}"


def attribution(notes: Iterable[NoteItem], limit: int = 2) -> str:
    """"legal advocates and scholars" / "a municipal leader": roles only, never names."""
    counts = Counter(normalize_role(n.speaker_role) for n in notes)
    if not counts:
        return "participants"
    named = [(r, c) for r, c in counts.most_common() if r != "participant"][:limit]
    if not named:
        return "participants" if counts["participant"] > 1 else "a participant"
    parts = [pluralize(r) if c > 1 else article(r) for r, c in named]
    return join_words(parts)


def capitalize_first(text: str) -> str:
    return text[:1].upper() + text[1:]


def trim_sentence(text: str, limit: int = 300) -> str:
    """The note's text up to ``limit`` characters, cut at a sentence end when possible."""
    text = " ".join(text.split())
    if len(text) > limit:
        cut = max(text.rfind(". ", 0, limit), text.rfind("? ", 0, limit), text.rfind("! ", 0, limit))
        text = text[: cut + 1] if cut > 60 else text[:limit].rsplit(" ", 1)[0] + "…"
    if text and text[-1] not in ".?!…\"”":
        text += "."
    return text


_SAYS_WHO_RE = re.compile(r"^(an?|the|some|several|many|one|two|other|another)\s+[\w -]{3,40}?(:| said| noted| argued| asked)", re.I)


_DISCOURSE_RE = re.compile(r"^(however|but|yet|still|on the other hand|by contrast|in contrast|that said)\s*,?\s+", re.I)


def lower_words(notes: Iterable[NoteItem]) -> set[str]:
    """Words the notes write in lower case somewhere: safe to lower-case at a sentence start."""
    words: set[str] = set(stop_words())
    for n in notes:
        words.update(w for w in re.findall(r"\b[a-z][a-z'-]+\b", n.text))
    return words


def reported(verb: str, who: str, text: str, titles: dict[str, str], lowercase_ok: set[str] | None = None) -> str:
    """"Legal advocates noted that cities ...": lower-cases the note's first word only when safe."""
    text = trim_sentence(_DISCOURSE_RE.sub("", text.strip().strip("\"“”")))
    word = re.sub(r"[^\w'-]", "", text.split(" ", 1)[0])
    body = note_markdown(text, titles)
    if who in ("a participant", "participants") and _SAYS_WHO_RE.match(text):
        return capitalize_first(body)  # the note already says who spoke ("A legal advocate: ...")
    safe = lowercase_ok if lowercase_ok is not None else stop_words()
    if word and not word.isupper() and (word.lower() in safe or word[:1].islower()):
        return f"{capitalize_first(who)} {verb} that {body[:1].lower()}{body[1:]}"
    return f"{capitalize_first(who)} {verb}: {capitalize_first(body)}"


def title_case(text: str) -> str:
    words = text.split()
    return " ".join(
        w if w.isupper() else (w if (i and w in _SMALL_WORDS) else w[:1].upper() + w[1:])
        for i, w in enumerate(words)
    )
