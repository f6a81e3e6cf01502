"""Text helpers for prose: roles, plurals, lists, sentences, reported speech.

Everything here keeps the words of a note as they were typed (case
included); attribution is by role only, never by name.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from typing import TYPE_CHECKING, Iterable

if TYPE_CHECKING:
    from roundtable.services.briefs.context import NoteItem


@functools.lru_cache(maxsize=1)
def stop_words() -> frozenset[str]:
    """scikit-learn's English stop words, imported on first use (scikit-learn is slow to import)."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS  # lazy: the web server keeps scikit-learn out

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
    return f"{a_or_an(noun)} {noun}"


def is_acronym(word: str) -> bool:
    return len(word) > 1 and word.isupper() and word.isalpha()


def a_or_an(word: str) -> str:
    """"a" or "an" by how ``word`` is said: "an annual", "a union", "an FAQ", "a FEMA", "an 8-week"."""
    low = word.lower()
    if is_acronym(word) and len(word) <= 4 and not re.search(r"[aeiou]", low[:2]):
        return "an" if word[0] in "AEFHILMNORSX" else "a"  # spelled out letter by letter
    if low.startswith(("unin", "unim", "unus")):
        return "an"
    if low.startswith(("uni", "use", "usu", "uti", "ura", "eu", "one", "once")):
        return "a"
    if low.startswith(("hour", "honest", "honor", "heir")):
        return "an"
    return "an" if low[:1] in "aeiou8" or re.match(r"1[18](?:\D|$)", low) else "a"


def join_words(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    if len(items) == 2:
        return f"{items[0]} and {items[1]}"
    return ", ".join(items[:-1]) + f", and {items[-1]}"


NUMBER_WORDS = {2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight", 9: "nine", 10: "ten"}


def number_word(n: int) -> str:
    return NUMBER_WORDS.get(n, f"{n:,}")


def attribution(notes: Iterable[NoteItem], limit: int = 3) -> str:
    """One attribution for a claim, aggregated over roles: "a municipal leader and community organizers".

    Roles only, never names; notes without a role count as "participants".
    """
    counts = Counter(normalize_role(n.speaker_role) for n in notes)
    if not counts:
        return "participants"
    named = [(r, c) for r, c in counts.most_common() if r != "participant"]
    if not named:
        return "participants" if counts["participant"] > 1 else "a participant"
    parts = [pluralize(r) if c > 1 else article(r) for r, c in named[:limit]]
    if len(named) > limit or counts["participant"]:
        parts.append("other participants")
    return join_words(parts)


def across_sessions(notes: Iterable[NoteItem]) -> str:
    """" in three sessions" when a claim was made in more than one session, else ""."""
    sessions = {n.session_number for n in notes}
    return f" in {number_word(len(sessions))} sessions" if len(sessions) > 1 else ""


def capitalize_first(text: str) -> str:
    """Raise the first letter; no word is ever lowered (a lower-cased name would slip past the export gate)."""
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


def as_sentence(text: str) -> str:
    """A claim as a sentence: first letter raised, one closing stop."""
    text = text.strip().rstrip(",;:-–— ")
    if not text:
        return ""
    text = capitalize_first(text)
    return text if text[-1] in ".?!…" or text[-2:-1] in (".", "?", "!") else text + "."
