"""Counts in words for pages, flash messages and the CLI: "1 person", "3 people", "1 note", never "1 people"."""

from __future__ import annotations

IRREGULAR = {"person": "people"}


def plural_of(noun: str) -> str:
    """The plural of ``noun`` (its last word): the few English rules the interface's nouns need."""
    head, _, last = noun.rpartition(" ")
    if last in IRREGULAR:
        last = IRREGULAR[last]
    elif last.endswith("y") and last[-2:-1] not in ("a", "e", "i", "o", "u", ""):
        last = last[:-1] + "ies"
    elif last.endswith(("s", "sh", "ch", "x", "z")):
        last += "es"
    else:
        last += "s"
    return f"{head} {last}" if head else last


def count_of(n: int, noun: str, plural: str | None = None) -> str:
    """``n`` and the noun in the number that fits it; ``plural`` when the plural is not just the noun's."""
    return f"{n:,} {noun if n == 1 else plural or plural_of(noun)}"
