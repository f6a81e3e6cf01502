"""Slow work after a note is saved (the ``note_saved`` hook: theme suggestions), off the live path."""

from __future__ import annotations

import os
import threading

from flask import current_app

from roundtable.extensions import socketio
from roundtable.models import Note
from roundtable.services.notes import note_to_dict
from roundtable.web.live.rooms import writers_room_of


def after_save(note_id: int, series_id: int, session_id: int) -> None:
    """Queue the ``note_saved`` hook to run off the live path; tags it produced arrive as ``note:tags``."""
    app = current_app._get_current_object()
    if not app.extensions["roundtable_pm"].hook.note_saved.get_hookimpls():
        return
    worker = app.extensions.get("roundtable_after_save")
    if worker is None:
        with _worker_lock:
            worker = app.extensions.get("roundtable_after_save")
            if worker is None:
                worker = app.extensions["roundtable_after_save"] = AfterSaveWorker(app)
    worker.put(note_id, series_id, session_id)


_worker_lock = threading.Lock()
AFTER_SAVE_NICENESS = 10


class AfterSaveWorker:
    """One background task per process runs the slow ``note_saved`` work, one note after another.

    A task per note would let a burst of notes start a burst of model runs that
    compete with broadcasting for the CPU; one queue keeps that work bounded.
    """

    def __init__(self, app):
        import queue

        self.app = app
        self.queue: queue.Queue = queue.Queue(maxsize=10000)
        socketio.start_background_task(self._run)

    def put(self, note_id: int, series_id: int, session_id: int) -> None:
        import queue

        try:
            self.queue.put_nowait((note_id, series_id, session_id))
        except queue.Full:  # suggestions are a convenience; the note itself is safe
            self.app.logger.warning("note_saved queue full; skipping suggestions for note %s", note_id)

    def _run(self) -> None:
        # On Linux nice is per thread (and inherited by threads it starts, such as a model's
        # thread pool): suggestions then yield the CPU to the live path when both want it.
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), AFTER_SAVE_NICENESS)
        except (AttributeError, OSError):
            pass
        while True:
            note_id, series_id, session_id = self.queue.get()
            try:
                _run_note_saved(self.app, note_id, series_id, session_id)
            finally:
                self.queue.task_done()

    def wait_until_idle(self, timeout: float = 30) -> bool:
        """Wait for queued work to finish (tests and shutdown: nothing may touch the database after)."""
        import time

        deadline = time.monotonic() + timeout
        while self.queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.02)
        return not self.queue.unfinished_tasks


def _run_note_saved(app, note_id: int, series_id: int, session_id: int) -> None:
    with app.app_context():
        try:
            app.extensions["roundtable_pm"].hook.note_saved(note_id=note_id, series_id=series_id)
            database = app.extensions["roundtable_db"]
            with database.session() as db:
                note = db.get(Note, note_id)
                if note is None:
                    return
                tags = note_to_dict(note)["tags"]
            socketio.emit("note:tags", {"note_id": note_id, "tags": tags}, to=writers_room_of(session_id))
        except Exception:  # a plugin's failure must not reach the note-taker; the note is safe
            app.logger.exception("note_saved hook failed for note %s", note_id)
