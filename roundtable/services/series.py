"""Series: creating one (site admins only), finding one by its short name, and scheduling its sessions."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from datetime import date

from roundtable.errors import Conflict, Forbidden, NotFound, ValidationError
from roundtable.models import Account, Series, Session
from roundtable.services.anonymize import authored_line, authored_text_anonymizer
from roundtable.services.audit import record_audit
from roundtable.services.typed_text import clean_line

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,78}[a-z0-9]$")


def create_series(db: DbSession, admin: Account, slug: str, title: str, **fields) -> Series:
    """A new, empty series. Only site admins create series."""
    if not admin.is_admin:
        raise Forbidden("only administrators create series")
    slug = (slug or "").strip().lower()
    if not SLUG_RE.match(slug):
        raise ValidationError("the short name must be 3-80 lowercase letters, digits or hyphens")
    title = clean_line(title or "", "a series title", 300)
    if not title:
        raise ValidationError("a series title is required")
    if db.scalar(select(Series.id).where(Series.slug == slug)):
        raise Conflict(f"a series called {slug!r} already exists")
    series = Series(slug=slug, title=title, **fields)
    db.add(series)
    db.flush()
    record_audit(db, admin, series, "series.create", {"slug": slug})
    return series


def get_series(db: DbSession, slug: str) -> Series:
    series = db.scalar(select(Series).where(Series.slug == slug))
    if series is None:
        raise NotFound(f"no series called {slug!r}")
    return series


def schedule_session(db: DbSession, series: Series, number: int, when: date | None, title: str, focus: str, *,
                     roundtable) -> Session:
    """A new scheduled session; its title and focus pass the anonymizer (with the pseudonym key of the
    application ``roundtable``) and the text-field check."""
    anonymize = authored_text_anonymizer(db, series, roundtable=roundtable)
    title = authored_line(anonymize, title or "", "a session title", 300)
    focus = authored_line(anonymize, focus or "", "a session focus", 500)
    if db.scalar(select(Session.id).where(Session.series_id == series.id, Session.number == number)):
        raise Conflict(f"session {number} already exists")
    meeting = Session(series_id=series.id, number=number, date=when, title=title, focus=focus)
    db.add(meeting)
    db.flush()
    return meeting
