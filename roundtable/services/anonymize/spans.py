"""What detectors find: spans of a text and their kinds, folding for comparison, merging overlaps."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

from roundtable.types import Span


# Span kinds. "name" is a roster participant (participant_id set when the
# mention points at exactly one person), "person" someone not on the roster.
NAME, PERSON, AFFILIATION = "name", "person", "affiliation"
EMAIL, PHONE, HANDLE, URL = "email", "phone", "handle", "url"
# When spans overlap, the one whose kind comes first wins; contact details
# contain names ("maria.nunez@…") and must be replaced whole.
_KIND_PRIORITY = {EMAIL: 0, URL: 1, HANDLE: 2, PHONE: 3, NAME: 4, PERSON: 5, AFFILIATION: 6}

# What a kept term may undo: unknown-name detections. Roster matches and contact details never.
KEEPABLE = frozenset((PERSON,))

# --- text folding -------------------------------------------------------------------------

# Letters that do not decompose into base + accent but are written without it in a hurry.
_EXTRA_FOLDS = {"ø": "o", "ł": "l", "đ": "d", "ð": "d", "ı": "i", "ħ": "h", "ŧ": "t", "’": "'", "‘": "'", "ʼ": "'"}
_fold_cache: dict[str, str] = {}


def _fold_char(char: str) -> str:
    folded = _fold_cache.get(char)
    if folded is None:
        lower = char.lower()
        base = "".join(c for c in unicodedata.normalize("NFD", lower) if not unicodedata.combining(c))
        base = _EXTRA_FOLDS.get(base, base)
        if len(base) == 1:
            folded = base
        elif len(lower) == 1:
            folded = _EXTRA_FOLDS.get(lower, lower)
        else:
            folded = char
        _fold_cache[char] = folded
    return folded


def fold(text: str) -> str:
    """Lower-case and strip accents *without changing the length*, so offsets still apply.

    "Núñez" and "NUNEZ" both fold to "nunez"; "’" folds to "'".
    """
    if text.isascii():
        return text.lower()
    return "".join(map(_fold_char, text))

# --- merging --------------------------------------------------------------------------------

def _better(a: Span, b: Span) -> Span:
    """Which of two overlapping spans decides the replacement."""
    key_a = (_KIND_PRIORITY.get(a.kind, 9), a.participant_id is None, -a.confidence, -(a.end - a.start))
    key_b = (_KIND_PRIORITY.get(b.kind, 9), b.participant_id is None, -b.confidence, -(b.end - b.start))
    return a if key_a <= key_b else b


def merge_spans(spans: Iterable[Span], text: str | None = None) -> list[Span]:
    """Merge overlapping spans into one per region, sorted by position.

    The merged span covers the union of the region; its kind, detector and
    participant come from the strongest span (contact details over names, a
    known participant over an unknown person). When ``text`` is given, two
    mentions of the same participant separated only by spaces or a hyphen
    ("José" + "García") become one span, so the replacement is not repeated.
    """
    ordered = sorted(spans, key=lambda s: (s.start, -s.end))
    merged: list[Span] = []
    for span in ordered:
        if span.end <= span.start:
            continue
        if merged:
            last = merged[-1]
            joinable = (
                text is not None
                and last.kind == span.kind == NAME
                and last.participant_id is not None
                and last.participant_id == span.participant_id
                and span.start >= last.end
                and text[last.end : span.start].strip(" -\u2010") == ""
                and span.start - last.end <= 3
            )
            # "Port" + "Alder" found apart are one unknown name, with one replacement
            adjacent_people = (
                text is not None
                and last.kind == span.kind == PERSON
                and span.start >= last.end
                and span.start - last.end <= 2
                and text[last.end : span.start].strip(" -\u2010") == ""
            )
            if span.start < last.end or joinable or adjacent_people:
                winner = _better(last, span)
                merged[-1] = Span(
                    last.start,
                    max(last.end, span.end),
                    winner.kind,
                    max(last.confidence, span.confidence) if winner.kind == NAME else winner.confidence,
                    winner.detector,
                    winner.participant_id,
                )
                continue
        merged.append(span)
    return merged
