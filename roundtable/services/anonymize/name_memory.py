"""A session's memory of the names found in it, kept only as keyed hashes.

"Maria Delgado spoke first." in one note and "Delgado said rents rose." in a later one: the
lone surname names her too, but no note sees another. A :class:`NameMemory` remembers, for
one session, the parts of every full name the detectors found (as HMAC-SHA256 digests keyed
by the installation's secret and the session, never the words), and offers each capitalised
word of a later note whose digest it holds to the detectors that confirm people (the name
model), which put it through the same place and organisation vetoes as a name of the note
itself. Stored in ``name_memory`` (:class:`roundtable.models.RememberedName`) so every server
process shares it; deleted with the session, when it closes and when the series is purged;
cleared by ``roundtable rotate-key`` (docs/security.md).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Iterable, Sequence

from sqlalchemy import JSON, delete, func, select

from roundtable.models import RememberedName
from roundtable.services.anonymize.spans import PERSON, Span, fold
from roundtable.services.inserts import insert_ignoring_duplicates

# The detector name of a person found again through the memory.
MEMORY_DETECTOR = "name_memory"
# Spans that never teach the memory: a word the note-taker marked is stored nowhere (docs/anonymization.md),
# and a name found through the memory is already in it.
_NOT_LEARNED_FROM = frozenset(("note-taker", MEMORY_DETECTOR))
_DOMAIN = b"roundtable name memory v1"
# A word: letters, an apostrophe inside ("O'Brien"), a possessive after it cut off ("VARGA'S" too).
_WORD = re.compile(r"(?<![\w'’-])([^\W\d_]+(?:['’][^\W\d_]+)*?)(?:['’][sS])?(?![\w'’-])")
# Parts of a name that name no one alone: titles, particles, articles, and words that make a phrase an
# organisation or place (a dictionary word is also left out, by the detectors' own dictionary).
STOP_WORDS = frozenset(
    """
    the and for with from but not you are was were his her its our their this that these those
    mr mrs ms mx dr prof professor sir dame rev judge justice mayor councillor councilor senator president
    van von der den del della des dos das die les los las
    """.split()
)
MIN_PART = 3


def memory_key(secret: str | bytes) -> bytes:
    """The key of name digests: derived from the installation's secret, for this use only."""
    secret = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(secret, _DOMAIN, hashlib.sha256).digest()


def _words(text: str) -> Iterable[re.Match]:
    return _WORD.finditer(text)


class NameMemory:
    """The names one session has seen, as digests; ``ordinary_word`` says which words are dictionary words.

    ``digests`` may be a subset (the live path loads only the digests of a note's own words,
    :func:`remembered_digests`). Not thread-safe: one per note being anonymized.
    """

    def __init__(self, key: bytes, session: int | str, digests: Iterable[bytes] = (),
                 ordinary_word: Callable[[str], bool] = lambda word: False):
        self._key = key
        self._session = str(session).encode()
        self.digests = set(digests)
        self.ordinary_word = ordinary_word
        self.learned: set[bytes] = set()  # digests new to the memory since it was made: what to store

    def digest(self, word: str) -> bytes:
        """The digest of one name part: its folded form, keyed per session."""
        return hmac.new(self._key, self._session + b"\x00" + fold(word).encode(), hashlib.sha256).digest()

    def _part(self, word: str) -> bool:
        """Whether ``word`` may be looked up: capitalised or in capitals ("VARGA"), long enough, no stop word
        and no dictionary word. An acronym ("DMV", "HUD") is looked up too, and is a candidate only when a
        name part of the session folds to it."""
        return (len(word) >= MIN_PART and word[0].isupper()
                and fold(word) not in STOP_WORDS and not self.ordinary_word(word))

    def _learnable(self, word: str) -> bool:
        """Whether ``word`` of a full name is remembered: a part as :meth:`_part`, not in capitals (a model's
        span over "HUD TOM HALE" would otherwise make the acronym a name for the rest of the session)."""
        return not word.isupper() and self._part(word)

    def lookup_digests(self, text: str) -> set[bytes]:
        """The digests of every capitalised word of ``text`` that could be a remembered name part."""
        return {self.digest(m.group(1)) for m in _words(text) if self._part(m.group(1))}

    def candidates(self, text: str) -> list[tuple[int, int]]:
        """Where ``text`` has a word the memory holds: ``(start, end)`` of each, for the detectors to confirm."""
        if not self.digests:
            return []
        return [m.span(1) for m in _words(text) if self._part(m.group(1)) and self.digest(m.group(1)) in self.digests]

    def learn(self, text: str, spans: Sequence[Span]) -> set[bytes]:
        """Remember the parts of every full name (two words or more) found in ``text``; the new digests.

        A one-word guess is not remembered: it may be a place the model misread.
        """
        new = set()
        for span in spans:
            if span.kind != PERSON or span.detector in _NOT_LEARNED_FROM:
                continue
            words = [m.group(1) for m in _words(text[span.start:span.end])]
            if len(words) < 2:
                continue
            new.update(self.digest(word) for word in words if self._learnable(word))
        new -= self.digests
        self.digests |= new
        self.learned |= new
        return new


def remembered_digests(db, session_id: int, digests: Iterable[bytes]) -> set[bytes]:
    """Which of ``digests`` the session's memory holds: one indexed query (none for no digests)."""
    digests = list(digests)
    if not digests:
        return set()
    return set(db.scalars(select(RememberedName.digest).where(
        RememberedName.session_id == session_id, RememberedName.digest.in_(digests))))


def remembered_subquery(db, session_id: int, digests: Iterable[bytes]):
    """Which of ``digests`` the session's memory holds, as a scalar subquery to put into a read the caller makes
    anyway (the live path's read of the roster and kept terms: the memory then costs no round trip); its value,
    a JSON list of the digests in hex, is read by :func:`remembered_in`."""
    postgres = db.get_bind().dialect.name == "postgresql"
    digest = func.encode(RememberedName.digest, "hex") if postgres else func.hex(RememberedName.digest)
    aggregate = func.json_agg if postgres else func.json_group_array
    return select(aggregate(digest, type_=JSON)).where(
        RememberedName.session_id == session_id, RememberedName.digest.in_(list(digests))).scalar_subquery()


def remembered_in(value) -> set[bytes]:
    """The digests of a :func:`remembered_subquery`'s value (PostgreSQL's ``json_agg`` of no rows is NULL)."""
    return {bytes.fromhex(digest) for digest in value or ()}


def remember_statement(db, session_id: int, series_id: int, digests: Iterable[bytes]):
    """The statement adding ``digests`` to the session's memory; one that is there already stays."""
    rows = [{"session_id": session_id, "series_id": series_id, "digest": d} for d in sorted(digests)]
    return insert_ignoring_duplicates(db, RememberedName).values(rows)


def forget_session(db, session_id: int) -> int:
    """Delete a session's memory; how many digests went."""
    return db.execute(delete(RememberedName).where(RememberedName.session_id == session_id)).rowcount
