"""Series: creating one (site admins only) and finding one by its short name."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from roundtable.errors import Conflict, Forbidden, NotFound, ValidationError
from roundtable.models import Account, Series
from roundtable.services.audit import record_audit

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,78}[a-z0-9]$")


def create_series(db: DbSession, admin: Account, slug: str, title: str, **fields) -> Series:
    """A new, empty series. Only site admins create series."""
    if not admin.is_admin:
        raise Forbidden("only administrators create series")
    slug = (slug or "").strip().lower()
    if not SLUG_RE.match(slug):
        raise ValidationError("the short name must be 3-80 lowercase letters, digits or hyphens")
    title = (title or "").strip()
    if not title or len(title) > 300:
        raise ValidationError("a title of at most 300 characters is required")
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
