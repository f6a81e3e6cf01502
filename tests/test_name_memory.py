"""A session remembers the names found in it, as keyed digests: a later lone surname goes too.

"Ines Varga" named in full in one note, "Varga" alone in a later note of the same session: the second note
is anonymized with the session's memory. The memory holds HMAC digests, never a name (checked on the
database file's bytes); it belongs to one session, goes with it, and goes at ``roundtable rotate-key``.
Needs the name model (``roundtable[ner]``), which finds the full names and confirms the remembered words.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from conftest import make_roundtable, socket_as, statements_sent_here
from sqlalchemy import func, select
from test_anonymize_ner import require_ner

from roundtable.cli import main
from roundtable.db import Database
from roundtable.live_clients import make_series
from roundtable.models import RememberedName, Role, Session, SessionState
from roundtable.services.anonymize import PERSON, Anonymizer, Roster, Span, load_detectors
from roundtable.services.anonymize.name_memory import NameMemory, memory_key
from roundtable.services.notes import NoteStream
from roundtable.services.retention import purge_series_notes

FULL = "Ines Varga opened the meeting with the rent figures."
LONE = "The council thanked Varga for the figures."


@pytest.fixture
def stream(db, roundtable):
    require_ner()
    return NoteStream(db, roundtable)


def _session(db, series, number: int) -> int:
    return db.scalar(select(Session.id).where(Session.series_id == series.id, Session.number == number))


def _add(stream, session_id: int, text: str) -> str:
    note, created = stream.add_note(session_id, str(uuid.uuid4()), text)
    assert created
    return note.text


def _digests(db) -> list[bytes]:
    db.expire_all()
    return list(db.scalars(select(RememberedName.digest)))


def test_without_the_memory_the_lone_surname_stays():
    # the case the memory is for: the note alone gives no reason to remove "Varga"
    require_ner()
    roundtable = make_roundtable()
    anonymizer = Anonymizer(Roster(), "role", load_detectors(roundtable, ner=True), salt=b"test")
    assert "Varga" in anonymizer.anonymize(LONE).text


def test_a_later_lone_surname_in_the_same_session_is_removed(db, series, stream):
    session_id = _session(db, series, 1)
    assert "Varga" not in _add(stream, session_id, FULL)
    later = _add(stream, session_id, LONE)
    assert "Varga" not in later and later.startswith("The council thanked [name]"), later


def test_the_preview_shows_the_remembered_name_removed_and_stores_nothing(db, series, stream):
    session_id = _session(db, series, 1)
    stream.preview_note(session_id, FULL)
    assert _digests(db) == []  # a preview stores nothing, not even digests
    _add(stream, session_id, FULL)
    assert "Varga" not in stream.preview_note(session_id, LONE)["text"]


def test_an_edit_remembers_and_finds_too(db, series, stream):
    session_id = _session(db, series, 1)
    note, _ = stream.add_note(session_id, str(uuid.uuid4()), "The rent figures came first.")
    stream.edit_note(note.id, note.version, text=FULL)
    assert "Varga" not in _add(stream, session_id, LONE)


def test_another_session_does_not_share_the_memory(db, series, stream):
    _add(stream, _session(db, series, 1), FULL)
    other = _session(db, series, 2)
    stream.open_session(other)
    assert "Varga" in _add(stream, other, LONE)


def test_a_remembered_surname_that_names_a_city_stays_where_it_reads_as_the_city(db, series, stream):
    session_id = _session(db, series, 1)
    assert "Krakow" not in _add(stream, session_id, "Tomasz Krakow chaired the housing panel.")
    later = _add(stream, session_id, "Tomasz flew in from a conference in Krakow on Monday.")
    # the place veto keeps the city although the memory holds the word; the other part of his name goes
    assert "in Krakow" in later and "Tomasz" not in later, later


def test_the_memory_holds_keyed_digests_and_no_clear_text(tmp_path):
    require_ner()
    path = tmp_path / "memory.sqlite"
    roundtable = make_roundtable(DATABASE_URL=f"sqlite:///{path}")
    roundtable.database.upgrade()
    with roundtable.database.session() as db:
        series = make_series(db)
        session_id = _session(db, series, 1)
        stream = NoteStream(db, roundtable)
        _add(stream, session_id, FULL)
        _add(stream, session_id, "Ines said Joaquim Ferreira would bring the survey.")
        digests = _digests(db)
    roundtable.database.dispose()  # checkpoints the write-ahead log into the file
    assert len(digests) == 4 and all(len(d) == 32 for d in digests)  # Ines, Varga, Joaquim, Ferreira
    data = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("memory.sqlite"))
    for word in ("Ines", "Varga", "Joaquim", "Ferreira"):
        for form in (word, word.lower(), word.upper()):
            assert form.encode() not in data and form.encode("utf-16-le") not in data


def test_the_digests_are_keyed_by_the_secret_and_the_session():
    one, two = memory_key("a secret"), memory_key("another secret")
    assert NameMemory(one, 1).digest("Varga") != NameMemory(two, 1).digest("Varga")
    assert NameMemory(one, 1).digest("Varga") != NameMemory(one, 2).digest("Varga")
    assert NameMemory(one, 1).digest("Varga") == NameMemory(one, 1).digest("VARGA")  # folded


def test_only_the_parts_of_full_names_that_are_no_words_are_remembered():
    text = "Dr. Will Okafor met Hope and Zofia; Anna van der Berg wrote to Mr. Li."
    spans = [Span(0, 15, PERSON, 0.8, "ner"),  # "Dr. Will Okafor"
             Span(20, 24, PERSON, 0.7, "ner"),  # "Hope": one word, maybe a place misread: not remembered
             Span(29, 34, PERSON, 1.0, "note-taker"),  # a mark is stored nowhere
             Span(36, 53, PERSON, 0.8, "ner"),  # "Anna van der Berg"
             Span(63, 69, PERSON, 0.8, "ner")]  # "Mr. Li": too short
    memory = NameMemory(memory_key("s"), 1, ordinary_word=lambda word: word.lower() in {"will", "hope"})
    memory.learn(text, spans)
    remembered = {w for w in ("Dr", "Will", "Okafor", "Hope", "Zofia", "Anna", "van", "der", "Berg", "Li")
                  if memory.digest(w) in memory.digests}
    assert remembered == {"Okafor", "Anna", "Berg"}
    assert memory.learned == memory.digests
    # capitals are looked up too ("OKAFOR", "OKAFOR'S"); lower case and a part of another word are not
    assert memory.candidates("Okafor's team and okafor and OKAFOR met Berg-Smith and Berg.") == [(0, 6), (29, 35), (55, 59)]
    assert memory.candidates("OKAFOR'S team") == [(0, 6)]


def test_an_acronym_is_a_candidate_only_when_its_word_was_remembered_and_capitals_teach_nothing():
    # "ICE", "DMV", "HUD": looked up like any capitalised word, but no name part of the session folds to them
    memory = NameMemory(memory_key("s"), 1, ordinary_word=lambda word: word.lower() in {"ice", "agent"})
    text = "Ana Varga met an ICE agent, DMV clerks and HUD staff."
    memory.learn(text, [Span(0, 9, PERSON, 0.8, "ner")])
    assert memory.candidates("ICE, DMV and HUD told VARGA and ANA.") == [(22, 27), (32, 35)]
    # a name found in capitals teaches nothing: a model's span over "HUD TOM" must not make "HUD" a name
    capitals = NameMemory(memory_key("s"), 1)
    assert capitals.learn("HUD TOM HALE spoke", [Span(0, 12, PERSON, 0.8, "ner")]) == set()
    assert capitals.candidates("HUD staff and Hale") == []


def test_closing_deleting_and_purging_forget_the_session_names(db, series, stream):
    session_id = _session(db, series, 1)
    _add(stream, session_id, FULL)
    assert _digests(db)
    stream.close_session(session_id)
    assert _digests(db) == []
    stream.open_session(session_id)
    _add(stream, session_id, FULL)
    db.delete(db.get(Session, session_id))
    db.commit()
    assert _digests(db) == []
    second = _session(db, series, 2)
    stream.open_session(second)
    _add(stream, second, FULL)
    purge_series_notes(db, series, require_brief=False)
    db.commit()
    assert _digests(db) == []


def test_rotate_key_clears_the_memory(tmp_path, monkeypatch, capsys):
    require_ner()
    monkeypatch.delenv("ROUNDTABLE_SECRET_KEY", raising=False)
    url = f"sqlite:///{tmp_path / 'rt.sqlite'}"
    monkeypatch.setenv("ROUNDTABLE_DATABASE_URL", url)
    monkeypatch.setenv("ROUNDTABLE_INSTANCE_PATH", str(tmp_path))
    (tmp_path / "secret_key").write_text("old-installation-key")
    roundtable = make_roundtable(SECRET_KEY="old-installation-key", DATABASE_URL=url)
    roundtable.database.upgrade()
    with roundtable.database.session() as db:
        _add(NoteStream(db, roundtable), _session(db, make_series(db), 1), FULL)
    roundtable.database.dispose()
    with pytest.raises(SystemExit) as exit_:
        main(["rotate-key"])
    assert exit_.value.code == 0, capsys.readouterr().err
    assert "2 digests" in capsys.readouterr().out
    database = Database(url, secret_key=(tmp_path / "secret_key").read_text().strip())
    try:
        with database.session() as db:
            assert db.scalar(select(func.count()).select_from(RememberedName)) == 0
    finally:
        database.dispose()


def test_a_word_found_through_the_memory_can_be_kept_from_the_note(db, series, stream, roundtable):
    from roundtable.services.anonymize import anonymizer_for_series, keep_term
    from roundtable.errors import ValidationError

    session_id = _session(db, series, 1)
    _add(stream, session_id, FULL)
    anonymizer = anonymizer_for_series(db, series, roundtable)
    with pytest.raises(ValidationError):  # without the memory the note has no name in it to keep
        keep_term(db, series, "Varga", from_note=(anonymizer, LONE))
    meeting = db.get(Session, session_id)
    keep_term(db, series, "Varga", from_note=(anonymizer, LONE, stream.name_memory(anonymizer, meeting, [LONE])))
    db.commit()
    assert "Varga" in _add(stream, session_id, LONE)  # kept: no longer replaced in this series


def test_an_import_reads_its_notes_as_one_session_and_a_closed_one_keeps_no_memory(db, series, stream, roundtable):
    from roundtable.services.note_import import import_notes, parse_notes_file

    meeting = db.get(Session, _session(db, series, 2))  # scheduled: notes typed up afterwards
    notes = parse_notes_file("notes.txt", f"{FULL}\n{LONE}\n".encode())
    stored = import_notes(db, meeting, notes, roundtable=roundtable)
    db.commit()
    assert "Varga" not in stored[1][0].text
    assert _digests(db) == []


@pytest.mark.parametrize("lone", [
    "The council thanked V\u0430rga for the figures.",  # a Cyrillic a
    "The council thanked **Va**rga for the figures.",  # markup inside the word
    "The council thanked Varg&#97; for the figures.",  # an entity
    "The council thanked VARGA for the figures.",
    "The council thanked VARGA'S team for the figures.",
])
def test_a_remembered_name_typed_in_look_alike_letters_or_markup_is_removed_too(db, series, stream, lone):
    session_id = _session(db, series, 1)
    _add(stream, session_id, FULL)
    later = _add(stream, session_id, lone)
    assert "[name]" in later and "rga" not in later.lower(), later


def test_acronyms_stay_beside_a_remembered_name_in_capitals(db, series, stream):
    session_id = _session(db, series, 1)
    _add(stream, session_id, FULL)
    later = _add(stream, session_id, "VARGA said ICE, the DMV and HUD share no data.")
    assert "VARGA" not in later and "ICE, the DMV and HUD share" in later, later


def test_a_live_note_reads_the_memory_with_the_roster_and_still_finds_the_name(app, database, db, series, accounts):
    # the memory costs the live path no round trip of its own: its look-up rides on the read of the roster and
    # kept terms that every note makes (docs/performance.md); on the SQLite file and on PostgreSQL
    require_ner()
    live = next(s for s in series.sessions if s.state is SessionState.LIVE)
    socket = socket_as(app, accounts[Role.NOTE_TAKER].email)
    assert "state" in socket.emit("session:join", {"session_id": live.id}, callback=True)

    def add(text):
        return socket.emit("note:add", {"session_id": live.id, "uuid": str(uuid.uuid4()), "text": text}, callback=True)

    first = add(FULL)
    assert first["ok"] and "Varga" not in first["note"]["text"], first
    with statements_sent_here(database.engine) as statements:
        later = add("VARGA and Varga: the council thanked them for the figures.")
    assert later["ok"] and "arga" not in later["note"]["text"].lower(), later
    memory_reads = [s for s in statements if "FROM name_memory" in s]
    assert len(memory_reads) == 1 and "participants" in memory_reads[0], statements
