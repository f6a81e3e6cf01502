"""A series' anonymization: its cached anonymizer, and text authored outside the note stream."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import replace
from functools import partial

from roundtable.errors import NotFound
from roundtable.models import Series
from roundtable.services.anonymize.floor import load_detectors
from roundtable.services.anonymize.gate import _as_roster, gated_spans
from roundtable.services.anonymize.name_memory import NameMemory, memory_key
from roundtable.services.anonymize.normalize import matching_text
from roundtable.services.anonymize.pipeline import AnonymizedText, Anonymizer, ordinary_word, remember_names
from roundtable.services.anonymize.roster import Roster, roster_and_kept_terms, roster_kept_terms_and_remembered
from roundtable.services.typed_text import clean_line, stored_form

_series_cache: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # application -> {series id: (key, Anonymizer)}
_series_cache_lock = threading.Lock()


def anonymizer_for_series(db, series, roundtable) -> Anonymizer:
    """The (cached) anonymizer for a series, from its ``Participant`` and ``KeptTerm`` rows.

    ``db`` is a SQLAlchemy session, ``series`` a ``Series`` or its id, ``roundtable``
    the application (its detectors; its secret keys pseudonyms). The
    rows are read on every call (one small query) so a roster or kept-term
    change takes effect at once; compiled matchers are reused while they match.
    """
    series = _series(db, series)
    roster, kept = roster_and_kept_terms(db, series)
    return _cached_anonymizer(series, roundtable, roster, kept)


def anonymizer_and_memory(db, meeting, roundtable, texts: Sequence[str]) -> tuple[Anonymizer, NameMemory | None]:
    """:func:`anonymizer_for_series` for the series of the session ``meeting``, and the session's memory of
    names (:mod:`.name_memory`) as far as ``texts`` need it: the digests of their own words, looked up in the
    same query as the roster and kept terms, so a live note pays no round trip for the memory. The memory is
    ``None``, and not read, when no detector would use it (no name model)."""
    series = meeting.series
    detectors = load_detectors(roundtable)
    key = memory_key(roundtable.secret)
    wanted: set[bytes] = set()
    if remember_names(detectors):
        words = NameMemory(key, meeting.id, ordinary_word=partial(ordinary_word, detectors))
        wanted = wanted.union(*(words.lookup_digests(matching_text(stored_form(text)).text) for text in texts))
    roster, kept, remembered = roster_kept_terms_and_remembered(db, series, meeting.id, wanted)
    anonymizer = _cached_anonymizer(series, roundtable, roster, kept)
    if not anonymizer.remembers_names:
        return anonymizer, None
    return anonymizer, anonymizer.name_memory(key, meeting.id, remembered)


def _series(db, series) -> Series:
    if isinstance(series, Series):
        return series
    found = db.get(Series, series)
    if found is None:
        raise NotFound(f"series {series} does not exist")
    return found


def _cached_anonymizer(series: Series, roundtable, roster: Roster, kept: list[str]) -> Anonymizer:
    policy = getattr(series.policy, "value", series.policy) or "role"
    key = (roster, policy, tuple(kept))
    with _series_cache_lock:
        per_series = _series_cache.setdefault(roundtable, {})
        cached = per_series.get(series.id)
    if cached is not None and cached[0] == key:
        return cached[1]
    anonymizer = Anonymizer(roster, policy, load_detectors(roundtable), kept, salt=roundtable.pseudonym_salt(series.id))
    with _series_cache_lock:
        per_series[series.id] = (key, anonymizer)
    return anonymizer

def anonymize_draft(
    text: str, roster: Roster | Iterable | None, policy: str = "role", keep_credited: bool = True, *, salt: bytes,
) -> AnonymizedText:
    """Text typed outside the note stream: replace roster names, emails and phones.

    With ``keep_credited`` (brief drafts, which credit people who agreed to be
    named) the names of consenting participants stay. The unknown-name model
    does not run here: drafts hold authors' names on purpose, and the export
    gate checks again on export. ``salt`` keys pseudonyms (see :class:`Anonymizer`).
    """
    text = stored_form(text)
    roster = _as_roster(roster)
    gate_roster = roster if keep_credited else Roster(
        tuple(replace(e, consent_named=False) for e in roster.entries), roster.anonymize_affiliations
    )
    return Anonymizer(roster, policy, salt=salt).apply(text, gated_spans(text, gate_roster))


def authored_text_anonymizer(db, series, *, roundtable, keep_credited: bool = False):
    """A function anonymizing what a facilitator or author types or imports outside the note stream
    (session titles, theme fields, series fields, brief drafts) under the series' policy, with the
    pseudonym key of the application ``roundtable``; the roster is read once. See :func:`anonymize_draft`."""
    roster, _kept = roster_and_kept_terms(db, series)
    policy = getattr(series.policy, "value", series.policy)
    salt = roundtable.pseudonym_salt(series.id)

    def anonymize(text: str) -> str:
        return anonymize_draft(text, roster, policy, keep_credited=keep_credited, salt=salt).text if text else text

    return anonymize


def anonymize_authored_text(db, series, text: str, *, roundtable, keep_credited: bool = False) -> str:
    """One authored text through :func:`authored_text_anonymizer`."""
    if not text:
        return text
    return authored_text_anonymizer(db, series, roundtable=roundtable, keep_credited=keep_credited)(text)


def authored_line(anonymize, value, what: str, max_length: int) -> str:
    """A one-line field an author typed (a title, a theme's name), checked by :func:`clean_line`, then
    anonymized by ``anonymize`` (from :func:`authored_text_anonymizer`), then checked again: a role put in
    place of a name can make it longer than its column."""
    return clean_line(anonymize(clean_line(value, what, max_length)), what, max_length)
