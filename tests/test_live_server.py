"""``roundtable serve`` as it runs in production: gunicorn with gevent (or its threaded worker), a limit on
live connections that is said out loud, and theme suggestions computed in a worker process beside the server."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
import socketio

from roundtable.db import Database
from roundtable.live_clients import (SECRET_KEY, NoteClient, ServerProcess, free_port, login_cookie,
                                     prepare_database, wait_until)
from roundtable.models import Note, Session

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("worker", ["gevent", "threads"])
def test_a_connection_over_the_limit_is_refused_with_a_message_and_a_log_line(tmp_path, worker):
    url = f"sqlite:///{tmp_path / 'cap.sqlite'}"
    people = prepare_database(url, note_takers=3)
    server = ServerProcess(url, free_port(), tmp_path, serve_args=("--max-connections", "2", "--worker", worker)).start()
    clients = []
    try:
        cookies = [login_cookie(server.url, email) for email in people["note-takers"]]
        for i in range(2):
            clients.append(NoteClient(server.url, cookies[i], people["session_id"], f"c{i}").connect())
        wait_until(lambda: all(c.joined.is_set() for c in clients))
        third = socketio.Client(reconnection=False)
        said = []
        third.on("connect_error", said.append)
        with pytest.raises(socketio.exceptions.ConnectionError):
            third.connect(server.url, headers={"Cookie": cookies[2]}, transports=["websocket"], wait_timeout=10)
        assert said and "the server is full" in str(said[0])
        clients[0].disconnect()  # a place frees up: the next one gets in
        wait_until(lambda: _connects(server.url, cookies[2]), message="a freed place")
        wait_until(lambda: "refused a live connection: 2 open, the limit is 2" in _log(server))
        assert f"up to 2 live connections, {worker}" in _log(server)
    finally:
        for c in clients[1:]:
            c.disconnect()
        server.stop()


def _connects(url, cookie) -> bool:
    client = socketio.Client(reconnection=False)
    try:
        client.connect(url, headers={"Cookie": cookie}, transports=["websocket"], wait_timeout=5)
    except socketio.exceptions.ConnectionError:
        return False
    client.disconnect()
    return True


def _log(server) -> str:
    return "".join(p.read_text(errors="replace") for p in server.workdir.glob(f"server-{server.port}-*.log"))


def test_suggestions_come_from_the_worker_process_and_the_server_never_loads_the_suggester(tmp_path):
    url = f"sqlite:///{tmp_path / 'worker.sqlite'}"
    people = prepare_database(url, authors=1)
    server = ServerProcess(url, free_port(), tmp_path, plugins="roster,contact_details,keyword_suggester,live_suggestions",
                           extra_env={"ROUNDTABLE_SUGGESTER": "lexical"}).start()
    try:
        wait_until(lambda: len(server.pids()) == 3, message="gunicorn's master, its worker, and the after-save worker")
        writer = NoteClient(server.url, login_cookie(server.url, people["note-takers"][0]), people["session_id"], "w")
        author = NoteClient(server.url, login_cookie(server.url, people["authors"][0]), people["session_id"], "a")
        tags = []
        arrived = threading.Event()
        author.sio.on("note:tags", lambda data: (tags.append(data), arrived.set()))
        try:
            writer.connect(), author.connect()
            wait_until(lambda: writer.joined.is_set() and author.joined.is_set())
            note_id = writer.send_note("The legal defense clinic needs more lawyers for deportation cases")
            assert arrived.wait(120), "suggestions arrive from the worker"
        finally:
            writer.disconnect(), author.disconnect()
        assert tags[0]["tags"] and {t["status"] for t in tags[0]["tags"]} == {"suggested"}
        assert writer.notes[note_id]["id"] == tags[0]["note_id"]
        maps = {pid: _modules(pid) for pid in server.pids()}
        server_side = [pid for pid, m in maps.items() if "roundtable.worker" not in m["cmdline"]]
        worker_side = [pid for pid, m in maps.items() if "roundtable.worker" in m["cmdline"]]
        assert len(worker_side) == 1
        assert all("sklearn" not in maps[pid]["maps"] for pid in server_side), "the server never imports scikit-learn"
        assert "sklearn" in maps[worker_side[0]]["maps"], "the worker ran the lexical suggester"
    finally:
        server.stop()


def _modules(pid: int) -> dict:
    from pathlib import Path

    return {"cmdline": Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(),
            "maps": Path(f"/proc/{pid}/maps").read_text()}


SLOW_DETECTOR = '''
"""A detector that works (holding the interpreter, like a model) until the test lets it go."""
import os
import time
from pathlib import Path

from roundtable import hookimpl

FLAGS = Path(os.environ["SLOW_DETECTOR_FLAGS"])


class SlowDetector:
    name = "slow"

    def detect(self, texts, roster):
        if any("SLOW" in t for t in texts):
            (FLAGS / "started").touch()
            deadline = time.monotonic() + 60
            while not (FLAGS / "release").exists() and time.monotonic() < deadline:
                sum(range(1000))  # CPU work: a greenlet would never yield here
        return [[] for _ in texts]

    def status(self):
        return None


@hookimpl
def register_detectors(register):
    register(SlowDetector())
'''


def test_a_slow_name_detector_does_not_stall_other_clients(tmp_path):
    """Under gevent, detection runs in a real OS thread: while one note is being read by a slow detector, the
    server still answers another client and sends it what others do."""
    plugins, flags = tmp_path / "plugins", tmp_path / "flags"
    plugins.mkdir()
    flags.mkdir()
    (plugins / "slow_detector.py").write_text(SLOW_DETECTOR)
    url = f"sqlite:///{tmp_path / 'slow.sqlite'}"
    people = prepare_database(url, note_takers=2)
    server = ServerProcess(url, free_port(), tmp_path, plugins="roster,contact_details",
                           extra_env={"ROUNDTABLE_PLUGINS_DIR": str(plugins), "SLOW_DETECTOR_FLAGS": str(flags)}).start()
    clients = []
    try:
        slow, other, viewer = (NoteClient(server.url, login_cookie(server.url, email), people["session_id"], name)
                               for email, name in ((people["note-takers"][0], "slow"), (people["note-takers"][1], "other"),
                                                   (people["viewers"][0], "viewer")))
        typing = threading.Event()
        viewer.sio.on("typing", lambda data: typing.set())
        clients = [c.connect() for c in (slow, other, viewer)]
        wait_until(lambda: all(c.joined.is_set() for c in clients))

        slow.send_note("a SLOW note")
        wait_until(lambda: (flags / "started").exists(), message="the slow detector at work")
        reply = other.sio.call("notes:since", {"session_id": people["session_id"], "after": 0}, timeout=60)
        other.sio.emit("typing", {"session_id": people["session_id"], "typing": True})
        assert typing.wait(20), "the viewer hears the other writer typing"
        assert reply["ok"] and reply["notes"] == []
        assert not (flags / "release").exists() and slow.outbox, "all of it while the slow note was still being read"

        (flags / "release").touch()
        wait_until(lambda: [t for _s, _u, t, _v, _d in viewer.stream()] == ["a SLOW note"],
                   message="the slow note arrives once it is read")
    finally:
        (flags / "release").touch()
        for c in clients:
            c.disconnect()
        server.stop()


def test_a_client_whose_server_went_away_stops_reconnecting_when_it_leaves(tmp_path):
    """A test that stops its server before its clients must not leave them reconnecting for ever."""
    url = f"sqlite:///{tmp_path / 'gone.sqlite'}"
    people = prepare_database(url)
    server = ServerProcess(url, free_port(), tmp_path).start()
    try:
        client = NoteClient(server.url, login_cookie(server.url, people["viewers"][0]), people["session_id"]).connect()
        assert client.joined.wait(60)
    finally:
        server.stop()
    wait_until(lambda: not client.sio.connected, message="the client to notice the server is gone")
    time.sleep(1.5)  # a reconnection attempt or two against the closed port
    client.disconnect()
    threads = [t for t in threading.enumerate() if getattr(t, "_target", None) is not None
               and getattr(t._target, "__self__", None) in (client, client.sio, client.sio.eio)]
    assert not [t.name for t in threads if t.is_alive()]


def _store_notes(database_url: str, session_id: int, count: int) -> None:
    database = Database(database_url, secret_key=SECRET_KEY)
    try:
        with database.session() as db:
            meeting = db.get(Session, session_id)
            for seq in range(1, count + 1):
                db.add(Note(session_id=session_id, seq=seq, uuid=str(uuid.uuid4()),
                            text=f"note {seq}: the tenants' union met the housing office about repairs"))
            meeting.last_seq = count
    finally:
        database.dispose()


def test_a_crowd_rejoining_at_once_takes_turns_at_the_database_and_every_page_catches_up(tmp_path, database_url):
    """After a restart every open page rejoins at once. Socket events take turns at the database (as many at
    a time as the pool holds), so with 2 pooled connections (6 with overflow) and a 1-second wait for one,
    30 simultaneous rejoins all get their catch-up and none waits on the pool until it gives up. (Without the
    turns the PostgreSQL run fails; SQLite's calls never let another event run while they hold a connection.)"""
    crowd_size, notes = 30, 300
    people = prepare_database(database_url)
    _store_notes(database_url, people["session_id"], notes)
    server = ServerProcess(database_url, free_port(), tmp_path, extra_env={
        "ROUNDTABLE_DATABASE_POOL_SIZE": "2", "ROUNDTABLE_DATABASE_POOL_TIMEOUT": "1"}).start()
    crowd = []
    try:
        cookie = login_cookie(server.url, people["viewers"][0])
        for _ in range(crowd_size):
            page = socketio.Client(reconnection=False)
            page.connect(server.url, headers={"Cookie": cookie}, transports=["websocket"], wait_timeout=15)
            crowd.append(page)
        together = threading.Barrier(crowd_size)
        caught_up: list = [None] * crowd_size

        def rejoin(i):
            together.wait()
            try:
                reply = crowd[i].call("session:join", {"session_id": people["session_id"], "after": 0}, timeout=120)
            except socketio.exceptions.TimeoutError:
                reply = {"error": "no answer"}
            caught_up[i] = len(reply["notes"]) if reply.get("ok") else reply.get("error")

        rejoins = [threading.Thread(target=rejoin, args=(i,)) for i in range(crowd_size)]
        for thread in rejoins:
            thread.start()
        for thread in rejoins:
            thread.join()
        assert caught_up == [notes] * crowd_size
        assert "QueuePool limit" not in _log(server)
    finally:
        for page in crowd:
            page.disconnect()
        server.stop()
