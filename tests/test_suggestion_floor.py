"""The live chips' floor: per series and suggester, from the series' own coded notes, one session left out at a
time; a default when too few are coded; an operator's fixed floor over all of it."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from conftest import make_roundtable
from roundtable import Suggestion, create_app, hookimpl
from roundtable.config import from_environment
from roundtable.errors import RoundtableError
from roundtable.models import Note, NoteTag, Session, TagStatus, Theme
from roundtable.services.suggestion_floor import (DEFAULT_FLOOR, FLOOR_BOUNDS, MIN_CHIPS, chip_floor, floor_from,
                                                  refresh_floor)


def test_the_floor_is_the_lowest_score_from_which_a_chip_was_right_at_least_half_the_time():
    # Right 1 in 4 at 0.2, 6 in 10 at 0.3, 8 in 10 at 0.4: a chip becomes more often right than wrong at 0.3.
    pairs = ([(0.2, True)] * 5 + [(0.2, False)] * 15 + [(0.3, True)] * 6 + [(0.3, False)] * 4
             + [(0.4, True)] * 8 + [(0.4, False)] * 2)
    assert floor_from(pairs) == 0.3
    dip = pairs + [(0.25, True)] * 6 + [(0.25, False)] * 4 + [(0.28, True)] * 4 + [(0.28, False)] * 6
    assert floor_from(dip) == 0.25, "right 6 in 10 at 0.25, 4 in 10 at 0.28: pooled, half right from 0.25"
    assert floor_from(pairs[:MIN_CHIPS - 1]) is None, "too few chips to judge by"
    assert floor_from([(0.9, True)] * 20 + [(0.05, True)] * 10 + [(0.05, False)] * 5) == FLOOR_BOUNDS[0], \
        "never below the lower bound"
    assert floor_from([(0.9, True)] * 10 + [(0.8, False)] * 30) == FLOOR_BOUNDS[1], "never above the upper bound"
    assert floor_from([(0.9, False)] * 40) == FLOOR_BOUNDS[1], "never right: the upper bound"


class Fixed:
    """Sure of a "sure" note's coded theme (0.3), wrong about a "vague" one (0.12); records what it was given."""

    name = "fixed"

    def __init__(self):
        self.calls = []

    def suggest(self, texts, codebook, examples):
        self.calls.append(([t.split()[-1] for t in texts], {e.session for e in examples}))
        sure = {"Legal defense": 0.3, "Funding threats": 0.1, "Invest in legal aid": 0.05}
        vague = {"Funding threats": 0.12, "Legal defense": 0.05, "Invest in legal aid": 0.02}
        return [[Suggestion(t.name, (sure if text.startswith("sure") else vague).get(t.name, 0.0))
                 for t in codebook.themes] for text in texts]


@pytest.fixture
def fixed():
    suggester = Fixed()

    class Plugin:
        @hookimpl
        def register_suggesters(self, register):
            register(suggester)

    return suggester, make_roundtable(plugins=[Plugin()])


def _code(db, series, texts_by_session: dict[int, list[str]], theme="Legal defense") -> None:
    """Coded notes: each text stored in its session with an accepted tag; the text ends with its session id."""
    legal = db.scalar(select(Theme).where(Theme.series_id == series.id, Theme.name == theme))
    for number, texts in texts_by_session.items():
        session = db.scalar(select(Session).where(Session.series_id == series.id, Session.number == number))
        for text in texts:
            session.last_seq += 1
            note = Note(session_id=session.id, seq=session.last_seq, uuid=str(uuid.uuid4()),
                        text=f"{text} {session.id}")
            db.add(note)
            db.flush()
            db.add(NoteTag(note_id=note.id, theme_id=legal.id, status=TagStatus.ACCEPTED, source="manual",
                           confidence=1.0))
    db.commit()


def test_a_series_floor_comes_from_its_coded_notes_each_judged_without_its_own_session(db, series, fixed):
    suggester, roundtable = fixed
    # 10 sure and 15 vague notes over two sessions: of each note's two chips (Key Themes, Strategic Directions)
    # only a sure note's Key Themes chip, at 0.3, is right; the vague notes' at 0.12 are wrong.
    _code(db, series, {1: ["sure"] * 5 + ["vague"] * 8, 2: ["sure"] * 5 + ["vague"] * 7})
    stored = refresh_floor(db, series.id, "fixed", roundtable=roundtable)
    db.commit()
    assert stored == {"floor": 0.3, "coded": 25, "chips": 50}
    for held_out, example_sessions in suggester.calls:
        assert example_sessions and not example_sessions & {int(s) for s in held_out}, "its own session left out"
    db.refresh(series)
    floor = chip_floor(series.suggestion_floors)
    assert floor("fixed") == 0.3
    assert floor("lexical") == DEFAULT_FLOOR, "no floor computed for this suggester yet"


def test_the_floor_is_computed_again_only_once_coding_moved_enough(db, series, fixed):
    suggester, roundtable = fixed
    _code(db, series, {1: ["sure"] * 5 + ["vague"] * 8, 2: ["sure"] * 5 + ["vague"] * 7})
    refresh_floor(db, series.id, "fixed", roundtable=roundtable)
    db.commit()
    runs = len(suggester.calls)
    _code(db, series, {2: ["vague"] * 9})  # 9 more coded tags: fewer than ten and than a fifth of 25
    assert refresh_floor(db, series.id, "fixed", roundtable=roundtable)["floor"] == 0.3
    assert len(suggester.calls) == runs, "nothing suggested: the stored floor is read"
    # 30 vague notes coded as what the suggester says (0.12): right 30 times in 54 at 0.12.
    _code(db, series, {1: ["vague"] * 15, 2: ["vague"] * 15}, theme="Funding threats")
    assert refresh_floor(db, series.id, "fixed", roundtable=roundtable) == {"floor": 0.12, "coded": 64,
                                                                            "chips": 128}
    assert len(suggester.calls) > runs


def test_with_one_coded_session_the_floor_is_the_default(db, series, fixed):
    suggester, roundtable = fixed
    _code(db, series, {1: ["sure"] * 30})
    assert refresh_floor(db, series.id, "fixed", roundtable=roundtable) == {"floor": DEFAULT_FLOOR, "coded": 30,
                                                                            "chips": 0}
    assert suggester.calls == [], "no session to leave out: nothing to judge by"


def test_an_operators_fixed_floor_replaces_every_series_floor(monkeypatch, tmp_path):
    assert chip_floor({"fixed": {"floor": 0.3, "coded": 25, "chips": 50}}, 0.2)("fixed") == 0.2
    monkeypatch.setenv("ROUNDTABLE_SUGGESTION_FLOOR", "0.25")
    assert from_environment()["SUGGESTION_FLOOR"] == 0.25
    monkeypatch.setenv("ROUNDTABLE_SUGGESTION_FLOOR", "high")
    with pytest.raises(RoundtableError, match="ROUNDTABLE_SUGGESTION_FLOOR must be a number from 0 to 1, not 'high'"):
        from_environment()
    monkeypatch.delenv("ROUNDTABLE_SUGGESTION_FLOOR")
    with pytest.raises(RoundtableError, match="SUGGESTION_FLOOR must be a number from 0 to 1, or None, not 35"):
        create_app({"TESTING": True, "SECRET_KEY": "x" * 32, "DATABASE_URL": f"sqlite:///{tmp_path / 'a.sqlite'}",
                    "SUGGESTION_FLOOR": 35})
