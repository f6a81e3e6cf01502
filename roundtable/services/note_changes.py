"""Change numbers: what a page that was offline missed among the notes it already has.

New notes are found by their seq. A change to a stored note (its text, kind or speaker, a delete, a theme
added, removed, suggested, accepted or rejected) takes the session's next change number with one
``UPDATE sessions SET last_change_seq = last_change_seq + 1 ... RETURNING``, and the note keeps it in
``change_seq``. A rejoining page asks for the notes whose ``change_seq`` is above the ``last_change_seq``
it was last told, whichever server process made the change; clocks play no part.

Why a page never skips a change: the number is taken under the session row's lock, held until the change
commits, so changes commit in the order of their numbers. The notes' rows are locked before the session's,
as an edit does, so two changes to one note never deadlock (and with the lock an UPDATE takes, not FOR
UPDATE, so a tag row inserted for the note, which holds a key-share lock on it, does not deadlock with them); closing a session takes its deleted notes (the
ones it purges) before the session row for the same reason. A read that finds ``last_change_seq = N``
committed, and reads the notes after it, sees every change up to N.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select, update

from roundtable.models import Note, Session


def record_change(db, note_ids: Iterable[int]) -> None:
    """Give the notes the next change number of their session, in the caller's transaction.

    Call it last, just before the commit: the session row stays locked until then, and every other change
    and new note of the session waits for it.
    """
    ids = sorted(set(note_ids))
    if not ids:
        return
    # The notes' rows first, then the session's: an edit holds its note's row when it gets here, and a change
    # that took the session row first and then waited for that note would deadlock with it. FOR NO KEY UPDATE,
    # the lock an UPDATE of the note takes: a suggestion or tag row inserted for the note holds a key-share
    # lock on it until its commit, which FOR UPDATE would wait for while that transaction waits for ours.
    locked = db.execute(select(Note.id, Note.session_id).where(Note.id.in_(ids)).order_by(Note.id)
                        .with_for_update(key_share=True))
    for session_id in sorted({session_id for _id, session_id in locked}):
        number = db.execute(
            update(Session).where(Session.id == session_id)
            .values(last_change_seq=Session.last_change_seq + 1).returning(Session.last_change_seq)
            .execution_options(synchronize_session=False)
        ).scalar_one()
        db.execute(update(Note).where(Note.id.in_(ids), Note.session_id == session_id)
                   .values(change_seq=number).execution_options(synchronize_session=False))
