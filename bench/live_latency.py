"""Fan-out latency of the live note stream, against a bare python-socketio floor, with server CPU per note.

Starts ``roundtable serve`` (``--worker gevent``, the default, or ``threads``; SQLite by default, or
``--processes 2`` over ``--database-url`` PostgreSQL and ``--redis-url``), or
targets servers already running (``--target URL``, repeated), connects V
viewers and T typists (each typist sends one note per second), and measures,
for every note and every viewer, the time from the typist's send to the
viewer's receipt of ``note:added``. Then it runs the same load against a bare
python-socketio broadcast server (no database, no plugins) on the same gunicorn
worker, and prints the ratio of the two p99s and of the two servers' CPU per
note. ``--repeat N`` runs it all N times and ends with one line: the median
p99 ratio and its min-max spread (it swings with the load between neighbouring
rounds of the same code), the CPU-per-note ratio (the steadier figure), and the
lost and duplicated notes over every round (``summary`` in ``--json``).

Viewers are light: raw asyncio WebSocket clients speaking Engine.IO 4 / Socket.IO 5
(a few hundred per process), so the load generator leaves the cores to the
servers. Viewers follow the page's sequence rule (``static/js/live/seqs.js``): they rejoin after the
seq up to which they have every note, drop a note they already hold (``redundant``: a
live send that crossed a rejoin's catch-up) and fetch a seq still missing behind a later
one. Typists are python-socketio clients with the page's outbox protocol
(:class:`roundtable.live_clients.NoteClient`), so with ``--kill N`` (SIGKILL
every server process N times and restart) the run still counts every note.
When typing stops the bench waits (up to DRAIN_TIMEOUT) until every viewer has
every stored note, so a late note is counted as late (``drain_s``), not lost:
``lost`` is a note a typist wrote that is missing from the database or, after
the drain, from a viewer's stream; ``duplicated`` is a note stored twice or
shown twice in a viewer's stream. Server CPU is counted until the drain ends. For each kill it
reports the outage: seconds until the servers listen again, and until each viewer has its rejoin's
catch-up (p50, p95, max).

    python bench/live_latency.py --viewers 200 --typists 10 --duration 10
    python bench/live_latency.py --processes 2 --viewers 1000 --typists 20 \
        --database-url postgresql://postgres@127.0.0.1:5432/roundtable_bench --reset-database \
        --redis-url redis://127.0.0.1:6379/0 --kill 3
    python bench/live_latency.py --repeat 3 --json

Needs only ``pip install -e ".[bench]"``. Everything runs on 127.0.0.1 and is bounded by --duration.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import queue
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

from roundtable.live_clients import NoteClient, ServerProcess, empty_schema, free_port, prepare_database, wait_until

VIEWERS_PER_PROCESS = 500
# A viewer fetches a seq still missing behind a later one after 10-15 s, like the page (main.js).
FILL_HOLE_AFTER = 10.0
FILL_HOLE_JITTER = 5.0
# After typing stops, how long viewers may take to receive the notes still on their way.
DRAIN_TIMEOUT = 180.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


# --- the bare floor -----------------------------------------------------------------------------

BARE_SERVER = r'''
import itertools, os, threading
import socketio

sio = socketio.Server(async_mode=os.environ["BARE_ASYNC_MODE"], cors_allowed_origins=None)
counter = itertools.count(1)
seen = {}
lock = threading.Lock()

@sio.on("session:join")
def join(sid, data):
    sio.enter_room(sid, "room")
    return {"ok": True, "state": "live", "last_seq": 0, "notes": [], "presence": {}, "you": {}}

@sio.on("notes:since")
def since(sid, data):
    before = data.get("before") or float("inf")
    notes = sorted((n for n in list(seen.values()) if data["after"] < n["seq"] < before), key=lambda n: n["seq"])
    return {"ok": True, "state": "live", "last_seq": len(seen), "notes": notes}

@sio.on("note:add")
def add(sid, data):
    with lock:
        note = seen.get(data["uuid"])
        created = note is None
        if created:
            note = {"id": next(counter), "uuid": data["uuid"], "text": data["text"], "kind": data.get("kind", "point"),
                    "version": 1, "deleted": False, "session_id": data["session_id"], "tags": [], "replacements": []}
            note["seq"] = note["id"]
            seen[data["uuid"]] = note
    if created:
        sio.emit("note:added", note, to="room")
    return {"ok": True, "id": note["id"], "seq": note["seq"], "note": note}

app = socketio.WSGIApp(sio)
'''


class BareServer:
    """The floor: python-socketio alone on the same gunicorn stack (gevent or gthread), one process."""

    def __init__(self, port: int, workdir: Path, connections: int, worker: str = "gevent"):
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.workdir = workdir
        self.connections = connections
        self.worker = worker
        self.process = None

    def start(self):
        (self.workdir / "bare_server.py").write_text(BARE_SERVER)
        log = open(self.workdir / "bare.log", "wb")
        stack = (["--worker-class", "gevent"] if self.worker == "gevent"
                 else ["--worker-class", "gthread", "--threads", str(self.connections)])
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", *stack, "--workers", "1", "--worker-connections", str(self.connections),
             "--bind", f"127.0.0.1:{self.port}", "--log-level", "warning", "bare_server:app"],
            cwd=self.workdir, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            env=dict(os.environ, BARE_ASYNC_MODE="gevent" if self.worker == "gevent" else "threading"))
        log.close()
        import requests

        def up():
            try:
                return requests.get(self.url + "/socket.io/?EIO=4&transport=polling", timeout=1).status_code == 200
            except requests.RequestException:
                return False

        wait_until(up, timeout=30, message="bare server")
        return self

    def stop(self):
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, 9)
            self.process.wait(timeout=10)

    def pids(self):
        return ServerProcess.pids(self)


class RunningServer:
    """A server someone else started (``--target``): measured, never killed."""

    def __init__(self, url: str):
        self.url = url.rstrip("/")

    def pids(self):
        return []


# --- viewers: raw asyncio WebSocket clients, in worker processes --------------------------------


async def _viewer(url, cookie, session_id, seen, counts, ready, stop, seqs, joined_at):
    """One viewer: the page's protocol (seqs.js) on a raw WebSocket. Rejoins after the seq up to which it
    has every note, drops a note it holds already (counted as redundant), and fetches a seq still missing
    behind a later one after 10-15 seconds."""
    import websockets

    ws_url = url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
    filling = [0]  # the "before" of the hole being fetched

    def take(notes, how):
        for note in notes:
            if not seqs.add(note["seq"]):
                counts["redundant"] += how == "live"
            elif note["uuid"] in seen:
                counts["duplicates"] += 1  # one note under two seqs: stored twice
            else:
                seen[note["uuid"]] = time.time() if how == "live" else None  # catch-up: no fan-out latency
                counts[how] += 1

    async def fill_holes(ws):
        while True:
            await asyncio.sleep(1.0)
            below = max(seqs.ahead, default=0) - 1
            if below > seqs.complete:
                await asyncio.sleep(FILL_HOLE_AFTER + random.random() * FILL_HOLE_JITTER)
                if below > seqs.complete:
                    # Only the hole (seqs commit in order, so everything below a held seq is stored).
                    filling[0] = min(seqs.ahead, default=seqs.complete + 1)
                    await ws.send(f'422["notes:since",{{"session_id":{session_id},"after":{seqs.complete},'
                                  f'"before":{filling[0]}}}]')

    while not stop.is_set():
        try:
            async with websockets.connect(ws_url, additional_headers={"Cookie": cookie} if cookie else None,
                                          open_timeout=60, ping_interval=None, max_size=None,
                                          compression=None) as ws:
                filler = asyncio.create_task(fill_holes(ws))
                try:
                    async for message in ws:
                        if message == "2":  # Engine.IO ping
                            await ws.send("3")
                        elif message.startswith("0"):
                            await ws.send("40")
                        elif message.startswith("40"):
                            await ws.send(f'421["session:join",{{"session_id":{session_id},"after":{seqs.complete}}}]')
                        elif message.startswith('42["note:added"'):
                            take([json.loads(message[2:])[1]], "live")
                        elif message.startswith(("431", "432")):  # join / notes:since replies: what was missed
                            reply = json.loads(message[3:])[0]
                            joining = message[2] == "1"
                            if joining:
                                joined_at.append(time.time())
                            take(reply.get("notes", []), "caught_up" if joining else "hole_filled")
                            seqs.caught_up_to(reply.get("last_seq", 0) if joining else filling[0] - 1)
                            ready.set()
                        if stop.is_set():
                            return
                finally:
                    filler.cancel()
        except Exception:  # a restart: reconnect, rejoin after the last complete seq
            counts["reconnects"] += 1
            await asyncio.sleep(0.3 + random.random())


def viewer_worker(url, cookie, session_id, count, ready, stop, final_seq, drained, results):
    try:
        viewers = asyncio.run(_viewers(url, cookie, session_id, count, ready, stop, final_seq, drained))
        results.put([dict(v, server=url) for v in viewers])
    except BaseException as exc:  # the parent must hear about it rather than wait
        results.put({"error": f"{type(exc).__name__}: {exc}"})
        ready.set()
        drained.set()


async def _viewers(url, cookie, session_id, count, ready, stop, final_seq, drained_event):
    from roundtable.live_clients import SeqWatermark

    stopping = asyncio.Event()
    joined = [asyncio.Event() for _ in range(count)]
    seen = [dict() for _ in range(count)]
    seqs = [SeqWatermark() for _ in range(count)]
    joined_at = [[] for _ in range(count)]  # when each join's catch-up arrived: the first, then each rejoin
    counts = [{"duplicates": 0, "redundant": 0, "reconnects": 0, "live": 0, "caught_up": 0, "hole_filled": 0} for _ in range(count)]
    tasks = []
    for i in range(count):
        tasks.append(asyncio.create_task(_viewer(url, cookie, session_id, seen[i], counts[i], joined[i], stopping,
                                                 seqs[i], joined_at[i])))
        if i % 25 == 24:
            await asyncio.sleep(0.05)  # a crowd arriving, not a stampede
    await asyncio.wait_for(asyncio.gather(*(j.wait() for j in joined)), timeout=300)
    ready.set()
    while not stop.is_set():
        await asyncio.sleep(0.1)
    # Typing is over and every note is stored (final_seq): wait until each viewer has every note, so that a
    # note still on its way (late) is not counted as lost.
    started = time.monotonic()
    while time.monotonic() - started < DRAIN_TIMEOUT and any(s.complete < final_seq.value for s in seqs):
        await asyncio.sleep(0.1)
    drained = time.monotonic() - started
    drained_event.set()  # the parent reads the servers' CPU now, before the viewers leave
    await asyncio.sleep(0.5)
    stopping.set()
    await asyncio.sleep(0.2)
    for t in tasks:
        t.cancel()
    return [{"received": dict(seen[i]), "drain_s": drained, "joined_at": joined_at[i], **counts[i]}
            for i in range(count)]


# --- one run ------------------------------------------------------------------------------------


def _proc(pid: int) -> dict | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        status = Path(f"/proc/{pid}/status").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    rss = next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0)
    return {"cpu_s": (int(stat[11]) + int(stat[12])) / CLOCK_TICKS, "rss_kb": rss,
            "worker": b"roundtable.worker" in cmdline}


class ServerSampler(threading.Thread):
    """CPU seconds and peak resident memory of the servers' processes, from /proc, split into the web
    server processes and their after-save workers."""

    def __init__(self, servers):
        super().__init__(daemon=True)
        self.servers = servers
        self.peak_kb = {"server": 0, "worker": 0}
        self.running = True

    def cpu(self) -> dict:
        totals = {"server": 0.0, "worker": 0.0}
        for server in self.servers:
            for pid in server.pids():
                info = _proc(pid)
                if info:
                    totals["worker" if info["worker"] else "server"] += info["cpu_s"]
        return totals

    def sample(self):
        for server in self.servers:
            for pid in server.pids():
                info = _proc(pid)
                if info:
                    key = "worker" if info["worker"] else "server"
                    self.peak_kb[key] = max(self.peak_kb[key], info["rss_kb"])

    def run(self):
        while self.running:
            self.sample()
            time.sleep(0.25)


def percentile(values, p):
    if not values:
        return None
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def run_load(servers, cookies, session_id, args, kill_times=(), db_url=None, label="", restart=None, trace=None):
    """Connect viewers and typists to ``servers`` (round robin), type for ``args.duration`` seconds, return figures."""
    ctx = multiprocessing.get_context("fork")
    results = ctx.Queue()
    stop = ctx.Event()
    final_seq = ctx.Value("i", 0)  # the last note's seq, once every note is stored
    drained_events = []  # one per viewer process: set when its viewers have every note
    workers = []
    per_server = [args.viewers // len(servers) + (1 if i < args.viewers % len(servers) else 0) for i in range(len(servers))]
    for server, count in zip(servers, per_server):
        while count > 0:
            n = min(VIEWERS_PER_PROCESS, count)
            count -= n
            ready, drained = ctx.Event(), ctx.Event()
            p = ctx.Process(target=viewer_worker, args=(server.url, cookies["viewer"], session_id, n, ready, stop,
                                                                final_seq, drained, results))
            p.start()
            workers.append((p, ready))
            drained_events.append(drained)
    for p, ready in workers:
        if not ready.wait(300):
            raise RuntimeError("viewers did not connect")

    typists = [NoteClient(servers[i % len(servers)].url, cookies["typists"][i % len(cookies["typists"])], session_id,
                          f"typist-{i}").connect() for i in range(args.typists)]
    wait_until(lambda: all(t.joined.is_set() for t in typists), timeout=60)
    # Warm-up, not measured.
    typists[0].send_note("warm-up note before the measured run")
    wait_until(lambda: not typists[0].outbox, timeout=120, message="warm-up note")
    sent_at: dict[str, float] = {}
    sent_lock = threading.Lock()
    sampler = ServerSampler(servers)
    sampler.start()
    cpu_before = sampler.cpu()

    start = time.time()
    end = start + args.duration

    def typist_loop(i, client):
        n = 0
        next_at = start + (i / max(1, args.typists)) / args.rate
        while next_at < end:
            time.sleep(max(0.0, next_at - time.time()))
            note_uuid = str(uuid.uuid4())
            with sent_lock:
                sent_at[note_uuid] = time.time()
            client.send_note(f"typist {i} note {n}: the city should fund more legal aid", note_uuid=note_uuid)
            n += 1
            next_at += 1.0 / args.rate

    threads = [threading.Thread(target=typist_loop, args=(i, t), daemon=True) for i, t in enumerate(typists)]
    for t in threads:
        t.start()
    kills = 0
    outages = []  # per kill: when it happened, and when the servers listened again
    for at in kill_times:
        time.sleep(max(0.0, start + at - time.time()))
        sampler.sample()
        killed = time.time()
        restart()
        outages.append((killed, time.time()))
        kills += 1
    for t in threads:
        t.join()
    try:
        wait_until(lambda: all(not t.outbox for t in typists), timeout=180, message="typist outboxes drained")
    except AssertionError:
        for t in typists:
            print(t.name, "waiting:", len(t.outbox), "connected:", t.sio.connected, "errors:", t.errors[-3:],
                  file=sys.stderr)
        stop.set()
        sampler.running = False
        for p, _ready in workers:
            p.kill()
        for t in typists:
            t.disconnect()
        raise
    with final_seq.get_lock():
        final_seq.value = max(n["seq"] for t in typists for n in list(t.notes.values()))
    stop.set()
    for drained in drained_events:
        drained.wait(DRAIN_TIMEOUT + 60)
    cpu_after = sampler.cpu()  # the servers' work for every note, late deliveries included, not the leaving
    viewer_results = []
    try:
        for _ in workers:
            got = results.get(timeout=300)
            if isinstance(got, dict):
                raise RuntimeError(f"a viewer process failed: {got['error']}")
            viewer_results.extend(got)
    except queue.Empty:
        raise RuntimeError("viewer processes did not report within 300 s (server overloaded?)") from None
    finally:
        for p, _ready in workers:
            p.join(timeout=20)
            if p.is_alive():
                p.kill()
    sampler.running = False
    sampler.sample()
    for t in typists:
        t.disconnect()
    stages = note_stages(trace, sent_at, viewer_results, servers) if trace else None

    sent = set(sent_at)
    latencies = []
    lost_to_viewers = dup = reconnects = 0
    how = {"live": 0, "caught_up": 0, "hole_filled": 0, "redundant": 0}
    for v in viewer_results:
        for note_uuid, received in v["received"].items():
            if received is not None and note_uuid in sent_at:
                latencies.append((received - sent_at[note_uuid]) * 1000)
        lost_to_viewers += len(sent - set(v["received"]))
        dup += v["duplicates"]
        for key in how:
            how[key] += v[key]
        reconnects += v["reconnects"]
    stored_dups = lost_in_db = 0
    if db_url:
        from sqlalchemy import create_engine, text

        from roundtable.db import normalize_url

        engine = create_engine(normalize_url(db_url))
        with engine.connect() as conn:
            rows = [r[0] for r in conn.execute(text("SELECT uuid FROM notes WHERE session_id = :s"), {"s": session_id})]
        engine.dispose()
        stored_dups = len(rows) - len(set(rows))
        lost_in_db = len(sent - set(rows))
    notes = max(1, len(sent))
    measured_cpu = not kills and servers[0].pids()
    return {
        "label": label, "servers": len(servers), "viewers": args.viewers, "typists": args.typists,
        "duration_s": args.duration, "notes_sent": len(sent), "deliveries": len(latencies),
        "p50_ms": round(percentile(latencies, 50), 1) if latencies else None,
        "p95_ms": round(percentile(latencies, 95), 1) if latencies else None,
        "p99_ms": round(percentile(latencies, 99), 1) if latencies else None,
        "max_ms": round(max(latencies), 1) if latencies else None,
        "mean_ms": round(statistics.fmean(latencies), 1) if latencies else None,
        "lost": lost_in_db + lost_to_viewers, "lost_in_database": lost_in_db, "lost_to_viewers": lost_to_viewers,
        "duplicated": dup + stored_dups, "kills": kills, "viewer_reconnects": reconnects,
        # How viewers got their notes: live, in a rejoin's catch-up, by fetching a hole; and live deliveries of a
        # note already held (after a rejoin's catch-up), which the page drops by seq.
        "delivered_live": how["live"], "caught_up_on_rejoin": how["caught_up"], "hole_filled": how["hole_filled"],
        "redundant_deliveries": how["redundant"],
        # Seconds after the last note was stored until every viewer had every note (late, not lost).
        "drain_s": round(max((v["drain_s"] for v in viewer_results), default=0), 1),
        "server_cpu_ms_per_note": round((cpu_after["server"] - cpu_before["server"]) * 1000 / notes, 2) if measured_cpu else None,
        "worker_cpu_ms_per_note": round((cpu_after["worker"] - cpu_before["worker"]) * 1000 / notes, 2) if measured_cpu else None,
        "outages": _outages(outages, viewer_results),
        "server_peak_rss_mb": round(sampler.peak_kb["server"] / 1024, 1),
        "worker_peak_rss_mb": round(sampler.peak_kb["worker"] / 1024, 1),
        **({"stages": stages} if stages else {}),
    }


# The stages of one note:add (roundtable/note_trace.py), each after the one it follows: in the sender's
# process, the Redis publish starts once the note is queued for the local sockets; then the other process
# (remote_*) and the last viewer on each side.
STAGES = {"received": "sent", "turn": "received", "checked": "turn", "anonymized": "checked", "stored": "anonymized",
          "fan_out": "stored", "queued": "fan_out", "published": "queued", "answered": "published",
          "remote_fan_out": "queued", "remote_queued": "remote_fan_out",
          "last_local_viewer": "queued", "last_remote_viewer": "remote_queued"}


def note_stages(trace: Path, sent_at: dict, viewer_results: list, servers) -> dict:
    """Per stage of a note: milliseconds since the typist's send and since the stage before (p50, p99),
    from the servers' trace lines and the viewers' receipts; and the servers' garbage collections."""
    server_of_pid = {pid: n for n, server in enumerate(servers) for pid in server.pids()}
    server_of_url = {server.url: n for n, server in enumerate(servers)}
    at: dict[str, dict] = {u: {"sent": sent} for u, sent in sent_at.items()}
    sender: dict[str, int] = {}
    collections = {}
    lines = trace.read_text().splitlines() if trace.exists() else []
    for line in lines:
        when, pid, note_uuid, stage, *rest = line.split()
        if note_uuid == "gc":
            collections.setdefault(stage, []).append((float(when), float(rest[0]) * 1000))
        elif note_uuid in at and stage == "received":
            sender[note_uuid] = server_of_pid.get(int(pid))
            at[note_uuid].setdefault(stage, float(when))
    for line in lines:
        when, pid, note_uuid, stage, *rest = line.split()
        if note_uuid in at and stage != "received":
            remote = stage in ("fan_out", "queued") and server_of_pid.get(int(pid)) != sender.get(note_uuid)
            at[note_uuid].setdefault(("remote_" if remote else "") + stage, float(when))
    for v in viewer_results:
        local = server_of_url.get(v.get("server"))
        for note_uuid, received in v["received"].items():
            if received is None or note_uuid not in at:
                continue
            times = at[note_uuid]
            key = "last_local_viewer" if local == sender.get(note_uuid) else "last_remote_viewer"
            times[key] = max(times.get(key, received), received)
    figures = {}
    for stage, follows in STAGES.items():
        since_send, step = [], []
        for times in at.values():
            if stage in times and follows in times:
                since_send.append((times[stage] - times["sent"]) * 1000)
                step.append((times[stage] - times[follows]) * 1000)
        if since_send:
            figures[stage] = {"notes": len(since_send),
                              "since_send_p50_ms": round(percentile(since_send, 50), 1),
                              "since_send_p99_ms": round(percentile(since_send, 99), 1),
                              "step_p50_ms": round(percentile(step, 50), 1),
                              "step_p99_ms": round(percentile(step, 99), 1)}
    # Collections while notes were on their way: from the first send to the last viewer's receipt.
    start = min(sent_at.values(), default=0)
    end = max((t for times in at.values() for t in times.values()), default=0)
    gc_figures = {}
    for generation, pauses in sorted(collections.items()):
        ms = [pause for when, pause in pauses if start <= when <= end]
        if ms:
            gc_figures[f"generation_{generation}"] = {"count": len(ms), "total_ms": round(sum(ms), 1),
                                                      "max_ms": round(max(ms), 1)}
    return {"per_stage": figures, "garbage_collections": gc_figures}


def _outages(outages, viewer_results) -> list[dict]:
    """For each kill: seconds until the servers listened again, and until each viewer had its rejoin's
    catch-up (p50, p95, max over viewers; a viewer that did not rejoin before the next kill is counted there)."""
    figures = []
    for n, (killed, listening) in enumerate(outages):
        until = outages[n + 1][0] if n + 1 < len(outages) else float("inf")
        waits = [min(t for t in v["joined_at"] if killed <= t < until) - killed for v in viewer_results
                 if any(killed <= t < until for t in v["joined_at"])]
        figures.append({"servers_back_s": round(listening - killed, 2), "viewers_rejoined": len(waits),
                        "rejoined_p50_s": round(percentile(waits, 50), 2) if waits else None,
                        "rejoined_p95_s": round(percentile(waits, 95), 2) if waits else None,
                        "rejoined_max_s": round(max(waits), 2) if waits else None})
    return figures


def session_cookies(db_url: str, secret_key: str, instance: Path, typists: int) -> dict:
    """Mint login cookies with the server's secret key (the login form is rate-limited per address)."""
    from flask import session
    from sqlalchemy import select

    from roundtable import create_app
    from roundtable.models import Account
    from roundtable.web.authorization import start_login

    app = create_app({"DATABASE_URL": db_url, "SECRET_KEY": secret_key, "INSTANCE_PATH": str(instance)})
    serializer = app.session_interface.get_signing_serializer(app)
    db = app.extensions["roundtable"].database.sessionmaker()
    cookies = {"typists": []}
    try:
        accounts = db.scalars(select(Account).order_by(Account.id)).all()
        for account in accounts:
            with app.test_request_context():
                start_login(account)
                value = f"{app.config['SESSION_COOKIE_NAME']}={serializer.dumps(dict(session))}"
            if account.email.startswith("writer"):
                cookies["typists"].append(value)
            elif account.email.startswith("viewer"):
                cookies["viewer"] = value
    finally:
        db.close()
        app.extensions["roundtable"].database.dispose()
    return cookies


def one_round(args, tmp: Path, say) -> dict:
    """Roundtable under the load, then (unless --no-baseline) the bare floor under the same load."""
    loaded = os.getloadavg()[0]
    trace = tmp / "note_trace.log" if args.stages else None
    secret = args.secret_key or "bench-" + uuid.uuid4().hex
    db_url = args.database_url or f"sqlite:///{tmp / 'bench.sqlite'}"
    if args.target:
        servers = [RunningServer(u) for u in args.target]
        people = {"session_id": args.session_id}
    else:
        if args.database_url:
            empty_schema(args.database_url)
        people = prepare_database(db_url, note_takers=args.typists, viewers=1, secret_key=secret)
        env = {"ROUNDTABLE_NAME_VETO": args.name_veto, **({"ROUNDTABLE_NOTE_TRACE": str(trace)} if trace else {})}
        servers = [ServerProcess(db_url, free_port(), tmp / f"server{i}", plugins=args.plugins, secret_key=secret,
                                 redis_url=args.redis_url, extra_env=env,
                                 serve_args=("--max-connections", str(args.viewers + 100), "--worker", args.worker))
                   for i in range(args.processes)]
    cookies = session_cookies(db_url, secret, tmp / "cookies", args.typists)
    kill_times = sorted(random.uniform(0.15, 0.85) * args.duration for _ in range(args.kill))

    def restart():
        for server in servers:
            server.kill()
        time.sleep(0.3)
        for server in servers:
            server.start(timeout=180)

    say(f"Roundtable ({args.worker}): {len(servers)} process(es), plugins {args.plugins or 'all installed'}, "
        f"{args.viewers} viewers, {args.typists} typists, {args.duration:g} s…")
    for server in servers:
        if isinstance(server, ServerProcess):
            server.start(timeout=180)
    try:
        result = {"roundtable": run_load(servers, cookies, people["session_id"], args, kill_times, db_url, "roundtable",
                                         restart, trace)}
    finally:
        for server in servers:
            if isinstance(server, ServerProcess):
                server.stop()
    if not args.no_baseline:
        say(f"Same load against a bare python-socketio broadcast server (gunicorn, {args.worker})…")
        bare = BareServer(free_port(), tmp, connections=args.viewers + 100, worker=args.worker).start()
        bare_args = argparse.Namespace(**{**vars(args), "kill": 0})
        try:
            result["bare_socketio"] = run_load([bare], {"viewer": "", "typists": [""]}, people["session_id"],
                                               bare_args, (), None, "bare")
        except (AssertionError, RuntimeError) as exc:  # a floor that collapses is a result, not a crash
            result["bare_socketio"] = {"label": "bare", "failed": str(exc)}
            say(f"the bare server did not keep up: {exc}")
        finally:
            bare.stop()
        ours, floor = result["roundtable"], result["bare_socketio"]
        if floor.get("p99_ms") and ours["p99_ms"]:
            result["p99_ratio"] = round(ours["p99_ms"] / floor["p99_ms"], 2)
        if floor.get("server_cpu_ms_per_note") and ours["server_cpu_ms_per_note"]:
            result["cpu_ratio"] = round(ours["server_cpu_ms_per_note"] / floor["server_cpu_ms_per_note"], 2)
    result["load_average"] = [round(loaded, 2), round(os.getloadavg()[0], 2)]
    return result


def summarize(rounds: list[dict]) -> dict:
    """The verdict over rounds: the p99 ratio to the bare floor swings with the load between neighbouring
    rounds of the same code, so it is given as median and min-max; server CPU per note ours / bare is the
    steadier figure; lost and duplicated are totals over every round."""

    def median_range(values):
        values = [v for v in values if v is not None]
        return {"median": round(statistics.median(values), 2), "min": min(values), "max": max(values)} if values else None

    ours = [r["roundtable"] for r in rounds]
    return {
        "rounds": len(rounds),
        "p99_ratio": median_range(r.get("p99_ratio") for r in rounds),
        "cpu_ratio": median_range(r.get("cpu_ratio") for r in rounds),
        "p99_ms": median_range(o.get("p99_ms") for o in ours),
        "bare_p99_ms": median_range(r.get("bare_socketio", {}).get("p99_ms") for r in rounds),
        "server_cpu_ms_per_note": median_range(o.get("server_cpu_ms_per_note") for o in ours),
        "bare_cpu_ms_per_note": median_range(r.get("bare_socketio", {}).get("server_cpu_ms_per_note") for r in rounds),
        "lost": sum(o.get("lost", 0) for o in ours),
        "duplicated": sum(o.get("duplicated", 0) for o in ours),
    }


def summary_line(summary: dict) -> str:
    def shown(figure, unit=""):
        if figure is None:
            return "-"
        return f"median {figure['median']}{unit} (min {figure['min']}{unit}, max {figure['max']}{unit})"

    return (f"over {summary['rounds']} round(s): p99 ratio {shown(summary['p99_ratio'], 'x')}; "
            f"server CPU per note ours / bare {shown(summary['cpu_ratio'], 'x')}; "
            f"lost {summary['lost']}, duplicated {summary['duplicated']}")


def print_stages(stages: dict) -> None:
    print(f"{'stage of a note (ms)':<20} {'after':<16} {'since send p50':>14} {'p99':>8} {'step p50':>9} {'p99':>8}")
    for stage, figure in stages["per_stage"].items():
        print(f"{stage:<20} {STAGES[stage]:<16} {figure['since_send_p50_ms']:>14} {figure['since_send_p99_ms']:>8} "
              f"{figure['step_p50_ms']:>9} {figure['step_p99_ms']:>8}")
    for generation, figure in stages["garbage_collections"].items():
        print(f"garbage collections, {generation}: {figure['count']}, {figure['total_ms']} ms in all, "
              f"longest {figure['max_ms']} ms (both processes)")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--viewers", type=int, default=200)
    parser.add_argument("--typists", type=int, default=10)
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of typing")
    parser.add_argument("--rate", type=float, default=1.0, help="notes per second per typist")
    parser.add_argument("--kill", type=int, default=0, help="SIGKILL every server process and restart, N times")
    parser.add_argument("--processes", type=int, default=1, help="server processes (2 needs --redis-url and PostgreSQL)")
    parser.add_argument("--database-url", help="PostgreSQL for the servers (default: a temporary SQLite file)")
    parser.add_argument("--reset-database", action="store_true", help="empty --database-url's public schema first")
    parser.add_argument("--redis-url", help="Socket.IO message queue shared by the processes")
    parser.add_argument("--target", action="append", help="URL of a running server (repeat for several); "
                        "needs --database-url, --secret-key and --session-id of a database the bench prepared")
    parser.add_argument("--secret-key", help="the running servers' secret key (to mint login cookies)")
    parser.add_argument("--session-id", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=1, help="run everything N times and report the spread")
    parser.add_argument("--no-baseline", action="store_true", help="skip the bare python-socketio run")
    parser.add_argument("--name-veto", choices=("everywhere", "batch"), default="everywhere",
                        help="ROUNDTABLE_NAME_VETO for the servers: batch keeps the medium name model out of them")
    parser.add_argument("--plugins", default=None,
                        help="ROUNDTABLE_LOAD_PLUGINS for the server (default: every installed plugin)")
    parser.add_argument("--worker", choices=("gevent", "threads"), default="gevent",
                        help="roundtable serve --worker, and the same gunicorn worker for the bare floor")
    parser.add_argument("--stages", action="store_true",
                        help="time each stage of every note in the servers (ROUNDTABLE_NOTE_TRACE) and print p50/p99 "
                             "per stage, and the servers' garbage collections")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    for name in ("viewers", "typists"):
        if not 1 <= getattr(args, name) <= 5000:
            parser.error(f"--{name} must be between 1 and 5000")
    if not 1 <= args.duration <= 600:
        parser.error("--duration must be between 1 and 600 seconds")
    if args.processes > 1 and not (args.redis_url and args.database_url):
        parser.error("--processes 2 needs --redis-url and --database-url (PostgreSQL)")
    if args.database_url and not args.target and not args.reset_database:
        parser.error("--database-url is emptied for each run: add --reset-database to confirm")
    if args.target and not (args.database_url and args.secret_key):
        parser.error("--target needs --database-url and --secret-key")
    if args.target and args.kill:
        parser.error("--kill works only on servers the bench started")
    if args.stages and (args.target or args.kill):
        parser.error("--stages works only on servers the bench started and does not kill")
    random.seed(args.seed)
    say = (lambda *a: print(*a, file=sys.stderr)) if args.json else print

    rounds = []
    for n in range(args.repeat):
        with tempfile.TemporaryDirectory(prefix="rt-bench-") as tmp:
            rounds.append(one_round(args, Path(tmp), say))
        if args.repeat > 1:
            r = rounds[-1]
            say(f"round {n + 1}: p99 {r['roundtable']['p99_ms']} ms, bare {r.get('bare_socketio', {}).get('p99_ms')} "
                f"ms, ratio {r.get('p99_ratio')}x; CPU per note ratio {r.get('cpu_ratio')}x; load {r['load_average']}")
    result = {"rounds": rounds, "command": "python bench/live_latency.py " + " ".join(argv if argv is not None else sys.argv[1:]),
              "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0], "load_average": os.getloadavg()}}
    result["summary"] = summarize(rounds)
    if args.json:
        say(summary_line(result["summary"]))
        print(json.dumps(result, indent=2))
        return
    for n, r in enumerate(rounds, 1):
        ours, floor = r["roundtable"], r.get("bare_socketio", {})
        print(f"--- round {n}")
        rows = [("", "Roundtable", "bare python-socketio")]
        for key, label in (("notes_sent", "notes sent"), ("deliveries", "deliveries measured"),
                           ("p50_ms", "p50 fan-out (ms)"), ("p95_ms", "p95 fan-out (ms)"), ("p99_ms", "p99 fan-out (ms)"),
                           ("max_ms", "max (ms)"), ("lost", "lost"), ("duplicated", "duplicated"), ("kills", "server kills"),
                           ("delivered_live", "notes delivered live"), ("caught_up_on_rejoin", "caught up on rejoin"),
                           ("hole_filled", "fetched behind a hole"), ("redundant_deliveries", "redundant (dropped by seq)"),
                           ("drain_s", "drain after the last note (s)"),
                           ("server_cpu_ms_per_note", "server CPU per note (ms)"),
                           ("worker_cpu_ms_per_note", "after-save worker CPU per note (ms)"),
                           ("server_peak_rss_mb", "server peak RSS (MB)"), ("worker_peak_rss_mb", "worker peak RSS (MB)")):
            rows.append((label, str(ours.get(key)), str(floor.get(key, "-"))))
        width = max(len(row[0]) for row in rows)
        for row in rows:
            print(f"{row[0]:<{width}}  {row[1]:>12}  {row[2]:>22}")
        for n, outage in enumerate(ours.get("outages", []), 1):
            print(f"kill {n}: servers back after {outage['servers_back_s']} s; {outage['viewers_rejoined']} viewers "
                  f"had their catch-up after p50 {outage['rejoined_p50_s']} s, p95 {outage['rejoined_p95_s']} s, "
                  f"max {outage['rejoined_max_s']} s")
        if "stages" in ours:
            print_stages(ours["stages"])
        if "p99_ratio" in r:
            print(f"p99 ratio Roundtable / bare: {r['p99_ratio']}x; server CPU per note: {r.get('cpu_ratio')}x; "
                  f"load average {r['load_average'][0]} -> {r['load_average'][1]}")
    print(summary_line(result["summary"]))


if __name__ == "__main__":
    main()
