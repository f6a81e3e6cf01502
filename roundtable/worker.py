"""The after-save worker: a child process that runs the slow ``note_saved`` hook (theme suggestions).

Each server process starts one with ``python -m roundtable.worker``
(:class:`roundtable.jobs.AfterSaveProcess`) and talks to it over pipes, one JSON object per line:

    stdin   {"note_id": 12, "series_id": 1, "session_id": 3}
    stdout  {"note_id": 12, "session_id": 3, "tags": [...]}      (or {"ready": true} once, at start)

The server keeps only the live path (validate, anonymize, store, broadcast) and
emits the tags it gets back as ``note:tags``; models for suggestions (MiniLM,
about 500 MB with PyTorch) load here, not in the server. The worker reads the
same settings as the server (environment and instance folder) plus the
overrides in ``ROUNDTABLE_WORKER_CONFIG`` (JSON), so it uses the same database.
It needs no service of its own: on SQLite it is just this process.
"""

from __future__ import annotations

import json
import os
import sys

from roundtable import create_app
from roundtable.jobs import run_after_save
from roundtable.services.codebook import Codebook, ThemeSpec
from roundtable.services.tagging import default_suggester_name, get_suggester

WORKER_NICENESS = 10


def warm_suggesters(app) -> None:
    """Load the configured suggester's model now, before the first job, by suggesting for one short text."""
    roundtable = app.extensions["roundtable"]
    try:
        suggester = get_suggester(app.config.get("SUGGESTER") or default_suggester_name(roundtable), roundtable)
        suggester.suggest(["warm up the model"], Codebook(themes=[ThemeSpec("Warm-up", "a first theme")]), [])
    except Exception:  # a suggester that cannot warm up still gets its first real job
        app.logger.warning("the suggester did not warm up", exc_info=True)


def main() -> None:
    try:
        os.nice(WORKER_NICENESS)  # the live path in the server comes first when both want the CPU
    except OSError:
        pass

    overrides = json.loads(os.environ.get("ROUNDTABLE_WORKER_CONFIG") or "{}")
    app = create_app(overrides)
    out = sys.stdout
    sys.stdout = sys.stderr  # plugins that print must not break the protocol
    with app.app_context():
        warm_suggesters(app)
        out.write(json.dumps({"ready": True}) + "\n")
        out.flush()
        for line in sys.stdin:
            try:
                job = json.loads(line)
                result = run_after_save(app, job)
            except Exception:  # a plugin's failure costs one note its suggestions, never the worker
                app.logger.exception("note_saved failed for %s", line.strip()[:200])
                continue
            out.write(json.dumps(result) + "\n")
            out.flush()


if __name__ == "__main__":
    main()
