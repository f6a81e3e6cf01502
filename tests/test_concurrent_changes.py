"""Two writers on one row: a change based on a row another worker or user changed in the meantime.

Each test lets the first writer read, then has a second database connection change the row
(exactly as the other worker's code does it) before the first writer's write reaches the
database, on a real SQLite file and on PostgreSQL. The first writer must get a clear user error
and write nothing, never a server error or a silently lost change.
"""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from sqlalchemy import event, select

from conftest import PASSWORD, socket_as
from roundtable import Suggestion
from roundtable.errors import Conflict, NotFound
from roundtable.models import Account, Invite, Note, NoteTag, Role, Series, Session, TagStatus, Theme
from roundtable.services import briefs
from roundtable.services.accounts import create_account, grant_role, role_in_series
from roundtable.services.invites import accept_invite, create_invite, revoke_invite
from roundtable.services.tagging import accept_suggestion, reject_suggestion, store_suggestions

REPLACED = "this suggestion was replaced by newer suggestions or removed; refresh the note"
DECIDED = "this suggestion was accepted or rejected meanwhile; refresh the note"


@contextmanager
def before_write_to(engine, table: str | None, meanwhile):
    """Run ``meanwhile()`` once, on its own connection, just before the first write (to ``table``, if given)
    reaches the database: the moment another worker would commit between a read and a write.

    Before the first write, as on SQLite: a writer there holds the file's lock until it commits."""
    done = []

    def intercept(_conn, _cursor, statement, *_args):
        words = statement.lstrip().split(None, 3)
        if done or words[:1] not in (["INSERT"], ["UPDATE"], ["DELETE"]) or table not in (None, *words[1:3]):
            return
        done.append(statement)
        meanwhile()

    event.listen(engine, "before_cursor_execute", intercept)
    try:
        yield done
    finally:
        event.remove(engine, "before_cursor_execute", intercept)


def _suggested_note(db, series) -> tuple[int, NoteTag, str]:
    """A note with one suggested tag; returns the note id, the tag and another theme's name."""
    session = db.scalar(select(Session).where(Session.series_id == series.id, Session.number == 1))
    session.last_seq += 1
    note = Note(session_id=session.id, seq=session.last_seq, uuid="0" * 32, text="lawyers at the courthouse")
    db.add(note)
    db.flush()
    themes = [t.name for t in db.scalars(select(Theme).where(Theme.series_id == series.id, Theme.parent_id.is_(None)))]
    [tag] = store_suggestions(db, note.id, [Suggestion(themes[0], 0.8)], source="lexical")
    db.commit()
    return note.id, tag, themes[1]


def _worker_suggests_again(database, note_id: int, theme: str):
    """What the after-save worker does after an edit: store the note's new suggestions, replacing the old."""

    def meanwhile():
        with database.session() as other:
            store_suggestions(other, note_id, [Suggestion(theme, 0.9)], source="lexical")

    return meanwhile


@pytest.mark.parametrize("decide", [accept_suggestion, reject_suggestion])
def test_deciding_on_a_suggestion_the_worker_just_replaced_is_a_conflict_not_a_crash(database, db, series, decide):
    note_id, tag, other_theme = _suggested_note(db, series)
    with before_write_to(database.engine, "note_tags", _worker_suggests_again(database, note_id, other_theme)) as hit:
        with pytest.raises(Conflict, match=REPLACED):
            decide(db, tag.id, series.id)
    assert hit, "the decision never wrote to note_tags"
    db.rollback()
    db.expire_all()
    assert [(t.theme.name, t.status) for t in db.scalars(select(NoteTag).where(NoteTag.note_id == note_id))] == [
        (other_theme, TagStatus.SUGGESTED)]


@pytest.mark.parametrize("decide, other_decides", [(accept_suggestion, reject_suggestion),
                                                    (reject_suggestion, accept_suggestion)])
def test_deciding_on_a_suggestion_another_author_just_decided_keeps_their_decision(database, db, series, decide,
                                                                                    other_decides):
    """Two authors on one chip: the second decision must not silently overwrite the first."""
    note_id, tag, _ = _suggested_note(db, series)

    def other_author_decides():
        with database.session() as other:
            other_decides(other, tag.id, series.id)
            other.commit()

    with before_write_to(database.engine, "note_tags", other_author_decides) as hit:
        with pytest.raises(Conflict, match=DECIDED):
            decide(db, tag.id, series.id)
    assert hit, "the decision never wrote to note_tags"
    db.rollback()
    db.expire_all()
    theirs = TagStatus.ACCEPTED if other_decides is accept_suggestion else TagStatus.REJECTED
    assert [t.status for t in db.scalars(select(NoteTag).where(NoteTag.note_id == note_id))] == [theirs]


def test_accepting_a_replaced_suggestion_on_the_live_page_is_an_error_event(app, database, db, series, session_id):
    grant_role(db, create_account(db, "au@test.example", "AU", PASSWORD), series, Role.AUTHOR)
    note_id, tag, other_theme = _suggested_note(db, series)
    db.execute(Note.__table__.update().where(Note.id == note_id).values(session_id=session_id))
    db.commit()
    socket = socket_as(app, "au@test.example")
    assert "state" in socket.emit("session:join", {"session_id": session_id}, callback=True)
    socket.get_received()

    with before_write_to(database.engine, "note_tags", _worker_suggests_again(database, note_id, other_theme)):
        answer = socket.emit("tag:accept", {"session_id": session_id, "tag_id": tag.id}, callback=True)

    assert answer.get("code") == 409 and REPLACED in answer.get("error", ""), answer
    assert [e["args"][0]["code"] for e in socket.get_received() if e["name"] == "error"] == [409]


def test_accepting_a_replaced_suggestion_in_the_codebook_says_so_on_the_page(app, client, login, database, db, series):
    note_id, tag, other_theme = _suggested_note(db, series)
    login(Role.AUTHOR)
    with before_write_to(database.engine, "note_tags", _worker_suggests_again(database, note_id, other_theme)):
        response = client.post(f"/s/{series.slug}/suggestions/{tag.id}/accept", follow_redirects=True)
    assert response.status_code == 200
    assert "This suggestion was replaced by newer suggestions or removed; refresh the note." in response.get_data(
        as_text=True)


def _facilitator_and_invite(db, series):
    facilitator = create_account(db, "fa@test.example", "FA", PASSWORD)
    grant_role(db, facilitator, series, Role.FACILITATOR)
    made = create_invite(db, facilitator, series, Role.NOTE_TAKER)
    db.commit()
    return facilitator, made


def test_revoking_an_invite_accepted_a_moment_earlier_says_so_and_changes_nothing(database, db, series):
    """The facilitator must not be told "revoked" while the invitee just joined: they would think no one got in."""
    facilitator, made = _facilitator_and_invite(db, series)

    def invitee_accepts():
        with database.session() as other:
            accept_invite(other, made.token, email="new@test.example", display_name="New", password=PASSWORD * 2)

    with before_write_to(database.engine, "invites", invitee_accepts):
        with pytest.raises(Conflict, match="this invite has been accepted already; remove the member instead"):
            revoke_invite(db, facilitator, series, made.invite.id)
    db.rollback()
    joined = db.scalar(select(Account).where(Account.email == "new@test.example"))
    assert role_in_series(db, joined, series) is Role.NOTE_TAKER
    assert db.get(Invite, made.invite.id).used_at is not None


def test_accepting_an_invite_revoked_a_moment_earlier_says_it_was_revoked(database, db, series):
    facilitator, made = _facilitator_and_invite(db, series)

    def facilitator_revokes():
        with database.session() as other:
            revoke_invite(other, other.get(Account, facilitator.id), other.get(Series, series.id), made.invite.id)

    with before_write_to(database.engine, None, facilitator_revokes):
        with pytest.raises(NotFound, match="this invite link has just been used or revoked; ask for a new one"):
            accept_invite(db, made.token, email="new@test.example", display_name="New", password=PASSWORD * 2)
    db.rollback()
    assert db.scalar(select(Account).where(Account.email == "new@test.example")) is None


def test_two_facilitators_revoking_one_invite_at_once_both_see_it_gone(database, db, series):
    facilitator, made = _facilitator_and_invite(db, series)

    def other_facilitator_revokes():
        with database.session() as other:
            revoke_invite(other, other.get(Account, facilitator.id), other.get(Series, series.id), made.invite.id)

    with before_write_to(database.engine, "invites", other_facilitator_revokes):
        with pytest.raises(NotFound, match="no such invite"):
            revoke_invite(db, facilitator, series, made.invite.id)


def test_an_edit_saved_while_the_brief_is_rebuilt_is_kept(database, db, series, roundtable):
    """A rebuild reads the notes for seconds (the drafting job ends with one); an author who saves meanwhile
    keeps the edit: the rebuild merges into the draft as it is when it writes, not as it was when it began."""
    briefs.rebuild_brief(db, series, roundtable=roundtable)
    db.commit()

    def author_saves():
        with database.session() as other:
            brief = briefs.get_brief(other, series.id)
            intro = briefs.split_sections(brief.markdown)["introduction"]
            briefs.save_draft(other, brief, brief.markdown.replace(
                intro, "{#introduction}\n## Introduction\n\nOur own words.\n\n"), roundtable=roundtable)

    with before_write_to(database.engine, None, author_saves) as hit:
        brief = briefs.rebuild_brief(db, series.id, roundtable=roundtable)
    db.commit()
    assert hit
    db.expire_all()
    assert "Our own words." in brief.markdown and brief.edited_sections == ["introduction"]
    assert [v.label for v in briefs.list_versions(db, brief)][:3] == ["rebuilt from notes", "before rebuild", "edited"]


def test_new_suggestions_stored_just_after_a_decision_never_undo_it(database, db, series):
    """The other order: the worker read the note's suggestions, then an author accepted one (and a note-taker
    removed another) before the worker replaced them. The decision stands and the worker does not fail."""
    note_id, tag, other_theme = _suggested_note(db, series)
    [removed] = store_suggestions(db, note_id, [Suggestion(tag.theme.name, 0.8), Suggestion(other_theme, 0.7)],
                                  source="lexical")[1:]
    db.commit()
    removed_id = removed.id

    def author_accepts_and_note_taker_removes():
        with database.session() as other:
            accept_suggestion(other, tag.id, series.id)
            other.delete(other.get(NoteTag, removed_id))

    with before_write_to(database.engine, None, author_accepts_and_note_taker_removes) as hit:
        store_suggestions(db, note_id, [Suggestion(other_theme, 0.9)], source="lexical")
    db.commit()
    assert hit
    db.expire_all()
    tags = {t.theme.name: t.status for t in db.scalars(select(NoteTag).where(NoteTag.note_id == note_id))}
    assert tags == {tag.theme.name: TagStatus.ACCEPTED}


def test_two_authors_marking_sections_reviewed_at_once_keep_both_marks(database, db, series, roundtable):
    brief = briefs.rebuild_brief(db, series, roundtable=roundtable)
    db.commit()
    first, second = briefs.section_keys(brief.markdown)[:2]

    def other_author_marks():
        with database.session() as other:
            briefs.set_section_status(other, briefs.get_brief(other, series.id), second, "reviewed")

    with before_write_to(database.engine, None, other_author_marks) as hit:
        briefs.set_section_status(db, brief, first, "reviewed")
    db.commit()
    assert hit
    assert briefs.reviewed_sections(briefs.get_brief(db, series.id)) == {first, second}
