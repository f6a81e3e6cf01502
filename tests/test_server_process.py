"""The web server process keeps PyTorch out, and what it does import still works."""

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
