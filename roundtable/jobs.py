"""Slow work off the request path, in one place.

Three kinds of work leave a request or a socket event here:

- **Jobs a person waits for** (a brief export, a machine-drafting run):
  :class:`JobRunner` runs each in an OS thread of this process (:func:`start_thread`) and keeps its
  :class:`Job` (stage, done of total, message, result, cancel) for the page to
  poll. Each application object has its own runner (``roundtable.jobs``), so
  two apps in one process never see each other's jobs.
- **After-save work** (the ``note_saved`` hook: theme suggestions): one queue
  per server process, worked through by a child process (``python -m
  roundtable.worker``, :class:`AfterSaveProcess`) or, in test apps, a thread
  (:class:`AfterSaveThread`). Started here by :func:`after_save_worker`.
- **Timers** (the throttled presence announcement): :func:`later`.

Threads, not a task queue: all of it is per process and in memory. A restart
forgets finished jobs and queued suggestions; notes and briefs are already
stored by then. Under ``roundtable serve``'s gevent worker a ``threading.Thread``
is a greenlet, so long CPU-bound jobs get a real OS thread and the after-save
work always runs in its child process.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from roundtable.errors import Conflict, RoundtableError
from roundtable.models import Note, Series
from roundtable.services.notes import note_to_dict

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------- jobs a person waits for


def start_thread(target: Callable[[], Any], name: str) -> None:
    """Run ``target()`` in a new OS thread, also when gevent has patched ``threading``.

    Under gevent a ``threading.Thread`` is a greenlet: a one-second WeasyPrint
    render or a minute of a local model would hold the only OS thread and stall
    every live connection. A real thread shares the CPU the way threads always
    did (the interpreter switches every few milliseconds).
    """
    try:
        from gevent import monkey  # lazy: gevent is there only under roundtable serve's gevent worker
    except ImportError:
        monkey = None
    if monkey is not None and monkey.is_module_patched("threading"):
        monkey.get_original("_thread", "start_new_thread")(target, ())
        return
    threading.Thread(target=target, daemon=True, name=name).start()


@dataclass(kw_only=True)
class Job:
    """Progress of one piece of slow work; ``cancel()`` asks it to stop at its next check.

    ``state`` is queued, running, done, cancelled or failed (drafting adds
    unavailable); ``step`` says what it is doing, ``done`` of ``total`` how far
    it got. ``error`` is the user error that ended it, ``result`` what it made.
    """

    kind: str = "job"
    owner: Hashable = None
    state: str = "queued"
    done: int = 0
    total: int = 0
    step: str = ""
    message: str = ""
    result: Any = field(default=None, repr=False)
    error: BaseException | None = field(default=None, repr=False)
    started: float = field(default_factory=time.monotonic)
    finished: float | None = None
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    cancel_event: threading.Event = field(default_factory=threading.Event, repr=False)
    _ended: threading.Event = field(default_factory=threading.Event, repr=False)

    def cancel(self) -> None:
        self.cancel_event.set()

    @property
    def cancelled(self) -> bool:
        """Whether someone asked the job to stop (the work checks it between steps)."""
        return self.cancel_event.is_set()

    @property
    def running(self) -> bool:
        return self.state in ("queued", "running")

    def finish(self, state: str, message: str = "", result: Any = None) -> Job:
        self.state, self.message, self.step, self.finished = state, message, "", time.monotonic()
        if result is not None:
            self.result = result
        self._ended.set()
        return self

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the job has ended; False when ``timeout`` passed first."""
        return self._ended.wait(timeout)


class JobRunner:
    """Runs jobs in background threads of this process and remembers them for ``TTL_S`` after they end."""

    TTL_S = 600

    def __init__(self):
        self._lock = threading.Lock()
        self._jobs: dict[str, Job] = {}
        self._by_key: dict[Hashable, Job] = {}

    def start(self, job: Job, work: Callable[[Job], Any], *, key: Hashable = None, busy: str = "",
              failure: str = "the work failed; see the server log") -> Job:
        """Run ``work(job)`` in a thread; what it returns becomes ``job.result``.

        With ``key``, at most one job per key runs at a time: a second one raises
        :class:`Conflict` with the message ``busy``. A :class:`RoundtableError`
        ends the job ``failed`` with its message; any other error is logged and
        ends it with ``failure`` (the page must learn that it ended, never poll forever).
        """
        with self._lock:
            self._prune()
            if key is not None:
                current = self._by_key.get(key)
                if current is not None and current.running:
                    raise Conflict(busy or "this work is already running")
                self._by_key[key] = job
            self._jobs[job.id] = job

        def run():
            job.state = "running"
            try:
                result = work(job)
            except RoundtableError as exc:
                job.error = exc
                job.finish("failed", str(exc))
            except Exception as exc:
                log.exception("%s job failed", job.kind)
                job.error = exc
                job.finish("failed", failure)
            else:
                if job.finished is None:  # the work may end the job itself (drafting does)
                    if not job.cancelled:
                        job.done = max(job.done, job.total)
                    job.finish("cancelled" if job.cancelled else "done", result=result)

        start_thread(run, name=f"roundtable-{job.kind}-{job.id[:8]}")
        return job

    def get(self, job_id: str) -> Job | None:
        return self._jobs.get(job_id)

    def latest(self, key: Hashable) -> Job | None:
        """The last job started with ``key``."""
        return self._by_key.get(key)

    def forget(self, job_id: str) -> None:
        with self._lock:
            job = self._jobs.pop(job_id, None)
            for key in [k for k, j in self._by_key.items() if j is job]:
                del self._by_key[key]

    def _prune(self) -> None:
        cutoff = time.monotonic() - self.TTL_S
        for job_id in [i for i, j in self._jobs.items() if j.finished is not None and j.finished < cutoff]:
            del self._jobs[job_id]
        for key in [k for k, j in self._by_key.items() if j.finished is not None and j.finished < cutoff]:
            del self._by_key[key]


# --------------------------------------------------------------------------- timers


def later(delay_s: float, work: Callable, *args) -> None:
    """Run ``work(*args)`` once, ``delay_s`` seconds from now, in a background thread."""
    timer = threading.Timer(delay_s, work, args)
    timer.daemon = True
    timer.start()


# --------------------------------------------------------------------------- after-save work

AFTER_SAVE_NICENESS = 10
QUEUE_LIMIT = 10000
_after_save_lock = threading.Lock()

# Called with (note_id, session_id, tags, the series' suggestion floors) for each note the note_saved hook has
# run for.
TagsCallback = Callable[[int, int, Any, Any], None]


def after_save_worker(app, on_tags: TagsCallback):
    """This process's after-save worker, started on first use (``roundtable serve`` starts it up front).

    ``AFTER_SAVE = "thread"`` (the default in test apps) runs the hook in a
    thread of this process; otherwise, and always under gevent, a child process runs it.
    """
    worker = app.extensions.get("roundtable_after_save")
    if worker is None:
        with _after_save_lock:
            worker = app.extensions.get("roundtable_after_save")
            if worker is None:
                kind = app.config.get("AFTER_SAVE") or ("thread" if app.testing else "process")
                if app.config.get("SOCKETIO_ASYNC_MODE") == "gevent":
                    kind = "process"  # under gevent a "thread" is a greenlet: a model run would stall every socket
                worker = (AfterSaveThread if kind == "thread" else AfterSaveProcess)(app, on_tags)
                app.extensions["roundtable_after_save"] = worker
    return worker


def run_after_save(app, job: dict) -> dict:
    """Run the ``note_saved`` hook for one stored note (in the worker process or a test app's thread); its tags."""
    roundtable = app.extensions["roundtable"]
    roundtable.pm.hook.note_saved(roundtable=roundtable, note_id=job["note_id"], series_id=job["series_id"])
    with roundtable.database.session() as db:
        note = db.get(Note, job["note_id"])
        tags = note_to_dict(note)["tags"] if note is not None else None
        floors = db.scalar(select(Series.suggestion_floors).where(Series.id == job["series_id"]))
    return {"note_id": job["note_id"], "session_id": job["session_id"], "tags": tags, "floors": floors}


class AfterSaveThread:
    """One background thread in this process runs the ``note_saved`` work, one note after another.

    A thread per note would let a burst of notes start a burst of model runs that
    compete with broadcasting for the CPU; one queue keeps that work bounded.
    """

    def __init__(self, app, on_tags: TagsCallback):
        self.app = app
        self.on_tags = on_tags
        self.queue: queue.Queue = queue.Queue(maxsize=QUEUE_LIMIT)
        threading.Thread(target=self._run, daemon=True, name="roundtable-after-save").start()

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
                result = run_after_save(app, {"note_id": note_id, "series_id": series_id, "session_id": session_id})
                self.on_tags(note_id, session_id, result["tags"], result["floors"])
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
                     "SUGGESTION_FLOOR", "TESTING")


class AfterSaveProcess:
    """A child process (:mod:`roundtable.worker`) runs the ``note_saved`` work; this side sends note ids and
    hands the tags that come back to ``on_tags``. A child that dies is started again; jobs it held are
    skipped (suggestions are a convenience; the notes are stored)."""

    def __init__(self, app, on_tags: TagsCallback):
        self.app = app
        self.on_tags = on_tags
        self.jobs: queue.Queue = queue.Queue(maxsize=QUEUE_LIMIT)
        self.pending = 0
        self.ready = threading.Event()
        self._lock = threading.Lock()
        self.process = None
        self._start()
        threading.Thread(target=self._send_jobs, daemon=True, name="roundtable-after-save-send").start()

    def _start(self) -> None:
        config = {k: self.app.config.get(k) for k in CHILD_CONFIG_KEYS if self.app.config.get(k) is not None}
        config["INSTANCE_PATH"] = self.app.instance_path
        env = dict(os.environ, ROUNDTABLE_WORKER_CONFIG=json.dumps(config, default=str))
        self.ready.clear()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "roundtable.worker"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            env=env, text=True, bufsize=1,
        )
        threading.Thread(target=self._read_results, args=(self.process,), daemon=True,
                         name="roundtable-after-save-read").start()

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
            try:
                self.on_tags(result["note_id"], result["session_id"], result.get("tags"), result.get("floors"))
            except Exception:  # one failed broadcast must not stop the results that follow
                self.app.logger.exception("sending tags for note %s failed", result.get("note_id"))
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
