"""What form routes share: numbers read from forms, and one way to commit a change or show the user's error."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import flash
from sqlalchemy.orm import Session as DbSession

from roundtable.db import get_db
from roundtable.errors import RoundtableError
from roundtable.models import MAX_DATABASE_ID

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


def error_message(exc: RoundtableError) -> str:
    """A user error as a sentence for a page; a message that starts with a file name keeps its case."""
    text = str(exc)
    if not text.split(" ", 1)[0].rstrip(",:").count("."):
        text = text[:1].upper() + text[1:]
    return text + ("" if text.endswith(".") else ".")


@dataclass
class Change:
    """What :func:`commit_change` did: ``value`` is what the change returned, ``error`` the user error that
    stopped it (then nothing was written). True when it was committed."""

    value: Any = None
    error: RoundtableError | None = None

    def __bool__(self) -> bool:
        return self.error is None

    @property
    def message(self) -> str:
        return error_message(self.error) if self.error else ""


def commit_change(change: Callable[[DbSession], Any]) -> Change:
    """Run ``change(db)`` on the request's session and commit; a user error rolls all of it back instead."""
    db = get_db()
    try:
        value = change(db)
    except RoundtableError as exc:
        db.rollback()
        return Change(error=exc)
    db.commit()
    return Change(value)


def commit_or_flash(change: Callable[[DbSession], Any]) -> Change:
    """:func:`commit_change`, with the user error flashed for the next page."""
    done = commit_change(change)
    if not done:
        flash(done.message, "error")
    return done
