"""The web server process keeps PyTorch out, and what it does import still works; slow jobs do not stall it."""

from __future__ import annotations

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
