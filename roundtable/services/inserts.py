"""Inserts that let the database settle a race, for services (no Flask here: :mod:`roundtable.db` has the app's
session plumbing)."""

from __future__ import annotations

from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session


def insert_ignoring_duplicates(db: Session, model):
    """``INSERT … ON CONFLICT DO NOTHING``: when two people make the same unique row at once, the database
    decides. The second insert waits for the first's transaction and then inserts nothing (its
    ``rowcount`` is 0); read the row afterwards."""
    insert = postgresql_insert if db.get_bind().dialect.name == "postgresql" else sqlite_insert
    return insert(model).on_conflict_do_nothing()
