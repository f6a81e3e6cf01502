"""The confidence floor below which an author's live page shows no suggestion chip, per series and suggester.

Each suggester scores on its own scale (TF-IDF overlap or cosine similarity, with or without coded notes to
learn from), and a group's short notes score lower than report bullets, so one number cannot fit every
series. The rule: each coded note of the series is suggested for as if its session had not been coded
(leave one session out: the other sessions' coded notes are the examples), and the floor is the lowest score
from which a chip was right (the note's coded theme) at least half the time, kept within
:data:`FLOOR_BOUNDS`. With fewer than two coded sessions or :data:`MIN_CHIPS` chips to judge by, the floor is
:data:`DEFAULT_FLOOR`.

The floor is computed in the after-save worker (never on the live path), stored on the series as
``{suggester: {"floor", "coded", "chips"}}`` and computed again once the number of coded tags has moved by
a fifth (at least :data:`RECALIBRATE_MIN`). The live server reads it from the series row the access check
loads anyway: one dict lookup per tag. An operator's ``SUGGESTION_FLOOR`` setting, when set, replaces it
for every series and suggester.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

from sqlalchemy import func, select, update

from roundtable.models import Note, NoteTag, Series, TagStatus, Theme
from roundtable.services.codebook import codebook_for_series
from roundtable.types import Example

# Too few coded notes to judge by: the floor measured on the tuning sets' report bullets (semantic, dev:
# 78-82 % of the chips shown right; docs/performance.md).
DEFAULT_FLOOR = 0.35
# Never below 0.1 (three chips at 5-17 % on every note were the complaint), never above 0.5 (a floor that
# high shows almost nothing; it is what a suggester gets that is never right half the time on the series).
FLOOR_BOUNDS = (0.1, 0.5)
RIGHT_SHARE = 0.5
MIN_CHIPS = 30  # judged chips needed before the series' own floor replaces the default
RECALIBRATE_SHARE = 0.2
RECALIBRATE_MIN = 10
CODED_NOTES_LIMIT = 600  # the newest coded notes are enough to place a floor; keeps the worker's run short

ChipFloor = Callable[[str], float]


def floor_from(pairs) -> float | None:
    """The lowest score from which chips were right at least half the time, within the bounds; ``None`` with
    fewer than :data:`MIN_CHIPS` judged chips. ``pairs``: (score, right) per chip.

    The right rate is fitted to rise with the score (isotonic regression by pooling adjacent violators: a dip
    is averaged with its neighbours), so the floor is where a chip *at* that score becomes more often right
    than wrong, not where the chips above it are right on average (that floor sat lower, and on the tuning
    sets' later notes showed chips right 37-47 % of the time; docs/performance.md)."""
    if len(pairs) < MIN_CHIPS:
        return None
    blocks: list[list] = []  # [right, chips, lowest score] of runs of scores pooled to a rising rate
    for score, is_right in sorted(pairs, key=lambda p: p[0]):
        blocks.append([float(bool(is_right)), 1, score])
        while len(blocks) > 1 and blocks[-2][0] * blocks[-1][1] > blocks[-1][0] * blocks[-2][1]:
            right, chips, _ = blocks.pop()
            blocks[-1][0] += right
            blocks[-1][1] += chips
    low, high = FLOOR_BOUNDS
    for right, chips, lowest in blocks:
        if right >= RIGHT_SHARE * chips:
            return min(high, max(low, lowest))
    return high


def calibration_chips(db, series_id: int, suggester_name: str, *, roundtable) -> list[tuple[float, bool]]:
    """:func:`left_out_chips` of the series' newest coded notes (at most :data:`CODED_NOTES_LIMIT`)."""
    codebook = codebook_for_series(db, series_id)
    rows = db.execute(  # newest note first, its tags together: stop at the first note past the limit
        select(Note.id, Note.text, Note.session_id, Theme.name)
        .join(NoteTag, NoteTag.note_id == Note.id).join(Theme, Theme.id == NoteTag.theme_id)
        .where(Theme.series_id == series_id, Theme.retired.is_(False), NoteTag.status == TagStatus.ACCEPTED,
               Note.deleted_at.is_(None))
        .order_by(Note.id.desc())
    ).all()
    notes: dict[int, tuple[str, int, set[str]]] = {}
    for note_id, text, session_id, theme in rows:
        if note_id not in notes:
            if len(notes) == CODED_NOTES_LIMIT:
                break
            notes[note_id] = (text, session_id, set())
        notes[note_id][2].add(theme)
    return left_out_chips(list(notes.values()), codebook, suggester_name, roundtable=roundtable)


def left_out_chips(coded, codebook, suggester_name: str, *, roundtable, level: str | None = None
                   ) -> list[tuple[float, bool]]:
    """(score, right) for each section's best theme of each coded note ``(text, session, {theme names})``,
    suggested with only the other sessions' coded notes as examples; ``[]`` with fewer than two sessions.
    ``level``: the live notes' own (:func:`~roundtable.services.tagging.suggestion_level`) unless given."""
    from roundtable.services.tagging import suggest_per_section, suggestion_level  # tagging imports this module

    level = level or suggestion_level(codebook)
    wanted = set(codebook.names(level))
    by_session: dict[int, list[tuple[str, set[str]]]] = defaultdict(list)
    for text, session, themes in coded:
        at_level = {codebook.top_level_of(t) if level == "top" else t for t in themes}
        by_session[session].append((text, at_level))
    if len(by_session) < 2:
        return []
    chips = []
    for session, held_out in by_session.items():
        examples = [Example(text, theme, other) for other, notes in by_session.items() if other != session
                    for text, themes in notes for theme in themes]
        judged = [(text, themes) for text, themes in held_out if themes & wanted]  # coded at a level suggested
        if not judged:
            continue
        best = suggest_per_section([text for text, _ in judged], codebook, suggester_name, examples=examples,
                                   level=level, roundtable=roundtable)
        for (_text, themes), sections in zip(judged, best):
            chips.extend((s.score, s.theme in themes) for s in sections)
    return chips


def coded_tags(db, series_id: int) -> int:
    """How many accepted tags the series has: what a stored floor remembers it was computed from."""
    return db.scalar(select(func.count(NoteTag.id)).join(Theme, Theme.id == NoteTag.theme_id)
                     .where(Theme.series_id == series_id, NoteTag.status == TagStatus.ACCEPTED)) or 0


def _stale(stored: dict | None, coded: int) -> bool:
    if stored is None:
        return True
    moved = abs(coded - stored.get("coded", 0))
    return moved >= max(RECALIBRATE_MIN, RECALIBRATE_SHARE * stored.get("coded", 0))


def refresh_floor(db, series_id: int, suggester_name: str, *, roundtable) -> dict:
    """The series' stored floor for a suggester, computed again first when coding moved enough since."""
    series = db.get(Series, series_id)
    floors = dict(series.suggestion_floors or {})
    coded = coded_tags(db, series_id)
    stored = floors.get(suggester_name)
    if not _stale(stored, coded):
        return stored
    chips = calibration_chips(db, series_id, suggester_name, roundtable=roundtable)
    floor = floor_from(chips)
    floors[suggester_name] = {"floor": DEFAULT_FLOOR if floor is None else round(floor, 4), "coded": coded,
                              "chips": len(chips)}
    # Only this column: the series row may be changed meanwhile by someone editing it.
    db.execute(update(Series).where(Series.id == series_id).values(suggestion_floors=floors),
               execution_options={"synchronize_session": False})
    db.expire(series)
    return floors[suggester_name]


def chip_floor(stored_floors: dict | None, fixed: float | None = None) -> ChipFloor:
    """The floor for a suggestion by its ``source`` (suggester name): an operator's ``fixed`` floor, else the
    series' stored one, else :data:`DEFAULT_FLOOR`."""
    if fixed is not None:
        return lambda _source: fixed
    floors = {name: entry["floor"] for name, entry in (stored_floors or {}).items()}
    return lambda source: floors.get(source, DEFAULT_FLOOR)
