"""After a note is saved: queue the ``note_saved`` hook (theme suggestions) off the live path, and send the
suggestions it produced to the people who review them as ``note:tags``, each from the series' floor for its
suggester up (the worker sends the floors back with the tags).

The work runs in this process's after-save worker (:func:`roundtable.jobs.after_save_worker`):
a child process by default, so that the models it needs stay out of the server and its CPU time runs at
a lower priority; ``AFTER_SAVE = "thread"`` runs it in a thread of the server instead (test apps do, so
that a test needs no second process).
"""

from __future__ import annotations

from flask import current_app

from roundtable import jobs
from roundtable.extensions import socketio
from roundtable.services.suggestion_floor import chip_floor
from roundtable.web.live.rooms import reviewers_room_of, shown_tags


def after_save(note_id: int, series_id: int, session_id: int) -> None:
    """Queue the ``note_saved`` hook to run off the live path; tags it produced arrive as ``note:tags``."""
    app = current_app._get_current_object()
    if not app.extensions["roundtable"].pm.hook.note_saved.get_hookimpls():
        return
    after_save_worker(app).put(note_id, series_id, session_id)


def after_save_worker(app):
    """This process's after-save worker, started on first use (``roundtable serve`` starts it up front)."""
    fixed = app.config["SUGGESTION_FLOOR"]

    def emit_tags(note_id: int, session_id: int, tags, floors) -> None:
        # The worker changes only suggestions, which only reviewers see: nobody else needs this event.
        if tags is not None:
            socketio.emit("note:tags", {"note_id": note_id, "tags": shown_tags(tags, True, chip_floor(floors, fixed))},
                          to=reviewers_room_of(session_id))

    return jobs.after_save_worker(app, on_tags=emit_tags)
