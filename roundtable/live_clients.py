"""Real servers, real Socket.IO clients and a small fictional series, shared by the tests and the benchmark.

(In the package, not in tests/, so that ``pip install -e ".[bench]"`` is all the bench needs.)

``ServerProcess`` runs ``roundtable serve`` in a subprocess on 127.0.0.1;
``NoteClient`` is a python-socketio client that follows the same protocol as
``static/js/live/``: an outbox of unacknowledged notes, resent in order on
every connect, and a fetch of every note after the last sequence number up to
which it has every note (:class:`SeqWatermark`).
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from datetime import date
from pathlib import Path

import engineio.packet
import requests
import socketio

from roundtable.db import Database
from roundtable.models import Policy, Role, Series, Session, SessionState, Theme
from roundtable.services.accounts import create_account, grant_role
from roundtable.services.anonymize.roster import new_participant

# Roster and pattern detectors only: the same anonymization path, without a model to load at each restart.
FAST_PLUGINS = "roster,contact_details"
PASSWORD = "correct horse battery"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


SECRET_KEY = "live-test-secret"


def make_series(db, slug="harbor-city", policy=Policy.ROLE) -> Series:
    """A small fictional series: three sessions, a roster, a two-level codebook."""
    series = Series(
        slug=slug,
        title="Harbor City Working Group",
        subtitle="Test series",
        organizations=["Civic Lab"],
        authors=["A. Author"],
        funder="A Foundation",
        brief_number="Research Brief No. 2026/01",
        policy=policy,
    )
    db.add(series)
    db.flush()
    for n, month in enumerate((1, 2, 3), start=1):
        db.add(
            Session(
                series_id=series.id,
                number=n,
                title=f"Session {n}",
                date=date(2026, month, 15),
                focus=f"focus of session {n}",
                state=SessionState.LIVE if n == 1 else SessionState.SCHEDULED,
            )
        )
    roster = [
        ("María Núñez", ["Mari"], "Harbor City Law Clinic", "legal advocate", True),
        ("Hope van der Berg", ["Hope"], "Office of the Mayor", "municipal leader", False),
        ("Kwame Mensah-Boateng", [], "Riverside University", "scholar", False),
    ]
    for name, aliases, affiliation, role_label, consent in roster:
        db.add(new_participant(series.id, name, aliases, affiliation, role_label, consent))
    enforcement = Theme(series_id=series.id, name="Federal enforcement", description="Pressure from federal agencies on cities.", position=0)
    legal = Theme(series_id=series.id, name="Legal defense", description="Lawyers and due process for residents.", position=1)
    db.add_all([enforcement, legal])
    db.flush()
    db.add(Theme(series_id=series.id, parent_id=enforcement.id, name="Funding threats", description="Grants withheld.", position=0))
    db.add(Theme(series_id=series.id, name="Invest in legal aid", description="Fund representation.", section="Strategic Directions", position=2))
    db.flush()
    return series


def empty_schema(url: str) -> str:
    """Drop and recreate PostgreSQL's ``public`` schema at ``url``, so a bench starts from no tables."""
    from sqlalchemy import create_engine, text

    from roundtable.db import normalize_url

    engine = create_engine(normalize_url(url))
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return url


def prepare_database(url: str, note_takers: int = 2, viewers: int = 1, authors: int = 0,
                     secret_key: str = SECRET_KEY) -> dict:
    """Create the schema, a series with a live session 1, and accounts; return what clients need.
    Only authors (and up) are sent theme suggestions."""
    database = Database(url, secret_key=secret_key)  # the roster is encrypted with the server's key
    database.upgrade()
    try:
        with database.session() as db:
            series = make_series(db)
            session_id = series.sessions[0].id
            emails = {"note-takers": [], "viewers": [], "authors": []}
            for i in range(note_takers):
                account = create_account(db, f"writer{i}@test.example", f"Writer {i}", PASSWORD)
                grant_role(db, account, series, Role.NOTE_TAKER)
                emails["note-takers"].append(account.email)
            for i in range(viewers):
                account = create_account(db, f"viewer{i}@test.example", f"Viewer {i}", PASSWORD)
                grant_role(db, account, series, Role.VIEWER)
                emails["viewers"].append(account.email)
            for i in range(authors):
                account = create_account(db, f"author{i}@test.example", f"Author {i}", PASSWORD)
                grant_role(db, account, series, Role.AUTHOR)
                emails["authors"].append(account.email)
    finally:
        database.dispose()
    return {"session_id": session_id, "slug": "harbor-city", **emails}


class ServerProcess:
    """``roundtable serve`` on 127.0.0.1:port; restartable, killable with SIGKILL."""

    def __init__(self, database_url: str, port: int, workdir: Path, redis_url: str | None = None,
                 plugins: str | None = FAST_PLUGINS, secret_key: str = SECRET_KEY, extra_env: dict | None = None,
                 serve_args: tuple = ()):
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("ROUNDTABLE_")},
            "ROUNDTABLE_DATABASE_URL": database_url,
            "ROUNDTABLE_INSTANCE_PATH": str(self.workdir / "instance"),
            "ROUNDTABLE_SECRET_KEY": secret_key,
            "PYTHONUNBUFFERED": "1",
        }
        if plugins is not None:
            self.env["ROUNDTABLE_LOAD_PLUGINS"] = plugins
        if redis_url:
            self.env["ROUNDTABLE_REDIS_URL"] = redis_url
        self.env.update(extra_env or {})
        self.serve_args = tuple(serve_args)
        self.process: subprocess.Popen | None = None
        self.starts = 0

    def start(self, timeout: float = 180) -> ServerProcess:
        self.starts += 1
        log = open(self.workdir / f"server-{self.port}-{self.starts}.log", "wb")
        self.process = subprocess.Popen(
            [sys.executable, "-c", "from roundtable.cli import main; main()", "serve", "--port", str(self.port),
             *self.serve_args],
            env=self.env, stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir,
            start_new_session=True,  # its own process group: gunicorn's master, its worker, the after-save worker
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}; see {log.name}")
            try:
                if requests.get(self.url + "/auth/login", timeout=1).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"server on port {self.port} did not start in {timeout} s")

    def kill(self) -> None:
        """SIGKILL to every process of the server at once: no clean shutdown, like a crash or a pulled plug."""
        if self.process and self.process.poll() is None:
            self._signal_group(signal.SIGKILL)
            self.process.wait(timeout=10)
        self._wait_group_gone()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self._signal_group(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
        self._signal_group(signal.SIGKILL)  # whatever is left of the group (a worker still closing sockets)
        self._wait_group_gone()

    def _signal_group(self, sig) -> None:
        try:
            os.killpg(self.process.pid, sig)
        except (ProcessLookupError, PermissionError, AttributeError):
            pass

    def _wait_group_gone(self, timeout: float = 10) -> None:
        """Until no process of the group is left (the port is free for the next start)."""
        deadline = time.monotonic() + timeout
        while self.process and time.monotonic() < deadline:
            try:
                os.killpg(self.process.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)

    def pids(self) -> list[int]:
        """Every live process of the server (master, worker, after-save worker)."""
        if not self.process:
            return []
        found = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if int(fields[2]) == self.process.pid:  # the process group id
                    found.append(int(entry.name))
        return found

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None


def login_cookie(base_url: str, email: str, password: str = PASSWORD) -> str:
    """Log in through the real login form (with its CSRF token); return the Cookie header."""
    http = requests.Session()
    page = http.get(base_url + "/auth/login", timeout=10)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    data = {"email": email, "password": password}
    if token:
        data["csrf_token"] = token.group(1)
    response = http.post(base_url + "/auth/login", data=data, allow_redirects=False, timeout=10)
    if response.status_code != 302:
        raise RuntimeError(f"login failed with {response.status_code}")
    return "; ".join(f"{c.name}={c.value}" for c in http.cookies)


class SeqWatermark:
    """The sequence number up to which a client has every note of a session, and the seqs it holds above it.

    Not the highest seq seen: notes can arrive out of order (two processes, or two greenlets of one, send
    seq 6 before seq 5), and a process can die after storing a note and before sending it. A client that
    rejoined "after the highest seq" would never ask for seq 5 again. The same rule as ``stream.js``.
    """

    def __init__(self):
        self.complete = 0  # every note with seq <= complete is held
        self.ahead: set[int] = set()

    def add(self, seq: int) -> bool:
        """Record a note's seq; False if it was held already (a redundant delivery)."""
        if seq <= self.complete or seq in self.ahead:
            return False
        self.ahead.add(seq)
        self._advance()
        return True

    def caught_up_to(self, last_seq: int) -> None:
        """After a join or since reply: the server had no other note up to its ``last_seq`` (read before the
        notes were), so any number still missing up to there is a hole (notes purged at a close)."""
        if last_seq > self.complete:
            self.ahead = {s for s in self.ahead if s > last_seq}
            self.complete = last_seq
            self._advance()

    @property
    def holes(self) -> bool:
        return bool(self.ahead)

    def _advance(self) -> None:
        while self.complete + 1 in self.ahead:
            self.complete += 1
            self.ahead.discard(self.complete)


class NoteClient:
    """A note-taker's or viewer's client with the browser's delivery protocol."""

    # A seq missing behind a later one for this long is fetched with notes:since (None: only on rejoin);
    # the page waits 10-15 s (main.js), tests need not.
    fill_gaps_after: float | None = 2.0

    def __init__(self, base_url: str, cookie: str, session_id: int, name: str = "client"):
        self.base_url = base_url
        self.cookie = cookie
        self.session_id = session_id
        self.name = name
        self.notes: dict[str, dict] = {}  # uuid -> note
        self.outbox: list[dict] = []
        self.errors: list[dict] = []
        self.received_added = 0
        self.redundant = 0  # note:added deliveries of a note already held (dropped by seq)
        self.seqs = SeqWatermark()
        self._filling = False
        self.on_added = None
        self._lock = threading.RLock()
        self._flushing = False
        self._again = False
        self._round = 0
        self.joined = threading.Event()  # set once the room is joined after each connect
        self._leaving = False  # set by disconnect(): no thread of ours starts another call
        self.sio = socketio.Client(reconnection=True, reconnection_delay=0.2, reconnection_delay_max=1,
                                   randomization_factor=0.2)
        self.sio.on("connect", self._on_connect)
        self.sio.on("note:added", self._on_added)
        self.sio.on("note:updated", self._on_updated)
        self.sio.on("error", self.errors.append)

    # connection

    def connect(self, wait: float = 15) -> NoteClient:
        self._leaving = False
        self.sio.reconnection = True
        self.sio.connect(self.base_url, headers={"Cookie": self.cookie}, transports=["websocket"], wait_timeout=wait)
        return self

    def disconnect(self) -> None:
        """Leave for good: close the connection and stop a reconnection in progress (waiting for it).

        A reconnect loop to a server that is gone would otherwise run for ever, and one that
        succeeds after we left would hold a connection nobody closes.
        """
        # Leaving on purpose: the drop we cause must not start the automatic reconnection.
        self._leaving = True
        self.sio.reconnection = False
        while True:
            ws = getattr(self.sio.eio, "ws", None)
            if ws is not None and self.sio.connected:
                # websocket-client waits up to 3 s for the server's close frame; a test need not.
                self.sio.eio._send_packet(engineio.packet.Packet(engineio.packet.CLOSE))
                ws.close(timeout=0.1)
            self.sio.disconnect()
            self.sio.shutdown()  # aborts a reconnect loop and waits for it; it may have just connected
            if not self.sio.connected:
                return

    def _call(self, event: str, data: dict, timeout: float):
        """``sio.call`` that gives up as soon as the connection drops or we leave.

        ``socketio.Client.call`` waits out its whole timeout on a dead connection, so a join or flush
        thread would outlive ``disconnect()`` by up to that long.
        """
        answered = threading.Event()
        answer = []
        self.sio.emit(event, data, callback=lambda *args: (answer.append(args), answered.set()))
        deadline = time.monotonic() + timeout
        while not answered.wait(0.05):
            if self._leaving or not self.sio.connected:
                raise socketio.exceptions.DisconnectedError()
            if time.monotonic() > deadline:
                raise socketio.exceptions.TimeoutError()
        return answer[0][0] if answer[0] else None

    @property
    def last_seq(self) -> int:
        """The seq up to which this client has every note: what it rejoins ``after``."""
        with self._lock:
            return self.seqs.complete

    def _on_connect(self):
        self.joined.clear()
        threading.Thread(target=self._join_and_flush, daemon=True).start()

    def _join_and_flush(self):
        # A server that just restarted is busy with every client reconnecting: keep asking.
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not self._leaving:
            try:
                reply = self._call("session:join", {"session_id": self.session_id, "after": self.last_seq},
                                  timeout=15)
            except socketio.exceptions.TimeoutError:
                continue
            except (socketio.exceptions.BadNamespaceError, socketio.exceptions.DisconnectedError):
                if self.sio.eio.state != "connected":
                    return  # gone again: the next connect starts over
                time.sleep(0.1)
                continue
            if reply and reply.get("ok"):
                self._store_reply(reply)
                self.joined.set()
                break
            time.sleep(0.5)
        self.flush(restart=True)

    def _store_reply(self, reply: dict, complete_to: int | None = None) -> None:
        """Store a join or since reply's notes; every seq up to ``complete_to`` (default: the reply's
        ``last_seq``) is then held or does not exist."""
        with self._lock:
            for note in reply["notes"]:
                self._store(note)
            self.seqs.caught_up_to(reply["last_seq"] if complete_to is None else complete_to)

    def _store(self, note: dict) -> bool:
        """Keep the newest version of a note; False if its seq was held already."""
        with self._lock:
            new = self.seqs.add(note["seq"])
            known = self.notes.get(note["uuid"])
            if known is None or known["version"] <= note["version"]:
                self.notes[note["uuid"]] = note
            self.outbox = [n for n in self.outbox if n["uuid"] != note["uuid"]]
            return new

    def _on_added(self, note):
        self.received_added += 1
        if not self._store(note):
            with self._lock:
                self.redundant += 1
            return
        if self.on_added:
            self.on_added(note)
        if self.fill_gaps_after is not None and self.seqs.holes:
            self._fill_gaps_later()

    def _fill_gaps_later(self) -> None:
        """Ask for the notes behind a hole that is still there after ``fill_gaps_after`` seconds (late ones
        usually arrive by then: two processes' sends cross)."""
        with self._lock:
            if self._filling:
                return
            self._filling = True
            below = max(self.seqs.ahead) - 1  # every seq up to here should have arrived by then

        def fill():
            try:
                with self._lock:
                    still, after = self.seqs.complete < below, self.seqs.complete
                    before = min(self.seqs.ahead, default=below + 1)
                if still and self.sio.connected:
                    # Only the hole: a seq is taken under the session row's lock until its note commits, so
                    # holding seq `before` means every lower seq is stored (or never will be).
                    reply = self._call("notes:since", {"session_id": self.session_id, "after": after,
                                                          "before": before}, timeout=15)
                    if reply and reply.get("ok"):
                        self._store_reply(reply, complete_to=before - 1)
            except (socketio.exceptions.TimeoutError, socketio.exceptions.BadNamespaceError,
                    socketio.exceptions.DisconnectedError):
                pass  # the next note or connect tries again
            finally:
                with self._lock:
                    self._filling = False

        timer = threading.Timer(self.fill_gaps_after, fill)
        timer.daemon = True
        timer.start()

    def _on_updated(self, note):
        self._store(note)

    # writing

    def send_note(self, text: str, kind: str = "point", note_uuid: str | None = None) -> str:
        item = {"uuid": note_uuid or str(uuid.uuid4()), "text": text, "kind": kind}
        with self._lock:
            self.outbox.append(item)
        if self.sio.connected:
            threading.Thread(target=self.flush, daemon=True).start()
        return item["uuid"]

    def flush(self, restart: bool = False) -> None:
        """Send the outbox oldest first, one at a time; a timeout backs off and sends the same note again;
        stop on a lost connection (retried on connect).

        Each connect starts a new round (``restart``); a round still waiting on a
        dead connection notices that it is stale and stops.
        """
        with self._lock:
            if restart:
                self._round += 1
            elif self._flushing:
                self._again = True
                return
            self._flushing = True
            self._again = False
            my_round = self._round
        backoff = 0.5
        try:
            while True:
                with self._lock:
                    if not self.outbox or not self.sio.connected or self._leaving or my_round != self._round:
                        return
                    item = self.outbox[0]
                try:
                    reply = self._call("note:add", {"session_id": self.session_id, **item}, timeout=10)
                except socketio.exceptions.TimeoutError:
                    # Like the page's outbox: a busy server gets the same note again after a pause (it
                    # stores a resent note once); returning would leave the queue until the next note.
                    time.sleep(backoff)
                    backoff = min(backoff * 2, 5.0)
                    continue
                except (socketio.exceptions.BadNamespaceError, socketio.exceptions.DisconnectedError):
                    return  # the next connect flushes again
                backoff = 0.5
                if reply and reply.get("ok"):
                    self._store(reply["note"])
                elif reply and reply.get("code") == 429:
                    time.sleep(0.5)
                else:
                    with self._lock:
                        self.errors.append(reply)
                        self.outbox = [n for n in self.outbox if n["uuid"] != item["uuid"]]
        finally:
            with self._lock:
                current = my_round == self._round
                if current:
                    self._flushing = False
                again = current and self._again
        if again:
            self.flush()

    def catch_up(self) -> None:
        self._store_reply(self._call("notes:since", {"session_id": self.session_id, "after": 0}, timeout=15))

    def stream(self) -> list[tuple]:
        """The stream as this client sees it: (seq, uuid, text, version, deleted) in order."""
        with self._lock:
            return sorted((n["seq"], n["uuid"], n["text"], n["version"], n["deleted"]) for n in self.notes.values())


def wait_until(condition, timeout: float = 60, interval: float = 0.05, message: str = "condition") -> None:
    """Until ``condition()`` is true; the deadline is generous because a loaded CI machine is slow, and the
    wait ends as soon as the condition holds. Never use it to show that something does not happen."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {message}")
