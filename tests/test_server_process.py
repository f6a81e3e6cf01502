"""The web server process keeps PyTorch out, and what it does import still works; slow jobs do not stall it, and a
socket event gives its database turn back without waiting for other greenlets."""

from __future__ import annotations

import os
import subprocess
import sys

CHECK = """
from roundtable.server import keep_heavy_libraries_out
keep_heavy_libraries_out()
try:
    import torch
except ImportError:
    pass
else:
    raise SystemExit("torch was imported")
from sklearn.feature_extraction.text import TfidfVectorizer
matrix = TfidfVectorizer().fit_transform(["rapid response network", "legal defense network"])
import sys
assert "torch" not in sys.modules
print(matrix.shape)
"""


def test_the_server_process_refuses_torch_but_scikit_learn_still_works():
    done = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "(2, 5)"


GEVENT_SERVER_WITH_A_SLOW_JOB = """
from gevent import monkey
monkey.patch_all()  # as gunicorn's gevent worker does before it builds the app
import time
import gevent
from roundtable.jobs import start_thread

done = []

def render():  # a second of pure CPU, like WeasyPrint laying out a report
    end = time.perf_counter() + 1.0
    while time.perf_counter() < end:
        pass
    done.append(True)

start_thread(render, name="brief-export")
ticks = 0
while not done:
    gevent.sleep(0.01)  # a live socket's writer getting its turn
    ticks += 1
print(ticks)
"""


def test_a_slow_background_job_does_not_stall_the_gevent_server():
    done = subprocess.run([sys.executable, "-c", GEVENT_SERVER_WITH_A_SLOW_JOB], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    # In a greenlet the render would hold the only thread for the whole second: one tick.
    assert int(done.stdout.strip()) >= 10


GEVENT_SOCKET_TURN = """
import sys
from gevent import monkey
monkey.patch_all()  # as gunicorn's gevent worker does before it builds the app
import gevent
from roundtable import create_app
from roundtable.web.authorization import socket_turn

app = create_app({"INSTANCE_PATH": sys.argv[1], "SECRET_KEY": "turns", "SOCKETIO_ASYNC_MODE": "gevent"})
ran = []
with app.app_context():
    with socket_turn():
        gevent.spawn(ran.append, "another greenlet")  # ready to run: 500 socket writers after a broadcast
    print(len(ran))
"""


def test_giving_a_socket_turn_back_under_gevent_does_not_wait_for_other_greenlets(tmp_path):
    # threading's semaphore notifies through a Condition whose ownership check, under gevent, yields to the
    # hub: at 1,000 viewers each event's release waited for a whole round of socket writes (p50 37 ms).
    done = subprocess.run([sys.executable, "-c", GEVENT_SOCKET_TURN, str(tmp_path)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "0"


SERVER_START = """
import gc
from gevent import monkey
monkey.patch_all()  # as gunicorn's gevent worker does
from roundtable.server import RoundtableServer

app = RoundtableServer("127.0.0.1", 0, 10).load()
print(gc.get_freeze_count())
"""


def test_the_server_keeps_its_start_up_objects_out_of_full_garbage_collections(tmp_path):
    # A full collection walks every object the collector tracks: with the app's ~190,000 start-up objects
    # in it, each took about twice as long (up to 0.5 s on a loaded machine at 1,000 viewers).
    env = {**os.environ, "ROUNDTABLE_INSTANCE_PATH": str(tmp_path), "ROUNDTABLE_SECRET_KEY": "gc-freeze-" + "k" * 32,
           "ROUNDTABLE_LOAD_PLUGINS": "roster,contact_details"}
    done = subprocess.run([sys.executable, "-c", SERVER_START], capture_output=True, text=True, timeout=180, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    assert int(done.stdout.strip().splitlines()[-1]) > 50_000


GEVENT_DETECTION = """
from gevent import monkey
monkey.patch_all()  # as gunicorn's gevent worker does
import gevent
from roundtable import off_hub
from roundtable.services.anonymize import Roster, detect_spans
from roundtable_plugins.contact_details import PatternDetector
from roundtable_plugins.roster import RosterDetector


class ModelDetector:  # a third-party detector that says nothing about its speed: a model, perhaps
    name = "model"

    def detect(self, texts, roster):
        return [[] for _ in texts]


off_hub.start()
roster = Roster.from_rows([])
for detectors in ([PatternDetector(), RosterDetector()], [PatternDetector(), ModelDetector()]):
    ran = []
    gevent.spawn(ran.append, "another greenlet")  # ready to run: 500 socket writers after a broadcast
    spans = detect_spans(["write to maria@example.org"], detectors, roster)
    print(len(ran), spans[0][0].kind)
    gevent.sleep(0)
"""


def test_pattern_detectors_run_in_place_and_a_model_in_the_detection_thread_under_gevent():
    # A trip to the detection thread comes back only after every ready greenlet has run (at 1,000 viewers, a
    # round of socket writes); patterns take microseconds on a note (3 ms on 4,000 dense characters).
    done = subprocess.run([sys.executable, "-c", GEVENT_DETECTION], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-2:] == ["0 email", "1 email"]
