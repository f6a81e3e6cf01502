"""Numbers read from forms: only what a database id can be."""

from __future__ import annotations

import re

from roundtable.app import MAX_DATABASE_ID

_ASCII_ID = re.compile(r"[0-9]{1,10}")


def form_ids(values) -> list[int]:
    """The values that are ids (ASCII digits, 1 to 2**31 - 1); anything else is skipped.

    ``str.isdigit`` also accepts "²" (which ``int`` refuses) and any length (which the
    database refuses): both were server errors.
    """
    ids = []
    for value in values:
        value = value.strip()
        if _ASCII_ID.fullmatch(value) and 0 < int(value) <= MAX_DATABASE_ID:
            ids.append(int(value))
    return ids
