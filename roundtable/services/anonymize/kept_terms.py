"""Kept terms: words a note-taker marked as not a person, and the bounds on what may be kept."""

from __future__ import annotations

import re
from collections.abc import Iterable

from sqlalchemy import select

from roundtable.errors import ValidationError
from roundtable.models import AuditEvent, KeptTerm, Series
from roundtable.services.anonymize.floor import floor_detectors
from roundtable.services.anonymize.normalize import fold_for_matching, matching_text
from roundtable.services.inserts import insert_ignoring_duplicates
from roundtable.services.typed_text import clean_line, stored_form
from roundtable.services.anonymize.roster import Roster, roster_and_kept_terms
from roundtable.services.anonymize.spans import AFFILIATION, EMAIL, HANDLE, NAME, PERSON, PHONE, URL


# What a kept term may undo: unknown-name detections. Roster matches and contact details never.
KEEPABLE = frozenset((PERSON,))

def kept_terms_pattern(kept_terms: Iterable[str]) -> re.Pattern | None:
    """One pattern finding every kept term (whole words, any case, any spacing) in a folded matching text."""
    terms = sorted({fold_for_matching(t) for t in kept_terms if t and t.strip()}, key=len, reverse=True)
    if not terms:
        return None
    body = "|".join(r"\s+".join(map(re.escape, term.split())) for term in terms)
    return re.compile(rf"(?<!\w)(?:{body})(?!\w)")

def kept_term_refusal(term: str, roster: Roster) -> str | None:
    """Why ``term`` may not be kept (it matches the roster or a contact pattern), or ``None``.

    Judged on the term's matching form, alone and as the subject of "said", so
    a lower-case or disguised first name is refused like the plain one. The
    reason never repeats the term.
    """
    roster_detector, pattern_detector = floor_detectors(case_blind=True)
    matching = matching_text(term).text
    for text in (matching, f"{matching} said"):
        if any(s.kind in (NAME, AFFILIATION) for s in roster_detector.detect([text], roster)[0]):
            return "this term matches a name or affiliation on the roster; roster names are always replaced"
    if any(s.kind in (EMAIL, PHONE, HANDLE, URL) for s in pattern_detector.detect([matching], roster)[0]):
        return "this term looks like contact details (an email, phone, handle or personal link); those are always replaced"
    return None


def require_a_replaced_name(anonymizer, text: str, term: str, memory=None) -> None:
    """Refuse ``term`` unless ``anonymizer`` replaces a name inside it in ``text`` as an unknown person, and
    its other words are capitalised ("Dr." of "Dr. Pepper"); a term kept already passes. ``memory``: the
    session's memory of names (:mod:`.name_memory`), with which the note was anonymized.

    A note-taker keeps a term to undo a false positive in their own note; without this bound the
    keep-list could store any original text, or un-hide a name with the sentence around it. The reason
    never repeats the term.
    """
    text, term = stored_form(text), stored_form(term)
    if anonymizer.kept is not None and anonymizer.kept.fullmatch(fold_for_matching(term)):
        return
    names = [span for span in anonymizer.detect_many([text], [memory])[0] if span.kind in KEEPABLE]
    start = text.find(term)
    while term and start != -1:
        end = start + len(term)
        inside = [span for span in names if span.start < end and start < span.end]
        rest = "".join(" " if any(span.start <= i < span.end for span in inside) else char
                       for i, char in enumerate(text[start:end], start))
        if inside and all(word[:1].isupper() for word in rest.split()):
            return
        start = text.find(term, start + 1)
    raise ValidationError("only a name Roundtable replaced as an unknown person can be kept (with its title)")


def keep_term(db, series, term: str, account_id: int | None = None, *, from_note: tuple | None = None):
    """Record that ``term`` is not a person in this series ("keep 'Dr. Pepper'"); returns the ``KeptTerm``.

    A note-taker's deliberate undo of an unknown-name false positive: from now
    on no detector replaces it as a person in this series (roster matches and
    contact details are replaced whatever is kept). A term that matches the
    roster or a contact pattern is refused. Keeping a term twice, also by two
    people at the same moment, keeps it once. The audit trail records who kept
    which kept-term row, not the term. ``from_note``: the series' anonymizer and the original text of the
    note a note-taker keeps the term from, which must replace it there (:func:`require_a_replaced_name`), and the
    session's memory of names, if any.
    """
    series = series if isinstance(series, Series) else db.get(Series, series)
    term = clean_line(term if term is not None else "", "a kept term", 200)
    if not term:
        raise ValidationError("the term to keep is empty")
    roster, _kept = roster_and_kept_terms(db, series)
    refusal = kept_term_refusal(term, roster)
    if refusal:
        raise ValidationError(f"cannot keep this term: {refusal}")
    if from_note is not None:
        anonymizer, text, *memory = from_note
        require_a_replaced_name(anonymizer, text, term, *memory)

    inserted = db.execute(
        insert_ignoring_duplicates(db, KeptTerm).values(series_id=series.id, term=term, created_by_id=account_id)
    ).rowcount
    kept = db.scalars(select(KeptTerm).where(KeptTerm.series_id == series.id, KeptTerm.term == term)).one()
    if inserted:
        db.add(AuditEvent(account_id=account_id, series_id=series.id, action="term.kept",
                          detail={"kept_term_id": kept.id}))
        db.flush()
    return kept


def kept_terms_of(db, series) -> list:
    """A series' ``KeptTerm`` rows, for the series page."""
    return list(db.scalars(select(KeptTerm).where(KeptTerm.series_id == series.id).order_by(KeptTerm.term)))


def forget_kept_term(db, series, term: str, account_id: int | None = None) -> bool:
    """Replace ``term`` again from now on; ``False`` when it was not kept."""
    series_id = getattr(series, "id", series)
    term = " ".join((term or "").split())
    kept = db.scalars(select(KeptTerm).where(KeptTerm.series_id == series_id, KeptTerm.term == term)).first()
    if kept is None:
        return False
    db.add(AuditEvent(account_id=account_id, series_id=series_id, action="term.forgotten",
                      detail={"kept_term_id": kept.id}))
    db.delete(kept)
    db.flush()
    return True
