"""Slow work after a note is saved (the ``note_saved`` hook: theme suggestions), off the live path.

By default it runs in a child process (:mod:`roundtable.worker`), one per server
process: the models it needs stay out of the server, and its CPU time runs at a
lower priority. ``AFTER_SAVE = "thread"`` runs it in a background thread of the
server instead (test apps do, so that a test needs no second process).
Either way the tags it produced arrive as ``note:tags`` in the writers' room.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time

from flask import current_app

from roundtable.extensions import socketio
from roundtable.models import Note
from roundtable.services.notes import note_to_dict
from roundtable.web.live.rooms import writers_room_of

AFTER_SAVE_NICENESS = 10
QUEUE_LIMIT = 10000
_worker_lock = threading.Lock()


def after_save(note_id: int, series_id: int, session_id: int) -> None:
    """Queue the ``note_saved`` hook to run off the live path; tags it produced arrive as ``note:tags``."""
    app = current_app._get_current_object()
    if not app.extensions["roundtable"].pm.hook.note_saved.get_hookimpls():
        return
    after_save_worker(app).put(note_id, series_id, session_id)


def after_save_worker(app):
    """This process's after-save worker, started on first use (``roundtable serve`` starts it up front)."""
    worker = app.extensions.get("roundtable_after_save")
    if worker is None:
        with _worker_lock:
            worker = app.extensions.get("roundtable_after_save")
            if worker is None:
                kind = app.config.get("AFTER_SAVE") or ("thread" if app.testing else "process")
                if app.config.get("SOCKETIO_ASYNC_MODE") == "gevent":
                    kind = "process"  # under gevent a "thread" is a greenlet: a model run would stall every socket
                worker = (ThreadWorker if kind == "thread" else ProcessWorker)(app)
                app.extensions["roundtable_after_save"] = worker
    return worker


def _emit_tags(note_id: int, session_id: int, tags) -> None:
    if tags is not None:
        socketio.emit("note:tags", {"note_id": note_id, "tags": tags}, to=writers_room_of(session_id))


class ThreadWorker:
    """One background task in this process runs the ``note_saved`` work, one note after another.

    A task per note would let a burst of notes start a burst of model runs that
    compete with broadcasting for the CPU; one queue keeps that work bounded.
    """

    def __init__(self, app):
        self.app = app
        self.queue: queue.Queue = queue.Queue(maxsize=QUEUE_LIMIT)
        socketio.start_background_task(self._run)

    def put(self, note_id: int, series_id: int, session_id: int) -> None:
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
                self._run_one(note_id, series_id, session_id)
            finally:
                self.queue.task_done()

    def _run_one(self, note_id: int, series_id: int, session_id: int) -> None:
        app = self.app
        with app.app_context():
            try:
                roundtable = app.extensions["roundtable"]
                roundtable.pm.hook.note_saved(roundtable=roundtable, note_id=note_id, series_id=series_id)
                with roundtable.database.session() as db:
                    note = db.get(Note, note_id)
                    tags = note_to_dict(note)["tags"] if note is not None else None
                _emit_tags(note_id, session_id, tags)
            except Exception:  # a plugin's failure must not reach the note-taker; the note is safe
                app.logger.exception("note_saved hook failed for note %s", note_id)

    def wait_until_idle(self, timeout: float = 30) -> bool:
        """Wait for queued work to finish (tests and shutdown: nothing may touch the database after)."""
        deadline = time.monotonic() + timeout
        while self.queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.02)
        return not self.queue.unfinished_tasks


# Settings the child needs to reach the same database with the same plugins; the rest it reads itself.
CHILD_CONFIG_KEYS = ("DATABASE_URL", "SECRET_KEY", "INSTANCE_PATH", "DISABLED_PLUGINS", "PLUGINS_DIR", "SUGGESTER",
                     "TESTING")


class ProcessWorker:
    """A child process (:mod:`roundtable.worker`) runs the ``note_saved`` work; this side sends note ids and
    emits the tags that come back. A child that dies is started again; jobs it held are skipped
    (suggestions are a convenience; the notes are stored)."""

    def __init__(self, app):
        self.app = app
        self.jobs: queue.Queue = queue.Queue(maxsize=QUEUE_LIMIT)
        self.pending = 0
        self.ready = threading.Event()
        self._lock = threading.Lock()
        self.process = None
        self._start()
        socketio.start_background_task(self._send_jobs)

    def _start(self) -> None:
        config = {k: self.app.config.get(k) for k in CHILD_CONFIG_KEYS if self.app.config.get(k) is not None}
        config["INSTANCE_PATH"] = self.app.instance_path
        env = dict(os.environ, ROUNDTABLE_WORKER_CONFIG=json.dumps(config, default=str))
        self.ready.clear()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "roundtable.worker"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            env=env, text=True, bufsize=1,
        )
        socketio.start_background_task(self._read_results, self.process)

    def put(self, note_id: int, series_id: int, session_id: int) -> None:
        try:
            self.jobs.put_nowait({"note_id": note_id, "series_id": series_id, "session_id": session_id})
            with self._lock:
                self.pending += 1
        except queue.Full:
            self.app.logger.warning("note_saved queue full; skipping suggestions for note %s", note_id)

    def _send_jobs(self) -> None:
        while True:
            job = self.jobs.get()
            for _attempt in range(3):
                process = self.process
                try:
                    process.stdin.write(json.dumps(job) + "\n")
                    process.stdin.flush()
                    break
                except (BrokenPipeError, OSError, ValueError):
                    self._restart(process)
            else:
                self._done()

    def _restart(self, dead) -> None:
        with self._lock:
            if self.process is dead:
                self.app.logger.warning("the after-save worker stopped (exit %s); starting it again", dead.poll())
                time.sleep(1)
                self.pending = 0  # what the dead child held is lost: only suggestions
                self._start()

    def _read_results(self, process) -> None:
        for line in process.stdout:
            try:
                result = json.loads(line)
            except ValueError:
                continue
            if result.get("ready"):
                self.ready.set()
                continue
            self._done()
            _emit_tags(result["note_id"], result["session_id"], result.get("tags"))
        process.wait()

    def _done(self) -> None:
        with self._lock:
            self.pending = max(0, self.pending - 1)

    def wait_until_ready(self, timeout: float = 120) -> bool:
        """Wait until the child has loaded its models (``roundtable serve`` does before taking connections)."""
        return self.ready.wait(timeout)

    def wait_until_idle(self, timeout: float = 30) -> bool:
        deadline = time.monotonic() + timeout
        while (self.pending or not self.jobs.empty()) and time.monotonic() < deadline:
            time.sleep(0.02)
        return not self.pending

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.stdin.close()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
