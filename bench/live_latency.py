"""Fan-out latency of the live note stream, against a bare python-socketio floor.

Starts ``roundtable serve`` (SQLite, default settings and plugins) on
127.0.0.1, connects V viewers and T typists (each typist sends one note per
second), and measures, for every note and every viewer, the time from the
typist's send to the viewer's receipt of ``note:added``. Then it runs the same
load against a bare python-socketio broadcast server (no database, no plugins,
same threading server stack) and prints the ratio of the two p99s.

Typists follow the browser's protocol (outbox, resend on reconnect), viewers
fetch what they missed on reconnect, so with ``--kill N`` (SIGKILL the server N
times at random moments and restart it) the run still counts every note:
``lost`` is a note a typist wrote that is missing from the database or from a
viewer's final stream; ``duplicated`` is a note stored or delivered twice.

    python bench/live_latency.py                 # V=200, T=10, 30 s
    python bench/live_latency.py --kill 3 --json
    python bench/live_latency.py --viewers 20 --typists 3 --duration 5   # quick look

Everything runs on 127.0.0.1 and is bounded by --duration (plus start-up).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "tests"))

import socketio  # noqa: E402

from live_support import NoteClient, ServerProcess, free_port, prepare_database, wait_until  # noqa: E402

VIEWERS_PER_PROCESS = 50


# --- the bare floor -----------------------------------------------------------------------------

BARE_SERVER = r'''
import sys, itertools, threading
import socketio
from werkzeug.serving import run_simple

sio = socketio.Server(async_mode="threading", cors_allowed_origins=None)
counter = itertools.count(1)
seen = {}
lock = threading.Lock()

@sio.on("session:join")
def join(sid, data):
    sio.enter_room(sid, "room")
    return {"ok": True, "state": "live", "last_seq": 0, "notes": [], "presence": {}, "you": {}}

@sio.on("notes:since")
def since(sid, data):
    return {"ok": True, "state": "live", "last_seq": 0, "notes": []}

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

run_simple("127.0.0.1", int(sys.argv[1]), socketio.WSGIApp(sio), threaded=True)
'''


class BareServer:
    def __init__(self, port: int, workdir: Path):
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.workdir = workdir
        self.process = None

    def start(self):
        script = self.workdir / "bare_server.py"
        script.write_text(BARE_SERVER)
        log = open(self.workdir / "bare.log", "wb")
        self.process = subprocess.Popen([sys.executable, str(script), str(self.port)], stdout=log, stderr=subprocess.STDOUT)
        log.close()
        import requests

        def up():
            try:
                return requests.get(self.url + "/socket.io/?EIO=4&transport=polling", timeout=1).status_code == 200
            except requests.RequestException:
                return False

        wait_until(up, timeout=30, message="bare server")
        return self

    def kill(self):
        self.process.kill()
        self.process.wait()

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)

    @property
    def pid(self):
        return self.process.pid


# --- viewers (in worker processes) --------------------------------------------------------------


def viewer_worker(url, cookie, session_id, count, ready, stop, results):
    """Connect ``count`` viewers; record the first receipt time of every note; at the end, fetch the full stream."""
    try:
        _viewers(url, cookie, session_id, count, ready, stop, results)
    except BaseException as exc:  # the parent must hear about it rather than wait
        results.put({"error": f"{type(exc).__name__}: {exc}"})
        ready.set()


def _viewers(url, cookie, session_id, count, ready, stop, results):
    received = [dict() for _ in range(count)]
    duplicates = [0] * count
    clients = []

    def handler(i):
        def on_added(note):
            now = time.time()
            if note["uuid"] in received[i]:
                duplicates[i] += 1
            else:
                received[i][note["uuid"]] = now
        return on_added

    for i in range(count):
        c = NoteClient(url, cookie, session_id, f"viewer-{i}")
        c.on_added = handler(i)
        for attempt in range(20):
            try:
                c.connect(wait=20)
                break
            except socketio.exceptions.ConnectionError:
                time.sleep(0.2)
        clients.append(c)
    wait_until(lambda: all(c.joined.is_set() for c in clients), timeout=120, message="viewers joined")
    ready.set()
    stop.wait()
    def final_stream(c):
        try:
            wait_until(lambda: c.sio.connected and c.joined.is_set(), timeout=30)
            c.catch_up()
        except Exception:  # counted as lost notes below
            pass
        stream = c.stream()
        seqs = [s for s, *_ in stream]
        return {"uuids": [u for _s, u, *_ in stream], "dup_seq": len(seqs) - len(set(seqs))}

    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=16) as pool:
        final = list(pool.map(final_stream, clients))
    results.put([{"received": received[i], "duplicates": duplicates[i], **final[i]} for i in range(count)])
    for c in clients:  # after reporting: a slow goodbye must not hold up the figures
        try:
            c.disconnect()
        except Exception:
            pass


# --- one run ------------------------------------------------------------------------------------


class RssSampler(threading.Thread):
    """Peak resident memory of the server process(es), sampled from /proc (VmHWM is the kernel's own peak)."""

    def __init__(self, server):
        super().__init__(daemon=True)
        self.server = server
        self.peak_kb = 0
        self.running = True

    def sample(self):
        try:
            status = Path(f"/proc/{self.server.pid}/status").read_text()
        except (OSError, TypeError):
            return
        for line in status.splitlines():
            if line.startswith(("VmHWM:", "VmRSS:")):
                self.peak_kb = max(self.peak_kb, int(line.split()[1]))

    def run(self):
        while self.running:
            self.sample()
            time.sleep(0.2)


def percentile(values, p):
    if not values:
        return None
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def run_load(server, cookies, session_id, args, kill_times=(), db_url=None, label=""):
    """Connect viewers and typists to ``server``, send for ``args.duration`` seconds, return the figures."""
    ctx = multiprocessing.get_context("fork")
    results = ctx.Queue()
    stop = ctx.Event()
    workers = []
    remaining = args.viewers
    while remaining > 0:
        n = min(VIEWERS_PER_PROCESS, remaining)
        remaining -= n
        ready = ctx.Event()
        p = ctx.Process(target=viewer_worker, args=(server.url, cookies["viewer"], session_id, n, ready, stop, results))
        p.start()
        workers.append((p, ready))
    for p, ready in workers:
        if not ready.wait(180):
            raise RuntimeError("viewers did not connect")

    typists = [NoteClient(server.url, cookies["typists"][i % len(cookies["typists"])], session_id, f"typist-{i}").connect()
               for i in range(args.typists)]
    wait_until(lambda: all(t.joined.is_set() for t in typists), timeout=60)
    # Warm-up, not measured: the first note loads the anonymizer's models.
    typists[0].send_note("warm-up note before the measured run")
    wait_until(lambda: not typists[0].outbox, timeout=120, message="warm-up note")
    sent_at: dict[str, float] = {}
    sent_lock = threading.Lock()
    sampler = RssSampler(server)
    sampler.start()

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
    for at in kill_times:
        time.sleep(max(0.0, start + at - time.time()))
        sampler.sample()
        server.kill()
        kills += 1
        time.sleep(0.3)
        server.start()
    for t in threads:
        t.join()
    # Let the outboxes drain (after a kill they may still hold notes).
    try:
        wait_until(lambda: all(not t.outbox for t in typists), timeout=120, message="typist outboxes drained")
    except AssertionError:
        for t in typists:
            print(t.name, "waiting:", len(t.outbox), "connected:", t.sio.connected, "errors:", t.errors[-3:],
                  file=sys.stderr)
        raise
    time.sleep(1.0)
    stop.set()
    viewer_results = []
    import queue

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
    ack_counts = [len(t.stream()) for t in typists]
    for t in typists:
        t.disconnect()

    sent = set(sent_at)
    latencies = []
    lost_to_viewers = 0
    dup = 0
    for v in viewer_results:
        for note_uuid, received in v["received"].items():
            if note_uuid in sent_at:
                latencies.append((received - sent_at[note_uuid]) * 1000)
        lost_to_viewers += len(sent - set(v["uuids"]))
        dup += v["duplicates"] + v["dup_seq"]
    stored_dups = 0
    lost_in_db = 0
    if db_url:
        from sqlalchemy import create_engine, text

        from roundtable.db import normalize_url

        engine = create_engine(normalize_url(db_url))
        with engine.connect() as conn:
            rows = [r[0] for r in conn.execute(text("SELECT uuid FROM notes WHERE session_id = :s"), {"s": session_id})]
        engine.dispose()
        stored_dups = len(rows) - len(set(rows))
        lost_in_db = len(sent - set(rows))
    return {
        "label": label,
        "viewers": args.viewers,
        "typists": args.typists,
        "duration_s": args.duration,
        "notes_sent": len(sent),
        "deliveries": len(latencies),
        "p50_ms": round(percentile(latencies, 50), 1) if latencies else None,
        "p95_ms": round(percentile(latencies, 95), 1) if latencies else None,
        "p99_ms": round(percentile(latencies, 99), 1) if latencies else None,
        "max_ms": round(max(latencies), 1) if latencies else None,
        "mean_ms": round(statistics.fmean(latencies), 1) if latencies else None,
        "lost": lost_in_db + lost_to_viewers,
        "lost_in_database": lost_in_db,
        "lost_to_viewers": lost_to_viewers,
        "duplicated": dup + stored_dups,
        "kills": kills,
        "peak_rss_mb": round(sampler.peak_kb / 1024, 1),
        "typist_stream_sizes": sorted(set(ack_counts)),
    }


def session_cookies(db_url: str, secret_key: str, instance: Path, typists: int) -> dict:
    """Mint login cookies with the server's secret key (the login form is rate-limited per address)."""
    from flask import session
    from sqlalchemy import select

    from roundtable import create_app
    from roundtable.models import Account
    from roundtable.web.access import start_login

    app = create_app({"DATABASE_URL": db_url, "SECRET_KEY": secret_key, "INSTANCE_PATH": str(instance)})
    serializer = app.session_interface.get_signing_serializer(app)
    db = app.extensions["roundtable_db"].sessionmaker()
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
        app.extensions["roundtable_db"].dispose()
    return cookies


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--viewers", type=int, default=200)
    parser.add_argument("--typists", type=int, default=10)
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of typing")
    parser.add_argument("--rate", type=float, default=1.0, help="notes per second per typist")
    parser.add_argument("--kill", type=int, default=0, help="SIGKILL and restart the server N times during the run")
    parser.add_argument("--no-baseline", action="store_true", help="skip the bare python-socketio run")
    parser.add_argument("--plugins", default=None,
                        help="ROUNDTABLE_LOAD_PLUGINS for the server (default: every installed plugin)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    for name in ("viewers", "typists"):
        if not 1 <= getattr(args, name) <= 2000:
            parser.error(f"--{name} must be between 1 and 2000")
    if not 1 <= args.duration <= 600:
        parser.error("--duration must be between 1 and 600 seconds")
    random.seed(args.seed)
    say = (lambda *a: print(*a, file=sys.stderr)) if args.json else print

    with tempfile.TemporaryDirectory(prefix="rt-bench-") as tmp:
        tmp = Path(tmp)
        db_url = f"sqlite:///{tmp / 'bench.sqlite'}"
        secret = "bench-" + uuid.uuid4().hex
        people = prepare_database(db_url, note_takers=args.typists, viewers=1, secret_key=secret)
        server = ServerProcess(db_url, free_port(), tmp / "server", plugins=args.plugins, secret_key=secret)
        cookies = session_cookies(db_url, secret, tmp / "server" / "instance", args.typists)
        say(f"Starting Roundtable (SQLite, plugins: {args.plugins or 'all installed'}) with {args.viewers} viewers and {args.typists} typists…")
        server.start(timeout=120)
        kill_times = sorted(random.uniform(0.15, 0.85) * args.duration for _ in range(args.kill))
        try:
            ours = run_load(server, cookies, people["session_id"], args, kill_times, db_url, "roundtable")
        finally:
            server.stop()
        result = {"roundtable": ours}
        if not args.no_baseline:
            say("Same load against a bare python-socketio broadcast server…")
            bare = BareServer(free_port(), tmp).start()
            bare_args = argparse.Namespace(**{**vars(args), "kill": 0})
            try:
                floor = run_load(bare, {"viewer": "", "typists": [""]}, people["session_id"], bare_args, (), None, "bare")
            finally:
                bare.stop()
            result["bare_socketio"] = floor
            if floor["p99_ms"] and ours["p99_ms"]:
                result["p99_ratio"] = round(ours["p99_ms"] / floor["p99_ms"], 2)
        result["command"] = "python bench/live_latency.py " + " ".join(argv if argv is not None else sys.argv[1:])
        result["machine"] = {"cpus": os.cpu_count(), "python": sys.version.split()[0]}

    if args.json:
        print(json.dumps(result, indent=2))
        return
    rows = [("", "Roundtable", "bare python-socketio")]
    floor = result.get("bare_socketio", {})
    for key, label in (("notes_sent", "notes sent"), ("deliveries", "deliveries measured"), ("p50_ms", "p50 fan-out (ms)"),
                       ("p95_ms", "p95 fan-out (ms)"), ("p99_ms", "p99 fan-out (ms)"), ("max_ms", "max (ms)"),
                       ("lost", "lost"), ("duplicated", "duplicated"), ("kills", "server kills"),
                       ("peak_rss_mb", "server peak RSS (MB)")):
        rows.append((label, str(ours.get(key)), str(floor.get(key, "-"))))
    width = max(len(r[0]) for r in rows)
    for r in rows:
        print(f"{r[0]:<{width}}  {r[1]:>12}  {r[2]:>22}")
    if "p99_ratio" in result:
        print(f"p99 ratio Roundtable / bare: {result['p99_ratio']}x")


if __name__ == "__main__":
    main()
